"""TokenUsageCallbackHandler with real LangChain callback machinery and graphs."""

from __future__ import annotations

import asyncio
import operator
import threading
from typing import Annotated, Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from editorial_ai.observability import (
    TokenUsageCallbackHandler,
    harvest_tokens,
    node_wrapper,
    read_node_logs,
    record_token_usage,
    reset_token_collector,
)

from ._fakes import (
    FailingModel,
    LegacyUsageLLM,
    ProviderDown,
    SilentModel,
    StreamingUsageModel,
    chat_model,
    reply,
)
from ._graphs import fan_out_graph


class State(TypedDict, total=False):
    topic: str
    notes: Annotated[list[str], operator.add]
    messages: Annotated[list[BaseMessage], add_messages]


def cfg(thread_id: str = "t1", callbacks: list[Any] | None = None) -> RunnableConfig:
    config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
    if callbacks is not None:
        config["callbacks"] = callbacks
    return config


def single_node_graph(node: Any) -> Any:
    builder = StateGraph(State)
    builder.add_node(node).add_edge(START, node.__name__).add_edge(node.__name__, END)
    return builder.compile()


def tokens_by_node(thread_id: str = "t1") -> dict[str, tuple[int, int, int]]:
    return {
        log.node_name: (
            log.total_prompt_tokens,
            log.total_completion_tokens,
            log.total_tokens,
        )
        for log in read_node_logs(thread_id)
    }


def test_handler_on_the_client_counts_usage_metadata() -> None:
    """A handler on the model records tokens, model name and prompt size."""
    model = chat_model(
        reply("a", 11, 4), reply("b", 20, 6), callbacks=[TokenUsageCallbackHandler()]
    )

    @node_wrapper
    def write(state: State) -> dict[str, Any]:
        model.invoke("twelve chars")
        model.invoke([HumanMessage("abc"), HumanMessage("de")])
        return {"notes": ["w"]}

    single_node_graph(write).invoke({"topic": "x"}, cfg())
    (log,) = read_node_logs("t1")
    assert [
        (u.prompt_tokens, u.completion_tokens, u.total_tokens) for u in log.token_usage
    ] == [
        (11, 4, 15),
        (20, 6, 26),
    ]
    assert {u.model_name for u in log.token_usage} == {"gpt-4o-mini"}
    assert [u.prompt_chars for u in log.token_usage] == [12, 5]
    assert log.prompt_chars == 17
    assert log.total_tokens == 41


def test_handler_on_the_graph_run_counts_usage() -> None:
    """A handler passed in config['callbacks'] reaches LLM calls given the config."""
    model = chat_model(reply("a", 30, 10))

    @node_wrapper
    def write(state: State, config: RunnableConfig) -> dict[str, Any]:
        model.invoke("hello", config)
        return {}

    single_node_graph(write).invoke(
        {"topic": "x"}, cfg(callbacks=[TokenUsageCallbackHandler()])
    )
    assert tokens_by_node() == {"write": (30, 10, 40)}


def test_graph_handler_sees_calls_without_explicit_config() -> None:
    """Inside a node, LangChain passes the graph's callbacks to nested calls."""
    model = chat_model(reply("a", 5, 5))

    @node_wrapper
    def write(state: State) -> dict[str, Any]:
        model.invoke("hello")
        return {}

    single_node_graph(write).invoke(
        {"topic": "x"}, cfg(callbacks=[TokenUsageCallbackHandler()])
    )
    assert tokens_by_node() == {"write": (5, 5, 10)}


def test_client_and_graph_handlers_and_two_instances_count_once() -> None:
    """The same call seen by several handler instances is counted once."""
    model = chat_model(
        reply("a", 7, 3),
        reply("b", 1, 1),
        callbacks=[TokenUsageCallbackHandler(), TokenUsageCallbackHandler()],
    )

    @node_wrapper
    def write(state: State, config: RunnableConfig) -> dict[str, Any]:
        model.invoke("hi", config)
        model.invoke("again")
        return {}

    graph_handlers = [TokenUsageCallbackHandler(), TokenUsageCallbackHandler()]
    single_node_graph(write).invoke({"topic": "x"}, cfg(callbacks=graph_handlers))
    (log,) = read_node_logs("t1")
    assert len(log.token_usage) == 2
    assert tokens_by_node() == {"write": (8, 4, 12)}


