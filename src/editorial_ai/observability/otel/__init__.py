"""OpenTelemetry: node runs and their LLM calls as spans, for any OTLP backend.

The flow, one module each: :mod:`._attributes` says what a span carries (GenAI
semantic conventions and OpenInference side by side), :mod:`._spans` builds
the tree of a trace from the records (root, nodes, LLM calls; ids from the
records, so live and backfill agree), :mod:`._sink` sends them live.

Needs the ``otel`` extra: ``pip install "editorial-ai-observability[otel]"``.

Example:
    >>> from editorial_ai.observability.otel import OpenTelemetrySink
    >>> from editorial_ai.observability.sinks import add_sink
    >>> add_sink(OpenTelemetrySink(endpoint="http://collector:4318/v1/traces"))
"""

from ._sink import (
    DEFAULT_ENDPOINT,
    DEFAULT_SERVICE_NAME,
    OpenTelemetrySink,
    default_endpoint,
    make_resource,
    spans_from_logs,
)

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_SERVICE_NAME",
    "OpenTelemetrySink",
    "default_endpoint",
    "make_resource",
    "spans_from_logs",
]
