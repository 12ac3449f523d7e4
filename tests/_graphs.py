"""A real editorial graph for the read side: fan-out, loop, interrupt, error."""

from __future__ import annotations

import asyncio
import operator
import time
from typing import Annotated, Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

from editorial_ai.observability import TokenUsageCallbackHandler, node_wrapper

from ._fakes import chat_model, reply

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
"""A state value that would run if the viewer ever rendered it as HTML."""

RUNS = 10
"""Node runs one :func:`run_editorial_thread` records."""


class Article(TypedDict, total=False):
    topic: str
    notes: Annotated[list[str], operator.add]
    drafts: int
    review: str
    approved: bool


class Notes(TypedDict, total=False):
    topic: str
    notes: Annotated[list[str], operator.add]


def fan_out_graph(
    branches: dict[str, tuple[int, int]], *, use_async: bool, pause_s: float = 0.0
) -> Any:
    """START -> one branch per name at once, each with its own model answering
    with (prompt, completion) tokens -> join -> END."""
    builder = StateGraph(Notes)
    for name, (prompt, completion) in branches.items():
        model = chat_model(reply(name, prompt, completion, model="gpt-4.1-mini"))

        def make(model: Any = model, name: str = name) -> Any:
            if use_async:

                async def branch(state: Notes) -> dict[str, Any]:
                    if pause_s:
                        await asyncio.sleep(pause_s)  # overlap the branches
                    await model.ainvoke("write " + name)
                    return {"notes": [name]}

            else:

                def branch(state: Notes) -> dict[str, Any]:  # type: ignore[misc]
                    model.invoke("write " + name)
                    return {"notes": [name]}

            branch.__name__ = name
            return node_wrapper(branch)

        builder.add_node(name, make())
        builder.add_edge(START, name)

    @node_wrapper
    def join(state: Notes) -> dict[str, Any]:
        return {"notes": ["joined"]}

    builder.add_node(join)
    builder.add_edge(list(branches), "join").add_edge("join", END)
    return builder.compile()


class PublishRefused(Exception):
    """The error the publish node ends the thread with."""


def build_editorial_graph(work_s: float = 0.0) -> Any:
    """plan -> (news | papers) -> write <-> review -> approval -> publish.

    ``work_s`` is simulated latency per node, so that a picture of the
    timeline has bars wide enough to see.
    """
    planner = chat_model(reply("angle: local newsrooms", 220, 40))
    writer = chat_model(
        reply("draft one", 1200, 600, "claude-sonnet-4-5"),
        reply("draft two", 1400, 650, "claude-sonnet-4-5"),
    )

    def work(factor: float = 1.0) -> None:
        if work_s:
            time.sleep(work_s * factor)

    @node_wrapper
    def plan(state: Article) -> dict[str, Any]:
        work()
        planner.invoke("Find an angle on: %s" % state["topic"])
        return {"notes": ["plan"]}

    @node_wrapper
    def research_news(state: Article) -> dict[str, Any]:
        work(2)
        return {"notes": ["news"]}

    @node_wrapper
    def research_papers(state: Article) -> dict[str, Any]:
        work(3)
        return {"notes": ["papers"]}

    @node_wrapper
    def write(state: Article) -> dict[str, Any]:
        work(2)
        writer.invoke("Write about %s" % state["topic"])
        return {"drafts": state.get("drafts", 0) + 1}

    @node_wrapper
    def review(state: Article) -> dict[str, Any]:
        work()
        return {"review": "revise" if state["drafts"] < 2 else "ok"}

    def after_review(state: Article) -> str:
        return "write" if state["review"] == "revise" else "approval"

    @node_wrapper
    def approval(state: Article) -> dict[str, Any]:
        work(0.5)
        answer = interrupt({"question": "Publish?", "topic": state["topic"]})
        return {"approved": bool(answer.get("approved"))}

    @node_wrapper
    def publish(state: Article) -> dict[str, Any]:
        work(0.5)
        raise PublishRefused("the CMS refused %s" % state["topic"])

    builder = StateGraph(Article)
    for node in (plan, research_news, research_papers, write, review):
        builder.add_node(node)
    builder.add_node(approval).add_node(publish)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "research_news").add_edge("plan", "research_papers")
    builder.add_edge(["research_news", "research_papers"], "write")
    builder.add_edge("write", "review")
    builder.add_conditional_edges("review", after_review, ["write", "approval"])
    builder.add_edge("approval", "publish").add_edge("publish", END)
    return builder.compile(checkpointer=InMemorySaver())


def run_editorial_thread(
    thread_id: str, *, topic: str = XSS, work_s: float = 0.0
) -> None:
    """Run the graph to its interrupt, resume it, and let publish fail.

    Records :data:`RUNS` node runs: plan, two parallel research branches,
    write/review twice (the loop), approval interrupted then resumed, and
    publish with an error.
    """
    graph = build_editorial_graph(work_s)
    config: RunnableConfig = {
        "configurable": {"thread_id": thread_id},
        "callbacks": [TokenUsageCallbackHandler()],
    }
    paused = graph.invoke({"topic": topic}, config)
    assert "__interrupt__" in paused
    try:
        graph.invoke(Command(resume={"approved": True}), config)
    except PublishRefused:
        pass
    else:
        raise AssertionError("publish was expected to fail")
