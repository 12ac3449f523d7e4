"""The real provider clients against a local server: each node's calls and bill.

langchain-openai, langchain-anthropic and langchain-google-genai (with the
``openai``, ``anthropic`` and ``google-genai`` clients under them) talk over
HTTP to a server of the tests' own on 127.0.0.1 that answers in each
provider's documented shapes (``_provider_shapes``). Every expected figure is
read off the bodies served, and every expected cost is the bill computed by
hand from the shipped price table (USD per million tokens), written out
beside it.

Set ``EDITORIAL_AI_PROVIDER_TABLE=path`` to also write the per-node table
(expected vs recorded) of the graph runs as Markdown.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain_core.messages import AnyMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from editorial_ai.observability import (
    PipelineRunSummary,
    TokenUsageCallbackHandler,
    node_wrapper,
    read_node_logs,
)
from editorial_ai.observability.pricing import node_run_cost

from ._proc import require
from ._provider_server import ProviderServer, provider_server
from ._provider_shapes import (
    anthropic_message,
    anthropic_rate_limited,
    anthropic_stream,
    anthropic_usage,
    gemini_content,
    gemini_stream,
    gemini_usage,
    openai_completion,
    openai_rate_limited,
    openai_stream,
    openai_usage,
)

MINI = "gpt-4o-mini-2024-07-18"  # 0.15 in, 0.075 cached, 0.60 out
O4_MINI = "o4-mini-2025-04-16"  # 1.10 in, 0.275 cached, 4.40 out
SONNET = "claude-sonnet-4-5-20250929"  # 3 in, 0.30 read, 3.75 / 6 write, 15 out
FLASH = "gemini-2.5-flash"  # 0.30 in, 0.03 cached, 2.50 out
FLASH_PREVIEW = "gemini-2.5-flash-preview-09-2025"  # not in the table


# The dated Sonnet snapshot the table prices is announced for retirement; the
# client says so on every answer.
pytestmark = pytest.mark.filterwarnings("ignore:The model:DeprecationWarning")


@pytest.fixture(autouse=True)
def _clients() -> None:
    for module in ("langchain_openai", "langchain_anthropic", "langchain_google_genai"):
        require(importlib.util.find_spec(module) is not None, module)


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with provider_server() as running:
        yield running


@dataclass(frozen=True)
class Expect:
    """One node's calls as served, and their bill computed by hand."""

    calls: int
    prompt: int
    completion: int
    cached: int
    cache_write: int
    reasoning: int
    bill_usd: float | None
    statuses: tuple[str, ...] | None = None
    """Each call's status; ``None``: every call succeeded."""
    unreported: int = 0
    unpriced: int = 0


