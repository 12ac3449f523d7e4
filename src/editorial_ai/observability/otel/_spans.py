"""Node runs as OpenTelemetry spans: ids and the tree of a trace.

A ``NodeRunLog`` becomes finished spans built directly as ``ReadableSpan``
objects (no tracer, no live context), so the live sink and the backfill from
JSONL build the very same spans, with the same ids, from the same records.

Traces. The trace id is the graph invocation's ``invocation_id`` (a UUID, known
when a ``TokenUsageCallbackHandler`` is on the graph run): one trace per
invocation. Without it the trace id is hashed from the thread id, and every node
run of the thread lands in one trace.

Tree. A trace has a root span, ``invoke_workflow``, from the first start to the
last end of the node runs it covers. Top-level node spans are its children. A
node run inside a subgraph (``checkpoint_ns`` ``outer:<id>|ask:<id>``) is the
child of the run of its parent namespace (``outer:<id>``) whose time range
holds its start; that run ends after its children, so a child waits for it. A
parent namespace that never shows up as a node run (a subgraph added as a node
without ``node_wrapper``) gets a placeholder span, ``langgraph.placeholder`` =
true, spanning its children, when the trace is closed. Each LLM call of a node
run is a child span of the node's span (see :func:`call_times`).

The root is sent once. It is sent when the trace is closed: when the graph run
ends (the handler on the graph run tells the sinks, see
:meth:`TraceAssembler.end_invocation`), when a run of the trace starts
``idle_seconds`` or more after the trace's last end, when the live sink sees no
activity for that long, or at flush and shutdown. A node run of a trace whose
root was already sent opens a new *generation* of the trace: a new root with a
new span id (``langgraph.root_generation`` counts them), never the old root
again, so a backend that keeps the first copy of a span never keeps a stale
root. The backfill applies the same rule to the recorded times, so live and
backfill agree; they can differ only where a live trace was closed by idleness
or by its graph run's end while one of its node runs was still going (that run
then opens a new generation live, and joins the old one in the backfill).

Ids. Hashes of the record, never random: a node span's id comes from the trace
id, thread, node, namespace, start time, attempt, status and interrupt id; a
call's from its node span's id, its position and its LLM run id; a root's from
the trace id and its generation; a placeholder's from the trace id and
namespace.

What a span says (attributes, events) is in :mod:`._attributes`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from ..models import NodeRunLog
from ._attributes import (
    Attributes,
    call_content,
    io_attributes,
    node_content,
    ns,
    root_content,
    thread_attributes,
)

ROOT_SPAN_NAME = "invoke_workflow"

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
# A child's start is compared with its parent's range with this slack: both
# come from the wall clock, while durations come from a monotonic clock.
_SLACK = timedelta(milliseconds=1)
# Traces closed earlier, remembered to give a reopened one its next
# generation (bounded).
_MAX_CLOSED = 10_000


def _hash(bits: int, *parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[: bits // 8], "big") or 1


def trace_id_of(log: NodeRunLog) -> int:
    """128-bit trace id: the invocation's UUID, else a hash of the thread id.

    Example:
        >>> from datetime import datetime, UTC
        >>> now = datetime(2026, 1, 1, tzinfo=UTC)
        >>> log = NodeRunLog(thread_id="t1", node_name="draft", status="success",
        ...     started_at=now, ended_at=now,
        ...     invocation_id="00000000-0000-0000-0000-00000000002a")
        >>> trace_id_of(log)
        42
    """
    return trace_id_for(log.thread_id, log.invocation_id)


def trace_id_for(thread_id: str, invocation_id: str | None) -> int:
    """128-bit trace id of a thread's invocation (see :func:`trace_id_of`)."""
    if invocation_id:
        try:
            return uuid.UUID(invocation_id).int or 1
        except ValueError:
            return _hash(128, "invocation", invocation_id)
    return _hash(128, "thread", thread_id)


def node_span_id(trace_id: int, log: NodeRunLog) -> int:
    """64-bit span id of one node run, from what identifies the run."""
    return _hash(
        64,
        "node",
        format(trace_id, "032x"),
        log.thread_id,
        log.node_name,
        log.checkpoint_ns or "",
        log.started_at.isoformat(),
        log.attempt or 1,
        log.status,
        log.interrupt_id or "",
    )


def call_span_id(node_id: int, index: int, run_id: str | None) -> int:
    """64-bit span id of a node run's ``index``-th LLM call."""
    return _hash(64, "call", format(node_id, "016x"), index, run_id or "")


