"""The three records: derived fields, JSON round trip, summary semantics."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from editorial_ai.observability import NodeRunLog, PipelineRunSummary, TokenUsage

from .conftest import T0, make_log


def test_duration_is_derived_from_start_and_end() -> None:
    """duration_ms is ended_at - started_at, whatever the caller passes."""
    log = make_log(duration_ms=250.5)
    assert log.duration_ms == pytest.approx(250.5)
    forced = NodeRunLog.model_validate({**log.model_dump(), "duration_ms": 9999.0})
    assert forced.duration_ms == pytest.approx(250.5)


def test_token_totals_are_sums_of_calls() -> None:
    """The three totals sum the per-call usages and cannot be overridden."""
    log = make_log(tokens=None)
    log = log.model_copy(
        update={
            "token_usage": [
                TokenUsage(prompt_tokens=100, completion_tokens=20, model_name="a"),
                TokenUsage(prompt_tokens=7, completion_tokens=3, total_tokens=11),
            ]
        }
    )
    assert (log.total_prompt_tokens, log.total_completion_tokens) == (107, 23)
    assert log.total_tokens == 120 + 11
    data = log.model_dump()
    data["total_tokens"] = 1
    assert NodeRunLog.model_validate(data).total_tokens == 131


def test_token_usage_fills_total() -> None:
    """A usage without total_tokens gets prompt + completion."""
    assert TokenUsage(prompt_tokens=3, completion_tokens=4).total_tokens == 7
    assert TokenUsage().total_tokens == 0


def test_json_round_trip_gives_equal_object() -> None:
    """A record read back from its JSON equals the original."""
    log = make_log(
        input_state={"topic": "AI", "n": [1, 2.5, None, {"deep": True}]},
        output_state={"draft": "text ✓"},
        error_type=None,
        step=3,
        checkpoint_ns="draft:abc",
        prompt_chars=42,
    )
    text = log.model_dump_json()
    assert NodeRunLog.model_validate_json(text) == log
    assert '"duration_ms":10.0' in text and '"total_tokens":15' in text


def test_status_accepts_interrupted_and_rejects_unknown() -> None:
    """status allows the four node statuses and nothing else."""
    for status in ("success", "error", "skipped", "interrupted"):
        assert make_log(status=status).status == status
    with pytest.raises(ValidationError):
        make_log(status="done")


def test_times_are_utc() -> None:
    """Naive times are taken as UTC; other zones are converted to UTC."""
    naive = datetime(2026, 1, 1, 9, 0)
    plus9 = datetime(2026, 1, 1, 18, 0, tzinfo=timezone(timedelta(hours=9)))
    log = NodeRunLog(
        thread_id="t",
        node_name="n",
        status="success",
        started_at=naive,
        ended_at=plus9,
    )
    assert log.started_at.utcoffset() == timedelta(0)
    assert log.ended_at == log.started_at
    assert log.ended_at.tzinfo is not None and log.ended_at.utcoffset() == timedelta(0)


def test_summary_of_no_logs() -> None:
    """An empty thread is running, with zero totals and no times."""
    summary = PipelineRunSummary.from_logs("t", [])
    assert summary.status == "running"
    assert summary.node_count == 0 and summary.total_tokens == 0
    assert summary.started_at is None and summary.ended_at is None
    assert summary.wall_time_ms is None


def test_summary_totals_and_times_ignore_order() -> None:
    """Totals are sums; first start and last end are found in any order."""
    logs = [
        make_log(node_name="b", start_ms=100, duration_ms=50, tokens=(1, 2)),
        make_log(node_name="a", start_ms=0, duration_ms=30, tokens=(10, 20)),
        make_log(node_name="c", start_ms=40, duration_ms=200, tokens=(100, 200)),
    ]
    summary = PipelineRunSummary.from_logs("t1", logs)
    assert summary.node_count == 3
    assert summary.total_duration_ms == pytest.approx(280)
    assert summary.total_prompt_tokens == 111
    assert summary.total_completion_tokens == 222
    assert summary.total_tokens == 333
    assert summary.started_at == T0
    assert summary.ended_at == T0 + timedelta(milliseconds=240)
    assert summary.wall_time_ms == pytest.approx(240)
    assert summary.status == "completed"


def test_summary_retried_node_that_succeeded_is_completed() -> None:
    """An error followed by a success of the same node does not fail the thread."""
    logs = [
        make_log(node_name="draft", status="success", start_ms=50),
        make_log(node_name="draft", status="error", start_ms=0),
    ]
    assert PipelineRunSummary.from_logs("t1", logs).status == "completed"


def test_summary_latest_error_fails() -> None:
    """A node whose latest run is an error fails the thread."""
    logs = [
        make_log(node_name="draft", status="success", start_ms=0),
        make_log(node_name="review", status="success", start_ms=10),
        make_log(node_name="draft", status="error", start_ms=20),
    ]
    assert PipelineRunSummary.from_logs("t1", logs).status == "failed"


def test_summary_interrupted_until_resumed() -> None:
    """A node waiting on interrupt() makes the thread interrupted; resumed, it
    completes."""
    waiting = [
        make_log(node_name="draft", start_ms=0),
        make_log(node_name="approve", status="interrupted", start_ms=10),
    ]
    assert PipelineRunSummary.from_logs("t1", waiting).status == "interrupted"
    resumed = [*waiting, make_log(node_name="approve", start_ms=5000)]
    assert PipelineRunSummary.from_logs("t1", resumed).status == "completed"


def test_summary_error_wins_over_interrupt() -> None:
    """failed takes precedence over running."""
    logs = [
        make_log(node_name="a", status="interrupted"),
        make_log(node_name="b", status="error"),
    ]
    assert PipelineRunSummary.from_logs("t1", logs).status == "failed"


def test_summary_skipped_counts_as_done() -> None:
    """A skipped node does not keep the thread running or fail it."""
    logs = [make_log(node_name="a", status="skipped", tokens=None)]
    assert PipelineRunSummary.from_logs("t1", logs).status == "completed"


# -- LLM calls as records (issue 9) --------------------------------------------


def test_models_import_nothing_of_the_package() -> None:
    """``models`` is the lowest room: no import of ours (pricing uses it)."""
    import ast
    import inspect as inspect_module

    from editorial_ai.observability import models

    tree = ast.parse(inspect_module.getsource(models))
    ours = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and (node.level > 0 or (node.module or "").startswith("editorial_ai"))
    ]
    assert ours == []


def test_the_fast_usage_builder_sets_every_field() -> None:
    """The unvalidated builder names every field, with the model's defaults."""
    from editorial_ai.observability.models import build_token_usage

    built = build_token_usage(3, 4, 7, "m", 0, True)
    assert built == TokenUsage(
        prompt_tokens=3, completion_tokens=4, total_tokens=7, model_name="m"
    )
    assert set(built.__dict__) == set(TokenUsage.model_fields)


