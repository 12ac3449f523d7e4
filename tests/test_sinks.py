"""Sinks: where finished node runs go, set in code or by environment."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from editorial_ai.observability import NodeRunLog, node_wrapper, read_node_logs
from editorial_ai.observability.sinks import (
    JsonlSink,
    add_sink,
    emit,
    get_sinks,
    remove_sink,
    set_sinks,
)

from .conftest import make_log


class State(TypedDict, total=False):
    topic: str
    draft: str


class Recorder:
    """A sink that keeps what it receives."""

    def __init__(self) -> None:
        self.logs: list[NodeRunLog] = []

    def export(self, log: NodeRunLog) -> None:
        self.logs.append(log)


class Exploding:
    """A sink that always fails."""

    def export(self, log: NodeRunLog) -> None:
        raise ConnectionError("collector unreachable")


RECORDER = Recorder()


def run_graph(thread_id: str = "t1") -> dict[str, Any]:
    @node_wrapper
    def draft(state: State) -> dict[str, Any]:
        return {"draft": "text on " + state["topic"]}

    builder = StateGraph(State)
    builder.add_node(draft).add_edge(START, "draft").add_edge("draft", END)
    return builder.compile().invoke(
        {"topic": "AI"}, {"configurable": {"thread_id": thread_id}}
    )


def test_default_is_jsonl() -> None:
    """Without configuration node runs go to the JSONL file only."""
    assert [type(s) for s in get_sinks()] == [JsonlSink]
    run_graph()
    assert len(read_node_logs("t1")) == 1


def test_add_sink_keeps_jsonl_and_receives_each_run() -> None:
    """An added sink receives every record; the JSONL file still gets it."""
    recorder = Recorder()
    add_sink(recorder)
    run_graph()
    assert [log.node_name for log in recorder.logs] == ["draft"]
    assert recorder.logs[0] == read_node_logs("t1")[0]


def test_set_sinks_replaces_jsonl(log_dir: Path) -> None:
    """set_sinks without JSONL writes no file."""
    recorder = Recorder()
    set_sinks([recorder])
    run_graph()
    assert len(recorder.logs) == 1
    assert not log_dir.exists()


def test_failing_sink_affects_neither_node_nor_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A sink that raises: same result, other sinks still served, one warning."""
    recorder = Recorder()
    set_sinks([Exploding(), JsonlSink(), recorder])
    expected = {"topic": "AI", "draft": "text on AI"}
    for _ in range(50):
        assert run_graph() == expected
    assert len(recorder.logs) == 50
    assert len(read_node_logs("t1")) == 50
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert 1 <= len(warnings) <= 10
    assert "collector unreachable" in warnings[0].getMessage()


def test_remove_sink() -> None:
    """A removed sink receives nothing more."""
    recorder = Recorder()
    add_sink(recorder)
    emit(make_log())
    remove_sink(recorder)
    emit(make_log())
    assert len(recorder.logs) == 1


def test_sink_without_export_is_rejected_at_once() -> None:
    """Configuring an object that is not a sink raises TypeError immediately."""
    with pytest.raises(TypeError):
        set_sinks([object()])
    with pytest.raises(TypeError):
        add_sink("jsonl")


def test_environment_names_sinks(monkeypatch: pytest.MonkeyPatch) -> None:
    """$EDITORIAL_AI_SINKS selects sinks by name and module:attribute."""
    RECORDER.logs.clear()
    monkeypatch.setenv("EDITORIAL_AI_SINKS", "jsonl, tests.test_sinks:RECORDER")
    run_graph()
    assert len(RECORDER.logs) == 1 and len(read_node_logs("t1")) == 1
    monkeypatch.setenv("EDITORIAL_AI_SINKS", "tests.test_sinks:Recorder")
    (sink,) = get_sinks()
    assert isinstance(sink, Recorder) and sink is not RECORDER


def test_bad_environment_value_warns_and_falls_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An unknown sink name warns and the JSONL default is used."""
    monkeypatch.setenv("EDITORIAL_AI_SINKS", "kafka, no.such.module:thing")
    run_graph()
    assert len(read_node_logs("t1")) == 1
    assert "kafka" in caplog.text and "no.such.module" in caplog.text
