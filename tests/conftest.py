"""Shared fixtures: every test writes to its own log directory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from editorial_ai.observability import NodeRunLog, TokenUsage, _deferred
from editorial_ai.observability._internal import reset_warning_counts
from editorial_ai.observability.sinks import set_sinks

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--viewer-screenshots DIR``: keep the viewer tests' pictures there."""
    parser.addoption(
        "--viewer-screenshots",
        metavar="DIR",
        default=None,
        help="also save the viewer tests' screenshots (list, thread, run, "
        "comparison) to DIR; the README's pictures in docs/ are made this way",
    )


@pytest.fixture(autouse=True)
def log_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh ``$EDITORIAL_AI_LOG_DIR`` and fresh warning counters per test."""
    directory = tmp_path / "logs"
    monkeypatch.setenv("EDITORIAL_AI_LOG_DIR", str(directory))
    monkeypatch.delenv("EDITORIAL_AI_SINKS", raising=False)
    monkeypatch.delenv("EDITORIAL_AI_WRITE_DELAY_MS", raising=False)
    reset_warning_counts()
    set_sinks(None)
    yield directory
    _deferred.flush()  # a test's queued lines go to its own folder
    set_sinks(None)
    reset_warning_counts()


def make_log(
    thread_id: str = "t1",
    node_name: str = "draft",
    *,
    status: str = "success",
    start_ms: float = 0.0,
    duration_ms: float = 10.0,
    tokens: tuple[int, int] | None = (10, 5),
    **extra: Any,
) -> NodeRunLog:
    """A NodeRunLog at a fixed clock, for exact comparisons."""
    started = T0 + timedelta(milliseconds=start_ms)
    usage = (
        extra.pop("token_usage", [])
        if tokens is None
        else [
            TokenUsage(
                prompt_tokens=tokens[0],
                completion_tokens=tokens[1],
                model_name="gpt-4o-mini",
            )
        ]
    )
    return NodeRunLog(
        thread_id=thread_id,
        node_name=node_name,
        status=status,  # type: ignore[arg-type]
        started_at=started,
        ended_at=started + timedelta(milliseconds=duration_ms),
        token_usage=usage,
        **extra,
    )
