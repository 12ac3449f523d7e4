"""``editorial-ai-obs stats | sql | prune``: the across-threads commands.

Registered on the main parser by :func:`register`; ``stats`` and ``sql`` need
the analytics extra (DuckDB) and say how to install it when it is missing;
``prune`` works in the core install.
"""

from __future__ import annotations

import argparse
import csv
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

from .._text_table import _calls_unknown, _cut, _table, _tokens
from ._duckdb import AnalyticsUnavailable
from .retention import prune_threads
from .sources import resolve_log_dirs
from .window import parse_age, parse_moment


def _fail(message: str, code: int = 1) -> Exception:
    from ..cli._common import CommandError  # the CLI imports this module

    return CommandError(message, code)


def _folders(args: argparse.Namespace) -> list[Any]:
    folders = resolve_log_dirs(args.log_dir)
    missing = [str(folder) for folder in folders if not folder.is_dir()]
    if len(missing) == len(folders):
        raise _fail("no log directory at %s (set --log-dir)" % ", ".join(missing))
    return folders


def _engine(args: argparse.Namespace, **options: Any) -> Any:
    from .engine import AnalyticsEngine, default_cache_dir

    cache = None if args.no_cache else default_cache_dir()
    try:
        return AnalyticsEngine(_folders(args), cache=cache, **options)
    except AnalyticsUnavailable as exc:
        raise _fail(str(exc)) from None


# -- formatting -------------------------------------------------------------------


def _ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 1000:
        return "%.1f ms" % ms
    if ms < 120_000:
        return "%.2f s" % (ms / 1000)
    return "%.1f min" % (ms / 60_000)


def _usd(usd: float | None) -> str:
    if usd is None:
        return "?"
    if usd == 0:
        return "$0"
    return "$%.4f" % usd if usd < 100 else "$%s" % format(round(usd, 2), ",.2f")


def _n(count: int) -> str:
    return format(count, ",")


def _priced(usd: float | None, unpriced_calls: int) -> str:
    return _usd(usd) + ("" if usd is None else _calls_unknown(unpriced_calls))


def _titled_table(
    title: str, rows: list[list[str]], right: set[int], out: TextIO
) -> None:
    out.write("\n%s\n" % title)
    _table(rows, right, out)


# -- stats ----------------------------------------------------------------------------