def root_span_id(trace_id: int, generation: int = 0) -> int:
    """64-bit span id of a trace's root span (of its ``generation``)."""
    if generation == 0:
        return _hash(64, "root", format(trace_id, "032x"))
    return _hash(64, "root", format(trace_id, "032x"), generation)


def placeholder_span_id(trace_id: int, namespace: str) -> int:
    """64-bit span id of the placeholder for a namespace with no node run."""
    return _hash(64, "namespace", format(trace_id, "032x"), namespace)


def call_times(log: NodeRunLog) -> list[tuple[datetime, datetime, bool]]:
    """Start, end and "estimated" of each LLM call of a node run.

    A call with its own recorded start and end keeps them, clamped to the
    node's range (the call's clock is the wall clock, the node's end comes
    from a monotonic one, so they can disagree by a hair). Calls without both
    times (records written before they were kept, or calls recorded by hand
    with ``record_token_usage``) share the node's time evenly, one after the
    other in the order they were recorded (the order they ended), and are
    marked ``langgraph.call_times = "estimated"``.

    Example:
        >>> from datetime import datetime, UTC, timedelta
        >>> from editorial_ai.observability import TokenUsage
        >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
        >>> log = NodeRunLog(thread_id="t", node_name="n", status="success",
        ...     started_at=t0, ended_at=t0 + timedelta(seconds=2),
        ...     token_usage=[TokenUsage(), TokenUsage()])
        >>> [(s.second, e.second, guess) for s, e, guess in call_times(log)]
        [(0, 1, True), (1, 2, True)]
    """
    start, end = log.started_at, log.ended_at
    untimed = [
        index
        for index, usage in enumerate(log.token_usage)
        if usage.started_at is None or usage.ended_at is None
    ]
    slot = (end - start) / len(untimed) if untimed else timedelta(0)
    times: list[tuple[datetime, datetime, bool]] = []
    position = 0
    for usage in log.token_usage:
        if usage.started_at is None or usage.ended_at is None:
            call_start = start + slot * position
            call_end = end if position == len(untimed) - 1 else call_start + slot
            position += 1
            times.append((call_start, call_end, True))
            continue
        call_start = min(max(usage.started_at, start), end)
        call_end = min(max(usage.ended_at, call_start), end)
        times.append((call_start, call_end, False))
    return times


def _parent_namespace(namespace: str | None) -> str | None:
    if not namespace or "|" not in namespace:
        return None
    return namespace.rsplit("|", 1)[0]


def _context(trace_id: int, span_id: int) -> SpanContext:
    return SpanContext(trace_id, span_id, is_remote=False, trace_flags=_SAMPLED)


_Build = Callable[[int], list[ReadableSpan]]


@dataclass(slots=True)
class _Waiting:
    """A span whose parent run has not been seen yet."""

    started_at: datetime
    ended_at: datetime
    build: _Build


@dataclass(slots=True)
class _Trace:
    """What an open trace needs: its extent, the runs by namespace, the
    spans waiting for their parent, and each node's latest status."""

    trace_id: int
    generation: int
    thread_id: str
    invocation_id: str | None
    started_at: datetime
    ended_at: datetime
    runs: int = 0
    by_namespace: dict[str, list[tuple[datetime, datetime, int]]] = field(
        default_factory=dict
    )
    waiting: dict[str, list[_Waiting]] = field(default_factory=dict)
    latest: dict[str, tuple[datetime, str]] = field(default_factory=dict)

    def parent_run(self, namespace: str, started_at: datetime) -> int | None:
        """The span id of the run of ``namespace`` holding ``started_at``."""
        found: tuple[datetime, int] | None = None
        for start, end, span_id in self.by_namespace.get(namespace, ()):
            if start - _SLACK <= started_at <= end + _SLACK:
                if found is None or start > found[0]:
                    found = (start, span_id)
        return None if found is None else found[1]

    @property
    def root_id(self) -> int:
        return root_span_id(self.trace_id, self.generation)


