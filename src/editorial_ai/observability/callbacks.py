"""The callback handler: LLM calls become token usage of the node that made them.

``TokenUsageCallbackHandler`` is a LangChain callback handler. Register it on
the LLM client (``callbacks=[handler]``), on the graph run
(``config={"callbacks": [handler]}``), or both; any number of instances may see
the same call and it is counted once (by the LLM call's run id).

Which node a call belongs to: the node running in the calling context (the
wrapper's collector, which context-copying thread pools and asyncio tasks
inherit); else, for a call made on a thread that did not copy the context but
was given the node's ``config``, the node whose LangGraph task namespace
(``checkpoint_ns`` in the call's metadata) matches.

A call that no node can be found for (no node running in its context, and no
wrapped node with the LangGraph namespace of its metadata) is not recorded;
the first such call of each cause in the process logs one warning saying what
to pass (the node's ``config``).

What is read, in order: ``usage_metadata`` on the returned message (also when
streamed, where the provider reports usage), else ``llm_output["token_usage"]``
or ``llm_output["usage"]`` (older integrations), with their cache read and
write, reasoning and other details (see ``_usage``). The model name comes from
the response metadata, ``llm_output``, the ``ls_model_name`` metadata or the
invocation parameters; a call without one is still counted. The provider is
LangChain's ``ls_provider`` metadata. A call whose provider reported no usage
is recorded with ``usage_reported=False``: usage unknown, not zero.

Every call is one record, whatever its end: ``status`` is ``success``,
``error`` (the call raised; ``error_type`` names the exception) or
``aborted`` (cancelled, interrupted, or a stream closed by its consumer). A
failed or aborted call keeps the partial usage LangChain hands
``on_llm_error`` (``response=``), else it is ``usage_reported=False``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult

from . import callback_nodes
from ._internal import guard, report, warn_once
from ._usage import Counts, details_fields, from_provider_usage
from .collector import (
    _MAX_ROOTS,
    TokenCollector,
    _by_namespace,
    _current,
    _roots,
    collector_for_namespace,
    make_usage,
    note_chain_start,
)
from .invocations import graph_run_ended, graph_run_started
from .models import MAX_COUNT, CallStatus, build_call_usage

_MODEL_KEYS = ("model_name", "model", "model_id", "deployment_name")


_now = datetime.now

# What ends a call without it failing on its own: the caller stopped it.
_ABORTS = (asyncio.CancelledError, KeyboardInterrupt, GeneratorExit)


# A call between its start and end: (its node's collector, model name, prompt
# characters, provider, start time). A tuple, not a dataclass: building it
# calls no ``__init__`` (this runs for every call).
_Pending = tuple[TokenCollector, str | None, int, str | None, datetime]


def _text_length(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        total = 0
        for block in content:
            if isinstance(block, str):
                total += len(block)
            elif isinstance(block, Mapping) and isinstance(block.get("text"), str):
                total += len(block["text"])
        return total
    return 0


def _model_from(mapping: Any) -> str | None:
    if mapping and (type(mapping) is dict or isinstance(mapping, Mapping)):
        for key in _MODEL_KEYS:
            value = mapping.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def _find_collector(metadata: Mapping[str, Any] | None) -> TokenCollector | None:
    # The node whose task namespace the call carries comes first: inside a
    # wrapped node it is the wrapper's own collector, and a node recorded
    # from the callbacks (record_nodes) inside a wrapped node gets its calls.
    # LangGraph sets langgraph_checkpoint_ns for each task; "checkpoint_ns",
    # copied from configurable, can be a parent graph's inside a subgraph.
    namespace = None
    if metadata:
        found_ns = metadata.get("langgraph_checkpoint_ns") or metadata.get(
            "checkpoint_ns"
        )
        if isinstance(found_ns, str) and found_ns:
            namespace = found_ns
            found = collector_for_namespace(found_ns)
            if found is not None:
                return found
    collector = _current.get()
    if collector is not None:
        return collector
    _warn_unattributed(namespace)
    return None


def _warn_unattributed(namespace: str | None) -> None:
    if namespace is None:
        warn_once(
            "unattributed:no-node",
            "an LLM call was seen outside any node: no node_wrapper node is"
            " running in its context and its metadata has no LangGraph"
            " namespace. Its usage is not recorded. Call the model inside a"
            " node decorated with node_wrapper, and when it runs on another"
            " thread pass the node's config: model.invoke(..., config=config)"
            " (warned once per process)",
        )
    else:
        warn_once(
            "unattributed:unwrapped-node",
            "an LLM call was seen in LangGraph task %r, which is not a running"
            " node decorated with node_wrapper. Its usage is not recorded."
            " Wrap that node with node_wrapper (or the graph with instrument),"
            " record it with TokenUsageCallbackHandler(record_nodes=True) on the"
            " graph run, or pass the wrapped node's config to the model call"
            " (warned once per process)",
            namespace,
        )


class TokenUsageCallbackHandler(BaseCallbackHandler):
    """Feeds ``record_token_usage`` from every chat model or LLM call it sees.

    With ``record_nodes=True`` (the handler on the graph run), it also
    writes one ``NodeRunLog`` per node or task run it sees, for graphs whose
    nodes nobody can decorate (see ``callback_nodes``); the other keywords
    are ``node_wrapper``'s recording options (``capture_io``, snapshot
    options). Nodes that record themselves are not written twice.

    Example:
        >>> from langchain_core.language_models import GenericFakeChatModel
        >>> from langchain_core.messages import AIMessage
        >>> handler = TokenUsageCallbackHandler()
        >>> model = GenericFakeChatModel(
        ...     messages=iter([AIMessage("hi", usage_metadata={
        ...         "input_tokens": 3, "output_tokens": 1, "total_tokens": 4})]),
        ...     callbacks=[handler],
        ... )
        >>> model.invoke("hello").content
        'hi'
    """

    # Handlers run in the calling thread and context, where the node's
    # collector is; never on an executor of LangChain's.
    run_inline = True
    raise_error = False
    # LangChain reads one of these before every event it hands a handler;
    # the base class has them as properties (a Python call each time).
    ignore_chain = False
    ignore_llm = False
    ignore_chat_model = False

    def __init__(self, *, record_nodes: bool = False, **node_options: Any) -> None:
        super().__init__()
        # Calls between their start and end. No lock: one ``dict`` store or
        # ``pop`` is atomic, and each run id is stored and popped once.
        self._pending: dict[UUID, _Pending] = {}
        if node_options and not record_nodes:
            raise TypeError("node recording options need record_nodes=True")
        self._nodes = callback_nodes.node_spec(node_options) if record_nodes else None

    # -- chains: which graph invocation a node runs in --------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Note the chain run's root (the graph invocation)."""
        # note_chain_start, inlined: this runs for every runnable of a graph.
        roots = _roots
        if parent_run_id is None:
            roots[run_id] = run_id
            graph_run_started(run_id, inputs, kwargs.get("metadata"))
        elif len(roots) < _MAX_ROOTS:
            roots[run_id] = roots.get(parent_run_id, parent_run_id)
        else:
            note_chain_start(run_id, parent_run_id)
        if self._nodes is not None:
            callback_nodes.chain_start(
                self._nodes,
                run_id,
                parent_run_id,
                inputs,
                kwargs.get("metadata"),
                kwargs.get("tags"),
            )

    def on_chain_end(
        self,
        outputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Forget the ended chain run; a graph run's end goes to the sinks."""
        _roots.pop(run_id, None)
        if self._nodes is not None:
            callback_nodes.chain_end(run_id, parent_run_id, outputs)
        # After the node runs recorded from callbacks: they belong to the trace.
        if parent_run_id is None:
            graph_run_ended(run_id, outputs)

    def on_chain_error(
        self, error: BaseException, *, run_id: UUID, **kwargs: Any
    ) -> None:
        """Forget the failed chain run; a graph run's end goes to the sinks."""
        _roots.pop(run_id, None)
        if self._nodes is not None:
            callback_nodes.chain_error(run_id, kwargs.get("parent_run_id"), error)
        # After the node runs recorded from callbacks: they belong to the trace.
        if kwargs.get("parent_run_id") is None:
            graph_run_ended(run_id, None)

    # -- start: decide which node the call belongs to -------------------------

    def _start(
        self,
        run_id: UUID,
        metadata: Mapping[str, Any] | None,
        kwargs: dict[str, Any],
        prompt_chars: int,
    ) -> None:
        collector = _find_collector(metadata)
        if collector is None:
            return
        # The invocation parameters are read only when LangChain's metadata
        # does not name the model (it does for every chat model).
        if metadata:
            model_name = metadata.get("ls_model_name") or _model_from(
                kwargs.get("invocation_params")
            )
            provider = metadata.get("ls_provider")
        else:
            model_name = _model_from(kwargs.get("invocation_params"))
            provider = None
        self._pending[run_id] = (
            collector,
            model_name if isinstance(model_name, str) else None,
            prompt_chars,
            provider if isinstance(provider, str) else None,
            _now(UTC),
        )

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Note the call, its node and its prompt size."""
        # The guard's logic without its three calls, and the collector lookup
        # and ``_start`` inlined for a call in a wrapped node's task: this
        # runs for every call.
        try:
            chars = 0
            for batch in messages:
                for message in batch:
                    content = message.content
                    chars += (
                        len(content) if type(content) is str else _text_length(content)
                    )
            if not metadata:
                self._start(run_id, metadata, kwargs, chars)
                return
            namespace = metadata.get("langgraph_checkpoint_ns") or metadata.get(
                "checkpoint_ns"
            )
            collector = (
                _by_namespace.get(namespace)
                if isinstance(namespace, str) and namespace
                else None
            )
            if collector is None:
                self._start(run_id, metadata, kwargs, chars)
                return
            model_name = metadata.get("ls_model_name") or _model_from(
                kwargs.get("invocation_params")
            )
            provider = metadata.get("ls_provider")
            self._pending[run_id] = (
                collector,
                model_name if isinstance(model_name, str) else None,
                chars,
                provider if isinstance(provider, str) else None,
                _now(UTC),
            )
        except Exception as exc:
            report("token callback", exc)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Note the call, its node and its prompt size."""
        with guard("token callback"):
            chars = sum(len(p) for p in prompts if isinstance(p, str))
            self._start(run_id, metadata, kwargs, chars)

    # -- end: read the usage and count it once --------------------------------

    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Count the finished call against its node."""
        pending = self._pending.pop(run_id, None)
        if pending is None:
            return
        try:
            collector, start_model, prompt_chars, provider, started_at = pending
            # What _record does, inlined for the shape of nearly every call:
            # one generation whose message carries clean usage counts.
            generations = response.generations
            message = None
            if len(generations) == 1 and len(generations[0]) == 1:
                message = getattr(generations[0][0], "message", None)
            usage = (
                None if message is None else getattr(message, "usage_metadata", None)
            )
            if not usage or type(usage) is not dict:
                _record(pending, response, run_id, None)
                return
            clean = _clean(
                usage.get("input_tokens"),
                usage.get("output_tokens"),
                usage.get("total_tokens"),
            )
            if clean is None:
                _record(pending, response, run_id, None)
                return
            prompt, completion, total = clean
            inputs = usage.get("input_token_details")
            outputs = usage.get("output_token_details")
            model = _model_from(getattr(message, "response_metadata", None))
            if model is None:
                output = response.llm_output
                if output and (type(output) is dict or isinstance(output, Mapping)):
                    model = _model_from(output)
            if type(run_id) is UUID:
                # str(run_id) without UUID.__str__'s call: the same text.
                digits = "%032x" % run_id.int
                run = (
                    f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}"
                    f"-{digits[16:20]}-{digits[20:]}"
                )
            else:
                run = str(run_id)
            message_id = getattr(message, "id", None)
            collector.add(
                build_call_usage(
                    prompt,
                    completion,
                    total or prompt + completion,
                    model or start_model,
                    prompt_chars,
                    True,
                    details_fields(inputs, outputs) if inputs or outputs else None,
                    provider,
                    run,
                    started_at,
                    _now(UTC),
                    "success",
                    None,
                ),
                run,
                [message_id] if isinstance(message_id, str) else None,
            )
        except Exception as exc:
            report("token callback", exc)

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Keep the failed or aborted call, with the partial usage LangChain
        passes as ``response`` (a stream cut off after some chunks)."""
        pending = self._pending.pop(run_id, None)
        if pending is None:
            return
        with guard("token callback"):
            response = kwargs.get("response")
            _record(
                pending,
                response if isinstance(response, LLMResult) else None,
                run_id,
                error,
            )


def _clean(prompt: Any, completion: Any, total: Any) -> tuple[int, int, int] | None:
    """The counts, if they are ints a record can hold as they are (as every
    provider reports them: the ``TokenUsage`` then needs no validation);
    else ``None``."""
    if (
        type(prompt) is int
        and type(completion) is int
        and type(total) is int
        and prompt >= 0
        and completion >= 0
        and total >= 0
        and prompt + completion <= MAX_COUNT
        and total <= MAX_COUNT
    ):
        return prompt, completion, total
    return None


def _record(
    pending: _Pending,
    response: LLMResult | None,
    run_id: UUID,
    error: BaseException | None,
) -> None:
    """One call, one ``TokenUsage``, into its node's collector."""
    collector, start_model, prompt_chars, provider, started_at = pending
    counts: Counts | None = None
    model_name: str | None = None
    message_ids: list[str] | None = None
    if response is not None:
        counts, model_name, message_ids = _read_usage(response)
    run = str(run_id)
    status: CallStatus = "success"
    error_type = None
    if error is not None:
        status = "aborted" if isinstance(error, _ABORTS) else "error"
        error_type = type(error).__name__
    model = model_name or start_model
    if counts is None:
        prompt = completion = total = 0
        details = None
    else:
        prompt, completion, total, details = counts
    clean = _clean(prompt, completion, total)
    if clean is not None:
        # Clean counts, as every provider reports them: skip validation.
        prompt, completion, total = clean
        usage = build_call_usage(
            prompt,
            completion,
            total or prompt + completion,
            model,
            prompt_chars,
            counts is not None,
            details,
            provider,
            run,
            started_at,
            _now(UTC),
            status,
            error_type,
        )
    else:
        extra: dict[str, Any] = dict(details or ())
        extra.update(
            provider=provider,
            run_id=run,
            started_at=started_at,
            ended_at=_now(UTC),
            status=status,
            error_type=error_type,
        )
        usage = make_usage(prompt, completion, total, model, prompt_chars, True, extra)
    collector.add(usage, run, message_ids)


def _read_usage(response: LLMResult) -> tuple[Counts | None, str | None, list[str]]:
    """(token counts or None, model name, ids of the returned messages)."""
    usage: Counts | None = None
    model_name: str | None = None
    message_ids: list[str] = []
    for generations in response.generations:
        for generation in generations:
            message = getattr(generation, "message", None)
            if message is None:
                continue
            if isinstance(message.id, str):
                message_ids.append(message.id)
            metadata = getattr(message, "response_metadata", None)
            model_name = model_name or _model_from(metadata)
            found = getattr(message, "usage_metadata", None)
            if usage is None and found:
                # One call, one usage: providers that return several
                # generations (n > 1) attach the call's usage to each.
                # (``from_usage_metadata``, inlined: once per call.)
                inputs = found.get("input_token_details")
                outputs = found.get("output_token_details")
                usage = (
                    found.get("input_tokens"),
                    found.get("output_tokens"),
                    found.get("total_tokens"),
                    details_fields(inputs, outputs) if inputs or outputs else None,
                )
    output = response.llm_output
    if output and (type(output) is dict or isinstance(output, Mapping)):
        model_name = model_name or _model_from(output)
        if usage is None:
            for key in ("token_usage", "usage", "usage_metadata"):
                found = output.get(key)
                if isinstance(found, Mapping) and found:
                    usage = from_provider_usage(found)
                    break
    return usage, model_name, message_ids
