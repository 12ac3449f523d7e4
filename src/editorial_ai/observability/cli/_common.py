"""What every command shares: one-line errors, number and time formats,
the log directory option."""

from __future__ import annotations

import argparse
import math
from datetime import datetime
from typing import TextIO

from .. import _env


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
    """Three significant digits at any size ($0.00600, $0.0198, $1.23), as the
    page shows them, so two runs that cost differently never print the same."""
    if usd is None:
        return "?"
    if usd == 0:
        return "$0"
    if usd < 1e-8:
        return "<$0.00000001"
    decimals = max(2, 2 - math.floor(math.log10(usd)))
    return "$%.*f" % (min(decimals, 10), usd)


def _calls_unknown(calls: int) -> str:
    return " + %d call%s unknown" % (calls, "" if calls == 1 else "s") if calls else ""


def _tokens(total: int, unreported_calls: int) -> str:
    """A token total, saying how many calls it misses (usage not reported):
    ``2,306 + 1 call unknown``, never a clean-looking number."""
    return format(total, ",") + _calls_unknown(unreported_calls)


def _priced(usd: float | None, unpriced_calls: int) -> str:
    """A cost, saying how many calls it misses (could not be priced)."""
    if usd is None or not unpriced_calls:
        return _cost(usd)
    return _cost(usd) + _calls_unknown(unpriced_calls)


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _line(row: list[str], widths: list[int], right: set[int]) -> str:
    """One table row: cells padded to ``widths`` (right-aligned in the
    columns of ``right``), two spaces apart."""
    cells = [
        cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
        for i, cell in enumerate(row)
    ]
    return "  ".join(cells).rstrip() + "\n"


def _table(rows: list[list[str]], right: set[int], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write(_line(row, widths, right))


def log_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-dir", help="log directory (default: $%s or ./data/logs)" % _env.LOG_DIR
    )


def _check_log_dir(log_dir: str | None) -> None:
    directory = _env.log_dir(log_dir)
    if not directory.is_dir():
        raise CommandError(
            "no log directory at %s (set --log-dir or %s)" % (directory, _env.LOG_DIR)
        )
