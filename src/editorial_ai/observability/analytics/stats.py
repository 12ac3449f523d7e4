"""Across threads: where the time and the money go, per node, model and day.

:func:`compute_stats` asks the engine's ``node_runs`` and ``llm_calls`` views
and returns a :class:`StatsReport`, the object ``GET /api/stats`` returns and
``editorial-ai-obs stats --json`` prints.

Rules (the tests recompute each figure by hand from the records):

* The window (``since`` inclusive, ``until`` exclusive) and ``node`` select
  node runs by their ``started_at`` and name; an LLM call belongs to its node
  run, and a day is the UTC date its node run started on.
* ``model`` keeps the calls of that model (as recorded, case-insensitive), and
  the node runs that made at least one of them; tokens and costs are then
  those of that model's calls only.
* Durations are ``ended_at - started_at`` of node runs; ``p50_ms`` and
  ``p95_ms`` interpolate linearly between the two nearest runs
  (``quantile_cont``, numpy's default). A thread's ``wall_time_ms`` is its
  last end minus its first start within the window.
* Costs are :func:`~editorial_ai.observability.pricing.cost_of_usage` per
  call, summed over the calls that could be priced; ``None`` when some call
  could not be priced and none could; 0 without calls. Calls whose provider
  reported no usage (``unreported_calls``) and calls without a price
  (``unpriced_calls``, which include the unreported ones, and their
  ``unpriced_tokens``) are counted, not hidden; ``reasoning_usd`` is the part
  of the cost spent on reasoning tokens. A thread's figures are those of
  ``PipelineRunSummary.from_logs`` for the same runs.
* ``error_rate`` is errors over runs; ``retries`` counts runs with
  ``attempt`` above 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from .engine import AnalyticsEngine

TOP_THREADS = 10


@dataclass(frozen=True, slots=True)
class StatsFilter:
    """Which node runs and calls the figures cover.

    Example:
        >>> StatsFilter(node="draft").node
        'draft'
    """

    since: datetime | None = None
    until: datetime | None = None
    node: str | None = None
    model: str | None = None


class TokenFigures(BaseModel):
    """Calls, tokens and cost of a set of LLM calls."""

    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = 0.0
    unreported_calls: int = 0
    """Calls whose provider reported no usage: their tokens are unknown."""
    unpriced_calls: int = 0
    """Calls the cost leaves out (unknown model, or usage unknown)."""
    unpriced_tokens: int = 0
    """``total_tokens`` of the calls the cost leaves out."""
    reasoning_usd: float = 0.0
    """Of ``cost_usd``, what the reasoning tokens cost (at the output rate)."""


class NodeStats(TokenFigures):
    """One node over the window."""

    node_name: str
    runs: int
    errors: int
    error_rate: float
    interrupted: int
    retries: int
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None


class ModelDayStats(TokenFigures):
    """One model on one UTC day (``model_name`` ``None``: calls without one)."""

    day: date
    model_name: str | None


class NodeDayStats(BaseModel):
    """One node on one UTC day: what the day-by-day charts draw."""

    day: date
    node_name: str
    runs: int
    errors: int
    p95_ms: float | None
    cost_usd: float | None
    unpriced_calls: int


class ThreadStats(TokenFigures):
    """One thread's runs in the window (a thread in two folders is one)."""

    thread_id: str
    status: str
    node_runs: int
    errors: int
    started_at: datetime
    ended_at: datetime
    wall_time_ms: float
    total_duration_ms: float


class StatsTotals(TokenFigures):
    """Everything in the window."""

    node_runs: int = 0
    threads: int = 0
    errors: int = 0
    interrupted: int = 0


