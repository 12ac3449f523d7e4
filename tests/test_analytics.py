"""The engine's figures equal figures computed by hand from the records."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from editorial_ai.observability import NodeRunLog, PipelineRunSummary, append_node_log
from editorial_ai.observability.analytics.engine import (
    LLM_CALLS_COLUMNS,
    NODE_RUNS_COLUMNS,
    AnalyticsEngine,
)
from editorial_ai.observability.analytics.stats import (
    StatsFilter,
    StatsReport,
    compute_stats,
)
from editorial_ai.observability.storage import SUFFIX

from ._history import NOW, per_model_day, per_node, records, write_history


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, Path]:
    """The two folders of tests/_history.py."""
    first, second = tmp_path / "worker-1", tmp_path / "worker-2"
    write_history(first, second)
    return first, second


def _close(actual: float | None, expected: float | None) -> bool:
    if actual is None or expected is None:
        return actual is expected
    return math.isclose(actual, expected, rel_tol=1e-12, abs_tol=1e-15)


def _check(row: dict[str, Any], expected: dict[str, Any], what: str) -> None:
    for name, value in expected.items():
        got = row[name]
        if isinstance(value, float) or value is None:
            assert _close(got, value), (what, name, got, value)
        else:
            assert got == value, (what, name, got, value)


def _report(folders: tuple[Path, Path], **where: Any) -> StatsReport:
    engine = AnalyticsEngine(list(folders))
    return compute_stats(engine, StatsFilter(**where))


def test_every_valid_line_is_read_and_no_other(history: tuple[Path, Path]) -> None:
    """Torn, corrupt lines are skipped; NaN states and huge counts are read."""
    logs = records(history)
    engine = AnalyticsEngine(list(history))
    _, rows = engine.query("SELECT count(*), sum(total_tokens) FROM node_runs")
    assert rows[0][0] == len(logs)
    assert rows[0][1] == sum(log.total_tokens for log in logs)
    assert any(log.total_tokens == 2**53 - 1 for log in logs)  # the largest count
    _, calls = engine.query("SELECT count(*) FROM llm_calls")
    assert calls[0][0] == sum(len(log.token_usage) for log in logs)


def test_per_node_figures_equal_hand(history: tuple[Path, Path]) -> None:
    """Runs, errors, retries, percentiles, tokens and cost per node."""
    expected = per_node(records(history))
    report = _report(history)
    assert {node.node_name for node in report.nodes} == set(expected)
    for node in report.nodes:
        row = node.model_dump()
        _check(row, expected[node.node_name], node.node_name)
        assert row["error_rate"] == row["errors"] / row["runs"]
    assert any(node.unreported_calls for node in report.nodes)
    assert any(node.retries for node in report.nodes)
    assert any(node.interrupted for node in report.nodes)


def test_totals_equal_hand(history: tuple[Path, Path]) -> None:
    """The totals line: runs, threads (one across folders), calls, cost."""
    logs = records(history)
    report = _report(history)
    totals = report.totals
    assert totals.node_runs == len(logs)
    assert totals.threads == len({log.thread_id for log in logs}) == 12
    assert totals.errors == sum(log.status == "error" for log in logs)
    nodes = per_node(logs)
    assert totals.llm_calls == sum(node["llm_calls"] for node in nodes.values())
    assert _close(
        totals.cost_usd,
        math.fsum(n["cost_usd"] for n in nodes.values() if n["cost_usd"] is not None),
    )
    assert totals.unpriced_calls == sum(n["unpriced_calls"] for n in nodes.values())


def test_model_and_day_figures_equal_hand(history: tuple[Path, Path]) -> None:
    """Calls, tokens, cost per model and UTC day; unpriced models show ``None``."""
    expected = per_model_day(records(history))
    report = _report(history)
    found = {
        (row.day, row.model_name): row.model_dump() for row in report.models_by_day
    }
    assert set(found) == set(expected)
    for key, figures in expected.items():
        _check(found[key], figures, str(key))
    assert any(row.model_name == "house-model" and row.cost_usd is None
               for row in report.models_by_day)  # fmt: skip


def test_thread_figures_equal_pipeline_run_summary(history: tuple[Path, Path]) -> None:
    """Costliest and slowest threads agree with PipelineRunSummary.from_logs."""
    by_thread: dict[str, list[NodeRunLog]] = defaultdict(list)
    for log in records(history):
        by_thread[log.thread_id].append(log)
    summaries = {
        thread_id: PipelineRunSummary.from_logs(thread_id, logs)
        for thread_id, logs in by_thread.items()
    }
    report = _report(history)
    engine = AnalyticsEngine(list(history))
    everything = compute_stats(engine, top=100)
    assert len(everything.costliest_threads) == len(summaries)
    for thread in everything.costliest_threads:
        summary = summaries[thread.thread_id]
        assert thread.node_runs == summary.node_count
        assert _close(thread.cost_usd, summary.estimated_cost_usd), thread.thread_id
        assert _close(thread.wall_time_ms, summary.wall_time_ms)
        assert _close(thread.total_duration_ms, summary.total_duration_ms)
        assert thread.total_tokens == summary.total_tokens
        assert thread.status == summary.status
        assert thread.llm_calls == summary.llm_calls
        assert thread.prompt_tokens == summary.total_prompt_tokens
        assert thread.completion_tokens == summary.total_completion_tokens
        assert thread.cached_tokens == summary.total_cached_tokens
        assert thread.cache_creation_tokens == summary.total_cache_creation_tokens
        assert thread.reasoning_tokens == summary.total_reasoning_tokens
        assert thread.unreported_calls == summary.unreported_calls
        assert thread.unpriced_calls == summary.unpriced_calls
        assert thread.unpriced_tokens == summary.unpriced_tokens
    # thread-00 is in both folders: one thread, with the run of each.
    assert any(t.unpriced_calls and t.cost_usd for t in everything.costliest_threads)
    assert any(t.cache_creation_tokens for t in everything.costliest_threads)
    merged = next(t for t in everything.costliest_threads if t.thread_id == "thread-00")
    assert merged.node_runs == len(by_thread["thread-00"])
    costs = sorted(
        (s.estimated_cost_usd or 0.0 for s in summaries.values()), reverse=True
    )
    assert [t.cost_usd or 0.0 for t in report.costliest_threads] == pytest.approx(
        costs[:10], rel=1e-12
    )
    walls = sorted((s.wall_time_ms or 0.0 for s in summaries.values()), reverse=True)
    assert [t.wall_time_ms for t in report.slowest_threads] == pytest.approx(
        walls[:10], rel=1e-12
    )


@pytest.mark.parametrize(
    "where",
    [
        {"since": NOW - timedelta(days=3)},
        {"since": NOW - timedelta(days=7), "until": NOW - timedelta(days=2)},
        {"node": "draft"},
        {"model": "claude-sonnet-4-5-20250929"},
    ],
    ids=["since", "since-until", "node", "model"],
)
def test_filters_equal_hand(history: tuple[Path, Path], where: dict[str, Any]) -> None:
    """``since``/``until`` select runs by start; ``node`` a node; ``model`` calls."""
    logs = [
        log
        for log in records(history)
        if ("since" not in where or log.started_at >= where["since"])
        and ("until" not in where or log.started_at < where["until"])
        and ("node" not in where or log.node_name == where["node"])
    ]
    expected = per_node(logs, where.get("model"))
    report = _report(history, **where)
    assert {node.node_name for node in report.nodes} == set(expected)
    for node in report.nodes:
        _check(node.model_dump(), expected[node.node_name], node.node_name)
    assert report.totals.node_runs == sum(n["runs"] for n in expected.values())


def test_refresh_reads_only_what_changed(history: tuple[Path, Path]) -> None:
    """An appended line is counted at the next refresh; a removed file is gone."""
    engine = AnalyticsEngine(list(history))
    before = compute_stats(engine).totals.node_runs
    assert engine.refresh() == 0
    path = history[0] / ("thread-04" + SUFFIX)
    append_node_log_to(history[0], "thread-04")
    assert compute_stats(engine).totals.node_runs == before + 1
    lines = len(records([history[0]])) - len(
        [log for log in records([history[0]]) if log.thread_id != "thread-04"]
    )
    path.unlink()
    assert compute_stats(engine).totals.node_runs == before + 1 - lines


def append_node_log_to(folder: Path, thread_id: str) -> None:
    """One more successful run of ``thread_id`` in ``folder``."""
    import os

    previous = os.environ.get("EDITORIAL_AI_LOG_DIR")
    os.environ["EDITORIAL_AI_LOG_DIR"] = str(folder)
    try:
        append_node_log(
            NodeRunLog(
                thread_id=thread_id,
                node_name="plan",
                status="success",
                started_at=NOW,
                ended_at=NOW + timedelta(seconds=1),
            )
        )
    finally:
        if previous is not None:
            os.environ["EDITORIAL_AI_LOG_DIR"] = previous


def test_views_have_the_documented_columns(history: tuple[Path, Path]) -> None:
    """``node_runs`` and ``llm_calls`` columns are the documented ones;
    snapshots only when asked for."""
    engine = AnalyticsEngine(list(history))
    snapshot = {"input_state", "output_state", "interrupt_value"}
    names, _ = engine.query("SELECT * FROM node_runs LIMIT 0")
    assert set(names) == set(NODE_RUNS_COLUMNS) - snapshot
    names, _ = engine.query("SELECT * FROM llm_calls LIMIT 0")
    assert set(names) == set(LLM_CALLS_COLUMNS)
    with_snapshots = AnalyticsEngine(list(history), snapshots=True)
    names, rows = with_snapshots.query(
        "SELECT * FROM node_runs WHERE input_state IS NOT NULL"
    )
    assert set(names) == set(NODE_RUNS_COLUMNS)
    assert rows


def test_a_file_removed_while_listing_is_not_an_error(tmp_path: Path) -> None:
    """An empty or missing folder gives empty figures, not an exception."""
    report = compute_stats(AnalyticsEngine([tmp_path / "missing", tmp_path]))
    assert report.totals.node_runs == 0
    assert report.nodes == []
    assert report.totals.cost_usd == 0.0


def test_cache_is_taken_up_and_rebuilt_for_other_prices(
    history: tuple[Path, Path], tmp_path: Path
) -> None:
    """A second engine on the cache reads no file and says the same; other
    prices rebuild it, so costs always follow the price table."""
    from editorial_ai.observability.pricing import ModelPrice, PriceTable

    cache = tmp_path / "cache"
    first = AnalyticsEngine(list(history), cache=cache)
    report = compute_stats(first)
    first.close()
    second = AnalyticsEngine(list(history), cache=cache)
    assert second.refresh() == 0
    assert compute_stats(second) == report
    second.close()
    cheap = PriceTable({"gpt-4o-mini": ModelPrice(0.0, 0.0)})
    third = AnalyticsEngine(list(history), cache=cache, table=cheap)
    repriced = compute_stats(third)
    assert repriced.totals.node_runs == report.totals.node_runs
    assert repriced.totals.cost_usd == 0.0


def test_readme_documents_every_view_column() -> None:
    """The README's tables of the views list exactly their columns."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for view, columns in (
        ("node_runs", NODE_RUNS_COLUMNS),
        ("llm_calls", LLM_CALLS_COLUMNS),
    ):
        header = "| `%s` column | what |" % view
        assert header in readme
        block = readme.split(header, 1)[1].split("\n\n", 1)[0]
        documented = [
            line.split("`")[1] for line in block.splitlines() if line.startswith("| `")
        ]
        assert documented == list(columns)


