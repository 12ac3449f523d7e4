"""TokenUsageCallbackHandler(record_nodes=True): node runs from callbacks alone."""

from __future__ import annotations

import asyncio
import operator
import threading
from typing import Annotated, Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.func import entrypoint, task
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, RetryPolicy, interrupt
from typing_extensions import TypedDict

from editorial_ai.observability import (
    PipelineRunSummary,
    TokenUsageCallbackHandler,
    callback_nodes,
    instrument,
    node_wrapper,
    read_node_logs,
)

from ._agents import (
    EXPECTED,
    FACTORIES,
    MODEL_NODE,
    QUESTION,
    agent_records,
    contents,
    react_agent,
)
from ._fakes import chat_model, reply
from ._runs import records


class State(TypedDict, total=False):
    topic: str
    notes: Annotated[list[str], operator.add]


def cfg(thread_id: str = "t1", handlers: int = 1, **options: Any) -> RunnableConfig:
    return {
        "configurable": {"thread_id": thread_id},
        "callbacks": [
            TokenUsageCallbackHandler(record_nodes=True, **options)
            for _ in range(handlers)
        ],
    }


def line(*nodes: Any, checkpointer: Any = None, **add: Any) -> Any:
    builder = StateGraph(State)
    previous = START
    for node in nodes:
        builder.add_node(node.__name__, node, **add)
        builder.add_edge(previous, node.__name__)
        previous = node.__name__
    return builder.add_edge(previous, END).compile(checkpointer=checkpointer)


@pytest.fixture(autouse=True)
def nothing_left_open() -> Any:
    """Every test ends with no node run or inner run still remembered."""
    yield
    assert callback_nodes._open == {} and callback_nodes._inside == {}


parametrize_factory = pytest.mark.parametrize("factory", FACTORIES)


@parametrize_factory
def test_prebuilt_agent_recorded_from_callbacks(factory: str) -> None:
    """An untouched prebuilt agent: agent/tools/agent with the calls' tokens."""
    result = react_agent(factory).invoke(QUESTION, cfg())
    assert contents(result["messages"]) == EXPECTED
    assert records() == agent_records(factory)
    agent_log, tools_log, _ = read_node_logs("t1")
    assert agent_log.input_state is not None
    assert agent_log.input_state["messages"][0]["content"] == EXPECTED[0][1]
    assert agent_log.token_usage[0].model_name == "gpt-4o-mini"
    assert tools_log.output_state is not None
    assert tools_log.output_state["messages"][0]["content"] == "4"
    assert (agent_log.step, tools_log.step) == (1, 2)
    assert agent_log.invocation_id == tools_log.invocation_id is not None
    assert agent_log.ended_at >= agent_log.started_at


@parametrize_factory
def test_prebuilt_agent_async_and_streaming(factory: str) -> None:
    """ainvoke and astream(messages) give the same answer and the same records."""
    result = asyncio.run(react_agent(factory).ainvoke(QUESTION, cfg("async")))
    assert contents(result["messages"]) == EXPECTED

    async def stream() -> list[str]:
        return [
            metadata["langgraph_node"]
            async for _, metadata in react_agent(factory).astream(
                QUESTION, cfg("stream"), stream_mode="messages"
            )
        ]

    assert set(asyncio.run(stream())) == {MODEL_NODE[factory], "tools"}
    assert records("async") == records("stream") == agent_records(factory)


@parametrize_factory
def test_prebuilt_agent_interrupt_before_tools(factory: str) -> None:
    """interrupt_before=['tools']: the tool runs only once resumed."""
    agent = react_agent(
        factory, checkpointer=InMemorySaver(), interrupt_before=["tools"]
    )
    config = cfg()
    agent.invoke(QUESTION, config)
    assert records() == agent_records(factory)[:1]
    final = agent.invoke(None, config)
    assert contents(final["messages"]) == EXPECTED
    assert records() == agent_records(factory)


