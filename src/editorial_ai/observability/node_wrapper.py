"""The node wrapper: one ``NodeRunLog`` for every execution of a graph node.

``node_wrapper`` decorates a LangGraph node. Per execution it gives the node a
fresh token collector, reads the clock, snapshots the state the node received,
calls the node, and writes one record with the node's tokens, its returned
update, its status and its error. The node itself is untouched: it gets the
same arguments (LangGraph still injects ``config``, ``runtime``, ``writer``,
``store``), its return value is returned as the same object, and its exception
is re-raised as the same object with its traceback. Everything the wrapper adds
runs under the library's guard, so a failure of ours is a warning, never an
exception in the pipeline.

Everything that can be decided once is decided when decorating: the node's
kind (sync, async, generator, async generator), its options, and with
``capture_io=False`` a path that never enters snapshot code.
"""

from __future__ import annotations

import functools
import inspect
import time
import traceback
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextvars import Token
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, TypeVar, overload

from langchain_core.messages import AIMessage
from langchain_core.runnables.config import var_child_runnable_config
from langgraph.errors import GraphBubbleUp, GraphInterrupt
from langgraph.types import Command

from ._internal import guard, report, warn_once
from ._usage import from_usage_metadata
from .collector import (
    TokenCollector,
    _by_namespace,
    _current,
    _roots,
    make_usage,
)
from .models import NodeStatus, TokenUsage
from .sinks import emit_fields
from .snapshot import (
    SnapshotOptions,
    redact_message,
    snapshot_output,
    snapshot_state,
)

F = TypeVar("F", bound=Callable[..., Any])

_UNSET: Any = object()
_MAX_MESSAGE = 2000


@dataclass(frozen=True, slots=True)
class _NodeSpec:
    """What is decided once per decorated node."""

    name: str | None
    function_name: str
    skip_if: Callable[[Any], Any] | None
    capture_io: bool
    options: SnapshotOptions
    parameters: tuple[str, ...] = ()
    """Positional parameter names (a task's arguments are recorded by name)."""


@dataclass(slots=True)
class _Run:
    """One execution in progress."""

    spec: _NodeSpec
    started_at: datetime
    clock_ns: int
    thread_id: str
    node_name: str
    step: int | None
    checkpoint_ns: str | None
    invocation_id: str | None
    attempt: int | None
    scratchpad: Any
    input_state: dict[str, Any] | None
    collector: TokenCollector
    token: Token[TokenCollector | None] | None
    """``None`` for a run recorded from the callbacks (no context to restore)."""
    state: Any
    resumed_ids: list[str] | None = None
    """Interrupts this run answers, when known otherwise than by scratchpad."""
    resume_values: list[Any] | None = None
    """The values it was resumed with, when known otherwise than by scratchpad."""


def _thread_id_of_state(state: Any, node_name: str | None) -> str:
    if type(state) is dict or isinstance(state, Mapping):
        thread_id = state.get("thread_id")
    else:
        thread_id = getattr(state, "thread_id", None)
    if thread_id is None:
        # Every invocation without an id lands in one file: say so, once.
        warn_once(
            "usage:no-thread-id",
            "node %r ran without a thread id (neither "
            'config["configurable"]["thread_id"] nor state["thread_id"]); its '
            "records go to the thread 'unknown', where separate invocations "
            'merge. Pass config={"configurable": {"thread_id": ...}} to '
            "invoke/stream. (Said once per process.)",
            node_name,
        )
        return "unknown"
    return str(thread_id)


_EMPTY: Mapping[str, Any] = MappingProxyType({})
_now = datetime.now
_clock = time.perf_counter_ns
_config_of_node = var_child_runnable_config.get


# The last graph invocation's run id and its text: every node of a run has
# the same one, and ``str(UUID)`` is a Python method (about 1 us).
_last_invocation: tuple[Any, str] = (None, "")