def test_streaming_usage_is_counted() -> None:
    """Usage reported in the last streamed chunk is counted, with its model."""
    model = StreamingUsageModel(
        messages=iter([]),
        prompt_tokens=40,
        completion_tokens=12,
        callbacks=[TokenUsageCallbackHandler()],
    )

    @node_wrapper
    def stream_it(state: State) -> dict[str, Any]:
        text = "".join(str(chunk.content) for chunk in model.stream("go"))
        return {"notes": [text]}

    result = single_node_graph(stream_it).invoke({"topic": "x"}, cfg())
    assert result["notes"] == ["streamed words"]
    (log,) = read_node_logs("t1")
    assert tokens_by_node() == {"stream_it": (40, 12, 52)}
    assert log.token_usage[0].model_name == "claude-sonnet-4-5"


@pytest.mark.parametrize("usage_key", ["token_usage", "usage"])
def test_old_style_llm_output_usage(usage_key: str) -> None:
    """llm_output['token_usage'] or ['usage'] from older integrations is read."""
    llm = LegacyUsageLLM(usage_key=usage_key, callbacks=[TokenUsageCallbackHandler()])

    @node_wrapper
    def legacy(state: State) -> dict[str, Any]:
        return {"notes": [llm.invoke("prompt of 19 chars.")]}

    single_node_graph(legacy).invoke({"topic": "x"}, cfg())
    (log,) = read_node_logs("t1")
    assert tokens_by_node() == {"legacy": (21, 8, 29)}
    assert log.token_usage[0].model_name == "gpt-3.5-turbo-instruct"
    assert log.prompt_chars == 19


def test_call_without_usage_is_marked_unknown() -> None:
    """A provider that reports nothing still leaves a call, marked usage-unknown."""
    model = SilentModel(
        messages=iter([AIMessage("no usage")]), callbacks=[TokenUsageCallbackHandler()]
    )

    @node_wrapper
    def silent(state: State) -> dict[str, Any]:
        model.invoke("hi")
        return {}

    single_node_graph(silent).invoke({"topic": "x"}, cfg())
    (log,) = read_node_logs("t1")
    (usage,) = log.token_usage
    assert usage.usage_reported is False
    assert usage.total_tokens == 0


def test_call_without_model_name_is_counted() -> None:
    """A response without any model name is still counted."""
    model = chat_model(
        reply("a", 2, 3, model=None), callbacks=[TokenUsageCallbackHandler()]
    )

    @node_wrapper
    def anon(state: State) -> dict[str, Any]:
        model.invoke("hi")
        return {}

    single_node_graph(anon).invoke({"topic": "x"}, cfg())
    (log,) = read_node_logs("t1")
    assert log.total_tokens == 5
    assert log.token_usage[0].model_name in (None, "GenericFakeChatModel")


def test_worker_thread_without_context_copy_is_attributed() -> None:
    """A plain thread that got the node's config records into that node."""
    model = chat_model(reply("a", 13, 7))

    @node_wrapper
    def worker_node(state: State, config: RunnableConfig) -> dict[str, Any]:
        thread = threading.Thread(target=lambda: model.invoke("hi", config))
        thread.start()
        thread.join()
        return {}

    single_node_graph(worker_node).invoke(
        {"topic": "x"}, cfg(callbacks=[TokenUsageCallbackHandler()])
    )
    assert tokens_by_node() == {"worker_node": (13, 7, 20)}


BRANCHES = {
    "research": (101, 11),
    "factcheck": (202, 22),
    "headline": (303, 33),
    "seo": (404, 44),
    "images": (505, 55),
}


@pytest.mark.parametrize("use_async", [False, True])
def test_parallel_branches_get_exactly_their_own_tokens(use_async: bool) -> None:
    """Five branches in one superstep each record exactly their own tokens."""
    graph = fan_out_graph(BRANCHES, use_async=use_async, pause_s=0.01)
    config = cfg(callbacks=[TokenUsageCallbackHandler()])
    if use_async:
        asyncio.run(graph.ainvoke({"topic": "x"}, config))
    else:
        graph.invoke({"topic": "x"}, config)
    got = tokens_by_node()
    expected = {name: (p, c, p + c) for name, (p, c) in BRANCHES.items()}
    expected["join"] = (0, 0, 0)
    assert got == expected
    steps = {log.node_name: log.step for log in read_node_logs("t1")}
    assert len({steps[name] for name in BRANCHES}) == 1