EXPECTED: dict[str, Expect] = {
    # 176 x 0.15 + 1024 x 0.075 + 300 x 0.60 = 26.4 + 76.8 + 180 = 283.2 per 1M
    "openai_cached": Expect(1, 1200, 300, 1024, 0, 0, 283.2e-6),
    # 420 x 0.15 + 35 x 0.60 = 63 + 21
    "openai_stream": Expect(1, 420, 35, 0, 0, 0, 84e-6),
    # 800 x 1.10 + 640 x 4.40 = 880 + 2816 (512 of the 640 reasoning)
    "openai_reasoning": Expect(1, 800, 640, 0, 0, 512, 3696e-6),
    # two calls: (150 + 190) x 0.15 + (20 + 40) x 0.60 = 51 + 36
    "openai_tool_turn": Expect(2, 340, 60, 0, 0, 0, 87e-6),
    # 429 then 200, one call: 100 x 0.15 + 10 x 0.60 = 15 + 6
    "openai_retry": Expect(1, 100, 10, 0, 0, 0, 21e-6),
    # no usage in the answer: one call of unknown usage, no bill
    "openai_no_usage": Expect(1, 0, 0, 0, 0, 0, None, unreported=1, unpriced=1),
    # on a thread of its own, given the node's config: 300 x 0.15 + 50 x 0.60
    "openai_worker": Expect(1, 300, 50, 0, 0, 0, 75e-6),
    # 50 x 3 + 1500 x 3.75 + 500 x 6 + 120 x 15 = 150 + 5625 + 3000 + 1800
    "anthropic_cache_write": Expect(1, 2050, 120, 0, 2000, 0, 10575e-6),
    # 25 x 3 + 1800 x 0.30 + 90 x 15 = 75 + 540 + 1350
    "anthropic_cache_read_stream": Expect(1, 1825, 90, 1800, 0, 0, 1965e-6),
    # 1000 x 0.30 + 3000 x 0.03 + (200 + 300) x 2.50 = 300 + 90 + 1250
    "gemini_cache_reasoning": Expect(1, 4000, 500, 3000, 0, 300, 1640e-6),
    # 120 x 0.30 + 30 x 2.50 = 111, then a stream cut after 400/50:
    # 400 x 0.30 + 50 x 2.50 = 245; together 356
    "gemini_stream_dropped": Expect(
        2, 520, 80, 0, 0, 0, 356e-6, statuses=("success", "error")
    ),
    # a preview the table does not list: counted, never priced by guess
    "gemini_preview": Expect(1, 100, 10, 0, 0, 0, None, unpriced=1),
    # 429 then 200, one call: 20 x 3 + 5 x 15 = 60 + 75
    "anthropic_retry": Expect(1, 20, 5, 0, 0, 0, 135e-6),
    # a stream cut before its message_delta (the event with the usage): the
    # call failed and its usage is unknown
    "anthropic_stream_dropped": Expect(
        1, 0, 0, 0, 0, 0, None, statuses=("error",), unreported=1, unpriced=1
    ),
    # no usageMetadata in the answer
    "gemini_no_usage": Expect(1, 0, 0, 0, 0, 0, None, unreported=1, unpriced=1),
}


def queue_answers(server: ProviderServer) -> None:
    """What the server answers, scenario by scenario (the figures above)."""
    server.answer(
        "openai_cached",
        openai_completion(MINI, "Cached.", openai_usage(1200, 300, cached=1024)),
    )
    server.answer(
        "openai_stream",
        openai_stream(MINI, ["Str", "eam", "ed."], openai_usage(420, 35)),
    )
    server.answer(
        "openai_reasoning",
        openai_completion(O4_MINI, "Thought.", openai_usage(800, 640, reasoning=512)),
    )
    server.answer(
        "openai_tool_turn",
        openai_completion(
            MINI, None, openai_usage(150, 20), tool_call=("lookup", '{"topic":"AI"}')
        ),
        openai_completion(
            MINI, "Found.", openai_usage(190, 40), answer_id="chatcmpl-2"
        ),
    )
    server.answer(
        "openai_retry",
        openai_rate_limited(),
        openai_completion(MINI, "At last.", openai_usage(100, 10)),
    )
    server.answer("openai_no_usage", openai_completion(MINI, "No usage.", None))
    server.answer(
        "openai_worker", openai_completion(MINI, "Threaded.", openai_usage(300, 50))
    )
    server.answer(
        "anthropic_cache_write",
        anthropic_message(
            SONNET, "Written.", anthropic_usage(50, 120, write_5m=1500, write_1h=500)
        ),
    )
    server.answer(
        "anthropic_cache_read_stream",
        anthropic_stream(
            SONNET, ["Re", "ad."], anthropic_usage(25, 90, cache_read=1800)
        ),
    )
    server.answer(
        "gemini_cache_reasoning",
        gemini_content(
            FLASH, "Thought.", gemini_usage(4000, 200, cached=3000, thoughts=300)
        ),
    )
    server.answer(
        "gemini_stream_dropped",
        gemini_content(FLASH, "First.", gemini_usage(120, 30)),
        gemini_stream(
            FLASH,
            [
                ("Hel", gemini_usage(400, 20)),
                ("lo", gemini_usage(400, 50)),
                ("!", gemini_usage(400, 60)),
            ],
            cut_after=2,
        ),
    )
    server.answer(
        "gemini_preview",
        gemini_content(FLASH_PREVIEW, "Preview.", gemini_usage(100, 10)),
    )
    server.answer(
        "anthropic_retry",
        anthropic_rate_limited(),
        anthropic_message(SONNET, "At last.", anthropic_usage(20, 5)),
    )
    server.answer(
        "anthropic_stream_dropped",
        anthropic_stream(SONNET, ["Cut", " off"], anthropic_usage(30, 40), cut_after=3),
    )
    server.answer("gemini_no_usage", gemini_content(FLASH, "No usage.", None))