class StatsReport(BaseModel):
    """``GET /api/stats``: per node, per model and day, per node and day, and
    the costliest and slowest threads.

    Example:
        >>> StatsReport(folders=[], files=0, totals=StatsTotals()).nodes
        []
    """

    since: datetime | None = None
    until: datetime | None = None
    node: str | None = None
    model: str | None = None
    folders: list[str]
    files: int
    totals: StatsTotals
    nodes: list[NodeStats] = []
    models_by_day: list[ModelDayStats] = []
    node_days: list[NodeDayStats] = []
    costliest_threads: list[ThreadStats] = []
    slowest_threads: list[ThreadStats] = []


# The filtered runs and calls, as common table expressions; only the
# predicates a filter asks for are written, so DuckDB can skip by zone maps.
_SCOPE = """
WITH calls AS (SELECT * FROM llm_calls WHERE true{call_where}),
runs AS (SELECT * FROM node_runs WHERE true{run_where})
"""


def _scope(sql: str, where: StatsFilter) -> str:
    calls = runs = ""
    if where.since is not None:
        calls += " AND node_started_at >= $since"
        runs += " AND started_at >= $since"
    if where.until is not None:
        calls += " AND node_started_at < $until"
        runs += " AND started_at < $until"
    if where.node is not None:
        calls += " AND node_name = $node"
        runs += " AND node_name = $node"
    if where.model is not None:
        calls += " AND lower(model_name) = lower($model)"
        runs += " AND run_key IN (SELECT run_key FROM calls)"
    return sql.replace("{call_where}", calls, 1).replace("{run_where}", runs, 1)


# Calls, tokens and cost of a group of calls (the rules of pricing._tally).
_FIGURES = """
    count(*) AS llm_calls,
    coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
    coalesce(sum(completion_tokens), 0) AS completion_tokens,
    coalesce(sum(cached_tokens), 0) AS cached_tokens,
    coalesce(sum(cache_creation_tokens), 0) AS cache_creation_tokens,
    coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens,
    coalesce(sum(total_tokens), 0) AS total_tokens,
    CASE WHEN count(cost_usd) > 0 THEN fsum(cost_usd)
         WHEN count(*) > 0 THEN NULL ELSE 0.0 END AS cost_usd,
    count(*) FILTER (WHERE NOT usage_reported) AS unreported_calls,
    count(*) - count(cost_usd) AS unpriced_calls,
    coalesce(sum(total_tokens) FILTER (WHERE cost_usd IS NULL), 0)
        AS unpriced_tokens,
    coalesce(fsum(reasoning_cost_usd), 0.0) AS reasoning_usd
"""
_FIGURE_NAMES = list(TokenFigures.model_fields)

_TOTALS = (
    _SCOPE
    + """
, call_totals AS (SELECT %s FROM calls)
SELECT (SELECT count(*) FROM runs), (SELECT count(DISTINCT thread_id) FROM runs),
       (SELECT count(*) FROM runs WHERE status = 'error'),
       (SELECT count(*) FROM runs WHERE status = 'interrupted'),
       call_totals.* FROM call_totals
"""
    % _FIGURES
)

_NODES = (
    _SCOPE
    + """
, by_node AS (
    SELECT node_name, count(*) AS runs,
           count(*) FILTER (WHERE status = 'error') AS errors,
           count(*) FILTER (WHERE status = 'interrupted') AS interrupted,
           count(*) FILTER (WHERE attempt > 1) AS retries,
           quantile_cont(duration_ms, 0.5) AS p50_ms,
           quantile_cont(duration_ms, 0.95) AS p95_ms,
           max(duration_ms) AS max_ms
    FROM runs GROUP BY node_name
), node_calls AS (SELECT node_name, %s FROM calls GROUP BY node_name)
SELECT b.*, n.* EXCLUDE (node_name) FROM by_node b
LEFT JOIN node_calls n USING (node_name)
ORDER BY n.cost_usd DESC NULLS LAST, b.runs DESC, b.node_name
"""
    % _FIGURES
)

