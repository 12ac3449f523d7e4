"""The command line: ``editorial-ai-obs runs | show | serve | export-otel``, and
``stats | sql | prune`` across threads (``analytics/commands.py``).

Reads through the shared read layer (``reader.py``), like the API, so
``--json`` prints the very objects the API returns. Errors are one line on
stderr and a non-zero exit, never a traceback: 1 for an unknown thread or an
empty or missing log directory, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TextIO

from . import _env
from .analytics import commands as analytics_commands
from .analytics.sources import merged_thread_summaries, resolve_log_dirs
from .models import PipelineRunSummary
from .reader import NodeRunView, ThreadLogs, thread_logs, thread_summaries
from .storage import list_threads, read_node_logs

_STATUS_MARK = {
    "success": "ok",
    "error": "ERROR",
    "skipped": "skipped",
    "interrupted": "interrupted",
}


class CommandError(Exception):
    """A failure to report as one line, with an exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _duration(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 1:
        return "%.2f ms" % ms
    if ms < 1000:
        return "%.1f ms" % ms
    if ms < 120_000:
        return "%.2f s" % (ms / 1000)
    return "%.1f min" % (ms / 60_000)


def _cost(usd: float | None) -> str:
    if usd is None:
        return "?"
    if usd == 0:
        return "$0"
    if usd < 0.01:
        return "$%.5f" % usd
    return "$%.4f" % usd


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(rows: list[list[str]], right: set[int], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        out.write("  ".join(cells).rstrip() + "\n")


def _check_log_dir(log_dir: str | None) -> None:
    directory = _env.log_dir(log_dir)
    if not directory.is_dir():
        raise CommandError(
            "no log directory at %s (set --log-dir or %s)" % (directory, _env.LOG_DIR)
        )


def cmd_runs(args: argparse.Namespace, out: TextIO) -> int:
    """One row per thread, newest first (several folders: read as one)."""
    folders = resolve_log_dirs(args.log_dir)
    if len(folders) == 1:
        _check_log_dir(str(folders[0]))
        listing = thread_summaries(log_dir=folders[0], limit=args.limit)
    else:
        if not any(folder.is_dir() for folder in folders):
            _check_log_dir(str(folders[0]))
        listing = merged_thread_summaries(folders, limit=args.limit)
    if args.json:
        out.write(listing.model_dump_json(indent=2) + "\n")
        return 0
    if not listing.threads:
        raise CommandError("no threads in %s" % ", ".join(map(str, folders)))
    rows = [["THREAD", "STATUS", "NODES", "DURATION", "TOKENS", "COST", "STARTED"]]
    for summary in listing.threads:
        rows.append(
            [
                _cut(summary.thread_id, 44),
                summary.status,
                str(summary.node_count),
                _duration(summary.wall_time_ms),
                format(summary.total_tokens, ","),
                _cost(summary.estimated_cost_usd),
                _when(summary.started_at),
            ]
        )
    _table(rows, {2, 3, 4, 5}, out)
    return 0


def _summary_line(summary: PipelineRunSummary) -> str:
    unpriced = (
        " (%s tokens unpriced)" % format(summary.unpriced_tokens, ",")
        if summary.unpriced_tokens
        else ""
    )
    return "%s: %d node runs in %s, %s tokens (%s in / %s out), cost %s%s" % (
        summary.status,
        summary.node_count,
        _duration(summary.wall_time_ms),
        format(summary.total_tokens, ","),
        format(summary.total_prompt_tokens, ","),
        format(summary.total_completion_tokens, ","),
        _cost(summary.estimated_cost_usd),
        unpriced,
    )


def _run_row(run: NodeRunView, start: datetime | None) -> list[str]:
    offset = (
        (run.started_at - start).total_seconds() * 1000 if start is not None else None
    )
    models = sorted({u.model_name or "?" for u in run.token_usage})
    unknown = any(not u.usage_reported for u in run.token_usage)
    tokens = format(run.total_tokens, ",") + ("+?" if unknown else "")
    attempt = run.attempt or 1
    return [
        str(run.index),
        run.node_name,
        "-" if run.step is None else str(run.step),
        _STATUS_MARK.get(run.status, run.status)
        + ("" if attempt == 1 else " (try %d)" % attempt),
        "+" + _duration(offset),
        _duration(run.duration_ms),
        tokens,
        _cost(run.estimated_cost_usd),
        ",".join(models) or "-",
    ]


_PAGE = 500
_PAGE_IO = 20
_WIDTHS = [5, 22, 5, 15, 10, 9, 9, 9, 0]
_RIGHT = {0, 2, 4, 5, 6, 7}


def _pages(args: argparse.Namespace) -> Iterator[ThreadLogs]:
    """The thread's runs a page at a time: a thread file of any size is shown
    without holding its runs in memory."""
    offset = 0
    size = _PAGE_IO if args.io else _PAGE  # snapshots can be large: fewer
    while True:
        page = thread_logs(
            args.thread_id,
            log_dir=args.log_dir,
            include_io=args.io,
            limit=size,
            offset=offset,
        )
        yield page
        offset += len(page.runs)
        if len(page.runs) < size or offset >= page.total_runs:
            return


def _row_text(row: list[str]) -> str:
    cells = []
    for i, cell in enumerate(row):
        width = _WIDTHS[i]
        if width and len(cell) > width:
            cell = _cut(cell, width)
        cells.append(cell.rjust(width) if i in _RIGHT else cell.ljust(width))
    return "  ".join(cells).rstrip() + "\n"


def _notes(run: NodeRunView, with_io: bool) -> list[str]:
    lines = []
    if run.status == "error":
        lines.append("%s: %s" % (run.error_type, run.error_message))
        lines.extend((run.error_traceback or "").splitlines()[:-1])
    if run.status == "interrupted" and run.interrupt_id:
        lines.append("waiting for a human (interrupt %s)" % run.interrupt_id[:12])
    if with_io:
        for label, value in (("in ", run.input_state), ("out", run.output_state)):
            if value is not None:
                lines.append("%s %s" % (label, _cut(json.dumps(value), 200)))
    return lines


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    """One row per node run of a thread, errors underneath."""
    _check_log_dir(args.log_dir)
    pages = _pages(args)
    first = next(pages)
    if not first.runs and first.summary is None:
        raise CommandError("no such thread: %r" % args.thread_id)
    summary = first.summary
    if args.json:
        # The logs route's object, written run by run.
        out.write('{\n  "thread_id": %s,\n  "runs": [' % json.dumps(args.thread_id))
        separator = "\n    "
        for page in itertools.chain((first,), pages):
            for run in page.runs:
                out.write(separator + run.model_dump_json())
                separator = ",\n    "
        body = summary.model_dump_json() if summary else "null"
        out.write(
            '\n  ],\n  "summary": %s,\n  "total_runs": %d\n}\n'
            % (body, first.total_runs)
        )
        return 0
    start = summary.started_at if summary else None
    out.write("thread %s\n\n" % args.thread_id)
    header = ["#", "NODE", "STEP", "STATUS", "START", "DURATION", "TOKENS", "COST"]
    out.write(_row_text([*header, "MODEL"]))
    for page in itertools.chain((first,), pages):
        for run in page.runs:
            out.write(_row_text(_run_row(run, start)))
            for line in _notes(run, args.io):
                out.write("      | %s\n" % line)
    if summary is not None:
        out.write("\n" + _summary_line(summary) + "\n")
    return 0


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    """Serve the API and the viewer."""
    try:
        from .api import serve
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    try:
        serve(log_dir=args.log_dir, host=args.host, port=args.port)
    except ValueError as exc:  # a refused bind (no API key off loopback)
        raise CommandError(str(exc), code=2) from None
    return 0


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
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

        from .otel import default_endpoint, spans_from_logs
    except ImportError as exc:
        raise CommandError(str(exc).splitlines()[0]) from None
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
    exporter: SpanExporter = OTLPSpanExporter(endpoint=endpoint, timeout=args.timeout)
    sent = 0
    with _otel_log_captured() as complaints:
        try:
            for logs in threads:
                spans = spans_from_logs(
                    logs, service_name=args.service_name, capture_io=args.io
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


def build_parser() -> argparse.ArgumentParser:
    """The ``editorial-ai-obs`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="editorial-ai-obs",
        description="Read the node runs recorded by editorial-ai-observability.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    log_dir_help = "log directory (default: $%s or ./data/logs)" % _env.LOG_DIR

    runs = commands.add_parser("runs", help="one row per thread, newest first")
    runs.add_argument("--json", action="store_true", help="print the API's JSON")
    runs.add_argument("--limit", type=int, default=None, help="at most N threads")
    runs.add_argument("--log-dir", action="append", help=log_dir_help + "; repeatable")
    runs.set_defaults(handler=cmd_runs)

    show = commands.add_parser("show", help="one row per node run of a thread")
    show.add_argument("thread_id")
    show.add_argument("--json", action="store_true", help="print the API's JSON")
    show.add_argument("--io", action="store_true", help="include state snapshots")
    show.add_argument("--log-dir", help=log_dir_help)
    show.set_defaults(handler=cmd_show)

    serve = commands.add_parser("serve", help="serve the API and the web viewer")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--log-dir", action="append", help=log_dir_help + "; repeatable")
    serve.set_defaults(handler=cmd_serve)

    export = commands.add_parser(
        "export-otel",
        help="send recorded threads to an OTLP/HTTP endpoint as spans",
        description="Send recorded threads (all without THREAD_ID) to an "
        "OpenTelemetry backend over OTLP/HTTP: the spans the live sink would "
        "have sent. Needs the otel extra.",
    )
    export.add_argument("thread_ids", nargs="*", metavar="THREAD_ID")
    export.add_argument(
        "--endpoint",
        help="OTLP/HTTP traces URL (default: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "
        "else $OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces, "
        "else http://localhost:4318/v1/traces)",
    )
    export.add_argument(
        "--service-name",
        help="service.name of the spans (default: $OTEL_SERVICE_NAME or editorial-ai)",
    )
    export.add_argument(
        "--io", action="store_true", help="attach the recorded state snapshots"
    )
    export.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds per request, retries included (default 10)",
    )
    export.add_argument("--log-dir", help=log_dir_help)
    export.set_defaults(handler=cmd_export_otel)
    analytics_commands.register(commands, log_dir_help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``editorial-ai-obs``; returns the exit code.

    Example:
        >>> main(["runs", "--log-dir", "/nonexistent"])
        1
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args, sys.stdout))
    except CommandError as exc:
        print("editorial-ai-obs: %s" % exc, file=sys.stderr)
        return exc.code
    except BrokenPipeError:
        return 0  # `... | head` closed the pipe: not an error
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: one line, no traceback
        print(
            "editorial-ai-obs: unexpected %s: %s" % (type(exc).__name__, exc),
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