class TraceAssembler:
    """Turns node runs into spans, trace by trace; shared by sink and backfill.

    :meth:`add` returns the spans that can be sent now (the run's own and its
    calls', unless it waits for its parent, the children it was the parent of,
    and the rest of a generation it closed); :meth:`close` returns the rest of
    a trace: placeholders, the spans that waited on them, and the root.

    Example:
        >>> from opentelemetry.sdk.resources import Resource
        >>> assembler = TraceAssembler(Resource.create({}), 16384)
        >>> assembler.close_all()
        []
    """

    def __init__(
        self,
        resource: Resource,
        max_attribute_bytes: int,
        idle_seconds: float = 60.0,
    ) -> None:
        self.resource = resource
        self.max_attribute_bytes = max_attribute_bytes
        self.idle = timedelta(seconds=idle_seconds)
        self.scope = InstrumentationScope("editorial_ai.observability", _version())
        self._open: OrderedDict[int, _Trace] = OrderedDict()
        self._next_generation: OrderedDict[int, int] = OrderedDict()

    # -- feeding ---------------------------------------------------------------

    def add(self, log: NodeRunLog, *, capture_io: bool = False) -> list[ReadableSpan]:
        """Take one node run; return the spans complete now."""
        ready: list[ReadableSpan] = []
        trace = self._trace_for(log, ready)
        span_id = node_span_id(trace.trace_id, log)
        build = partial(self._node_spans, trace, log, span_id, capture_io)
        self._place(
            trace, log.checkpoint_ns, log.started_at, log.ended_at, build, ready
        )
        namespace = log.checkpoint_ns
        if namespace:
            trace.by_namespace.setdefault(namespace, []).append(
                (log.started_at, log.ended_at, span_id)
            )
            children = trace.waiting.pop(namespace, [])
            still: list[_Waiting] = []
            for child in children:
                if log.started_at - _SLACK <= child.started_at <= log.ended_at + _SLACK:
                    ready.extend(child.build(span_id))
                else:
                    still.append(child)
            if still:
                trace.waiting[namespace] = still
        return ready

    def _place(
        self,
        trace: _Trace,
        namespace: str | None,
        started_at: datetime,
        ended_at: datetime,
        build: _Build,
        ready: list[ReadableSpan],
    ) -> None:
        parent_namespace = _parent_namespace(namespace)
        if parent_namespace is None:
            ready.extend(build(trace.root_id))
            return
        parent = trace.parent_run(parent_namespace, started_at)
        if parent is not None:
            ready.extend(build(parent))
        else:
            trace.waiting.setdefault(parent_namespace, []).append(
                _Waiting(started_at, ended_at, build)
            )

    def _trace_for(self, log: NodeRunLog, ready: list[ReadableSpan]) -> _Trace:
        trace_id = trace_id_of(log)
        trace = self._open.get(trace_id)
        if trace is not None and log.started_at - trace.ended_at >= self.idle:
            # An idle gap ends a generation, live and in the backfill alike.
            ready.extend(self.close(trace_id))
            trace = None
        if trace is None:
            trace = _Trace(
                trace_id=trace_id,
                generation=self._next_generation.pop(trace_id, 0),
                thread_id=log.thread_id,
                invocation_id=log.invocation_id,
                started_at=log.started_at,
                ended_at=log.ended_at,
            )
            self._open[trace_id] = trace
        else:
            self._open.move_to_end(trace_id)
        trace.started_at = min(trace.started_at, log.started_at)
        trace.ended_at = max(trace.ended_at, log.ended_at)
        trace.runs += 1
        previous = trace.latest.get(log.node_name)
        if previous is None or previous[0] <= log.started_at:
            trace.latest[log.node_name] = (log.started_at, log.status)
        return trace

    # -- closing ---------------------------------------------------------------

    def open_traces(self) -> int:
        """How many traces have node runs whose root was not sent yet."""
        return len(self._open)

    def close_idle(self, now: datetime, keep: int) -> list[ReadableSpan]:
        """Close the traces whose last run ended ``idle_seconds`` before
        ``now`` (wall clock), and the least recently active beyond ``keep``
        open ones; return their remaining spans.

        Open traces are kept least recently active first (a run moves its
        trace to the end), so this stops at the first one still active and
        within ``keep``: it runs after every node run, and costs the traces
        it closes, not all the open ones. (A trace that ended earlier behind
        an active one is closed on a later call, or, if a run of it comes
        first, by that run's idle gap: the same spans either way.)"""
        spans: list[ReadableSpan] = []
        opened = self._open
        while opened:
            trace_id, trace = next(iter(opened.items()))
            if now - trace.ended_at < self.idle and len(opened) <= keep:
                break
            spans.extend(self.close(trace_id))
        return spans

    def close_all(self) -> list[ReadableSpan]:
        """Close every open trace; return their remaining spans."""
        spans: list[ReadableSpan] = []
        for trace_id in list(self._open):
            spans.extend(self.close(trace_id))
        return spans

    def end_invocation(
        self,
        thread_id: str,
        invocation_id: str,
        *,
        graph_input: Any = None,
        graph_output: Any = None,
        capture_io: bool = False,
    ) -> list[ReadableSpan]:
        """The graph run ``invocation_id`` ended: close its trace, the root
        carrying the graph's input and final output (with ``capture_io``)."""
        trace_id = trace_id_for(thread_id, invocation_id)
        io: Attributes = {}
        if capture_io:
            io = io_attributes(graph_input, graph_output, self.max_attribute_bytes)
        return self.close(trace_id, io)

    def close(self, trace_id: int, io: Attributes | None = None) -> list[ReadableSpan]:
        """Placeholders for parents never seen, what waited on them, the root."""
        trace = self._open.pop(trace_id, None)
        if trace is None:
            return []
        spans: list[ReadableSpan] = []
        while trace.waiting:
            # Deepest first: a placeholder then waits one level up, if at all.
            namespace = max(trace.waiting, key=lambda name: name.count("|"))
            children = trace.waiting.pop(namespace)
            span_id = placeholder_span_id(trace.trace_id, namespace)
            for child in children:
                spans.extend(child.build(span_id))
            started_at = min(child.started_at for child in children)
            ended_at = max(child.ended_at for child in children)
            build = partial(
                self._placeholder_span, trace, namespace, span_id, started_at, ended_at
            )
            self._place(trace, namespace, started_at, ended_at, build, spans)
        spans.append(self._root_span(trace, io or {}))
        self._next_generation[trace_id] = trace.generation + 1
        while len(self._next_generation) > _MAX_CLOSED:
            self._next_generation.popitem(last=False)
        return spans

    # -- spans -----------------------------------------------------------------

    def _span(
        self,
        name: str,
        trace_id: int,
        span_id: int,
        parent_id: int | None,
        started_at: datetime,
        ended_at: datetime,
        attributes: Attributes,
        events: Iterable[Event] = (),
        status: Status | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> ReadableSpan:
        return ReadableSpan(
            name=name,
            context=_context(trace_id, span_id),
            parent=None if parent_id is None else _context(trace_id, parent_id),
            resource=self.resource,
            attributes=attributes,
            events=tuple(events),
            kind=kind,
            status=status or Status(StatusCode.UNSET),
            start_time=ns(started_at),
            end_time=ns(ended_at),
            instrumentation_scope=self.scope,
        )

    def _node_spans(
        self,
        trace: _Trace,
        log: NodeRunLog,
        span_id: int,
        capture_io: bool,
        parent_id: int,
    ) -> list[ReadableSpan]:
        attributes, events, status = node_content(
            log, capture_io, self.max_attribute_bytes
        )
        spans = [
            self._span(
                log.node_name,
                trace.trace_id,
                span_id,
                parent_id,
                log.started_at,
                log.ended_at,
                attributes,
                events,
                status,
            )
        ]
        for index, (start, end, estimated) in enumerate(call_times(log)):
            name, call_attributes, call_events, call_status = call_content(
                log, index, estimated
            )
            spans.append(
                self._span(
                    name,
                    trace.trace_id,
                    call_span_id(span_id, index, log.token_usage[index].run_id),
                    span_id,
                    start,
                    end,
                    call_attributes,
                    call_events,
                    call_status,
                    SpanKind.CLIENT,
                )
            )
        return spans

    def _placeholder_span(
        self,
        trace: _Trace,
        namespace: str,
        span_id: int,
        started_at: datetime,
        ended_at: datetime,
        parent_id: int,
    ) -> list[ReadableSpan]:
        node = namespace.rsplit("|", 1)[-1].split(":", 1)[0]
        attributes: Attributes = {
            "openinference.span.kind": "CHAIN",
            "langgraph.node": node,
            "langgraph.checkpoint_ns": namespace,
            "langgraph.placeholder": True,
            **thread_attributes(trace.thread_id, trace.invocation_id),
        }
        return [
            self._span(
                node,
                trace.trace_id,
                span_id,
                parent_id,
                started_at,
                ended_at,
                attributes,
            )
        ]

    def _root_span(self, trace: _Trace, io: Attributes) -> ReadableSpan:
        statuses = {status for _, status in trace.latest.values()}
        failed = sorted(
            node for node, (_, status) in trace.latest.items() if status == "error"
        )
        outcome = "failed" if failed else "completed"
        if not failed and "interrupted" in statuses:
            outcome = "interrupted"
        attributes, status = root_content(
            trace.thread_id, trace.invocation_id, outcome, failed, trace.runs, io
        )
        if trace.generation:
            attributes["langgraph.root_generation"] = trace.generation
        return self._span(
            ROOT_SPAN_NAME,
            trace.trace_id,
            trace.root_id,
            None,
            trace.started_at,
            trace.ended_at,
            attributes,
            status=status,
        )


def _version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("editorial-ai-observability")
    except PackageNotFoundError:
        return None