def test_interrupt_is_interrupted_then_resumed() -> None:
    """interrupt() is 'interrupted' with its id and value; the resume succeeds."""

    def approve(state: State) -> dict[str, Any]:
        return {"notes": ["approved: %s" % interrupt({"question": "publish?"})]}

    graph = line(approve, checkpointer=InMemorySaver())
    config = cfg()
    paused = graph.invoke({"topic": "x"}, config)
    (log,) = read_node_logs("t1")
    assert log.status == "interrupted" and log.output_state is None
    assert log.interrupt_id == paused["__interrupt__"][0].id
    assert log.interrupt_value == {"question": "publish?"}
    assert PipelineRunSummary.from_logs("t1", [log]).status == "interrupted"
    assert graph.invoke(Command(resume="yes"), config)["notes"] == ["approved: yes"]
    assert records() == [("approve", "interrupted", 0), ("approve", "success", 0)]
    resumed = read_node_logs("t1")[1]
    assert resumed.resumed_interrupt_ids == [log.interrupt_id]
    assert resumed.resume_values == ["yes"]


def test_error_is_recorded_and_reraised_unchanged() -> None:
    """A failing node: the same exception reaches the caller; the record has it."""
    boom = ValueError("no sources")

    def gather(state: State) -> dict[str, Any]:
        raise boom

    with pytest.raises(ValueError) as caught:
        line(gather).invoke({"topic": "x"}, cfg())
    assert caught.value is boom
    (log,) = read_node_logs("t1")
    assert (log.status, log.error_type, log.error_message) == (
        "error",
        "ValueError",
        "no sources",
    )
    assert "raise boom" in (log.error_traceback or "")


def test_retries_are_separate_attempts() -> None:
    """Each attempt under a RetryPolicy is its own record, numbered."""
    attempts = {"n": 0}

    def flaky(state: State) -> dict[str, Any]:
        attempts["n"] += 1
        if attempts["n"] < 3:
            raise ConnectionError("busy")
        return {"notes": ["ok"]}

    policy = RetryPolicy(max_attempts=3, initial_interval=0.001)
    assert line(flaky, retry_policy=policy).invoke({"topic": "x"}, cfg())["notes"] == [
        "ok"
    ]
    logs = read_node_logs("t1")
    assert [(log.status, log.attempt) for log in logs] == [
        ("error", 1),
        ("error", 2),
        ("success", 3),
    ]


def test_decorated_nodes_are_written_once() -> None:
    """A node decorated (or instrumented) is written by its wrapper only."""

    @node_wrapper("wrapped_name")
    def decorated(state: State) -> dict[str, Any]:
        return {"notes": ["d"]}

    def plain(state: State) -> dict[str, Any]:
        return {"notes": ["p"]}

    def later(state: State) -> dict[str, Any]:
        return {"notes": ["l"]}

    graph = line(decorated, plain, later)
    graph.invoke({"topic": "x"}, cfg())
    assert [n for n, _, _ in records()] == ["wrapped_name", "plain", "later"]
    instrument(graph)
    graph.invoke({"topic": "x"}, cfg("t2"))
    assert [n for n, _, _ in records("t2")] == ["wrapped_name", "plain", "later"]


def test_several_recording_handlers_write_once() -> None:
    """Two handlers with record_nodes on one run: one record per node run."""
    model = chat_model(reply("a", 10, 2))

    def write(state: State) -> dict[str, Any]:
        model.invoke("go")
        return {"notes": ["w"]}

    line(write).invoke({"topic": "x"}, cfg(handlers=2))
    assert records() == [("write", "success", 12)]


def test_without_record_nodes_nothing_is_written() -> None:
    """The default handler writes no node runs for undecorated nodes."""

    def write(state: State) -> dict[str, Any]:
        return {"notes": ["w"]}

    config: RunnableConfig = {
        "configurable": {"thread_id": "t1"},
        "callbacks": [TokenUsageCallbackHandler()],
    }
    line(write).invoke({"topic": "x"}, config)
    assert read_node_logs("t1") == []


