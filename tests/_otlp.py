"""A minimal OTLP/HTTP trace receiver on 127.0.0.1, decoding real protobuf."""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {
        pair.key: _value(pair.value) for pair in pairs if isinstance(pair, KeyValue)
    }


@dataclass
class ReceivedSpan:
    """One span as it arrived over the wire."""

    service_name: str
    scope: str
    name: str
    trace_id: int
    span_id: int
    parent_span_id: int | None
    start_time: int
    end_time: int
    attributes: dict[str, Any]
    events: list[tuple[str, int, dict[str, Any]]]
    status_code: int
    status_message: str


@dataclass
class Receiver:
    """Collects the spans of every ExportTraceServiceRequest it is sent."""

    url: str = ""
    spans: list[ReceivedSpan] = field(default_factory=list)
    requests: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)

    def take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        received = []
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    parent = int.from_bytes(span.parent_span_id, "big") or None
                    received.append(
                        ReceivedSpan(
                            service_name=resource.get("service.name", ""),
                            scope=scope_spans.scope.name,
                            name=span.name,
                            trace_id=int.from_bytes(span.trace_id, "big"),
                            span_id=int.from_bytes(span.span_id, "big"),
                            parent_span_id=parent,
                            start_time=span.start_time_unix_nano,
                            end_time=span.end_time_unix_nano,
                            attributes=_attributes(span.attributes),
                            events=[
                                (e.name, e.time_unix_nano, _attributes(e.attributes))
                                for e in span.events
                            ],
                            status_code=span.status.code,
                            status_message=span.status.message,
                        )
                    )
        with self.changed:
            self.spans.extend(received)
            self.requests += 1
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[ReceivedSpan]:
        """The spans once at least ``count`` arrived (or what came by then)."""
        with self.changed:
            self.changed.wait_for(lambda: len(self.spans) >= count, timeout)
            return list(self.spans)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != "/v1/traces":
                self.send_error(404)
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            receiver.take(body)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


@contextmanager
def otlp_receiver() -> Iterator[Receiver]:
    """Serve OTLP/HTTP on a free port of 127.0.0.1 for the ``with`` block."""
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = "http://127.0.0.1:%d/v1/traces" % server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
