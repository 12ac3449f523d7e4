"""Errors of a node: what the record keeps of a huge exception message."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from editorial_ai.observability import node_wrapper, read_node_logs


class State(TypedDict, total=False):
    text: str


def _failing_graph(message: str) -> Any:
    @node_wrapper
    def explode(state: State) -> dict[str, Any]:
        raise ValueError(message)

    builder = StateGraph(State)
    builder.add_node(explode)
    builder.add_edge(START, "explode")
    builder.add_edge("explode", END)
    return builder.compile()


def test_huge_message_is_cut_before_it_is_formatted() -> None:
    """A 32 MB multi-line message costs the failing node a few megabytes at
    most: the record keeps its first 2,000 characters, never a copy of all."""
    message = ("first line of a long tool output\n" + "x" * 1023) * (32 * 1024)
    graph = _failing_graph(message)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as raised:
            graph.invoke({"text": "go"}, {"configurable": {"thread_id": "t1"}})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert raised.value.args[0] is message
    assert peak < 8 << 20, peak
    (run,) = read_node_logs("t1")
    assert run.error_message == message[:2000]
    assert run.error_traceback is not None
    assert run.error_traceback.splitlines()[-1] == (
        "ValueError: first line of a long tool output"
    )
