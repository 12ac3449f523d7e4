"""The one place DuckDB is imported, with a helpful message when it is missing.

DuckDB comes with the ``analytics`` extra; the core install never loads it.
"""

from __future__ import annotations

from types import ModuleType

from .._internal import missing_extra

INSTALL_HINT = missing_extra("stats, sql and /api/stats (DuckDB)", "analytics")


class AnalyticsUnavailable(ImportError):
    """DuckDB is not installed; the message says how to install it.

    Example:
        >>> "[analytics]" in str(AnalyticsUnavailable())
        True
    """

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(INSTALL_HINT + (" (%s)" % detail if detail else ""))


def require_duckdb() -> ModuleType:
    """The ``duckdb`` module, or :class:`AnalyticsUnavailable`."""
    try:
        import duckdb
    except ImportError as exc:
        raise AnalyticsUnavailable(str(exc)) from None
    return duckdb