# -- the clients and the graph ---------------------------------------------------


class State(TypedDict, total=False):
    topic: str
    notes: Annotated[list[str], lambda left, right: left + right]


@tool
def lookup(topic: str) -> str:
    """Look a topic up."""
    return "notes on " + topic


class Clients:
    """The three LangChain clients, pointed at the server, per scenario."""

    def __init__(self, server: ProviderServer, handler: Any) -> None:
        self.server = server
        self.callbacks = [handler] if handler is not None else None

    def openai(self, scenario: str, model: str = MINI) -> Any:
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            model=model,
            base_url=self.server.url + "/v1",
            api_key="test-key",  # type: ignore[arg-type]
            default_headers={"X-Scenario": scenario},
            max_retries=2,
            stream_usage=True,
            callbacks=self.callbacks,
        )

    def anthropic(self, scenario: str, model: str = SONNET) -> Any:
        from langchain_anthropic import ChatAnthropic

        return ChatAnthropic(  # type: ignore[call-arg]
            model=model,
            base_url=self.server.url,
            api_key="test-key",
            default_headers={"X-Scenario": scenario},
            max_retries=2,
            callbacks=self.callbacks,
        )

    def gemini(self, scenario: str, model: str = FLASH) -> Any:
        from langchain_google_genai import ChatGoogleGenerativeAI

        return ChatGoogleGenerativeAI(
            model=model,
            base_url=self.server.url,
            google_api_key="test-key",
            additional_headers={"X-Scenario": scenario},
            max_retries=1,
            callbacks=self.callbacks,
        )


def sync_nodes(clients: Clients) -> dict[str, Callable[..., Any]]:
    """One node per scenario, calling its client as a pipeline would."""

    def openai_cached(state: State) -> State:
        answer = clients.openai("openai_cached").invoke(state["topic"])
        return {"notes": [answer.content]}

    def openai_stream(state: State) -> State:
        model = clients.openai("openai_stream")
        return {"notes": ["".join(c.content for c in model.stream(state["topic"]))]}

    def openai_reasoning(state: State) -> State:
        answer = clients.openai("openai_reasoning", O4_MINI).invoke(state["topic"])
        return {"notes": [answer.content]}

    def openai_tool_turn(state: State) -> State:
        model = clients.openai("openai_tool_turn").bind_tools([lookup])
        messages: list[Any] = [HumanMessage(state["topic"])]
        call = model.invoke(messages)
        messages += [
            call,
            ToolMessage(
                lookup.invoke(call.tool_calls[0]["args"]),
                tool_call_id=call.tool_calls[0]["id"],
            ),
        ]
        return {"notes": [model.invoke(messages).content]}

    def openai_retry(state: State) -> State:
        answer = clients.openai("openai_retry").invoke(state["topic"])
        return {"notes": [answer.content]}

    def openai_no_usage(state: State) -> State:
        answer = clients.openai("openai_no_usage").invoke(state["topic"])
        return {"notes": [answer.content]}

    def openai_worker(state: State, config: RunnableConfig) -> State:
        # A plain thread: it does not inherit the node's context; the
        # node's config is what ties the call to the node.
        found: list[Any] = []
        worker = threading.Thread(
            target=lambda: found.append(
                clients.openai("openai_worker").invoke(state["topic"], config=config)
            )
        )
        worker.start()
        worker.join()
        return {"notes": [found[0].content]}

    def anthropic_cache_write(state: State) -> State:
        answer = clients.anthropic("anthropic_cache_write").invoke(state["topic"])
        return {"notes": [answer.text]}

    def anthropic_cache_read_stream(state: State) -> State:
        model = clients.anthropic("anthropic_cache_read_stream")
        return {"notes": ["".join(c.text for c in model.stream(state["topic"]))]}

    def gemini_cache_reasoning(state: State) -> State:
        answer = clients.gemini("gemini_cache_reasoning").invoke(state["topic"])
        return {"notes": [answer.text]}

    def gemini_stream_dropped(state: State) -> State:
        model = clients.gemini("gemini_stream_dropped")
        first = model.invoke(state["topic"]).text
        try:
            for _ in model.stream(state["topic"]):
                pass
        except Exception:  # the pipeline falls back on the first answer
            return {"notes": [first]}
        raise AssertionError("the stream was expected to drop")

    def gemini_preview(state: State) -> State:
        answer = clients.gemini("gemini_preview", FLASH_PREVIEW).invoke(state["topic"])
        return {"notes": [answer.text]}

    def anthropic_retry(state: State) -> State:
        answer = clients.anthropic("anthropic_retry").invoke(state["topic"])
        return {"notes": [answer.text]}

    def anthropic_stream_dropped(state: State) -> State:
        model = clients.anthropic("anthropic_stream_dropped")
        try:
            for _ in model.stream(state["topic"]):
                pass
        except Exception:
            return {"notes": ["fallback"]}
        raise AssertionError("the stream was expected to drop")

    def gemini_no_usage(state: State) -> State:
        answer = clients.gemini("gemini_no_usage").invoke(state["topic"])
        return {"notes": [answer.text]}

    return {fn.__name__: fn for fn in locals().values() if callable(fn)}