def test_returned_messages_counted_when_no_handler_saw_them() -> None:
    """Without a handler, new AIMessages with usage in the update are counted once."""
    model = chat_model(reply("fresh", 50, 25))
    old = reply("old", 999, 999)

    @node_wrapper
    def agent(state: State) -> dict[str, Any]:
        answer = model.invoke(state["messages"])
        return {"messages": [answer]}

    single_node_graph(agent).invoke({"messages": [HumanMessage("q"), old]}, cfg())
    assert tokens_by_node() == {"agent": (50, 25, 75)}


def test_returned_messages_not_double_counted_with_handler() -> None:
    """When a handler counted the call, the returned message adds nothing."""
    model = chat_model(reply("fresh", 50, 25), callbacks=[TokenUsageCallbackHandler()])

    @node_wrapper
    def agent(state: State) -> dict[str, Any]:
        return {"messages": [model.invoke("q")]}

    single_node_graph(agent).invoke({"messages": [HumanMessage("q")]}, cfg())
    assert tokens_by_node() == {"agent": (50, 25, 75)}


def test_returned_input_message_is_not_counted() -> None:
    """An AIMessage the node received and hands back is not new usage."""
    old = reply("old", 10, 10)

    @node_wrapper
    def echo(state: State) -> dict[str, Any]:
        return {"messages": [state["messages"][-1]]}

    single_node_graph(echo).invoke({"messages": [old]}, cfg())
    assert tokens_by_node() == {"echo": (0, 0, 0)}


def test_handler_outside_any_node_records_nothing() -> None:
    """A model used outside any node leaks nothing into the next node."""
    model = chat_model(
        reply("a", 9, 9), reply("b", 1, 1), callbacks=[TokenUsageCallbackHandler()]
    )
    model.invoke("outside")

    @node_wrapper
    def inside(state: State) -> dict[str, Any]:
        model.invoke("inside")
        return {}

    single_node_graph(inside).invoke({"topic": "x"}, cfg())
    assert tokens_by_node() == {"inside": (1, 1, 2)}


def test_handler_with_manual_collector() -> None:
    """Without the wrapper, reset/harvest around calls still collect."""
    model = chat_model(reply("a", 4, 2), callbacks=[TokenUsageCallbackHandler()])

    def scenario() -> int:
        reset_token_collector()
        model.invoke("x")
        return sum(u.total_tokens for u in harvest_tokens())

    import contextvars

    assert contextvars.Context().run(scenario) == 6


def test_failed_llm_call_is_not_counted_and_error_recorded() -> None:
    """An LLM call that raises leaves no usage; the node's error is recorded."""
    model = FailingModel(messages=iter([]), callbacks=[TokenUsageCallbackHandler()])

    @node_wrapper
    def broken(state: State) -> dict[str, Any]:
        model.invoke("x")
        return {}

    with pytest.raises(ProviderDown):
        single_node_graph(broken).invoke({"topic": "x"}, cfg())
    (log,) = read_node_logs("t1")
    assert log.status == "error" and log.token_usage == []
    assert log.error_type == "ProviderDown"


def test_call_without_model_name_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    """An LLM call whose model is unknown warns once, saying where names come from."""

    @node_wrapper
    def anon(state: State) -> dict[str, Any]:
        record_token_usage(10, 5, 15)
        record_token_usage(20, 5, 25)
        return {}

    with caplog.at_level("WARNING", logger="editorial_ai.observability"):
        single_node_graph(anon).invoke({"topic": "x"}, cfg())
        single_node_graph(anon).invoke({"topic": "y"}, cfg())
    advice = [r for r in caplog.records if "without a model name" in r.getMessage()]
    assert len(advice) == 1 and "ls_model_name" in advice[0].getMessage()
    assert [u.model_name for log in read_node_logs("t1") for u in log.token_usage] == [
        None
    ] * 4