_MODEL_DAYS = (
    _SCOPE
    + """
SELECT day, model_name, %s FROM calls GROUP BY day, model_name
ORDER BY day, cost_usd DESC NULLS LAST, model_name NULLS LAST
"""
    % _FIGURES
)

_NODE_DAYS = (
    _SCOPE
    + """
, by_day AS (
    SELECT day, node_name, count(*) AS runs,
           count(*) FILTER (WHERE status = 'error') AS errors,
           quantile_cont(duration_ms, 0.95) AS p95_ms
    FROM runs GROUP BY day, node_name
), day_calls AS (
    SELECT day, node_name,
           CASE WHEN count(cost_usd) > 0 THEN fsum(cost_usd) END AS cost_usd,
           count(*) AS llm_calls, count(*) - count(cost_usd) AS unpriced_calls
    FROM calls GROUP BY day, node_name
)
SELECT b.day, b.node_name, b.runs, b.errors, b.p95_ms,
       CASE WHEN c.llm_calls IS NULL THEN 0.0 ELSE c.cost_usd END,
       coalesce(c.unpriced_calls, 0)
FROM by_day b LEFT JOIN day_calls c USING (day, node_name)
ORDER BY b.day, b.node_name
"""
)

_THREADS = (
    _SCOPE
    + """
, latest AS (
    SELECT thread_id, node_name, arg_max(status, started_at) AS status
    FROM runs GROUP BY thread_id, node_name
), thread_status AS (
    SELECT thread_id,
           CASE WHEN bool_or(status = 'error') THEN 'failed'
                WHEN bool_or(status = 'interrupted') THEN 'interrupted'
                ELSE 'completed' END AS status
    FROM latest GROUP BY thread_id
), by_thread AS (
    SELECT thread_id, count(*) AS node_runs,
           count(*) FILTER (WHERE status = 'error') AS errors,
           min(started_at) AS started_at, max(ended_at) AS ended_at,
           (epoch_us(max(ended_at)) - epoch_us(min(started_at)))
               / 1000000.0 * 1000 AS wall_time_ms,
           sum(duration_ms) AS total_duration_ms
    FROM runs GROUP BY thread_id
), thread_calls AS (SELECT thread_id, %s FROM calls GROUP BY thread_id),
joined AS (
    SELECT b.thread_id, s.status, b.node_runs, b.errors, b.started_at,
           b.ended_at, b.wall_time_ms, b.total_duration_ms,
           coalesce(c.llm_calls, 0) AS llm_calls,
           coalesce(c.prompt_tokens, 0) AS prompt_tokens,
           coalesce(c.completion_tokens, 0) AS completion_tokens,
           coalesce(c.cached_tokens, 0) AS cached_tokens,
           coalesce(c.cache_creation_tokens, 0) AS cache_creation_tokens,
           coalesce(c.reasoning_tokens, 0) AS reasoning_tokens,
           coalesce(c.total_tokens, 0) AS total_tokens,
           CASE WHEN c.llm_calls IS NULL THEN 0.0 ELSE c.cost_usd END AS cost_usd,
           coalesce(c.unreported_calls, 0) AS unreported_calls,
           coalesce(c.unpriced_calls, 0) AS unpriced_calls,
           coalesce(c.unpriced_tokens, 0) AS unpriced_tokens,
           coalesce(c.reasoning_usd, 0.0) AS reasoning_usd
    FROM by_thread b JOIN thread_status s USING (thread_id)
    LEFT JOIN thread_calls c USING (thread_id)
)
(SELECT 'cost' AS ranking, * FROM joined
 ORDER BY cost_usd DESC NULLS LAST, thread_id LIMIT $top)
UNION ALL
(SELECT 'wall' AS ranking, * FROM joined
 ORDER BY wall_time_ms DESC, thread_id LIMIT $top)
"""
    % _FIGURES
)


def _rows(
    engine: AnalyticsEngine, sql: str, parameters: dict[str, Any]
) -> list[dict[str, Any]]:
    names, rows = engine.query(sql, parameters)
    return [dict(zip(names, row, strict=True)) for row in rows]