def async_nodes(clients: Clients) -> dict[str, Callable[..., Any]]:
    """The same scenarios as coroutines (``ainvoke``, ``astream``)."""

    async def openai_cached(state: State) -> State:
        answer = await clients.openai("openai_cached").ainvoke(state["topic"])
        return {"notes": [answer.content]}

    async def openai_stream(state: State) -> State:
        model = clients.openai("openai_stream")
        text = "".join([c.content async for c in model.astream(state["topic"])])
        return {"notes": [text]}

    async def openai_reasoning(state: State) -> State:
        answer = await clients.openai("openai_reasoning", O4_MINI).ainvoke(
            state["topic"]
        )
        return {"notes": [answer.content]}

    async def openai_tool_turn(state: State) -> State:
        model = clients.openai("openai_tool_turn").bind_tools([lookup])
        messages: list[Any] = [HumanMessage(state["topic"])]
        call = await model.ainvoke(messages)
        messages += [
            call,
            ToolMessage(
                lookup.invoke(call.tool_calls[0]["args"]),
                tool_call_id=call.tool_calls[0]["id"],
            ),
        ]
        return {"notes": [(await model.ainvoke(messages)).content]}

    async def openai_retry(state: State) -> State:
        answer = await clients.openai("openai_retry").ainvoke(state["topic"])
        return {"notes": [answer.content]}

    async def openai_no_usage(state: State) -> State:
        answer = await clients.openai("openai_no_usage").ainvoke(state["topic"])
        return {"notes": [answer.content]}

    async def openai_worker(state: State, config: RunnableConfig) -> State:
        # run_in_executor does not copy the context: the config ties it.
        model = clients.openai("openai_worker")
        answer = await asyncio.get_running_loop().run_in_executor(
            None, lambda: model.invoke(state["topic"], config=config)
        )
        return {"notes": [answer.content]}

    async def anthropic_cache_write(state: State) -> State:
        answer = await clients.anthropic("anthropic_cache_write").ainvoke(
            state["topic"]
        )
        return {"notes": [answer.text]}

    async def anthropic_cache_read_stream(state: State) -> State:
        model = clients.anthropic("anthropic_cache_read_stream")
        text = "".join([c.text async for c in model.astream(state["topic"])])
        return {"notes": [text]}

    async def gemini_cache_reasoning(state: State) -> State:
        answer = await clients.gemini("gemini_cache_reasoning").ainvoke(state["topic"])
        return {"notes": [answer.text]}

    async def gemini_stream_dropped(state: State) -> State:
        model = clients.gemini("gemini_stream_dropped")
        first = (await model.ainvoke(state["topic"])).text
        try:
            async for _ in model.astream(state["topic"]):
                pass
        except Exception:
            return {"notes": [first]}
        raise AssertionError("the stream was expected to drop")

    async def gemini_preview(state: State) -> State:
        answer = await clients.gemini("gemini_preview", FLASH_PREVIEW).ainvoke(
            state["topic"]
        )
        return {"notes": [answer.text]}

    async def anthropic_retry(state: State) -> State:
        answer = await clients.anthropic("anthropic_retry").ainvoke(state["topic"])
        return {"notes": [answer.text]}

    async def anthropic_stream_dropped(state: State) -> State:
        model = clients.anthropic("anthropic_stream_dropped")
        try:
            async for _ in model.astream(state["topic"]):
                pass
        except Exception:
            return {"notes": ["fallback"]}
        raise AssertionError("the stream was expected to drop")

    async def gemini_no_usage(state: State) -> State:
        answer = await clients.gemini("gemini_no_usage").ainvoke(state["topic"])
        return {"notes": [answer.text]}

    return {fn.__name__: fn for fn in locals().values() if callable(fn)}