def test_a_summary_counts_calls_cache_reasoning_and_what_is_unknown() -> None:
    """Summary totals: calls (failed included), cached, written, reasoning,
    unreported and unpriced calls, and the cost of the priced ones."""
    calls = [
        TokenUsage(
            prompt_tokens=1200, completion_tokens=300, cached_tokens=1024,
            model_name="gpt-4o-mini",
        ),
        TokenUsage(
            prompt_tokens=2050, completion_tokens=120, cache_creation_tokens=2000,
            model_name="claude-sonnet-4-5", status="error", error_type="Timeout",
        ),
        TokenUsage(
            prompt_tokens=800, completion_tokens=640, reasoning_tokens=512,
            model_name="no-such-model",
        ),
        TokenUsage(model_name="gpt-4o-mini", usage_reported=False, status="aborted"),
    ]  # fmt: skip
    logs = [
        make_log(node_name="a", tokens=None, token_usage=calls[:2]),
        make_log(node_name="b", tokens=None, token_usage=calls[2:], start_ms=20),
    ]
    summary = PipelineRunSummary.from_logs("t1", logs)
    assert summary.llm_calls == 4
    assert (summary.unreported_calls, summary.unpriced_calls) == (1, 2)
    assert summary.total_cached_tokens == 1024
    assert summary.total_cache_creation_tokens == 2000
    assert summary.total_reasoning_tokens == 512
    assert summary.estimated_cost_usd == pytest.approx(
        (176 * 0.15 + 1024 * 0.075 + 300 * 0.6 + 50 * 3 + 2000 * 3.75 + 120 * 15) / 1e6,
        rel=1e-12,
    )
    assert [log.llm_calls for log in logs] == [2, 2]
    assert [log.unreported_calls for log in logs] == [0, 1]


def test_old_lines_read_with_the_new_fields_at_their_defaults() -> None:
    """A line written before the call fields existed reads unchanged."""
    line = (
        '{"thread_id":"t","node_name":"n","status":"success",'
        '"started_at":"2026-01-01T00:00:00Z","ended_at":"2026-01-01T00:00:01Z",'
        '"token_usage":[{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7,'
        '"model_name":"gpt-4o"}]}'
    )
    (usage,) = NodeRunLog.model_validate_json(line).token_usage
    assert (usage.status, usage.cached_tokens, usage.run_id) == ("success", 0, None)