def cmd_stats(args: argparse.Namespace, out: TextIO) -> int:
    """Per node, per model and day, and the costliest and slowest threads."""
    from .stats import StatsFilter, compute_stats

    try:
        where = StatsFilter(
            since=None if args.since is None else parse_moment(args.since),
            until=None if args.until is None else parse_moment(args.until),
            node=args.node,
            model=args.model,
        )
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    engine = _engine(args)
    report = compute_stats(engine, where, top=args.top, refresh=False)
    if args.json:
        out.write(report.model_dump_json(indent=2) + "\n")
        return 0
    if not report.totals.node_runs:
        raise _fail("no node runs in %s for this window" % ", ".join(report.folders))
    totals = report.totals
    window = "since %s" % where.since.strftime("%Y-%m-%d %H:%MZ") if where.since else ""
    if where.until:
        window += " until %s" % where.until.strftime("%Y-%m-%d %H:%MZ")
    out.write(
        "%s node runs in %s threads%s, %s errors (%.1f%%), %s interrupted; "
        "%s LLM calls, tokens %s (%s cached, %s cache write, %s reasoning), "
        "cost %s"
        % (
            _n(totals.node_runs),
            _n(totals.threads),
            " " + window.strip() if window else "",
            _n(totals.errors),
            100 * totals.errors / totals.node_runs,
            _n(totals.interrupted),
            _n(totals.llm_calls),
            _tokens(totals.total_tokens, totals.unreported_calls),
            _n(totals.cached_tokens),
            _n(totals.cache_creation_tokens),
            _n(totals.reasoning_tokens),
            _priced(totals.cost_usd, totals.unpriced_calls),
        )
    )
    out.write("\n")
    rows = [
        [
            "NODE", "RUNS", "ERRORS", "P50", "P95", "MAX", "PROMPT", "COMPLETION",
            "CACHED", "CACHE WRITE", "REASONING", "COST", "UNPRICED",
        ]
    ]  # fmt: skip
    for node in report.nodes:
        rows.append(
            [
                _cut(node.node_name, 28),
                _n(node.runs),
                "%s (%.1f%%)" % (_n(node.errors), 100 * node.error_rate),
                _ms(node.p50_ms),
                _ms(node.p95_ms),
                _ms(node.max_ms),
                _n(node.prompt_tokens),
                _n(node.completion_tokens),
                _n(node.cached_tokens),
                _n(node.cache_creation_tokens),
                _n(node.reasoning_tokens),
                _priced(node.cost_usd, node.unpriced_calls),
                _n(node.unpriced_calls),
            ]
        )
    _titled_table("PER NODE", rows, set(range(1, 13)), out)
    rows = [["DAY", "MODEL", "CALLS", "PROMPT", "COMPLETION", "CACHED",
             "CACHE WRITE", "REASONING", "COST", "UNPRICED", "UNREPORTED"]]  # fmt: skip
    for day in report.models_by_day:
        rows.append(
            [
                day.day.isoformat(),
                _cut(day.model_name or "(no model name)", 32),
                _n(day.llm_calls),
                _n(day.prompt_tokens),
                _n(day.completion_tokens),
                _n(day.cached_tokens),
                _n(day.cache_creation_tokens),
                _n(day.reasoning_tokens),
                _priced(day.cost_usd, day.unpriced_calls),
                _n(day.unpriced_calls),
                _n(day.unreported_calls),
            ]
        )
    if len(rows) > 1:
        _titled_table("PER MODEL AND DAY", rows, set(range(2, 11)), out)
    for title, threads in (
        ("COSTLIEST THREADS", report.costliest_threads),
        ("SLOWEST THREADS", report.slowest_threads),
    ):
        rows = [["THREAD", "STATUS", "RUNS", "WALL TIME", "TOKENS", "COST", "STARTED"]]
        for thread in threads:
            rows.append(
                [
                    thread.thread_id,  # whole, so it can be pasted into show
                    thread.status,
                    _n(thread.node_runs),
                    _ms(thread.wall_time_ms),
                    _tokens(thread.total_tokens, thread.unreported_calls),
                    _priced(thread.cost_usd, thread.unpriced_calls),
                    thread.started_at.strftime("%Y-%m-%d %H:%MZ"),
                ]
            )
        _titled_table(title, rows, {2, 3, 4, 5}, out)
    return 0


# -- sql ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value
    plain = _plain(value)
    return plain if isinstance(plain, str) else json.dumps(plain)


def cmd_sql(args: argparse.Namespace, out: TextIO) -> int:
    """Run one SQL query over the ``node_runs`` and ``llm_calls`` views."""
    engine = _engine(args, snapshots=args.snapshots)
    connection = engine.for_user_sql()
    try:
        cursor = connection.execute(args.query)
        names = [item[0] for item in cursor.description or []]
        rows = cursor.fetchall()
    except engine._error as exc:
        raise _fail("SQL: %s" % " ".join(str(exc).split()), 2) from None
    if args.format == "json":
        out.write(
            json.dumps(
                [dict(zip(names, map(_plain, row), strict=True)) for row in rows],
                indent=2,
            )
            + "\n"
        )
        return 0
    if args.format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([[_cell(value) for value in row] for row in rows])
        return 0
    if not names:
        return 0
    table = [names] + [[_cut(_cell(value), 60) for value in row] for row in rows]
    right = {
        i
        for i in range(len(names))
        if rows and all(isinstance(row[i], int | float | Decimal) for row in rows)
    }
    widths = [max(len(row[i]) for row in table) for i in range(len(names))]
    for row in table:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        out.write("  ".join(cells).rstrip() + "\n")
    out.write("(%d row%s)\n" % (len(rows), "" if len(rows) == 1 else "s"))
    return 0