def _invocation_text(invocation: Any) -> str:
    global _last_invocation
    last = _last_invocation  # one read: another thread may replace it
    if last[0] is invocation:
        return last[1]
    text = str(invocation)
    _last_invocation = (invocation, text)
    return text


def _begin(spec: _NodeSpec, state: Any) -> _Run | None:
    """Start recording; ``None`` if even that failed (the node still runs).

    This and :func:`_finish` run on every node execution: they inline what
    helpers would do (each Python call costs about as much as a dict lookup
    costs ten times) and read attributes only where they exist (a ``getattr``
    with a default that misses builds an exception first).
    """
    try:
        started_at = _now(UTC)
        clock_ns = _clock()
        config = _config_of_node()
        if config:
            configurable = config.get("configurable") or _EMPTY
            metadata = config.get("metadata") or _EMPTY
            callbacks = config.get("callbacks")
        else:
            configurable = metadata = _EMPTY
            callbacks = None
        namespace = configurable.get("checkpoint_ns") or metadata.get(
            "langgraph_checkpoint_ns"
        )
        runtime = configurable.get("__pregel_runtime")
        info = None if runtime is None else getattr(runtime, "execution_info", None)
        # The node's callbacks are children of the node's own chain run.
        parent = (
            None if callbacks is None else getattr(callbacks, "parent_run_id", None)
        )
        invocation = None if parent is None else _roots.get(parent)
        # The wrapped node this one runs inside (a subgraph's node): its
        # context's collector, else, on a thread that did not copy the
        # context, the collector of the enclosing task's namespace.
        parent = _current.get()
        if parent is None and namespace and "|" in namespace:
            parent = _by_namespace.get(namespace.rpartition("|")[0])
        collector = TokenCollector(parent=parent)
        token = _current.set(collector)
        if namespace:
            _by_namespace[namespace] = collector
        thread_id = configurable.get("thread_id")
        if thread_id is None:
            thread_id = _thread_id_of_state(
                state, spec.name or metadata.get("langgraph_node")
            )
        elif type(thread_id) is not str:
            thread_id = str(thread_id)
        run = _Run(
            spec,
            started_at,
            clock_ns,
            thread_id,
            spec.name or metadata.get("langgraph_node") or spec.function_name,
            metadata.get("langgraph_step"),
            namespace or None,
            None if invocation is None else _invocation_text(invocation),
            None if info is None else info.node_attempt,
            configurable.get("__pregel_scratchpad"),
            None,
            collector,
            token,
            state,
        )
        if spec.capture_io:
            run.input_state = snapshot_state(state, spec.options)
        return run
    except Exception as exc:  # the one guard's logic, without its three calls
        report("node_wrapper start", exc)
        return None


def _should_skip(spec: _NodeSpec, state: Any) -> bool:
    if spec.skip_if is None:
        return False
    # The predicate is user code deciding whether the node runs; if it fails
    # the node runs (fail open) and the failure is one warning.
    with guard("skip_if predicate"):
        return bool(spec.skip_if(state))
    return False


def _error_excerpt(exc: BaseException) -> str:
    """At most 5 lines: the header, the caller and raise site, the exception."""
    every = list(traceback.extract_tb(exc.__traceback__))
    frames = [f for f in every if f.filename != __file__] or every
    lines = ["Traceback (most recent call last):"]
    if len(frames) >= 2:
        caller = frames[-2]
        lines.append(
            '  File "%s", line %s, in %s'
            % (caller.filename, caller.lineno, caller.name)
        )
    if frames:
        site = frames[-1]
        lines.append(
            '  File "%s", line %s, in %s' % (site.filename, site.lineno, site.name)
        )
        if site.line:
            lines.append("    " + site.line.strip())
    lines.append(_exception_line(exc))
    return "\n".join(lines[-5:] if len(lines) > 5 else lines)