def test_subgraph_and_its_nodes_with_their_tokens() -> None:
    """The subgraph node and each inner node are records; tokens land inside."""
    model = chat_model(reply("inner", 30, 3))

    def inner_write(state: State) -> dict[str, Any]:
        model.invoke("write")
        return {"notes": ["inner"]}

    inner = StateGraph(State)
    inner.add_node(inner_write).add_edge(START, "inner_write")
    sub = inner.add_edge("inner_write", END).compile()
    builder = StateGraph(State)
    builder.add_node("sub", sub).add_edge(START, "sub").add_edge("sub", END)
    builder.compile().invoke({"topic": "x"}, cfg())
    assert records() == [("inner_write", "success", 33), ("sub", "success", 0)]
    inner_log, sub_log = read_node_logs("t1")
    assert (inner_log.checkpoint_ns or "").startswith(
        (sub_log.checkpoint_ns or "?") + "|"
    )


def test_calls_in_a_worker_thread_and_inside_a_wrapped_caller() -> None:
    """A call on a plain thread given the config, and a call in an undecorated
    subgraph node run by a decorated node, count on the node that made them."""
    worker_model = chat_model(reply("w", 7, 1))
    inner_model = chat_model(reply("i", 50, 5))

    def threaded(state: State, config: RunnableConfig) -> dict[str, Any]:
        thread = threading.Thread(target=lambda: worker_model.invoke("hi", config))
        thread.start()
        thread.join()
        return {"notes": ["threaded"]}

    def inner_call(state: State) -> dict[str, Any]:
        inner_model.invoke("inner")
        return {"notes": ["inner"]}

    inner_graph = line(inner_call)

    @node_wrapper
    def outer(state: State) -> dict[str, Any]:
        return inner_graph.invoke(state)

    line(threaded, outer).invoke({"topic": "x"}, cfg())
    assert sorted(records()) == [
        ("inner_call", "success", 55),
        ("outer", "success", 0),
        ("threaded", "success", 8),
    ]


def test_functional_workflow_from_callbacks() -> None:
    """Parallel tasks and the entrypoint, interrupted and resumed, from callbacks."""
    models = {
        "news": chat_model(reply("n", 100, 10)),
        "papers": chat_model(reply("p", 200, 20)),
    }

    @task
    def search(source: str) -> str:
        return str(models[source].invoke("search " + source).content)

    @entrypoint(checkpointer=InMemorySaver())
    def research(topic: str) -> dict[str, Any]:
        found = [f.result() for f in [search("news"), search(source="papers")]]
        return {"found": found, "decision": interrupt("publish?")}

    config = cfg()
    assert "__interrupt__" in research.invoke("AI", config)
    final = research.invoke(Command(resume="yes"), config)
    assert final == {"found": ["n", "p"], "decision": "yes"}
    assert sorted(records()) == [
        ("research", "interrupted", 0),
        ("research", "success", 0),
        ("search", "success", 110),
        ("search", "success", 220),
    ]
    inputs = [
        log.input_state for log in read_node_logs("t1") if log.node_name == "search"
    ]
    assert sorted(map(str, inputs)) == ["{'source': 'news'}", "{'source': 'papers'}"]
    interrupted, resumed = [
        log for log in read_node_logs("t1") if log.node_name == "research"
    ]
    assert resumed.resumed_interrupt_ids == [interrupted.interrupt_id]
    assert resumed.resume_values == ["yes"]


def test_options_and_their_errors() -> None:
    """capture_io applies; skip_if, or options without record_nodes, raise."""

    def write(state: State) -> dict[str, Any]:
        return {"notes": ["w"]}

    line(write).invoke({"topic": "x"}, cfg(capture_io=False))
    (log,) = read_node_logs("t1")
    assert log.input_state is None and log.output_state is None
    with pytest.raises(TypeError):
        TokenUsageCallbackHandler(record_nodes=True, skip_if=lambda s: True)
    with pytest.raises(TypeError):
        TokenUsageCallbackHandler(capture_io=False)
    with pytest.raises(TypeError):
        TokenUsageCallbackHandler(record_nodes=True, colour="red")


