"""``runs`` and ``show``: threads as tables a newcomer can paste back."""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from .._text_table import _cut, _line, _table, _tokens
from ..analytics.commands import log_dirs_option
from ..analytics.sources import merged_thread_summaries, resolve_log_dirs
from ..models import NodeRunHead, PipelineRunSummary
from ..reader import (
    NodeRunView,
    ThreadFilter,
    ThreadLogs,
    thread_index,
    thread_logs,
    thread_run,
    thread_summaries,
)
from ..storage import list_threads, thread_log_path
from ._common import (
    CommandError,
    _check_log_dir,
    _duration,
    _priced,
    _when,
    log_dir_option,
)


def cmd_runs(args: argparse.Namespace, out: TextIO) -> int:
    """One row per thread, newest first (several folders: read as one)."""
    where = ThreadFilter(query=args.search, status=args.status, node=args.node)
    folders = resolve_log_dirs(args.log_dir)
    if len(folders) == 1:
        args.log_dir = None if not args.log_dir else str(folders[0])
        _check_log_dir(args.log_dir)
        listing = thread_summaries(log_dir=args.log_dir, limit=args.limit, where=where)
    else:
        if not any(folder.is_dir() for folder in folders):
            _check_log_dir(str(folders[0]))
        listing = merged_thread_summaries(folders, limit=args.limit, where=where)
    if args.json:
        out.write(listing.model_dump_json(indent=2) + "\n")
        return 0
    if not listing.threads:
        if where.query or where.needs_summary:
            raise CommandError("no thread matches these filters")
        raise CommandError("no threads in %s" % ", ".join(map(str, folders)))
    rows = [["THREAD", "STATUS", "NODES", "DURATION", "TOKENS", "COST", "STARTED"]]
    for summary in listing.threads:
        rows.append(
            [
                summary.thread_id,  # whole, always: it is pasted into `show`
                summary.status,
                str(summary.node_count),
                _duration(summary.wall_time_ms),
                _tokens(summary.total_tokens, summary.unreported_calls),
                _priced(summary.estimated_cost_usd, summary.unpriced_calls),
                _when(summary.started_at),
            ]
        )
    _table(rows, {2, 3, 4, 5}, out)
    if listing.total is not None and listing.total > len(listing.threads):
        out.write(
            "(%d of %d threads: raise --limit for more)\n"
            % (len(listing.threads), listing.total)
        )
    return 0


def _summary_line(summary: PipelineRunSummary, reasoning_usd: float = 0.0) -> str:
    """The last line of ``show``; ``reasoning_usd``: what the reasoning
    tokens of the priced calls cost, named when the thread has any."""
    unpriced = (
        " (%s tokens unpriced)" % format(summary.unpriced_tokens, ",")
        if summary.unpriced_tokens
        else ""
    )
    if summary.total_reasoning_tokens and summary.estimated_cost_usd is not None:
        unpriced += ", of which reasoning %s (%s tokens)" % (
            _priced(reasoning_usd, summary.unpriced_calls),
            format(summary.total_reasoning_tokens, ","),
        )
    return "%s: %d node runs in %s, %s tokens (%s in / %s out), cost %s%s" % (
        summary.status,
        summary.node_count,
        _duration(summary.wall_time_ms),
        _tokens(summary.total_tokens, summary.unreported_calls),
        format(summary.total_prompt_tokens, ","),
        format(summary.total_completion_tokens, ","),
        _priced(summary.estimated_cost_usd, summary.unpriced_calls),
        unpriced,
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number" % text) from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            "must be 1 or more (leave --limit out for every thread)"
        )
    return value


def _add_runs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the API's JSON")
    parser.add_argument(
        "--limit", type=_positive, default=None, help="at most N threads (N >= 1)"
    )
    parser.add_argument("--search", metavar="TEXT", help="threads whose id holds TEXT")
    parser.add_argument(
        "--status",
        choices=["completed", "failed", "interrupted", "running"],
        help="threads with this status",
    )
    parser.add_argument("--node", metavar="NAME", help="threads where NAME ran")
    log_dirs_option(parser)


# -- show -----------------------------------------------------------------------


