"""Sending spans over OTLP/HTTP with a deadline, for ``export-otel``.

The OTLP exporter of the OpenTelemetry SDK applies its timeout to each socket
read, reads the whole answer into memory, and takes any status below 400 as
success. Against an endpoint that trickles one byte a second, answers
400 MB, or redirects (307), the command would hang, swell, or report spans as
exported that were not. :class:`DeadlineOTLPExporter` instead:

* gives each export ``timeout`` seconds in all, retries included: a watchdog
  shuts the socket down when they are up, whatever the server sends;
* reads at most ``ANSWER_BYTES`` of the answer (and ignores them);
* counts only a 2xx status as success. A redirect is a failure (the body is
  not sent again elsewhere); 429, 502, 503 and 504 are retried with backoff
  while time remains.

Headers come from ``$OTEL_EXPORTER_OTLP_TRACES_HEADERS`` or
``$OTEL_EXPORTER_OTLP_HEADERS``; the body is not compressed.
"""

from __future__ import annotations

import http.client
import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.util.re import parse_env_headers

ANSWER_BYTES = 64 << 10
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
logger = logging.getLogger("opentelemetry.exporter.editorial_ai")


class _DeadlinePassed(Exception):
    pass


class DeadlineOTLPExporter(SpanExporter):
    """An OTLP/HTTP (protobuf) span exporter with a total deadline per export.

    Example:
        >>> exporter = DeadlineOTLPExporter("http://localhost:4318/v1/traces", 3)
        >>> exporter.timeout
        3.0
    """

    def __init__(self, endpoint: str, timeout: float) -> None:
        self.endpoint = endpoint
        self.timeout = float(timeout)
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL: %r" % endpoint)
        self._parts = parts
        headers = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") or os.environ.get(
            "OTEL_EXPORTER_OTLP_HEADERS", ""
        )
        self.headers = {
            **parse_env_headers(headers, liberal=True),
            "Content-Type": "application/x-protobuf",
        }

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Send ``spans``; ``SUCCESS`` only on a 2xx answer within the deadline."""
        body = encode_spans(spans).SerializeToString()
        deadline = time.monotonic() + self.timeout
        delay = 0.5
        while True:
            try:
                status, reason = self._post(body, deadline)
            except _DeadlinePassed:
                logger.warning(
                    "no answer from %s within the deadline of %g s",
                    self.endpoint,
                    self.timeout,
                )
                return SpanExportResult.FAILURE
            except (OSError, http.client.HTTPException) as exc:
                status, reason = None, "%s: %s" % (type(exc).__name__, exc)
            if status is not None and 200 <= status < 300:
                return SpanExportResult.SUCCESS
            retry = status is None or status in _RETRY_STATUSES
            if retry and time.monotonic() + delay < deadline:
                time.sleep(delay)
                delay *= 2
                continue
            if status is None:
                logger.warning("could not reach %s: %s", self.endpoint, reason)
            else:
                logger.warning(
                    "%s answered HTTP %d %s (only 2xx is success)",
                    self.endpoint,
                    status,
                    reason,
                )
            return SpanExportResult.FAILURE

    def _post(self, body: bytes, deadline: float) -> tuple[int, str]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _DeadlinePassed
        parts = self._parts
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=remaining
            )
        else:
            connection = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=remaining
            )
        expired = threading.Event()

        def cut() -> None:
            # A read timeout is per recv: a server sending one byte a second
            # never trips it. Shutting the socket down ends any recv/send.
            expired.set()
            sock = connection.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        watchdog = threading.Timer(remaining, cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            connection.request("POST", path, body=body, headers=self.headers)
            response = connection.getresponse()
            response.read(ANSWER_BYTES)  # bounded; the rest is never read
            return response.status, response.reason[:200]
        except (OSError, http.client.HTTPException):
            if expired.is_set() or time.monotonic() >= deadline:
                raise _DeadlinePassed from None
            raise
        finally:
            watchdog.cancel()
            connection.close()

    def shutdown(self) -> None:
        """Nothing is kept open between exports."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered."""
        return True
