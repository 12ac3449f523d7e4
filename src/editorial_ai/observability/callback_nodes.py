"""Node runs recorded from the callbacks alone, for code nobody can decorate.

With ``TokenUsageCallbackHandler(record_nodes=True)`` on the graph run
(``config={"callbacks": [handler]}``), every LangGraph node or task run the
callbacks show is written as a ``NodeRunLog``, as LangSmith, Langfuse or
Phoenix would trace it, without touching the graph.

Which chain runs are node runs: LangGraph starts one chain run per task (a
node run, a ``Send``, a functional-API task or entrypoint) and gives it, and
everything run inside it, the metadata ``langgraph_node``, ``langgraph_step``
and ``langgraph_checkpoint_ns`` (the task's namespace). A chain run is a node
run when its parent is not inside a run of the same namespace; the runs inside
it (the node's own runnables, its routing functions, a subgraph's root run)
are remembered until they end. A subgraph's nodes have namespaces of their own
(``parent:id|child:id``) and are node runs too, and so is the node that runs
the subgraph. LangGraph's hidden runs (``__start__``, tagged
``langsmith:hidden``) are not.

What a record holds, from the callbacks: the node name, step, namespace,
invocation (root run), thread id (``thread_id`` in the metadata, LangChain
copies it from ``configurable``), the input the chain run started with (the
state, or a task's arguments by name) and the output it ended with, times on
the same clocks as the wrapper, the error with its traceback excerpt, and
``interrupted`` with the interrupt's id and value. The retry ``attempt`` is
counted per namespace within one invocation. ``resumed_interrupt_ids`` and
``resume_values``: the next run of an interrupted namespace in a later
invocation of this process answers the interrupts of its last interrupted run,
with the values of that invocation's ``Command(resume=...)`` (after a restart
they are left ``None``).

Tokens: the recorder registers the run's collector under its namespace, where
the handler looks first, so every LLM call made inside the node (the call's
metadata carries the namespace) is counted on this record.

Nodes that also record themselves (``node_wrapper``, ``instrument``) replace
that registration with their own collector when they start and remove it when
they end: finding it gone, the recorder writes nothing, so such a node is
written once, by its wrapper. Several handlers recording nodes on one run
write each node run once: the first to see it start claims it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from time import perf_counter_ns
from typing import Any
from uuid import UUID

from langgraph.errors import GraphBubbleUp, GraphInterrupt
from langgraph.types import Command

from ._internal import guard
from .collector import TokenCollector, _by_namespace, _current, _roots
from .models import NodeStatus
from .node_wrapper import (
    RECORDED,
    _invocation_text,
    _NodeSpec,
    _Run,
    _thread_id_of_state,
    emit_run,
)
from .node_wrapper import node_wrapper as _node_wrapper
from .snapshot import snapshot_state

_HIDDEN = "langsmith:hidden"
_MAX_OPEN = 100_000

# Shared by every handler instance, so that one node run is written once.
_open: dict[UUID, _Run] = {}
"""Node runs started and not yet ended, by chain run id."""
_inside: dict[UUID, str] = {}
"""Chain runs inside a node run (and the node runs), with their namespace."""
_attempts: dict[tuple[str | None, str], int] = {}
"""Runs seen per (invocation, namespace): the retry attempt number."""
_interrupted: dict[str, tuple[str | None, list[str]]] = {}
"""Interrupts waiting by namespace (with their invocation): the next run of
that namespace in another invocation is the resumed run that answers them."""
_resumes: dict[Any, Any] = {}
"""``Command(resume=...)`` values of the invocations running, by root run."""
_lock = threading.Lock()


def node_spec(options: Mapping[str, Any]) -> _NodeSpec:
    """The recording settings for ``options`` (``node_wrapper``'s keywords).

    Raises ``TypeError``/``ValueError`` at once on a bad option, as
    ``node_wrapper`` does; ``skip_if`` is refused: a node seen only through
    its callbacks cannot be skipped.
    """
    if "skip_if" in options:
        raise TypeError("record_nodes cannot skip nodes: skip_if is not allowed")
    if "name" in options:
        raise TypeError("record_nodes uses LangGraph's node names: no name")
    probe = _node_wrapper(**options)(_probe)
    spec: _NodeSpec = getattr(probe, RECORDED)
    return spec


def _probe(state: Any) -> None:
    """A function to read recording settings from (never called)."""


def chain_start(
    spec: _NodeSpec,
    run_id: UUID,
    parent_run_id: UUID | None,
    inputs: Any,
    metadata: Mapping[str, Any] | None,
    tags: list[str] | None,
) -> None:
    """Open a node run if this chain run is one. Never raises."""
    if parent_run_id is None:
        resume = (
            getattr(inputs, "resume", None) if isinstance(inputs, Command) else None
        )
        if resume is not None:
            _resumes[run_id] = resume  # what the invocation answers with
    if not metadata:
        return
    namespace = metadata.get("langgraph_checkpoint_ns") or metadata.get("checkpoint_ns")
    if not namespace or type(namespace) is not str:
        return
    if parent_run_id is not None and _inside.get(parent_run_id) == namespace:
        _inside[run_id] = namespace  # the node's own work, not a node run
        return
    node_name = metadata.get("langgraph_node")
    if type(node_name) is not str or node_name.startswith("__"):
        return
    if tags and _HIDDEN in tags:
        return
    with guard("record_nodes start"):
        _open_run(spec, run_id, namespace, node_name, inputs, metadata)


def _open_run(
    spec: _NodeSpec,
    run_id: UUID,
    namespace: str,
    node_name: str,
    inputs: Any,
    metadata: Mapping[str, Any],
) -> None:
    started_at = datetime.now(UTC)
    clock_ns = perf_counter_ns()
    invocation = _roots.get(run_id)
    invocation_id = None if invocation is None else _invocation_text(invocation)
    thread_id = metadata.get("thread_id")
    if thread_id is None:
        thread_id = _thread_id_of_state(inputs, node_name)
    elif type(thread_id) is not str:
        thread_id = str(thread_id)
    step = metadata.get("langgraph_step")
    # The node this one runs inside (the node that runs its subgraph): its
    # collector learns which messages were counted here, so that its
    # returned-messages fallback does not count them again.
    parent = (
        _by_namespace.get(namespace.rpartition("|")[0]) if "|" in namespace else None
    )
    collector = TokenCollector(parent=parent or _current.get())
    with _lock:
        if run_id in _open:
            return  # another handler on this run records it
        if max(len(_open), len(_inside), len(_attempts), len(_interrupted)) >= (
            _MAX_OPEN
        ):
            # ends were lost (a broken callback manager): forget, do not grow
            _open.clear()
            _inside.clear()
            _attempts.clear()
            _interrupted.clear()
            _resumes.clear()
        key = (invocation_id, namespace)
        attempt = _attempts[key] = _attempts.get(key, 0) + 1
        run = _Run(
            spec,
            started_at,
            clock_ns,
            thread_id,
            node_name,
            step if type(step) is int else None,
            namespace,
            invocation_id,
            attempt,
            None,
            None,
            collector,
            None,
            inputs,
        )
        waiting = _interrupted.get(namespace)
        if waiting is not None and waiting[0] != invocation_id:
            del _interrupted[namespace]
            run.resumed_ids = waiting[1]
            run.resume_values = _answers(_resumes.get(invocation), waiting[1])
        _open[run_id] = run
        _inside[run_id] = namespace
    _by_namespace[namespace] = collector
    if spec.capture_io:
        run.input_state = snapshot_state(inputs, spec.options)


def _ended(run_id: UUID, parent_run_id: UUID | None) -> _Run | None:
    """Forget the chain run that ended; the node run it was, if any."""
    if parent_run_id is None:
        _forget_invocation(run_id)
    _inside.pop(run_id, None)
    return _open.pop(run_id, None)


def chain_end(run_id: UUID, parent_run_id: UUID | None, outputs: Any) -> None:
    """Write the node run that ended, if it is one. Never raises."""
    run = _ended(run_id, parent_run_id)
    if run is not None:
        _close(run, "success", outputs, None)


def chain_error(run_id: UUID, parent_run_id: UUID | None, error: BaseException) -> None:
    """Write the node run that failed or was interrupted. Never raises."""
    run = _ended(run_id, parent_run_id)
    if run is None:
        return
    if isinstance(error, GraphInterrupt):
        with guard("record_nodes interrupt"):
            interrupts = error.args[0] if error.args else ()
            ids = [i.id for i in interrupts if isinstance(getattr(i, "id", None), str)]
            if ids and run.checkpoint_ns:
                _interrupted[run.checkpoint_ns] = (run.invocation_id, ids)
        _close(run, "interrupted", None, error)
    elif isinstance(error, GraphBubbleUp):
        command = error.args[0] if error.args else None
        _close(run, "success", command, error)
    else:
        _close(run, "error", None, error)


def _close(
    run: _Run, status: NodeStatus, result: Any, error: BaseException | None
) -> None:
    elapsed_ns = perf_counter_ns() - run.clock_ns
    namespace = run.checkpoint_ns or ""
    if _by_namespace.get(namespace) is not run.collector:
        return  # a wrapped node took the namespace over and wrote its record
    _by_namespace.pop(namespace, None)
    emit_run(run, elapsed_ns, status, result, error)


def _answers(resume: Any, interrupt_ids: list[str]) -> list[Any] | None:
    """The values of ``Command(resume=...)`` that answer these interrupts."""
    if resume is None:
        return None
    if isinstance(resume, Mapping) and any(i in resume for i in interrupt_ids):
        return [resume[i] for i in interrupt_ids if i in resume]
    return [resume]  # one value: it answers the interrupt that waits


def _forget_invocation(run_id: UUID) -> None:
    """Drop the attempt counts and resume values of an invocation that ended."""
    _resumes.pop(run_id, None)
    invocation_id = str(run_id)
    with _lock:
        for key in [key for key in _attempts if key[0] == invocation_id]:
            del _attempts[key]