def _message(exc: BaseException) -> str:
    """``str(exc)`` cut to ``_MAX_MESSAGE`` characters, without formatting
    all of it when it is the usual single string argument (a message of
    hundreds of megabytes costs nothing more than a short one)."""
    args = exc.args
    if (
        len(args) == 1
        and type(args[0]) is str
        and type(exc).__str__ is (BaseException.__str__)
    ):
        return args[0][:_MAX_MESSAGE]
    return str(exc)[:_MAX_MESSAGE]


def _exception_line(exc: BaseException) -> str:
    """The last line of a traceback (``module.Type: first line``), built from
    the cut message rather than by ``traceback.format_exception_only``, which
    formats the whole message first."""
    kind = type(exc)
    name = kind.__qualname__
    if kind.__module__ not in ("builtins", "__main__"):
        name = "%s.%s" % (kind.__module__, name)
    try:
        message = _message(exc)
    except Exception:
        message = "<exception str() failed>"
    first = message.split("\n", 1)[0].strip()
    return ("%s: %s" % (name, first) if first else name)[:_MAX_MESSAGE]


def _iter_messages(update: Any) -> Iterator[AIMessage]:
    values: Any
    if isinstance(update, Command):
        update = update.update
    if isinstance(update, Mapping):
        values = update.values()
    elif isinstance(update, list | tuple):
        values = update
    else:
        return
    for value in values:
        if isinstance(value, AIMessage):
            yield value
        elif isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, AIMessage):
                    yield item


def _unseen_usage(run: _Run, result: Any) -> list[TokenUsage]:
    """Usage of AI messages the node returned that was not counted yet.

    A message the node received in its input (same object or same id) is not
    new; a message whose id was counted anywhere in this invocation (by a
    handler, or by the fallback of a node running inside this one, such as a
    subgraph's node) is not counted again. The messages counted here are
    noted in the enclosing nodes, so their fallbacks skip them too.
    """
    returned = [m for m in _iter_messages(result) if m.usage_metadata]
    if not returned:
        return []
    received: set[int] = set()
    received_ids: set[str] = set()
    for message in _iter_messages(run.state):
        received.add(id(message))
        if message.id:
            received_ids.add(message.id)
    seen = run.collector.seen_message_ids or ()
    usages = []
    counted: list[str] = []
    for message in returned:
        if id(message) in received or message.id in received_ids:
            continue
        if message.id:
            if message.id in seen or message.id in counted:
                continue
            counted.append(message.id)
        prompt, completion, total, details = from_usage_metadata(
            message.usage_metadata or {}
        )
        metadata = message.response_metadata or {}
        extra = details or {}
        provider = metadata.get("model_provider")
        if isinstance(provider, str):
            extra["provider"] = provider
        usages.append(
            make_usage(
                prompt,
                completion,
                total,
                metadata.get("model_name") or metadata.get("model"),
                extra=extra,
            )
        )
    parent = run.collector.parent
    if counted and parent is not None:
        parent.note_messages(counted)
    return usages


def _finish(
    run: _Run,
    status: NodeStatus,
    result: Any = None,
    exc: BaseException | None = None,
) -> None:
    """End recording and hand the record to the sinks. Never raises."""
    elapsed_ns = _clock() - run.clock_ns
    try:
        _current.reset(run.token)  # type: ignore[arg-type]
    except ValueError:
        # The token was made in another context (a generator node resumed
        # elsewhere): leave this context without a collector instead.
        _current.set(None)
    namespace = run.checkpoint_ns
    if namespace and _by_namespace.get(namespace) is run.collector:
        _by_namespace.pop(namespace, None)
    emit_run(run, elapsed_ns, status, result, exc)