def _resolve_thread(args: argparse.Namespace) -> str:
    """The thread ``args.thread_id`` names: an id, the path of a thread file
    (which then also sets the log directory), or a unique prefix of an id."""
    given: str = args.thread_id
    if thread_index(given, args.log_dir) is not None:
        return given
    path = Path(given)
    if given.endswith(".jsonl") and path.is_file():
        thread_id = _thread_of_file(path)
        args.log_dir = str(path.parent)
        return thread_id
    _check_log_dir(args.log_dir)
    matches = [t for t in list_threads(args.log_dir) if t.startswith(given)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CommandError("no such thread: %r" % given)
    shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
    raise CommandError(
        "%r is the start of %d thread ids (%s); give more of it"
        % (given, len(matches), shown)
    )


def _thread_of_file(path: Path) -> str:
    try:
        with path.open("rb") as lines:
            for line in lines:
                if line.strip():
                    try:
                        thread_id = NodeRunHead.model_validate_json(line).thread_id
                    except ValueError:
                        continue
                    if os.path.samefile(thread_log_path(thread_id, path.parent), path):
                        return thread_id
                    break
    except OSError as exc:
        raise CommandError("cannot read %s: %s" % (path, exc.strerror)) from None
    raise CommandError("%s is not a thread's log file" % path)


@dataclass(slots=True)
class _Interrupts:
    """Who asked and who answered: interrupt id -> run number, both ways."""

    asked: dict[str, int] = field(default_factory=dict)
    answered: dict[str, int] = field(default_factory=dict)


def _interrupts(args: argparse.Namespace, thread_id: str) -> _Interrupts:
    """One pass over the run heads (no snapshots) to link each interrupt to
    the run that answered it, before the rows are printed."""
    found = _Interrupts()
    runs = (run for page in _pages(args, thread_id, False) for run in page.runs)
    for number, run in enumerate(runs, start=1):
        if run.interrupt_id:
            found.asked[run.interrupt_id] = number
        for interrupt_id in run.resumed_interrupt_ids or ():
            found.answered.setdefault(interrupt_id, number)
    return found


def _run_row(run: NodeRunView, number: int, start: datetime | None) -> list[str]:
    offset = (
        (run.started_at - start).total_seconds() * 1000 if start is not None else None
    )
    models = sorted({u.model_name or "?" for u in run.token_usage})
    tokens = _tokens(run.total_tokens, run.unreported_calls)
    attempt = run.attempt or 1
    return [
        str(number),
        run.node_name,
        "-" if run.step is None else str(run.step),
        run.status + ("" if attempt == 1 else " (attempt %d)" % attempt),
        "+" + _duration(offset),
        _duration(run.duration_ms),
        tokens,
        _priced(run.estimated_cost_usd, run.unpriced_calls),
        ",".join(models) or "-",
    ]


_PAGE = 500
_PAGE_IO = 20
_WIDTHS = [5, 22, 5, 11, 10, 9, 9, 10, 0]
_RIGHT = {0, 2, 4, 5, 6, 7}
_IO_CUT = 200


def _pages(
    args: argparse.Namespace, thread_id: str, include_io: bool
) -> Iterator[ThreadLogs]:
    """The thread's runs a page at a time: a thread file of any size is shown
    without holding its runs in memory."""
    offset = 0
    size = _PAGE_IO if include_io else _PAGE  # snapshots can be large: fewer
    while True:
        page = thread_logs(
            thread_id,
            log_dir=args.log_dir,
            include_io=include_io,
            limit=size,
            offset=offset,
        )
        yield page
        offset += len(page.runs)
        if len(page.runs) < size or offset >= page.total_runs:
            return


def _row_text(row: list[str]) -> str:
    # Widths are minimums: a longer cell pushes the row out, it is never cut.
    return _line(row, _WIDTHS, _RIGHT)


def _value_lines(label: str, value: Any, full: bool) -> list[str]:
    if full:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
        return ["%s:" % label.strip(), *("  " + line for line in text.splitlines())]
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > _IO_CUT:
        text = _cut(text, _IO_CUT) + " (cut; --full prints it whole)"
    return ["%s %s" % (label, text)]


def _with_values(
    run: NodeRunView, args: argparse.Namespace, thread_id: str
) -> NodeRunView:
    """The run with its interrupt and resume values: what a human was asked
    and answered is shown even without ``--io`` (read for these runs only)."""
    if args.io or not (run.interrupt_id or run.resumed_interrupt_ids):
        return run
    whole = thread_run(thread_id, run.index, log_dir=args.log_dir)
    return run if whole is None else whole


def _reasoning_note(run: NodeRunView) -> str | None:
    """The part of the run's cost its reasoning tokens make (issue 9: billed
    at the output rate and shown apart); ``None`` without reasoning."""
    tokens = run.total_reasoning_tokens
    if not tokens:
        return None
    usd = (
        "?"
        if run.estimated_cost_usd is None
        else _priced(run.reasoning_cost_usd, run.unpriced_calls)
    )
    return "of which reasoning %s (%s tokens)" % (usd, format(tokens, ","))


def _notes(
    run: NodeRunView, links: _Interrupts, with_io: bool, full: bool
) -> list[str]:
    lines = []
    reasoning = _reasoning_note(run)
    if reasoning is not None:
        lines.append(reasoning)
    if run.status == "error":
        lines.append("%s: %s" % (run.error_type, run.error_message))
        lines.extend((run.error_traceback or "").splitlines()[:-1])
    if run.status == "interrupted" and run.interrupt_id:
        answer = links.answered.get(run.interrupt_id)
        if answer is None:
            lines.append("waiting for a human: interrupt %s" % run.interrupt_id)
        else:
            lines.append(
                "interrupt %s, answered by run #%d" % (run.interrupt_id, answer)
            )
        if run.interrupt_value is not None:
            lines.extend(_value_lines("asked", run.interrupt_value, full))
    for position, interrupt_id in enumerate(run.resumed_interrupt_ids or ()):
        asked = links.asked.get(interrupt_id)
        where = "" if asked is None else " of run #%d" % asked
        lines.append("resumes interrupt %s%s" % (interrupt_id, where))
        values = run.resume_values or []
        if position < len(values):
            lines.extend(_value_lines("resumed with", values[position], full))
    if with_io:
        for label, value in (("in ", run.input_state), ("out", run.output_state)):
            if value is not None:
                lines.extend(_value_lines(label, value, full))
    return lines


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    """One row per node run of a thread in run order, errors underneath."""
    thread_id = _resolve_thread(args)
    args.io = args.io or args.full
    pages = _pages(args, thread_id, args.io)
    first = next(pages)
    if not first.runs and first.summary is None:
        raise CommandError("no such thread: %r" % thread_id)
    summary = first.summary
    if args.json:
        # The logs route's object, written run by run.
        out.write('{\n  "thread_id": %s,\n  "runs": [' % json.dumps(thread_id))
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
    links = _interrupts(args, thread_id)
    start = summary.started_at if summary else None
    out.write("thread %s\n\n" % thread_id)
    header = ["#", "NODE", "STEP", "STATUS", "START", "DURATION", "TOKENS", "COST"]
    out.write(_row_text([*header, "MODEL"]))
    number = 0
    reasoning: list[float] = []
    for page in itertools.chain((first,), pages):
        for run in page.runs:
            number += 1
            reasoning.append(run.reasoning_cost_usd)
            out.write(_row_text(_run_row(run, number, start)))
            run = _with_values(run, args, thread_id)
            for line in _notes(run, links, args.io, args.full):
                out.write("      | %s\n" % line)
    if summary is not None:
        out.write("\n" + _summary_line(summary, math.fsum(reasoning)) + "\n")
    return 0


def _add_show(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "thread_id",
        metavar="THREAD",
        help="a thread id, a unique prefix of one, or a thread's .jsonl file",
    )
    parser.add_argument("--json", action="store_true", help="print the API's JSON")
    parser.add_argument("--io", action="store_true", help="include state snapshots")
    parser.add_argument(
        "--full",
        action="store_true",
        help="print snapshots whole, pretty-printed (implies --io)",
    )
    log_dir_option(parser)
