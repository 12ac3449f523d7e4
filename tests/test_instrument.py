"""instrument(graph): every node of a builder, compiled graph or prebuilt agent."""

from __future__ import annotations

import asyncio
import logging
import operator
from typing import Annotated, Any

import pytest
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

from editorial_ai.observability import (
    instrument,
    node_wrapper,
    read_node_logs,
)

from ._agents import (
    EXPECTED,
    FACTORIES,
    QUESTION,
    agent_records,
    contents,
    react_agent,
)
from ._fakes import chat_model, reply
from ._runs import cfg, records


class State(TypedDict, total=False):
    topic: str
    notes: Annotated[list[str], operator.add]


def editorial_builder() -> StateGraph[Any]:
    """plan -> (news | papers) -> write, plain undecorated functions."""
    writer = chat_model(reply("draft", 300, 90))

    def plan(state: State) -> dict[str, Any]:
        return {"notes": ["plan " + state["topic"]]}

    def news(state: State) -> dict[str, Any]:
        return {"notes": ["news"]}

    async def papers(state: State) -> dict[str, Any]:
        return {"notes": ["papers"]}

    def write(state: State, config: RunnableConfig) -> dict[str, Any]:
        writer.invoke("write", config)
        return {"notes": ["written for " + config["configurable"]["thread_id"]]}

    builder = StateGraph(State)
    for node in (plan, news, papers, write):
        builder.add_node(node)
    builder.add_edge(START, "plan").add_edge("plan", "news").add_edge("plan", "papers")
    builder.add_edge(["news", "papers"], "write").add_edge("write", END)
    return builder


def test_builder_instrumented_before_compile() -> None:
    """Instrumenting a builder records every node of the graph compiled from it."""
    plain = asyncio.run(
        editorial_builder().compile().ainvoke({"topic": "AI"}, cfg("plain"))
    )
    builder = editorial_builder()
    assert instrument(builder) is builder
    result = asyncio.run(builder.compile().ainvoke({"topic": "AI"}, cfg()))
    assert result == {**plain, "notes": [*plain["notes"][:-1], "written for t1"]}
    assert sorted(records()) == [
        ("news", "success", 0),
        ("papers", "success", 0),
        ("plan", "success", 0),
        ("write", "success", 390),
    ]
    assert read_node_logs("plain") == []


def test_compiled_graph_in_place_and_idempotent() -> None:
    """instrument(compiled) returns the graph; twice still records each run once."""
    graph = editorial_builder().compile()
    assert instrument(instrument(graph)) is graph
    asyncio.run(graph.ainvoke({"topic": "AI"}, cfg()))
    assert sorted(name for name, _, _ in records()) == [
        "news",
        "papers",
        "plan",
        "write",
    ]
    first = read_node_logs("t1")[0]
    assert first.input_state == {"topic": "AI", "notes": []}
    assert first.output_state == {"notes": ["plan AI"]}
    assert first.step == 1 and first.attempt == 1


def test_decorated_nodes_are_not_wrapped_twice() -> None:
    """A node already decorated with node_wrapper keeps its one record and name."""

    @node_wrapper("custom_name")
    def decorated(state: State) -> dict[str, Any]:
        return {"notes": ["d"]}

    def plain(state: State) -> dict[str, Any]:
        return {"notes": ["p"]}

    builder = StateGraph(State)
    builder.add_node("decorated", decorated).add_node(plain)
    builder.add_edge(START, "decorated").add_edge("decorated", "plain")
    graph = instrument(builder.add_edge("plain", END).compile())
    assert graph.invoke({"topic": "x"}, cfg())["notes"] == ["d", "p"]
    assert records() == [("custom_name", "success", 0), ("plain", "success", 0)]


def test_options_apply_and_bad_options_fail_at_once() -> None:
    """Options reach every node; an unknown or bad option raises when called."""
    graph = instrument(editorial_builder().compile(), capture_io=False)
    asyncio.run(graph.ainvoke({"topic": "AI"}, cfg()))
    assert all(log.input_state is None for log in read_node_logs("t1"))
    with pytest.raises(TypeError):
        instrument(editorial_builder(), colour="red")
    with pytest.raises((TypeError, ValueError)):
        instrument(editorial_builder(), state_keys={"topic": "explode"})
    with pytest.raises(TypeError):
        instrument(lambda state: state)