@pytest.mark.parametrize("block", [5, 97, 1 << 23], ids=["5B", "97B", "8MiB"])
def test_head_reading_equals_whole_line_reading(
    history: tuple[Path, Path], block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading only each line's head gives the rows read_json gives from
    whole lines (the snapshots engine), call by call, whatever the blocks the
    files are read in (lines cut across blocks, CRLF, a torn last line)."""
    from editorial_ai.observability.analytics import engine as engine_module

    monkeypatch.setattr(engine_module, "_BLOCK", block)
    with open(history[1] / ("thread-05" + SUFFIX), "ab") as handle:
        handle.write(
            b'{"thread_id":"thread-05","node_name":"crlf","status":"success",'
            b'"started_at":"2026-11-29T10:00:00Z","ended_at":"2026-11-29T10:00:01Z"'
            b"}\r\n\n\n"
        )
    query_runs = (
        "SELECT thread_id, node_name, status, started_at, duration_ms, attempt, "
        "llm_calls, total_tokens, cost_usd FROM node_runs ORDER BY ALL"
    )
    query_calls = (
        "SELECT thread_id, node_started_at, call_index, model_name, prompt_tokens, "
        "completion_tokens, total_tokens, usage_reported, cost_usd FROM llm_calls "
        "ORDER BY ALL"
    )
    heads = AnalyticsEngine(list(history))
    whole = AnalyticsEngine(list(history), snapshots=True)
    for query in (query_runs, query_calls):
        assert heads.query(query)[1] == whole.query(query)[1]
    _, used = heads.query("SELECT count(*) FROM node_runs")
    assert used[0][0] == len(records(history))
    assert heads.query("SELECT count(*) FROM node_runs WHERE node_name = 'crlf'")[
        1
    ] == [(1,)]


def test_heads_leave_the_snapshots_out(history: tuple[Path, Path]) -> None:
    """For the writer's lines only the head reaches DuckDB: the heads file
    holds no snapshot, and a torn line is passed whole (and then dropped)."""
    import io

    from editorial_ai.observability.analytics.engine import _write_heads

    path = history[0] / ("thread-00" + SUFFIX)
    out = io.BytesIO()
    _write_heads([str(path)], out)
    heads = out.getvalue().splitlines()
    assert len(heads) == len(path.read_bytes().splitlines())
    assert all(head.startswith(b"0\x01{") for head in heads)
    assert not any(b'"input_state"' in head for head in heads)
    torn = history[1] / ("thread-03" + SUFFIX)
    out = io.BytesIO()
    _write_heads([str(torn)], out)
    assert (
        out.getvalue().splitlines()[-1]
        == b"0\x01" + torn.read_bytes().rsplit(b"\n", 1)[1]
    )


def test_writer_puts_the_head_before_the_snapshots() -> None:
    """The engine's fast path reads a line up to ``,"input_state":``: every
    field it needs comes before it, and a whole line ends with the last
    computed total (else lines are parsed whole: correct, but slower)."""
    import re

    from editorial_ai.observability import TokenUsage
    from editorial_ai.observability.analytics.engine import _HEAD_COLUMNS
    from editorial_ai.observability.storage import encode_line

    line = encode_line(
        NodeRunLog(
            thread_id="t",
            node_name="n",
            status="success",
            started_at=NOW,
            ended_at=NOW,
            token_usage=[TokenUsage(prompt_tokens=1)],
            input_state={"x": ',"input_state":'},
        )
    ).decode()
    cut = line.index(',"input_state":')
    for name in _HEAD_COLUMNS:
        assert 0 <= line.find('"%s":' % name) < cut, name
    assert re.search(r'"(unreported_calls|total_tokens)":[0-9]+\}\s*$', line)


def test_benchmark_history_is_in_the_writers_shape(tmp_path: Path) -> None:
    """benchmarks/history.py writes lines the reader accepts, with the
    computed totals the writer puts last (so the benchmark measures the head
    path real files take), and the engine's figures equal the reader's."""
    import importlib.util
    import io
    import json

    from editorial_ai.observability.analytics.engine import _write_heads
    from editorial_ai.observability.storage import encode_line

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "history.py"
    spec = importlib.util.spec_from_file_location("bench_history", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    counts = module.write_history(str(tmp_path), 6, snapshot_bytes=300)
    logs = records([tmp_path])
    assert len(logs) == counts["node_runs"]
    computed = (
        "duration_ms", "total_prompt_tokens", "total_completion_tokens",
        "total_tokens", "total_cached_tokens", "total_cache_creation_tokens",
        "total_reasoning_tokens", "llm_calls", "unreported_calls",
    )  # fmt: skip
    for file in sorted(tmp_path.glob("*" + SUFFIX)):
        for raw in file.read_bytes().splitlines():
            written = json.loads(raw)
            log = NodeRunLog.model_validate_json(raw)
            mine = json.loads(encode_line(log))
            assert list(written)[-len(computed) :] == list(computed)
            for name in computed:
                assert written[name] == pytest.approx(mine[name]), name
    out = io.BytesIO()
    _write_heads([str(file) for file in sorted(tmp_path.glob("*" + SUFFIX))], out)
    assert b'"input_state"' not in out.getvalue()
    _, rows = AnalyticsEngine([tmp_path]).query(
        "SELECT count(*), sum(total_tokens) FROM node_runs"
    )
    assert rows == [(len(logs), sum(log.total_tokens for log in logs))]
