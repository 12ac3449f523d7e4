"""The OpenTelemetry sink: node runs and their LLM calls as spans, sent to
any OTLP backend.

Each finished node run becomes one span with its real start and end, and each
of its LLM calls a child span, under one trace per graph invocation (see
:mod:`._spans` for ids and tree, :mod:`._attributes` for what spans say).
Spans are built as finished ``ReadableSpan`` objects and handed to a
``SpanProcessor``, as an SDK tracer would: by default a ``BatchSpanProcessor``
over the OTLP/HTTP exporter, which reads the standard ``OTEL_EXPORTER_OTLP_*``
and ``OTEL_SERVICE_NAME`` variables. ``on_end`` only enqueues, so a slow or
dead collector never holds a node up.

A trace's root span is sent once, when the trace is closed: when the graph run
ends (a ``TokenUsageCallbackHandler`` on the graph run sees the end and calls
:meth:`OpenTelemetrySink.end_invocation`), else when it has had no node run
for ``root_idle_seconds`` (checked at every node run, no timer thread), and on
:meth:`OpenTelemetrySink.force_flush` and :meth:`OpenTelemetrySink.shutdown`
(also run at interpreter exit).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

try:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )
except ImportError as exc:  # pragma: no cover - depends on the environment
    from .._internal import missing_extra

    raise ImportError(
        "%s (%s)" % (missing_extra("OpenTelemetry export", "otel"), exc)
    ) from exc

from .. import _env
from .._internal import warn_failure
from ..models import NodeRunLog
from ._attributes import MIN_ATTRIBUTE_BYTES
from ._spans import TraceAssembler

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_SERVICE_NAME",
    "OpenTelemetrySink",
    "default_endpoint",
    "make_resource",
    "spans_from_logs",
]

DEFAULT_SERVICE_NAME = "editorial-ai"
"""``service.name`` when neither the code nor ``OTEL_SERVICE_NAME`` (or
``OTEL_RESOURCE_ATTRIBUTES``) names one."""

DEFAULT_ENDPOINT = "http://localhost:4318/v1/traces"
"""Where spans go when no argument or variable names an endpoint."""
_INSTANCE_ID = "service.instance.id"
_OPEN_TRACES = 10_000
_PAUSE_FIRST_S = 5.0
_PAUSE_MAX_S = 300.0


def default_endpoint() -> str:
    """The OTLP/HTTP traces URL the environment names, as the exporter reads it.

    ``$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` as is, else
    ``$OTEL_EXPORTER_OTLP_ENDPOINT`` + ``/v1/traces`` (per the OTLP exporter
    specification), else ``http://localhost:4318/v1/traces``.

    Example:
        >>> default_endpoint()  # no OTEL_EXPORTER_OTLP_* variable set
        'http://localhost:4318/v1/traces'
    """
    traces = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if traces:
        return traces
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if base:
        return base.rstrip("/") + "/v1/traces"
    return DEFAULT_ENDPOINT


def make_resource(service_name: str | None = None) -> Resource:
    """The ``Resource`` spans carry: ``service_name``, else the OTEL_*
    variables, else :data:`DEFAULT_SERVICE_NAME`.

    ``$OTEL_RESOURCE_ATTRIBUTES`` adds the rest, e.g.
    ``openinference.project.name=newsroom`` for the Phoenix project. The
    ``service.instance.id`` that recent SDKs draw at random is left out unless
    the environment sets one: live and backfill must send the same resource.

    Example:
        >>> make_resource("newsroom").attributes["service.name"]
        'newsroom'
    """
    resource = Resource.create({SERVICE_NAME: service_name} if service_name else {})
    attributes = dict(resource.attributes)
    named = str(attributes.get(SERVICE_NAME, ""))
    if not service_name and named.startswith("unknown_service"):
        attributes[SERVICE_NAME] = DEFAULT_SERVICE_NAME
    if _INSTANCE_ID not in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", ""):
        attributes.pop(_INSTANCE_ID, None)
    return Resource(attributes, resource.schema_url)


def spans_from_logs(
    logs: Iterable[NodeRunLog],
    *,
    service_name: str | None = None,
    capture_io: bool = False,
    max_attribute_bytes: int = 16384,
    root_idle_seconds: float = 60.0,
    graph_runs: Mapping[str, tuple[Any, Any]] | None = None,
) -> list[ReadableSpan]:
    """The spans of recorded node runs, exactly as the live sink sends them.

    Give the runs in the order they were recorded (file order), the live
    sink's ``root_idle_seconds``, and the thread's recorded graph runs
    (:func:`~editorial_ai.observability.invocations.read_graph_runs`:
    invocation id -> graph input and final output) for the roots' input and
    output. Every trace is closed at the end, so each comes with its root.

    Example:
        >>> spans_from_logs([])
        []
    """
    assembler = TraceAssembler(
        make_resource(service_name), max_attribute_bytes, root_idle_seconds
    )
    spans: list[ReadableSpan] = []
    thread_id = "unknown"
    for log in logs:
        thread_id = log.thread_id
        spans.extend(assembler.add(log, capture_io=capture_io))
    for invocation_id, (graph_input, graph_output) in (graph_runs or {}).items():
        spans.extend(
            assembler.end_invocation(
                thread_id,
                invocation_id,
                graph_input=graph_input,
                graph_output=graph_output,
                capture_io=capture_io,
            )
        )
    spans.extend(assembler.close_all())
    return spans


class _PausingExporter(SpanExporter):
    """Reports failed exports as counted warnings and, after a failure, drops
    batches for a while (5 s, doubling up to 5 min) instead of retrying a dead
    collector with every batch: the OTLP exporter's own retries and log lines
    then happen a few times an hour, not with every batch."""

    def __init__(
        self,
        exporter: SpanExporter,
        target: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.exporter = exporter
        self.target = target
        self._clock = clock
        self._paused_until = 0.0
        self._failures = 0
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        now = self._clock()
        with self._lock:
            paused = now < self._paused_until
        if paused:
            warn_failure(
                "otel:paused",
                "OpenTelemetry: dropped %d spans while exports to %s are paused; "
                "`editorial-ai-obs export-otel` can send the recorded runs later",
                len(spans),
                self.target,
            )
            return SpanExportResult.FAILURE
        try:
            result = self.exporter.export(spans)
            reason = "the exporter reported a failure"
        except Exception as exc:  # an exporter bug must not kill the worker
            result = SpanExportResult.FAILURE
            reason = "%s: %s" % (type(exc).__name__, exc)
        with self._lock:
            if result is SpanExportResult.SUCCESS:
                self._failures = 0
                self._paused_until = 0.0
                return result
            self._failures += 1
            pause = min(_PAUSE_FIRST_S * 2 ** (self._failures - 1), _PAUSE_MAX_S)
            self._paused_until = now + pause
        warn_failure(
            "otel:export",
            "OpenTelemetry: could not send %d spans to %s (%s); the pipeline is "
            "unaffected; pausing exports for %.0f s",
            len(spans),
            self.target,
            reason,
            pause,
        )
        return SpanExportResult.FAILURE

    def try_now(self) -> None:
        """End a pause: an explicit flush or shutdown deserves one more try."""
        with self._lock:
            self._paused_until = 0.0

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)


class OpenTelemetrySink:
    """Sends every finished node run to OpenTelemetry as a span.

    Args:
        processor: where finished spans go; default a ``BatchSpanProcessor``
            over ``exporter``. The sink owns it: :meth:`shutdown` shuts it down.
        exporter: a ``SpanExporter`` for the default processor; default the
            OTLP/HTTP exporter (``endpoint`` or the ``OTEL_EXPORTER_OTLP_*``
            variables). Its failures are counted warnings, never exceptions.
        endpoint: the OTLP/HTTP traces URL, e.g.
            ``http://collector:4318/v1/traces``.
        service_name: ``service.name``; default ``$OTEL_SERVICE_NAME``, else
            ``editorial-ai``.
        capture_io: attach state as ``input.value`` / ``output.value``: the
            node's recorded snapshots, and the graph's input and final output
            on the root; default ``$EDITORIAL_AI_OTEL_CAPTURE_IO``, read at
            every node run.
        max_attribute_bytes: bound of each state attribute (a larger snapshot
            is cut again with the JSONL's markers).
        root_idle_seconds: a trace whose last node run ended this long ago is
            closed and its root span sent (when no handler on the graph run
            announced its end); a node run starting this long after the
            trace's last end opens a new root.

    Raises:
        ValueError: for contradictory or out-of-range arguments.

    Example:
        >>> from editorial_ai.observability.sinks import add_sink
        >>> add_sink(OpenTelemetrySink(endpoint="http://collector:4318/v1/traces"))
    """

    def __init__(
        self,
        processor: SpanProcessor | None = None,
        *,
        exporter: SpanExporter | None = None,
        endpoint: str | None = None,
        service_name: str | None = None,
        capture_io: bool | None = None,
        max_attribute_bytes: int = 16384,
        root_idle_seconds: float = 60.0,
    ) -> None:
        if processor is not None and (exporter is not None or endpoint is not None):
            raise ValueError("give a processor, or an exporter/endpoint, not both")
        if exporter is not None and endpoint is not None:
            raise ValueError("give an exporter or an endpoint, not both")
        if max_attribute_bytes < MIN_ATTRIBUTE_BYTES:
            raise ValueError("max_attribute_bytes must be >= %d" % MIN_ATTRIBUTE_BYTES)
        if not root_idle_seconds > 0:
            raise ValueError("root_idle_seconds must be > 0")
        self._pausing: _PausingExporter | None = None
        if processor is None:
            target = endpoint or default_endpoint()
            if exporter is None:
                exporter = OTLPSpanExporter(endpoint=endpoint)
            else:
                target = type(exporter).__name__
            self._pausing = _PausingExporter(exporter, target)
            processor = BatchSpanProcessor(self._pausing)
        self.processor = processor
        self._capture_io = capture_io
        self._clock: Callable[[], datetime] = partial(datetime.now, UTC)
        self._assembler = TraceAssembler(
            make_resource(service_name), max_attribute_bytes, float(root_idle_seconds)
        )
        self._lock = threading.Lock()
        self._shut = False
        self._at_exit = _at_exit_hook(self)
        atexit.register(self._at_exit)

    def _capture(self) -> bool:
        capture_io = self._capture_io
        if capture_io is None:
            capture_io = _env.flag(_env.OTEL_CAPTURE_IO)
        return capture_io

    @property
    def captures_graph_io(self) -> bool:
        """Whether state is attached (then graph runs' input and output are
        taken for the roots, see :mod:`editorial_ai.observability.invocations`)."""
        return self._capture()

    def export(self, log: NodeRunLog) -> None:
        """Turn ``log`` into its spans and hand them on (closing idle traces)."""
        capture_io = self._capture()
        now = self._clock()
        with self._lock:
            if self._shut:
                return
            spans = self._assembler.add(log, capture_io=capture_io)
            spans.extend(self._assembler.close_idle(now, _OPEN_TRACES))
        for span in spans:
            self.processor.on_end(span)

    def end_invocation(
        self,
        thread_id: str,
        invocation_id: str,
        graph_input: Any = None,
        graph_output: Any = None,
    ) -> None:
        """The graph run ``invocation_id`` of ``thread_id`` ended: send its
        root now, with the graph's input and final output (snapshots) when
        state is captured. Called by the handler on the graph run."""
        capture_io = self._capture()
        with self._lock:
            if self._shut:
                return
            spans = self._assembler.end_invocation(
                thread_id,
                invocation_id,
                graph_input=graph_input,
                graph_output=graph_output,
                capture_io=capture_io,
            )
        for span in spans:
            self.processor.on_end(span)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Close every open trace (sending its root span) and send what the
        processor holds; true when the processor confirms."""
        with self._lock:
            spans = self._assembler.close_all()
        for span in spans:
            self.processor.on_end(span)
        if self._pausing is not None:
            self._pausing.try_now()
        return bool(self.processor.force_flush(timeout_millis))

    def shutdown(self) -> None:
        """Flush, then shut the processor (and its exporter) down. Idempotent."""
        with self._lock:
            if self._shut:
                return
            spans = self._assembler.close_all()
            self._shut = True
        atexit.unregister(self._at_exit)
        for span in spans:
            self.processor.on_end(span)
        if self._pausing is not None:
            self._pausing.try_now()
        self.processor.shutdown()

    def __repr__(self) -> str:
        return "OpenTelemetrySink(%r)" % (self.processor,)


def _at_exit_hook(sink: OpenTelemetrySink) -> Callable[[], None]:
    # A weak reference: registering with atexit must not keep every sink alive.
    ref = weakref.ref(sink)

    def at_exit() -> None:
        alive = ref()
        if alive is not None:
            try:
                alive.shutdown()
            except Exception as exc:  # exit must go on
                warn_failure("otel:exit", "OpenTelemetry shutdown failed: %s", exc)

    return at_exit