def fan_out(nodes: dict[str, Callable[..., Any]]) -> Any:
    """Every scenario node in one superstep (a fan-out), each wrapped."""
    builder = StateGraph(State)
    for name, fn in nodes.items():
        builder.add_node(name, node_wrapper(fn))
        builder.add_edge(START, name)
        builder.add_edge(name, END)
    return builder.compile()


# -- what was recorded -------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    calls: int
    prompt: int
    completion: int
    cached: int
    cache_write: int
    reasoning: int
    bill_usd: float | None
    statuses: tuple[str, ...]
    unreported: int
    unpriced: int


def recorded(thread_id: str) -> dict[str, Recorded]:
    found = {}
    for log in read_node_logs(thread_id):
        cost = node_run_cost(log)
        found[log.node_name] = Recorded(
            calls=log.llm_calls,
            prompt=log.total_prompt_tokens,
            completion=log.total_completion_tokens,
            cached=log.total_cached_tokens,
            cache_write=log.total_cache_creation_tokens,
            reasoning=log.total_reasoning_tokens,
            bill_usd=cost.estimated_cost_usd,
            statuses=tuple(u.status for u in log.token_usage),
            unreported=log.unreported_calls,
            unpriced=cost.unpriced_calls,
        )
    return found


def check(thread_id: str, label: str) -> None:
    got = recorded(thread_id)
    assert set(got) == set(EXPECTED)
    _write_table(label, got)
    for node, want in EXPECTED.items():
        have = got[node]
        counts = (have.calls, have.prompt, have.completion, have.cached)
        assert counts == (want.calls, want.prompt, want.completion, want.cached), node
        assert (have.cache_write, have.reasoning) == (
            want.cache_write,
            want.reasoning,
        ), node
        assert have.statuses == (want.statuses or ("success",) * want.calls), node
        assert (have.unreported, have.unpriced) == (want.unreported, want.unpriced)
        if want.bill_usd is None:
            assert have.bill_usd is None, node
        else:
            assert have.bill_usd == pytest.approx(want.bill_usd, rel=1e-12), node
            # to the cent, and far below it
            assert round(have.bill_usd, 2) == round(want.bill_usd, 2)
    summary = PipelineRunSummary.from_logs(thread_id, read_node_logs(thread_id))
    assert summary.llm_calls == sum(e.calls for e in EXPECTED.values())
    assert summary.unreported_calls == sum(e.unreported for e in EXPECTED.values())
    assert summary.unpriced_calls == sum(e.unpriced for e in EXPECTED.values())
    assert summary.total_cached_tokens == 1024 + 1800 + 3000
    assert summary.total_cache_creation_tokens == 2000
    assert summary.total_reasoning_tokens == 512 + 300
    assert summary.estimated_cost_usd == pytest.approx(
        sum(e.bill_usd or 0.0 for e in EXPECTED.values()), rel=1e-12
    )


