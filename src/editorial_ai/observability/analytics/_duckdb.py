"""The one place DuckDB is imported, with a helpful message when it is missing.

DuckDB comes with the ``analytics`` extra; the core install never loads it.
"""

from __future__ import annotations

from types import ModuleType

INSTALL_HINT = (
    "the analytics commands need DuckDB, which comes with the analytics extra: "
    'pip install "editorial-ai-observability[analytics]" '
    '(from a checkout: pip install -e ".[analytics]")'
)


class AnalyticsUnavailable(ImportError):
    """DuckDB is not installed; the message says how to install it.

    Example:
        >>> str(AnalyticsUnavailable()).startswith("the analytics commands need")
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
