"""Across threads: stats, SQL and retention over one or many log folders.

* :mod:`.engine`: DuckDB over the JSONL files as they are (``node_runs`` and
  ``llm_calls`` views), kept up to date file by file;
* :mod:`.stats`: the figures of ``editorial-ai-obs stats`` and
  ``GET /api/stats``;
* :mod:`.sources`: several ``--log-dir`` values or a glob read as one;
* :mod:`.retention`: ``editorial-ai-obs prune``;
* :mod:`.window`: ``7d``, ``12h`` and dates.

The engine needs the ``analytics`` extra (``pip install
"editorial-ai-observability[analytics]"``, from a checkout ``pip install -e
".[analytics]"``); importing this package does not load DuckDB, and
``sources``, ``retention`` and ``window`` work without it.

Example:
    >>> from editorial_ai.observability.analytics import parse_age
    >>> parse_age("30d").days
    30
"""

from __future__ import annotations

from ._duckdb import INSTALL_HINT, AnalyticsUnavailable
from .retention import PruneResult, prune_threads
from .sources import merged_thread_summaries, resolve_log_dirs
from .window import parse_age, parse_moment

__all__ = [
    "INSTALL_HINT",
    "AnalyticsUnavailable",
    "PruneResult",
    "merged_thread_summaries",
    "parse_age",
    "parse_moment",
    "prune_threads",
    "resolve_log_dirs",
]