def test_node_errors_keep_the_same_exception() -> None:
    """A failing node's exception reaches the caller as the same object."""
    boom = KeyError("missing source")

    def fails(state: State) -> dict[str, Any]:
        raise boom

    builder = StateGraph(State)
    builder.add_node(fails).add_edge(START, "fails").add_edge("fails", END)
    graph = instrument(builder.compile())
    with pytest.raises(KeyError) as caught:
        graph.invoke({"topic": "x"}, cfg())
    assert caught.value is boom
    (log,) = read_node_logs("t1")
    assert (log.status, log.error_type) == ("error", "KeyError")
    assert "raise boom" in (log.error_traceback or "")


def test_non_function_node_is_named_in_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A chain added as a node cannot be wrapped: one warning, the graph works."""
    builder = StateGraph(State)
    chain = RunnableLambda(lambda s: {"notes": ["one"]}) | RunnableLambda(
        lambda update: {"notes": update["notes"] + ["two"]}
    )
    builder.add_node("chain", chain).add_edge(START, "chain").add_edge("chain", END)
    with caplog.at_level(logging.WARNING, "editorial_ai.observability"):
        graph = instrument(builder.compile())
    assert "chain (RunnableSequence)" in caplog.text
    assert graph.invoke({"topic": "x"}, cfg())["notes"] == ["one", "two"]
    assert read_node_logs("t1") == []


# -- subgraphs -------------------------------------------------------------------


def test_subgraph_nodes_added_and_called_are_recorded() -> None:
    """Nodes of a subgraph added as a node and of one called by a node record."""
    model = chat_model(reply("inner", 40, 4))

    def inner_write(state: State) -> dict[str, Any]:
        model.invoke("inner")
        return {"notes": ["inner_write"]}

    inner = StateGraph(State)
    inner.add_node(inner_write).add_edge(START, "inner_write")
    added = inner.add_edge("inner_write", END).compile()

    def called_inner(state: State) -> dict[str, Any]:
        return {"notes": ["called_inner"]}

    called = StateGraph(State)
    called.add_node(called_inner).add_edge(START, "called_inner")
    called_graph = called.add_edge("called_inner", END).compile()

    def caller(state: State) -> dict[str, Any]:
        return {"notes": called_graph.invoke({"topic": state["topic"]})["notes"]}

    builder = StateGraph(State)
    builder.add_node("sub", added).add_node(caller)
    builder.add_edge(START, "sub").add_edge("sub", "caller").add_edge("caller", END)
    graph = instrument(builder.compile())
    result = graph.invoke({"topic": "x"}, cfg())
    assert result["notes"] == ["inner_write", "called_inner"]
    assert records() == [
        ("inner_write", "success", 44),
        ("called_inner", "success", 0),
        ("caller", "success", 0),
    ]
    inner_log = read_node_logs("t1")[0]
    assert (inner_log.checkpoint_ns or "").startswith("sub:")


def test_subgraph_state_survives_interrupt_when_instrumented() -> None:
    """get_state(subgraphs=True) still finds an instrumented node's subgraph."""

    def ask(state: State) -> dict[str, Any]:
        return {"notes": [interrupt("ok?")]}

    inner = StateGraph(State)
    inner.add_node(ask).add_edge(START, "ask").add_edge("ask", END)
    inner_graph = inner.compile()

    def outer(state: State) -> dict[str, Any]:
        return inner_graph.invoke(state)

    builder = StateGraph(State)
    builder.add_node(outer).add_edge(START, "outer").add_edge("outer", END)
    graph = instrument(builder.compile(checkpointer=InMemorySaver()))
    config = cfg("sub")
    graph.invoke({"topic": "x"}, config)
    snapshot = graph.get_state(config, subgraphs=True)
    assert snapshot.tasks and snapshot.tasks[0].state is not None
    assert graph.invoke(Command(resume="yes"), config)["notes"] == ["yes"]
    assert [(n, s) for n, s, _ in records("sub")] == [
        ("ask", "interrupted"),
        ("outer", "interrupted"),
        ("ask", "success"),
        ("outer", "success"),
    ]


# -- the prebuilt ReAct agent ------------------------------------------------------

parametrize_factory = pytest.mark.parametrize("factory", FACTORIES)


