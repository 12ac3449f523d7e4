"""What every command shares: one-line errors, number and time formats,
the log directory option."""

from __future__ import annotations

import argparse
import math
from datetime import datetime

from .. import _env
from .._text_table import _calls_unknown


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


def _priced(usd: float | None, unpriced_calls: int) -> str:
    """A cost, saying how many calls it misses (could not be priced)."""
    if usd is None or not unpriced_calls:
        return _cost(usd)
    return _cost(usd) + _calls_unknown(unpriced_calls)


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


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