def _ints(row: dict[str, Any]) -> dict[str, Any]:
    # HUGEINT sums arrive as Python ints already; counts as ints: nothing to
    # convert but NULL token sums of groups without calls.
    return {key: (0 if value is None and key in _ZERO_IF_NULL else value)
            for key, value in row.items()}  # fmt: skip


_ZERO_IF_NULL = frozenset(_FIGURE_NAMES) - {"cost_usd"}


def compute_stats(
    engine: AnalyticsEngine,
    where: StatsFilter | None = None,
    *,
    top: int = TOP_THREADS,
    refresh: bool = True,
) -> StatsReport:
    """The figures of :class:`StatsReport` for ``where``.

    The report is kept with the engine: the same question asked again while
    no file changed is answered without a query.

    Args:
        engine: the engine over the log folders.
        where: window, node and model; ``None``: everything.
        top: how many costliest and slowest threads.
        refresh: catch up with the files first.

    Example:
        >>> from pathlib import Path
        >>> report = compute_stats(AnalyticsEngine([Path("/tmp/no-such-logs")]))
        >>> report.totals.node_runs
        0
    """
    where = StatsFilter() if where is None else where
    if refresh:
        engine.refresh()
    key = ("stats", where, top)
    known = engine.answers.get(key)
    if known is not None and known[0] == engine.version:
        return known[1]  # type: ignore[no-any-return]
    report = _compute(engine, where, top)
    if len(engine.answers) >= _ANSWERS_KEPT:
        engine.answers.clear()
    engine.answers[key] = (engine.version, report)
    return report


_ANSWERS_KEPT = 64


def _compute(engine: AnalyticsEngine, where: StatsFilter, top: int) -> StatsReport:
    parameters: dict[str, Any] = {
        name: value for name, value in asdict(where).items() if value is not None
    }
    names, rows = engine.query(_scope(_TOTALS, where), parameters)
    first = rows[0]
    totals = StatsTotals(
        node_runs=first[0],
        threads=first[1],
        errors=first[2],
        interrupted=first[3],
        **_ints(dict(zip(names[4:], first[4:], strict=True))),
    )
    nodes = [
        NodeStats(**_ints(row))
        for row in _node_rows(engine, _scope(_NODES, where), parameters)
    ]
    models = [
        ModelDayStats(**row)
        for row in _rows(engine, _scope(_MODEL_DAYS, where), parameters)
    ]
    names, rows = engine.query(_scope(_NODE_DAYS, where), parameters)
    node_days = [
        NodeDayStats(
            day=row[0],
            node_name=row[1],
            runs=row[2],
            errors=row[3],
            p95_ms=row[4],
            cost_usd=row[5],
            unpriced_calls=row[6],
        )
        for row in rows
    ]
    ranked = _rows(engine, _scope(_THREADS, where), {**parameters, "top": max(top, 0)})
    costliest: list[ThreadStats] = []
    slowest: list[ThreadStats] = []
    for row in ranked:
        ranking = row.pop("ranking")
        (costliest if ranking == "cost" else slowest).append(ThreadStats(**row))
    return StatsReport(
        since=where.since,
        until=where.until,
        node=where.node,
        model=where.model,
        folders=[str(folder) for folder in engine.folders],
        files=engine.file_count,
        totals=totals,
        nodes=nodes,
        models_by_day=models,
        node_days=node_days,
        costliest_threads=costliest,
        slowest_threads=slowest,
    )


def _node_rows(
    engine: AnalyticsEngine, sql: str, parameters: dict[str, Any]
) -> list[dict[str, Any]]:
    rows = _rows(engine, sql, parameters)
    for row in rows:
        row["error_rate"] = row["errors"] / row["runs"] if row["runs"] else 0.0
        if row["llm_calls"] is None:
            row["cost_usd"] = 0.0
    return rows
