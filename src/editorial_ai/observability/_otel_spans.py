"""Node runs as OpenTelemetry spans: ids and the tree of a trace.

A ``NodeRunLog`` becomes one finished span built directly as a ``ReadableSpan``
(no tracer, no live context), so the live sink and the backfill from JSONL
build the very same spans, with the same ids, from the same records.

Traces. The trace id is the graph invocation's ``invocation_id`` (a UUID, known
when a ``TokenUsageCallbackHandler`` is on the graph run): one trace per
invocation. Without it the trace id is hashed from the thread id, and every node
run of the thread lands in one trace.

Tree. Every trace has one root span, ``invoke_workflow`` (GenAI conventions:
``gen_ai.operation.name`` = ``invoke_workflow``), from the first start to the
last end of its node runs. Top-level node spans are its children. A node run
inside a subgraph (``checkpoint_ns`` ``outer:<id>|ask:<id>``) is the child of
the run of its parent namespace (``outer:<id>``) whose time range holds its
start; that run ends after its children, so a child waits for it. A parent
namespace that never shows up as a node run (a subgraph added as a node without
``node_wrapper``) gets a placeholder span, ``langgraph.placeholder`` = true,
spanning its children, when the trace is closed.

Ids. Hashes of the record, never random: a node span's id comes from the trace
id, thread, node, namespace, start time, attempt, status and interrupt id; the
root's from the trace id; a placeholder's from the trace id and namespace.

What a span says (attributes, events) is in :mod:`._otel_attributes`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from ._otel_attributes import Attributes, node_content, ns, thread_attributes
from .models import NodeRunLog

ROOT_SPAN_NAME = "invoke_workflow"

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
# A child's start is compared with its parent's range with this slack: both
# come from the wall clock, while durations come from a monotonic clock.
_SLACK = timedelta(milliseconds=1)
# Traces closed earlier, to send a fuller root if one is reopened (bounded).
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
    if log.invocation_id:
        try:
            return uuid.UUID(log.invocation_id).int or 1
        except ValueError:
            return _hash(128, "invocation", log.invocation_id)
    return _hash(128, "thread", log.thread_id)


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


def root_span_id(trace_id: int) -> int:
    """64-bit span id of a trace's root span."""
    return _hash(64, "root", format(trace_id, "032x"))


def placeholder_span_id(trace_id: int, namespace: str) -> int:
    """64-bit span id of the placeholder for a namespace with no node run."""
    return _hash(64, "namespace", format(trace_id, "032x"), namespace)


def _parent_namespace(namespace: str | None) -> str | None:
    if not namespace or "|" not in namespace:
        return None
    return namespace.rsplit("|", 1)[0]


def _context(trace_id: int, span_id: int) -> SpanContext:
    return SpanContext(trace_id, span_id, is_remote=False, trace_flags=_SAMPLED)


_Build = Callable[[int], ReadableSpan]


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
    thread_id: str
    invocation_id: str | None
    started_at: datetime
    ended_at: datetime
    last_active: float
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