# -- prune ----------------------------------------------------------------------------


def cmd_prune(args: argparse.Namespace, out: TextIO) -> int:
    """Remove whole thread files whose last run is older than ``--older-than``."""
    try:
        age = parse_age(args.older_than)
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    result = prune_threads(_folders(args), age, delete=args.delete)
    old = result.old
    for item in result.candidates:
        mark = (
            "removed" if item.removed else "would remove" if item.reason == "old" else
            "kept (%s)" % item.reason
        )  # fmt: skip
        out.write(
            "%-14s %s  last run %s  %s bytes\n"
            % (
                mark,
                item.path,
                "-" if item.last_run is None else item.last_run.isoformat(),
                _n(item.size),
            )
        )
    size = sum(item.size for item in old)
    verb = "would remove" if result.dry_run else "removed"
    out.write(
        "%s %d thread file(s), %s bytes, last run before %s; %d file(s) written "
        "since kept%s\n"
        % (
            verb,
            len(old),
            _n(size),
            result.cutoff.strftime("%Y-%m-%d %H:%M:%SZ"),
            result.kept_recent,
            "; run again with --delete to remove them"
            if result.dry_run and old
            else "",
        )
    )
    return 0


_MANY = (
    "log directory (default: $EDITORIAL_AI_LOG_DIR or ./data/logs); repeat it, "
    "or give a glob, to read several as one"
)
_NO_CACHE = (
    "read every file, neither using nor updating the cache "
    "($EDITORIAL_AI_ANALYTICS_CACHE, default ~/.cache/editorial-ai-obs)"
)


def log_dirs_option(parser: argparse.ArgumentParser) -> None:
    """``--log-dir``, repeatable, globs allowed: several folders read as one."""
    parser.add_argument("--log-dir", action="append", metavar="DIR", help=_MANY)


def add_stats(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``stats``."""
    parser.add_argument("--since", help="only runs started since: 7d, 12h, or a date")
    parser.add_argument("--until", help="only runs started before: 1d, or a date")
    parser.add_argument("--node", help="only this node")
    parser.add_argument("--model", help="only LLM calls of this model")
    parser.add_argument("--top", type=int, default=10, help="threads listed (10)")
    parser.add_argument("--json", action="store_true", help="print the API's JSON")
    log_dirs_option(parser)
    parser.add_argument("--no-cache", action="store_true", help=_NO_CACHE)


def add_sql(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``sql``."""
    parser.add_argument(
        "query",
        help='e.g. "SELECT node_name, count(*) FROM node_runs GROUP BY ALL"',
    )
    parser.add_argument(
        "--snapshots",
        action="store_true",
        help="add input_state, output_state and interrupt_value to node_runs",
    )
    parser.add_argument(
        "--format", choices=("table", "json", "csv"), default="table", help="output"
    )
    log_dirs_option(parser)
    parser.add_argument("--no-cache", action="store_true", help=_NO_CACHE)


def add_prune(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``prune``."""
    parser.add_argument("--older-than", required=True, help="e.g. 30d, 12h, 2w")
    parser.add_argument(
        "--delete", action="store_true", help="remove them (default: dry run)"
    )
    log_dirs_option(parser)


STATS_DESCRIPTION = (
    "Figures across threads: per node (runs, errors, p50/p95/max duration, "
    "tokens, cost), per model and day, and the costliest and slowest threads. "
    "Needs the analytics extra."
)
SQL_DESCRIPTION = (
    "Run one SQL query (DuckDB) over the views node_runs (one row per node run) "
    "and llm_calls (one row per LLM call); their columns are in the README. "
    "Needs the analytics extra."
)
PRUNE_DESCRIPTION = (
    "Remove whole thread files whose last run ended more than --older-than ago. "
    "Lists them and removes nothing unless --delete is given. A file written in "
    "the last 10 minutes, or holding an unfinished line, is never removed."
)