def _write_table(label: str, got: dict[str, Recorded]) -> None:
    path = os.environ.get("EDITORIAL_AI_PROVIDER_TABLE")
    if not path:
        return
    lines = [
        "",
        "### " + label,
        "",
        "| node (expected / recorded) | calls | prompt | completion | cached"
        " | cache write | reasoning | status | bill by hand | cost recorded |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def pair(want: Any, have: Any) -> str:
        return "%s / %s" % (want, have) + ("" if want == have else " MISMATCH")

    def usd(value: float | None) -> str:
        return "unknown" if value is None else "$%.7f" % value

    for node, want in EXPECTED.items():
        have = got[node]
        lines.append(
            "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
            % (
                node,
                pair(want.calls, have.calls),
                pair(want.prompt, have.prompt),
                pair(want.completion, have.completion),
                pair(want.cached, have.cached),
                pair(want.cache_write, have.cache_write),
                pair(want.reasoning, have.reasoning),
                "/".join(have.statuses),
                usd(want.bill_usd),
                usd(have.bill_usd),
            )
        )
    with Path(path).open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


REGISTRATIONS = ["graph", "client", "both"]


def _handlers(registration: str) -> tuple[Any, dict[str, Any]]:
    handler = TokenUsageCallbackHandler()
    config: dict[str, Any] = {}
    if registration in ("graph", "both"):
        config["callbacks"] = [TokenUsageCallbackHandler()]
    return (handler if registration in ("client", "both") else None), config


@pytest.mark.parametrize("registration", REGISTRATIONS)
def test_every_scenario_recorded_exactly_sync(
    server: ProviderServer, registration: str
) -> None:
    """Sync fan-out of every scenario: each node's calls, tokens and bill."""
    queue_answers(server)
    client_handler, config = _handlers(registration)
    graph = fan_out(sync_nodes(Clients(server, client_handler)))
    thread = "sync-" + registration
    graph.invoke({"topic": "AI"}, {**config, "configurable": {"thread_id": thread}})
    check(thread, "sync, handler on the " + registration)
    assert len(server.requests_of("openai_retry")) == 2  # 429, then 200
    assert len(server.requests_of("anthropic_retry")) == 2


@pytest.mark.parametrize("registration", REGISTRATIONS)
def test_every_scenario_recorded_exactly_async(
    server: ProviderServer, registration: str
) -> None:
    """Async fan-out of every scenario: the same figures as sync."""
    queue_answers(server)
    client_handler, config = _handlers(registration)
    graph = fan_out(async_nodes(Clients(server, client_handler)))
    thread = "async-" + registration
    asyncio.run(
        graph.ainvoke(
            {"topic": "AI"}, {**config, "configurable": {"thread_id": thread}}
        )
    )
    check(thread, "async, handler on the " + registration)
    assert len(server.requests_of("openai_retry")) == 2
    assert len(server.requests_of("anthropic_retry")) == 2


# -- failed, aborted, nested, unattributed ---------------------------------------


def _single(fn: Callable[..., Any], name: str) -> Any:
    builder = StateGraph(State)
    builder.add_node(name, node_wrapper(fn))
    builder.add_edge(START, name)
    builder.add_edge(name, END)
    return builder.compile()


def test_a_stream_dropped_mid_way_fails_the_node_and_keeps_every_call(
    server: ProviderServer,
) -> None:
    """The node fails on a cut stream: the call before it stays, the cut call
    is an error with the usage streamed so far (400/50)."""
    server.answer(
        "drop",
        gemini_content(FLASH, "First.", gemini_usage(120, 30)),
        gemini_stream(
            FLASH,
            [("Hel", gemini_usage(400, 20)), ("lo", gemini_usage(400, 50))],
            cut_after=2,
        ),
    )
    clients = Clients(server, TokenUsageCallbackHandler())

    def draft(state: State) -> State:
        model = clients.gemini("drop")
        model.invoke(state["topic"])
        return {"notes": ["".join(c.text for c in model.stream(state["topic"]))]}

    with pytest.raises(Exception) as raised:
        _single(draft, "draft").invoke(
            {"topic": "AI"}, {"configurable": {"thread_id": "d"}}
        )
    (log,) = read_node_logs("d")
    assert log.status == "error" and log.error_type == type(raised.value).__name__
    first, cut = log.token_usage
    assert (first.status, first.prompt_tokens, first.completion_tokens) == (
        "success",
        120,
        30,
    )
    assert (cut.status, cut.prompt_tokens, cut.completion_tokens) == ("error", 400, 50)
    assert cut.error_type == type(raised.value).__name__ and cut.usage_reported
    assert cut.provider == "google_genai" and cut.model_name == FLASH
    assert cut.started_at is not None and cut.ended_at is not None
    assert cut.started_at <= cut.ended_at
    # 111 + 245 per million, by hand
    assert node_run_cost(log).estimated_cost_usd == pytest.approx(356e-6, rel=1e-12)


def test_a_stream_the_node_stops_reading_is_aborted_with_its_partial_usage(
    server: ProviderServer,
) -> None:
    """A consumer that stops reading a stream leaves an ``aborted`` call with
    the usage of the chunks it read."""
    server.answer(
        "abort",
        gemini_stream(
            FLASH,
            [
                ("Hel", gemini_usage(400, 20)),
                ("lo", gemini_usage(400, 50)),
                (" there", gemini_usage(400, 60)),
            ],
        ),
    )
    clients = Clients(server, TokenUsageCallbackHandler())

    def draft(state: State) -> State:
        stream = clients.gemini("abort").stream(state["topic"])
        first = next(stream)
        stream.close()
        return {"notes": [first.text]}

    _single(draft, "draft").invoke(
        {"topic": "AI"}, {"configurable": {"thread_id": "a"}}
    )
    (log,) = read_node_logs("a")
    (call,) = log.token_usage
    assert (call.status, call.error_type) == ("aborted", "GeneratorExit")
    assert call.usage_reported and call.prompt_tokens == 400
    assert call.completion_tokens in (20, 50)  # what had been read


class Chat(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]


@pytest.mark.parametrize("registration", ["graph", "client", "both", "none"])
def test_a_subgraphs_call_returned_by_the_enclosing_node_is_counted_once(
    server: ProviderServer, registration: str
) -> None:
    """A wrapped node returning its wrapped subgraph's messages: one call,
    1,620 tokens in the thread, however the handler is registered (or with
    none at all, through the returned-message fallback)."""
    server.answer("nested", openai_completion(MINI, "Draft.", openai_usage(1500, 120)))
    handler = (
        TokenUsageCallbackHandler() if registration in ("client", "both") else None
    )
    config: dict[str, Any] = {"configurable": {"thread_id": "nested"}}
    if registration in ("graph", "both"):
        config["callbacks"] = [TokenUsageCallbackHandler()]
    clients = Clients(server, handler)

    def draft(state: Chat) -> Chat:
        return {"messages": [clients.openai("nested").invoke(state["messages"])]}

    inner = StateGraph(Chat)
    inner.add_node("draft", node_wrapper(draft))
    inner.add_edge(START, "draft")
    inner.add_edge("draft", END)
    subgraph = inner.compile()

    def write(state: Chat) -> Chat:
        result = subgraph.invoke({"messages": state["messages"]})
        return {"messages": result["messages"][len(state["messages"]) :]}

    outer = StateGraph(Chat)
    outer.add_node("write", node_wrapper(write))
    outer.add_edge(START, "write")
    outer.add_edge("write", END)
    outer.compile().invoke({"messages": [HumanMessage("AI")]}, config)
    logs = read_node_logs("nested")
    by_node = {log.node_name: log.total_tokens for log in logs}
    assert by_node == {"draft": 1620, "write": 0}
    summary = PipelineRunSummary.from_logs("nested", logs)
    assert (summary.total_tokens, summary.llm_calls) == (1620, 1)


def test_a_call_no_node_can_claim_is_one_warning_saying_what_to_pass(
    server: ProviderServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A client-registered call outside any node: one warning per process and
    cause, naming the node's config; nothing is recorded."""
    server.answer(
        "loose",
        *[openai_completion(MINI, "Loose.", openai_usage(10, 2)) for _ in range(3)],
    )
    model = Clients(server, TokenUsageCallbackHandler()).openai("loose")
    with caplog.at_level("WARNING", logger="editorial_ai.observability"):
        for _ in range(3):
            model.invoke("AI")
    warnings = [
        r.getMessage() for r in caplog.records if "outside any node" in r.getMessage()
    ]
    assert len(warnings) == 1
    assert "config" in warnings[0]