def test_chain_node_is_recorded_with_its_tokens() -> None:
    """A prompt | model chain added as a node (instrument cannot wrap it)."""
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnableLambda

    model = chat_model(reply("headline", 25, 5))
    chain = (
        ChatPromptTemplate.from_messages([("user", "Headline for {topic}")])
        | model
        | RunnableLambda(lambda message: {"notes": [message.content]})
    )
    builder = StateGraph(State)
    builder.add_node("headline", chain).add_edge(START, "headline")
    graph = builder.add_edge("headline", END).compile()
    assert graph.invoke({"topic": "AI"}, cfg())["notes"] == ["headline"]
    assert records() == [("headline", "success", 30)]
    (log,) = read_node_logs("t1")
    assert log.input_state == {"topic": "AI", "notes": []}
    assert log.output_state == {"notes": ["headline"]}


@pytest.mark.parametrize("use_async", [False, True])
def test_parallel_branches_get_exactly_their_own_tokens(use_async: bool) -> None:
    """Three undecorated branches at once: each record has its own call only."""
    branches = {"news": (101, 11), "papers": (202, 22), "social": (303, 33)}
    barrier = threading.Barrier(len(branches), timeout=5)
    builder = StateGraph(State)
    for name, (prompt, completion) in branches.items():
        model = chat_model(reply(name, prompt, completion))

        def make(model: Any = model, name: str = name) -> Any:
            if use_async:

                async def branch(state: State) -> dict[str, Any]:
                    await asyncio.sleep(0)
                    await model.ainvoke(name)
                    return {"notes": [name]}

                return branch

            def sync_branch(state: State) -> dict[str, Any]:
                barrier.wait()  # the three really run at the same time
                model.invoke(name)
                return {"notes": [name]}

            return sync_branch

        builder.add_node(name, make()).add_edge(START, name).add_edge(name, END)
    graph = builder.compile()
    if use_async:
        asyncio.run(graph.ainvoke({"topic": "x"}, cfg()))
    else:
        graph.invoke({"topic": "x"}, cfg())
    assert sorted(records()) == sorted(
        (name, "success", p + c) for name, (p, c) in branches.items()
    )


@pytest.mark.parametrize("factory", FACTORIES)
def test_agent_as_a_subgraph_counts_each_call_once(factory: str) -> None:
    """An agent added as a node: its model calls count on its model node, not
    again on the node that ran it (whose output returns the same messages)."""
    from langgraph.graph import MessagesState

    builder = StateGraph(MessagesState)
    builder.add_node("fact_check", react_agent(factory))
    builder.add_edge(START, "fact_check").add_edge("fact_check", END)
    result = builder.compile().invoke(QUESTION, cfg())
    assert contents(result["messages"]) == EXPECTED
    assert records() == [*agent_records(factory), ("fact_check", "success", 0)]


def test_failed_llm_call_in_a_node_recorded_from_callbacks() -> None:
    """Each call is its own entry with its run id; a failed call is kept."""
    from ._fakes import FailingModel, ProviderDown

    good = chat_model(reply("ok", 12, 3))
    bad = FailingModel(messages=iter([]))

    def write(state: State) -> dict[str, Any]:
        good.invoke("draft")
        with pytest.raises(ProviderDown):
            bad.invoke("again")
        return {"notes": ["w"]}

    line(write).invoke({"topic": "x"}, cfg())
    (log,) = read_node_logs("t1")
    assert [(u.status, u.total_tokens) for u in log.token_usage] == [
        ("success", 15),
        ("error", 0),
    ]
    assert log.token_usage[1].error_type == "ProviderDown"
    assert all(u.run_id for u in log.token_usage)
