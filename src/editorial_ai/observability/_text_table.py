"""Plain-text tables and counts for the terminal: the formats that every
command prints alike (``runs``, ``show``, ``stats``, ``sql``)."""

from __future__ import annotations

from typing import TextIO


def _calls_unknown(calls: int) -> str:
    return " + %d call%s unknown" % (calls, "" if calls == 1 else "s") if calls else ""


def _tokens(total: int, unreported_calls: int) -> str:
    """A token total, saying how many calls it misses (usage not reported):
    ``2,306 + 1 call unknown``, never a clean-looking number."""
    return format(total, ",") + _calls_unknown(unreported_calls)


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
