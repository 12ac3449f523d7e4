"""``export-otel``: recorded threads sent to an OpenTelemetry backend."""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from .. import _env
from .._internal import missing_extra
from .._text_table import _cut
from ..storage import list_threads, read_node_logs
from ._common import CommandError, _check_log_dir, log_dir_option

_EXPORT_BATCH = 512


class _ExportComplaints(logging.Handler):
    """Keeps what the OTLP exporter logged, to explain a failure in one line."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(" ".join(record.getMessage().split()))
        except Exception:  # a record that cannot format is no reason to fail
            self.messages.append(str(record.msg))

    def reason(self) -> str:
        """The socket error if there was one (the exporter wraps it in long
        retry messages), else the exporter's last word."""
        for message in self.messages:
            found = _ERRNO.search(message)
            if found:
                return found.group(0).rstrip(" .")
        if self.messages:
            return _cut(self.messages[-1], 300)
        return "the exporter reported a failure"


_ERRNO = re.compile(r"\[Errno -?\d+\][^'\")\]]*")


@contextmanager
def _otel_log_captured() -> Iterator[_ExportComplaints]:
    # The exporter logs every retry and failure; the command reports one line.
    otel_logger = logging.getLogger("opentelemetry")
    handler = _ExportComplaints()
    propagate = otel_logger.propagate
    otel_logger.addHandler(handler)
    otel_logger.propagate = False
    try:
        yield handler
    finally:
        otel_logger.removeHandler(handler)
        otel_logger.propagate = propagate


def cmd_export_otel(args: argparse.Namespace, out: TextIO) -> int:
    """Send recorded threads to an OTLP/HTTP endpoint as spans."""
    _check_log_dir(args.log_dir)
    try:
        from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

        from .._otlp_post import DeadlineOTLPExporter
        from ..invocations import read_graph_runs
        from ..otel import default_endpoint, spans_from_logs
    except ImportError:
        raise CommandError(
            missing_extra("editorial-ai-obs export-otel", "otel")
        ) from None
    if not args.root_idle_seconds > 0:
        raise CommandError("--root-idle-seconds must be > 0")
    endpoint = args.endpoint or default_endpoint()
    thread_ids = list(args.thread_ids) or list_threads(args.log_dir)
    if not thread_ids:
        raise CommandError("no threads in %s" % _env.log_dir(args.log_dir))
    threads = []
    for thread_id in thread_ids:
        logs = read_node_logs(thread_id, args.log_dir)
        if not logs:
            raise CommandError("no such thread: %r" % thread_id)
        threads.append(logs)
    try:
        # A total deadline per request, a bounded read of the answer, and
        # success only on 2xx (see _otlp_post).
        exporter: SpanExporter = DeadlineOTLPExporter(endpoint, args.timeout)
    except ValueError as exc:
        raise CommandError(str(exc), code=2) from None
    sent = 0
    with _otel_log_captured() as complaints:
        try:
            for logs in threads:
                spans = spans_from_logs(
                    logs,
                    service_name=args.service_name,
                    capture_io=args.io,
                    graph_runs=read_graph_runs(logs[0].thread_id, args.log_dir),
                    root_idle_seconds=args.root_idle_seconds,
                )
                for start in range(0, len(spans), _EXPORT_BATCH):
                    batch = spans[start : start + _EXPORT_BATCH]
                    if exporter.export(batch) is not SpanExportResult.SUCCESS:
                        raise CommandError(
                            "could not export to %s: %s%s"
                            % (
                                endpoint,
                                complaints.reason(),
                                " (%d spans were sent before)" % sent if sent else "",
                            )
                        )
                    sent += len(batch)
        finally:
            exporter.shutdown()
    out.write(
        "exported %d spans from %d threads to %s\n" % (sent, len(threads), endpoint)
    )
    return 0


def _add_export_otel(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("thread_ids", nargs="*", metavar="THREAD_ID")
    parser.add_argument(
        "--endpoint",
        help="OTLP/HTTP traces URL (default: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "
        "else $OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces, "
        "else http://localhost:4318/v1/traces)",
    )
    parser.add_argument(
        "--service-name",
        help="service.name of the spans (default: $OTEL_SERVICE_NAME or editorial-ai)",
    )
    parser.add_argument(
        "--io",
        action="store_true",
        help="attach the recorded state snapshots (nodes' state, graphs' input "
        "and final output)",
    )
    parser.add_argument(
        "--root-idle-seconds",
        type=float,
        default=60.0,
        help="the live sink's root_idle_seconds: a node run starting this long "
        "after its trace's last end opens a new root (default 60)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds per request in all, retries included (default 10)",
    )
    log_dir_option(parser)