def emit_run(
    run: _Run,
    elapsed_ns: int,
    status: NodeStatus,
    result: Any = None,
    exc: BaseException | None = None,
) -> None:
    """Build the record of a finished run and hand it to the sinks.

    Shared with the runs recorded from the callbacks alone
    (``callback_nodes``). Never raises.
    """
    namespace = run.checkpoint_ns
    collector = run.collector
    try:
        spec = run.spec
        usages = collector.harvest()
        if status == "success" and result is not None and _may_hold_messages(result):
            usages.extend(_unseen_usage(run, result))
        error_type = error_message = error_traceback = interrupt_id = None
        interrupt_value: Any = None
        if exc is not None:
            if status == "error":
                error_type = type(exc).__name__
                with guard("error message"):
                    error_message = _message(exc)
                error_traceback = _error_excerpt(exc)
                plan = spec.options._plan
                if plan.scrub or plan.extras:
                    # Messages quote LLM output, configs and URLs (issue 10).
                    if error_message:
                        error_message = redact_message(
                            error_message, plan.names, plan.scrub
                        )
                    error_traceback = redact_message(
                        error_traceback, plan.names, plan.scrub
                    )
            elif isinstance(exc, GraphInterrupt):
                interrupts = exc.args[0] if exc.args else ()
                if interrupts:
                    first = interrupts[0]
                    interrupt_id = getattr(first, "id", None)
                    if spec.capture_io:
                        value = getattr(first, "value", None)
                        wrapped = snapshot_state({"value": value}, spec.options)
                        interrupt_value = (wrapped or {}).get("value")
        scratchpad = run.scratchpad
        resume = None if scratchpad is None else getattr(scratchpad, "resume", None)
        if not resume:
            resume = run.resume_values
        started_at = run.started_at
        step = run.step
        # Every value below is built here with the right type (UTC times,
        # TokenUsage objects, JSON-safe snapshots): skip re-validating them.
        emit_fields(
            {
                "thread_id": run.thread_id,
                "node_name": run.node_name,
                "status": status,
                "started_at": started_at,
                "ended_at": started_at + timedelta(microseconds=elapsed_ns // 1000),
                "token_usage": usages,
                "error_type": error_type,
                "error_message": error_message,
                "error_traceback": error_traceback,
                "prompt_chars": sum([u.prompt_chars for u in usages]) if usages else 0,
                "step": step if type(step) is int else None,
                "checkpoint_ns": namespace,
                "invocation_id": run.invocation_id,
                "attempt": run.attempt,
                "interrupt_id": interrupt_id,
                "resumed_interrupt_ids": (
                    _interrupt_ids(namespace, len(resume))
                    if resume and namespace
                    else run.resumed_ids
                ),
                "input_state": run.input_state,
                "output_state": (
                    snapshot_output(result, spec.options)
                    if spec.capture_io and status == "success"
                    else None
                ),
                "interrupt_value": interrupt_value,
                "resume_values": (
                    (snapshot_state({"v": list(resume)}, spec.options) or {}).get("v")
                    if resume and spec.capture_io
                    else None
                ),
            }
        )
    except Exception as exc:  # the one guard's logic, without its three calls
        report("node_wrapper finish", exc)


_MESSAGE_HOLDERS = (list, tuple, AIMessage)  # a tuple: faster than a union


def _may_hold_messages(result: Any) -> bool:
    """Cheap test before looking for AI messages in a node's update."""
    if type(result) is dict:
        for value in result.values():
            if isinstance(value, _MESSAGE_HOLDERS):
                return True
        return False
    return True


def _interrupt_ids(namespace: str, count: int) -> list[str] | None:
    # LangGraph names the i-th interrupt of a task after its namespace; this
    # recomputes those names so a resumed run points at the interrupts it
    # answered. Private upstream helper: without it, join on checkpoint_ns.
    from langgraph import types

    make_id = getattr(types, "_interrupt_id", None)
    if make_id is None:
        return None
    return [make_id(namespace, index) for index in range(count)]


def _record_exception(run: _Run, exc: BaseException) -> None:
    if isinstance(exc, GraphInterrupt):
        _finish(run, "interrupted", exc=exc)
    elif isinstance(exc, GraphBubbleUp):
        # Control flow such as Command(graph=Command.PARENT): the node did
        # its work; the command it raised is its update.
        command = exc.args[0] if exc.args else None
        _finish(run, "success", result=command, exc=exc)
    else:
        _finish(run, "error", exc=exc)


# Keyword arguments LangGraph injects into nodes, tasks and entrypoints
# (``KWARGS_CONFIG_KEYS`` upstream): not part of what the node received.
_INJECTED = frozenset(("config", "writer", "store", "previous", "runtime", "error"))

RECORDED = "_editorial_ai_recorded"
"""Attribute set on every function ``node_wrapper`` returns (its spec): how
``instrument`` knows a function is already recorded."""


def _input_of(spec: _NodeSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What the node received: its state, or a task's arguments by name."""
    if len(args) == 1 and _INJECTED.issuperset(kwargs):
        return args[0]  # a node given config, runtime, ...: its state
    given = {k: v for k, v in kwargs.items() if k not in _INJECTED}
    names = spec.parameters
    received: dict[str, Any] = {
        names[index] if index < len(names) else "arg%d" % index: value
        for index, value in enumerate(args)
    }
    received.update(given)
    return received


def _wrap(fn: Callable[..., Any], spec: _NodeSpec) -> Callable[..., Any]:
    """Build the wrapper matching ``fn``'s kind.

    A graph node is called with its state (plus injected keywords); a
    functional-API task with its own arguments, possibly none or only
    keywords: the shells take ``*args`` and record the state, or the task's
    arguments by name.
    """
    call = getattr(fn, "__call__", None)  # noqa: B004 (callable objects too)
    wrapper: Callable[..., Any]

    if inspect.isasyncgenfunction(fn) or inspect.isasyncgenfunction(call):

        async def agen_wrapper(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            state = args[0] if len(args) == 1 and not kwargs else None
            if state is None:
                state = _input_of(spec, args, kwargs)
            run = _begin(spec, state)
            if (
                run is not None
                and spec.skip_if is not None
                and _should_skip(spec, state)
            ):
                _finish(run, "skipped")
                return
            chunks: list[Any] = []
            try:
                async for chunk in fn(*args, **kwargs):
                    chunks.append(chunk)
                    yield chunk
            except BaseException as exc:
                if run is not None:
                    _record_exception(run, exc)
                raise
            if run is not None:
                _finish(run, "success", result=_joined(chunks))

        wrapper = agen_wrapper
    elif inspect.isgeneratorfunction(fn) or inspect.isgeneratorfunction(call):

        def gen_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            state = args[0] if len(args) == 1 and not kwargs else None
            if state is None:
                state = _input_of(spec, args, kwargs)
            run = _begin(spec, state)
            if (
                run is not None
                and spec.skip_if is not None
                and _should_skip(spec, state)
            ):
                _finish(run, "skipped")
                return
            chunks: list[Any] = []
            try:
                for chunk in fn(*args, **kwargs):
                    chunks.append(chunk)
                    yield chunk
            except BaseException as exc:
                if run is not None:
                    _record_exception(run, exc)
                raise
            if run is not None:
                _finish(run, "success", result=_joined(chunks))

        wrapper = gen_wrapper
    elif inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call):

        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            state = args[0] if len(args) == 1 and not kwargs else None
            if state is None:
                state = _input_of(spec, args, kwargs)
            run = _begin(spec, state)
            if run is None:
                return await fn(*args, **kwargs)
            if spec.skip_if is not None and _should_skip(spec, state):
                _finish(run, "skipped")
                return None
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                _record_exception(run, exc)
                raise
            _finish(run, "success", result=result)
            return result

        wrapper = async_wrapper
    else:

        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            state = args[0] if len(args) == 1 and not kwargs else None
            if state is None:
                state = _input_of(spec, args, kwargs)
            run = _begin(spec, state)
            if run is None:
                return fn(*args, **kwargs)
            if spec.skip_if is not None and _should_skip(spec, state):
                _finish(run, "skipped")
                return None
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                _record_exception(run, exc)
                raise
            _finish(run, "success", result=result)
            return result

        wrapper = sync_wrapper

    functools.update_wrapper(wrapper, fn)
    # LangGraph reads the signature (which follows __wrapped__ to the end) and
    # looks for subgraphs one __wrapped__ level down: point that level at the
    # function the signature comes from.
    setattr(  # noqa: B010 (mypy: a union of function types)
        wrapper,
        "__wrapped__",
        inspect.unwrap(fn, stop=lambda f: hasattr(f, "__signature__")),
    )
    setattr(wrapper, RECORDED, spec)
    return wrapper


def _parameters(fn: Callable[..., Any]) -> tuple[str, ...]:
    """Names of ``fn``'s positional parameters, for naming a task's arguments."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return ()
    positional = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )
    return tuple(
        name
        for name, parameter in signature.parameters.items()
        if parameter.kind in positional and name not in _INJECTED
    )


def is_recorded(fn: Any) -> bool:
    """Whether ``fn``, or a function it wraps, already records its runs."""
    for _ in range(100):
        if fn is None:
            return False
        if getattr(fn, RECORDED, None) is not None:
            return True
        fn = getattr(fn, "__wrapped__", None)
    return False


def _is_task_or_graph(obj: Any) -> bool:
    from langgraph.pregel import Pregel

    return isinstance(obj, Pregel) or is_task(obj)


def is_task(obj: Any) -> bool:
    """Whether ``obj`` is what ``@task`` returns (it keeps its function in
    ``func`` and calls it through LangGraph, which returns a future)."""
    return type(obj).__name__ == "_TaskFunction" and callable(
        getattr(obj, "func", None)
    )


def _joined(chunks: list[Any]) -> Any:
    if len(chunks) == 1:
        return chunks[0]
    return {"chunks": chunks} if chunks else None


@overload
def node_wrapper(name: F, /) -> F: ...


@overload
def node_wrapper(
    name: str | None = None,
    /,
    *,
    node_name: str | None = None,
    skip_if: Callable[[Any], Any] | None = None,
    capture_io: bool = True,
    snapshot_options: SnapshotOptions | None = None,
    max_snapshot_bytes: int | None = ...,
    redact: bool = ...,
    redact_keys: tuple[str, ...] = ...,
    mask: Callable[[str, Any], Any] | None = ...,
    state_keys: Mapping[str, Any] | None = ...,
) -> Callable[[F], F]: ...


def node_wrapper(
    name: Any = None,
    /,
    *,
    node_name: str | None = None,
    skip_if: Callable[[Any], Any] | None = None,
    capture_io: bool = True,
    snapshot_options: SnapshotOptions | None = None,
    max_snapshot_bytes: Any = _UNSET,
    redact: Any = _UNSET,
    redact_keys: Any = _UNSET,
    mask: Any = _UNSET,
    state_keys: Any = _UNSET,
) -> Any:
    """Record every execution of a LangGraph node as one ``NodeRunLog``.

    All these spellings work: ``node_wrapper("name")(fn)``,
    ``@node_wrapper("name")``, ``node_wrapper(node_name="name")(fn)`` (the
    editorial pipeline's keyword), ``@node_wrapper()`` and bare
    ``@node_wrapper``. Without a name, the node name LangGraph runs it under
    is used (``langgraph_node``), else the function's name.

    Functional API: put it under ``@task`` and ``@entrypoint``
    (``@task`` then ``@node_wrapper`` then ``def``), so it runs inside the
    task where LangGraph runs it; a task's ``input_state`` is its single
    argument (``{"value": ...}`` unless a mapping) or its arguments by name.
    Above ``@task`` it wraps the task's function in place (not the future
    the task returns) and returns the task; above ``@entrypoint`` it acts as
    :func:`~editorial_ai.observability.instrument`.

    Args:
        name: the node name to record; default the LangGraph node name.
        node_name: the same, as a keyword; give one of the two.
        skip_if: ``skip_if(state)`` true writes a ``skipped`` record and
            returns no update without calling the node. If the predicate
            raises, the node runs (with a warning).
        capture_io: ``False`` records no state snapshots at all.
        snapshot_options: full snapshot settings; or use the shortcuts below.
        max_snapshot_bytes: bound on one snapshot's JSON (default 256 KiB;
            ``None`` for no bound); a cut is marked, never silent.
        redact: redact secret-looking keys (default ``True``).
        redact_keys: more key names to redact.
        mask: ``mask(key, value)`` returns the value to record; if it raises,
            the value is recorded as ``"[REDACTED]"``.
        state_keys: per state key: ``"keep"``, ``"drop"``, ``"length"`` or an
            ``int`` to truncate to.

    Example:
        >>> from langgraph.graph import StateGraph, START, END
        >>> from typing_extensions import TypedDict
        >>> class State(TypedDict):
        ...     topic: str
        ...     draft: str
        >>> @node_wrapper
        ... def draft(state: State) -> dict[str, str]:
        ...     return {"draft": "On " + state["topic"]}
        >>> builder = StateGraph(State)
        >>> _ = builder.add_node(draft).add_edge(START, "draft")
        >>> _ = builder.add_edge("draft", END)
        >>> builder.compile().invoke({"topic": "AI"})["draft"]
        'On AI'
    """
    if node_name is not None:
        if not isinstance(node_name, str):
            raise TypeError(
                "node_wrapper: node_name must be a str, got %r" % (node_name,)
            )
        if name is not None and name != node_name:
            raise TypeError("node_wrapper: give the name once (name or node_name)")
        name = node_name
    shortcuts: dict[str, Any] = {
        key: value
        for key, value in (
            ("max_bytes", max_snapshot_bytes),
            ("redact", redact),
            (
                "redact_keys",
                tuple(redact_keys) if redact_keys is not _UNSET else _UNSET,
            ),
            ("mask", mask),
            ("state_keys", state_keys),
        )
        if value is not _UNSET
    }
    if snapshot_options is not None and shortcuts:
        raise TypeError(
            "node_wrapper: pass snapshot_options or the snapshot shortcuts, not both"
        )
    options = snapshot_options or SnapshotOptions(**shortcuts)
    if skip_if is not None and not callable(skip_if):
        raise TypeError("node_wrapper: skip_if must be callable")

    def decorate(fn: F) -> F:
        if _is_task_or_graph(fn):
            # Above @task or @entrypoint: record the function inside, where
            # it runs (wrapping the task object would time its future).
            from .instrument import instrument_with

            if name is not None and not is_task(fn):
                raise TypeError(
                    "node_wrapper: a graph's nodes keep their own names; "
                    "use instrument(graph) without a name"
                )
            if name is not None and not is_recorded(fn.func):  # type: ignore[attr-defined]
                task_fn = fn.func  # type: ignore[attr-defined]
                fn.func = _wrap(task_fn, make_spec(task_fn, name))  # type: ignore[attr-defined]
            return instrument_with(fn, lambda f: _wrap(f, make_spec(f, None)))
        if not callable(fn):
            raise TypeError("node_wrapper: %r is not callable" % (fn,))
        return _wrap(fn, make_spec(fn, name))  # type: ignore[return-value]

    def make_spec(fn: Callable[..., Any], node_name: Any) -> _NodeSpec:
        return _NodeSpec(
            name=node_name if isinstance(node_name, str) else None,
            function_name=getattr(fn, "__name__", type(fn).__name__),
            skip_if=skip_if,
            capture_io=capture_io,
            options=options,
            parameters=_parameters(fn),
        )

    if callable(name) or _is_task_or_graph(name):
        fn, name = name, None
        return decorate(fn)
    if name is not None and not isinstance(name, str):
        raise TypeError("node_wrapper: name must be a str, got %r" % (name,))
    return decorate


__all__ = ["node_wrapper"]
