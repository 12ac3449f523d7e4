"""``GET /api/stats``: the stats of ``editorial-ai-obs stats``, over HTTP.

Added to the app by :func:`add_stats_routes`. The engine is built at the
first request and kept: later requests re-read only the files that changed,
so a repeated question is answered from memory. Without DuckDB the route
answers 501 with the command that installs it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import Response

from ._duckdb import AnalyticsUnavailable
from .window import parse_moment

Folders = Callable[[], list[Path]]
_ENGINES_KEPT = 4


class _Engines:
    """One engine per set of folders, built when first asked for."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.engines: dict[tuple[str, ...], Any] = {}

    def get(self, folders: list[Path]) -> Any:
        from .engine import AnalyticsEngine

        key = tuple(str(folder) for folder in folders)
        with self.lock:
            engine = self.engines.get(key)
            if engine is None:
                # A glob may come to name other folders: keep a few engines.
                while len(self.engines) >= _ENGINES_KEPT:
                    self.engines.pop(next(iter(self.engines))).close()
                engine = self.engines[key] = AnalyticsEngine(folders)
            return engine


def add_stats_routes(app: FastAPI, folders: Folders) -> None:
    """Add ``GET /api/stats`` over the log folders ``folders()`` names.

    Query parameters: ``since`` and ``until`` (``7d``, ``12h`` or an ISO
    date or time), ``node``, ``model``, ``top`` (threads listed, 10).
    Answers :class:`~.stats.StatsReport`; 400 for a malformed time, 501
    without the analytics extra.
    """
    engines = _Engines()

    @app.get("/api/stats", responses={501: {"description": "no analytics extra"}})
    def stats(
        since: Annotated[str | None, Query(description="7d, 12h or a date")] = None,
        until: Annotated[str | None, Query(description="1d or a date")] = None,
        node: Annotated[str | None, Query(description="only this node")] = None,
        model: Annotated[str | None, Query(description="only this model")] = None,
        top: Annotated[int, Query(ge=0, le=1000, description="threads")] = 10,
    ) -> Response:
        """Across threads: per node, per model and day, per node and day, and
        the costliest and slowest threads."""
        try:
            from .stats import StatsFilter, compute_stats

            where = StatsFilter(
                since=None if since is None else parse_moment(since),
                until=None if until is None else parse_moment(until),
                node=node or None,
                model=model or None,
            )
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        try:
            engine = engines.get(folders())
        except AnalyticsUnavailable as exc:
            raise HTTPException(status_code=501, detail=str(exc)) from None
        report = compute_stats(engine, where, top=top)
        return Response(
            report.model_dump_json().encode(),
            media_type="application/json",
            headers={"cache-control": "no-store"},
        )