@parametrize_factory
def test_prebuilt_agent_sync(factory: str) -> None:
    """The agent answers as it does uninstrumented; agent/tools/agent recorded."""
    plain = react_agent(factory).invoke(QUESTION, cfg("plain"))
    agent = instrument(react_agent(factory))
    result = agent.invoke(QUESTION, cfg())
    assert contents(result["messages"]) == contents(plain["messages"]) == EXPECTED
    assert records() == agent_records(factory)
    tools_log = read_node_logs("t1")[1]
    assert tools_log.output_state is not None
    assert tools_log.output_state["messages"][0]["content"] == "4"


@parametrize_factory
def test_prebuilt_agent_async(factory: str) -> None:
    """ainvoke: same answer, same records."""
    agent = instrument(react_agent(factory))
    result = asyncio.run(agent.ainvoke(QUESTION, cfg()))
    assert contents(result["messages"]) == EXPECTED
    assert records() == agent_records(factory)


@parametrize_factory
@pytest.mark.parametrize("mode", ["updates", "messages"])
def test_prebuilt_agent_streaming(factory: str, mode: str) -> None:
    """The streamed chunks are those of the uninstrumented agent."""

    def chunks(agent: Any, thread_id: str) -> list[Any]:
        out = []
        for chunk in agent.stream(QUESTION, cfg(thread_id), stream_mode=mode):
            if mode == "messages":
                message, metadata = chunk
                out.append((metadata["langgraph_node"], message.content))
            else:
                out.append({n: contents(u["messages"]) for n, u in chunk.items()})
        return out

    plain = chunks(react_agent(factory), "plain")
    assert chunks(instrument(react_agent(factory)), "t1") == plain
    assert records() == agent_records(factory)


@parametrize_factory
def test_prebuilt_agent_interrupt_before_tools(factory: str) -> None:
    """interrupt_before=['tools'] pauses before the tool; resuming finishes."""
    agent = instrument(
        react_agent(factory, checkpointer=InMemorySaver(), interrupt_before=["tools"])
    )
    config = cfg()
    paused = agent.invoke(QUESTION, config)
    assert agent.get_state(config).next == ("tools",)
    assert contents(paused["messages"]) == EXPECTED[:2]
    assert records() == agent_records(factory)[:1]
    final = agent.invoke(None, config)
    assert contents(final["messages"]) == EXPECTED
    assert records() == agent_records(factory)


def test_generator_nodes_stay_generators() -> None:
    """Sync and async generator nodes (RunnableLambda upstream) still stream."""

    def produce(state: State) -> Any:
        yield {"notes": ["produced"]}

    async def refine(state: State) -> Any:
        yield {"notes": ["refined"]}

    builder = StateGraph(State)
    builder.add_node(produce).add_node(refine)
    builder.add_edge(START, "produce").add_edge("produce", "refine")
    graph = instrument(builder.add_edge("refine", END).compile())
    result = asyncio.run(graph.ainvoke({"topic": "x"}, cfg()))
    assert result["notes"] == ["produced", "refined"]
    assert records() == [("produce", "success", 0), ("refine", "success", 0)]


def test_a_graph_it_cannot_read_is_a_warning_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """If LangGraph's internals are not as expected, instrument warns and returns."""

    class Unreadable(dict[str, Any]):
        def items(self) -> Any:
            raise RuntimeError("internals changed")

    graph = editorial_builder().compile()
    nodes = graph.nodes
    graph.nodes = Unreadable()
    with caplog.at_level(logging.WARNING, "editorial_ai.observability"):
        assert instrument(graph) is graph
    assert "instrument failed: RuntimeError" in caplog.text
    graph.nodes = nodes
    asyncio.run(graph.ainvoke({"topic": "AI"}, cfg()))
    assert read_node_logs("t1") == []


def test_node_calling_an_instrumented_agent_counts_each_call_once() -> None:
    """A wrapped node returning an instrumented agent's messages adds no tokens."""
    from langgraph.graph import MessagesState

    agent = instrument(react_agent())

    @node_wrapper
    def fact_check(state: MessagesState) -> dict[str, Any]:
        return {"messages": agent.invoke(state)["messages"]}

    builder = StateGraph(MessagesState)
    builder.add_node(fact_check).add_edge(START, "fact_check")
    graph = builder.add_edge("fact_check", END).compile()
    result = graph.invoke(QUESTION, cfg())
    assert contents(result["messages"]) == EXPECTED
    assert records() == [
        *agent_records("create_react_agent"),
        ("fact_check", "success", 0),
    ]
