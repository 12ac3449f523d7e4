"""Time windows: ``7d``, ``12h``, ``2026-11-01``, read as moments in UTC.

Used by ``stats`` (``--since`` / ``--until``), ``GET /api/stats`` and
``prune --older-than``; nothing here needs the analytics extra.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_AGE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_age(text: str) -> timedelta:
    """A duration written ``90s``, ``30m``, ``12h``, ``7d`` or ``2w``.

    Raises:
        ValueError: anything else.

    Example:
        >>> parse_age("7d")
        datetime.timedelta(days=7)
    """
    found = _AGE.fullmatch(text)
    if not found:
        raise ValueError(
            "%r is not an age: write a number and s, m, h, d or w (e.g. 7d)" % text
        )
    return timedelta(seconds=float(found.group(1)) * _UNITS[found.group(2).lower()])


def parse_moment(text: str, now: datetime | None = None) -> datetime:
    """A moment in UTC: an age back from ``now`` (``7d``) or an ISO date or
    time (``2026-11-01``, ``2026-11-01T12:00``; without a zone, UTC).

    An age counts back from the start of the current minute, so the same
    question asked twice in a minute is the same question (and a running
    server answers the second from memory).

    Raises:
        ValueError: neither form.

    Example:
        >>> parse_moment("1d", datetime(2026, 11, 30, tzinfo=UTC)).isoformat()
        '2026-11-29T00:00:00+00:00'
    """
    now = datetime.now(UTC) if now is None else now
    if _AGE.fullmatch(text):
        return now.replace(second=0, microsecond=0) - parse_age(text)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            "%r is neither an age (7d, 12h) nor an ISO date or time "
            "(2026-11-01, 2026-11-01T12:00Z)" % text
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