class TraceAssembler:
    """Turns node runs into spans, trace by trace; shared by sink and backfill.

    :meth:`add` returns the spans that can be sent now (the run's own, unless
    it waits for its parent, and the children it was the parent of);
    :meth:`close` returns the rest of a trace: placeholders, the spans that
    waited on them, and the root.

    Example:
        >>> from opentelemetry.sdk.resources import Resource
        >>> assembler = TraceAssembler(Resource.create({}), 16384)
        >>> assembler.close_all()
        []
    """

    def __init__(self, resource: Resource, max_attribute_bytes: int) -> None:
        self.resource = resource
        self.max_attribute_bytes = max_attribute_bytes
        self.scope = InstrumentationScope("editorial_ai.observability", _version())
        self._open: OrderedDict[int, _Trace] = OrderedDict()
        self._closed_starts: OrderedDict[int, datetime] = OrderedDict()

    # -- feeding ---------------------------------------------------------------

    def add(
        self, log: NodeRunLog, *, capture_io: bool = False, now: float = 0.0
    ) -> list[ReadableSpan]:
        """Take one node run; return the spans complete now."""
        trace = self._trace_for(log, now)
        span_id = node_span_id(trace.trace_id, log)
        build = partial(self._node_span, trace, log, span_id, capture_io)
        ready: list[ReadableSpan] = []
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
                    ready.append(child.build(span_id))
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
            ready.append(build(root_span_id(trace.trace_id)))
            return
        parent = trace.parent_run(parent_namespace, started_at)
        if parent is not None:
            ready.append(build(parent))
        else:
            trace.waiting.setdefault(parent_namespace, []).append(
                _Waiting(started_at, ended_at, build)
            )

    def _trace_for(self, log: NodeRunLog, now: float) -> _Trace:
        trace_id = trace_id_of(log)
        trace = self._open.get(trace_id)
        if trace is None:
            trace = _Trace(
                trace_id=trace_id,
                thread_id=log.thread_id,
                invocation_id=log.invocation_id,
                started_at=self._closed_starts.pop(trace_id, log.started_at),
                ended_at=log.ended_at,
                last_active=now,
            )
            self._open[trace_id] = trace
        else:
            self._open.move_to_end(trace_id)
        trace.started_at = min(trace.started_at, log.started_at)
        trace.ended_at = max(trace.ended_at, log.ended_at)
        trace.last_active = now
        trace.runs += 1
        previous = trace.latest.get(log.node_name)
        if previous is None or previous[0] <= log.started_at:
            trace.latest[log.node_name] = (log.started_at, log.status)
        return trace

    # -- closing ---------------------------------------------------------------

    def open_traces(self) -> int:
        """How many traces have node runs whose root was not sent yet."""
        return len(self._open)

    def close_idle(
        self, now: float, idle_seconds: float, keep: int
    ) -> list[ReadableSpan]:
        """Close the traces idle for ``idle_seconds``, and the oldest beyond
        ``keep`` open ones; return their remaining spans."""
        spans: list[ReadableSpan] = []
        while self._open:
            trace = next(iter(self._open.values()))
            if now - trace.last_active < idle_seconds and len(self._open) <= keep:
                break
            spans.extend(self.close(trace.trace_id))
        return spans

    def close_all(self) -> list[ReadableSpan]:
        """Close every open trace; return their remaining spans."""
        spans: list[ReadableSpan] = []
        for trace_id in list(self._open):
            spans.extend(self.close(trace_id))
        return spans

    def close(self, trace_id: int) -> list[ReadableSpan]:
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
            spans.extend(child.build(span_id) for child in children)
            started_at = min(child.started_at for child in children)
            ended_at = max(child.ended_at for child in children)
            build = partial(
                self._placeholder_span, trace, namespace, span_id, started_at, ended_at
            )
            self._place(trace, namespace, started_at, ended_at, build, spans)
        spans.append(self._root_span(trace))
        self._closed_starts[trace_id] = trace.started_at
        while len(self._closed_starts) > _MAX_CLOSED:
            self._closed_starts.popitem(last=False)
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
    ) -> ReadableSpan:
        return ReadableSpan(
            name=name,
            context=_context(trace_id, span_id),
            parent=None if parent_id is None else _context(trace_id, parent_id),
            resource=self.resource,
            attributes=attributes,
            events=tuple(events),
            kind=SpanKind.INTERNAL,
            status=status or Status(StatusCode.UNSET),
            start_time=ns(started_at),
            end_time=ns(ended_at),
            instrumentation_scope=self.scope,
        )

    def _node_span(
        self,
        trace: _Trace,
        log: NodeRunLog,
        span_id: int,
        capture_io: bool,
        parent_id: int,
    ) -> ReadableSpan:
        attributes, events, status = node_content(
            log, capture_io, self.max_attribute_bytes
        )
        return self._span(
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

    def _placeholder_span(
        self,
        trace: _Trace,
        namespace: str,
        span_id: int,
        started_at: datetime,
        ended_at: datetime,
        parent_id: int,
    ) -> ReadableSpan:
        node = namespace.rsplit("|", 1)[-1].split(":", 1)[0]
        attributes: Attributes = {
            "langgraph.node": node,
            "langgraph.checkpoint_ns": namespace,
            "langgraph.placeholder": True,
            **thread_attributes(trace.thread_id, trace.invocation_id),
        }
        return self._span(
            node, trace.trace_id, span_id, parent_id, started_at, ended_at, attributes
        )

    def _root_span(self, trace: _Trace) -> ReadableSpan:
        statuses = {status for _, status in trace.latest.values()}
        failed = sorted(
            node for node, (_, status) in trace.latest.items() if status == "error"
        )
        outcome = "failed" if failed else "completed"
        if not failed and "interrupted" in statuses:
            outcome = "interrupted"
        attributes: Attributes = {
            "gen_ai.operation.name": "invoke_workflow",
            "langgraph.status": outcome,
            "langgraph.node_runs": trace.runs,
            **thread_attributes(trace.thread_id, trace.invocation_id),
        }
        status = None
        if failed:
            status = Status(StatusCode.ERROR, "failed: %s" % ", ".join(failed))
        return self._span(
            ROOT_SPAN_NAME,
            trace.trace_id,
            root_span_id(trace.trace_id),
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
