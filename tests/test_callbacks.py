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
from pydantic import Field
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


def test_failed_llm_call_is_kept_unreported_and_error_recorded() -> None:
    """An LLM call that raises is one call of unknown usage; the node's error
    is recorded."""
    model = FailingModel(messages=iter([]), callbacks=[TokenUsageCallbackHandler()])

    @node_wrapper
    def broken(state: State) -> dict[str, Any]:
        model.invoke("x")
        return {}

    with pytest.raises(ProviderDown):
        single_node_graph(broken).invoke({"topic": "x"}, cfg())
    (log,) = read_node_logs("t1")
    assert log.status == "error"
    (call,) = log.token_usage
    assert (call.status, call.error_type) == ("error", "ProviderDown")
    assert not call.usage_reported and log.unreported_calls == 1
    assert log.error_type == "ProviderDown"


# -- every detail of a call (issue 9) ---------------------------------------------


class RawUsageLLM(LegacyUsageLLM):
    """An older integration handing the provider's own usage object."""

    raw_usage: dict[str, Any] = Field(default_factory=dict)

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> Any:
        from langchain_core.outputs import Generation, LLMResult

        return LLMResult(
            generations=[[Generation(text="raw")] for _ in prompts],
            llm_output={self.usage_key: self.raw_usage, "model_name": "raw-model"},
        )


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        (
            "token_usage",  # OpenAI's usage object
            {
                "prompt_tokens": 1200,
                "completion_tokens": 300,
                "total_tokens": 1500,
                "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 5},
                "completion_tokens_details": {"reasoning_tokens": 100},
            },
            (1200, 300, 1024, 0, None, 100, {"input_audio": 5}),
        ),
        (
            "usage",  # Anthropic's: input_tokens leaves the cache out
            {
                "input_tokens": 50,
                "output_tokens": 120,
                "cache_read_input_tokens": 10,
                "cache_creation_input_tokens": 2000,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": 1500,
                    "ephemeral_1h_input_tokens": 500,
                },
            },
            (2060, 120, 10, 2000, 500, 0, None),
        ),
        (
            "usage_metadata",  # Gemini's: thoughts apart from candidates
            {
                "prompt_token_count": 4000,
                "candidates_token_count": 200,
                "thoughts_token_count": 300,
                "cached_content_token_count": 3000,
                "total_token_count": 4500,
            },
            (4000, 500, 3000, 0, None, 300, None),
        ),
    ],
    ids=["openai", "anthropic", "gemini"],
)
def test_older_llm_output_shapes_give_every_detail(
    key: str, raw: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    """Usage in ``llm_output`` in each provider's own shape: all details read."""
    model = RawUsageLLM(
        usage_key=key, raw_usage=raw, callbacks=[TokenUsageCallbackHandler()]
    )

    def scenario() -> Any:
        reset_token_collector()
        model.invoke("x")
        return harvest_tokens()

    import contextvars

    (usage,) = contextvars.Context().run(scenario)
    assert (
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.cached_tokens,
        usage.cache_creation_tokens,
        usage.cache_creation_1h_tokens,
        usage.reasoning_tokens,
        usage.token_details,
    ) == expected


def test_usage_metadata_details_and_call_fields_are_recorded() -> None:
    """Cache, reasoning, other details, run id, times and provider."""
    message = AIMessage(
        "ok",
        usage_metadata={
            "input_tokens": 2050, "output_tokens": 120, "total_tokens": 2170,
            "input_token_details": {
                "cache_read": 0, "cache_creation": 0,
                "ephemeral_5m_input_tokens": 1500, "ephemeral_1h_input_tokens": 500,
                "audio": 3,
            },
            "output_token_details": {"reasoning": 40},
        },
    )  # fmt: skip
    model = chat_model(message)

    @node_wrapper
    def draft(state: State) -> dict[str, Any]:
        model.invoke("x")
        return {}

    single_node_graph(draft).invoke(
        {"topic": "x"}, cfg(callbacks=[TokenUsageCallbackHandler()])
    )
    (log,) = read_node_logs("t1")
    (usage,) = log.token_usage
    assert usage.cache_creation_tokens == 2000
    assert (usage.cache_creation_5m_tokens, usage.cache_creation_1h_tokens) == (
        1500,
        500,
    )
    assert usage.reasoning_tokens == 40 and usage.token_details == {"input_audio": 3}
    assert usage.run_id and usage.status == "success" and usage.error_type is None
    assert usage.started_at is not None and usage.ended_at is not None
    assert log.started_at <= usage.started_at <= usage.ended_at <= log.ended_at
    assert log.total_cache_creation_tokens == 2000
    assert log.total_reasoning_tokens == 40


def test_a_call_in_an_unwrapped_node_is_one_warning_naming_the_task(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A graph handler seeing a call in a node that is not wrapped: warned
    once, with the task, and what to do."""
    model = chat_model(*[reply("a", 3, 1) for _ in range(3)])

    def bare(state: State) -> dict[str, Any]:
        for _ in range(3):
            model.invoke("x")
        return {}

    with caplog.at_level("WARNING", logger="editorial_ai.observability"):
        single_node_graph(bare).invoke(
            {"topic": "x"}, cfg(callbacks=[TokenUsageCallbackHandler()])
        )
    found = [
        r.getMessage() for r in caplog.records if "LangGraph task" in r.getMessage()
    ]
    assert len(found) == 1 and "bare:" in found[0] and "node_wrapper" in found[0]


def test_node_wrapper_takes_the_pipelines_node_name_keyword() -> None:
    """``node_wrapper(node_name="curation")`` as the original package wrote it."""

    def curation(state: State) -> dict[str, Any]:
        return {}

    builder = StateGraph(State)
    builder.add_node("step", node_wrapper(node_name="curation")(curation))
    builder.add_edge(START, "step").add_edge("step", END)
    builder.compile().invoke({"topic": "x"}, cfg())
    assert [log.node_name for log in read_node_logs("t1")] == ["curation"]
    with pytest.raises(TypeError):
        node_wrapper("a", node_name="b")


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
