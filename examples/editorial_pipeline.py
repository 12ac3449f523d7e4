"""An editorial pipeline, instrumented: curation -> sources -> draft -> review
loop -> human approval -> publish.

Every node is decorated with ``node_wrapper`` and one
``TokenUsageCallbackHandler`` is registered on the graph run. The LLM calls are
served by LangChain's fake chat model, reporting token usage the way real
providers do, so this runs offline in about a second.

Part two records code nobody can decorate: a prebuilt ReAct fact-checking
agent (``create_react_agent``, whose nodes LangGraph builds) once with
``instrument(agent)`` and once with the handler alone
(``TokenUsageCallbackHandler(record_nodes=True)``). Part three is a
functional-API workflow: two ``@task`` searches in parallel, then an
``interrupt`` for a human, recorded with ``instrument(workflow)``.

Run:  python examples/editorial_pipeline.py   (logs go to $EDITORIAL_AI_LOG_DIR
or ./data/logs)
"""

from __future__ import annotations

import operator
import uuid
import warnings
from typing import Annotated, Any

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.func import entrypoint, task
from langgraph.graph import END, START, StateGraph
from langgraph.prebuilt import create_react_agent
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

from editorial_ai.observability import (
    PipelineRunSummary,
    TokenUsageCallbackHandler,
    instrument,
    node_wrapper,
    read_node_logs,
)
from editorial_ai.observability.storage import thread_log_path


def usage(prompt: int, completion: int) -> Any:
    """Token usage as a provider reports it on a message."""
    return {
        "input_tokens": prompt,
        "output_tokens": completion,
        "total_tokens": prompt + completion,
    }


def fake_llm(model: str, *answers: tuple[str, int, int]) -> GenericFakeChatModel:
    """A chat model that answers in turn and reports usage like a provider."""
    return GenericFakeChatModel(
        messages=iter(
            AIMessage(
                content=text,
                usage_metadata=usage(prompt, completion),
                response_metadata={"model_name": model},
            )
            for text, prompt, completion in answers
        )
    )


CURATOR = fake_llm(
    "gpt-4o-mini", ("Angle: how local newsrooms use AI for fact-checking", 412, 38)
)
NEWS = fake_llm("gpt-4o-mini", ("3 recent reports on newsroom AI tools", 655, 120))
RESEARCH = fake_llm(
    "gemini-2.5-flash", ("2 studies on automated fact-checking accuracy", 903, 164)
)
WRITER = fake_llm(
    "claude-sonnet-4-5",
    ("Draft v1: Newsrooms are quietly adopting AI...", 1840, 950),
    ("Draft v2: Across local newsrooms, AI now checks facts...", 2310, 1020),
)
EDITOR = fake_llm(
    "gpt-4.1",
    ("REVISE: the lede buries the news; cite the 2024 study", 1530, 64),
    ("APPROVE: clear, sourced, ready for the desk", 1610, 22),
)


class Article(TypedDict, total=False):
    topic: str
    angle: str
    sources: Annotated[list[str], operator.add]
    draft: str
    review: str
    revisions: int
    approved: bool
    published_url: str


@node_wrapper
def curation(state: Article) -> dict[str, Any]:
    angle = CURATOR.invoke(f"Find a timely angle on: {state['topic']}")
    return {"angle": angle.content}


@node_wrapper
def source_news(state: Article) -> dict[str, Any]:
    found = NEWS.invoke(f"Recent news for: {state['angle']}")
    return {"sources": [f"news: {found.content}"]}


@node_wrapper
async def source_research(state: Article) -> dict[str, Any]:
    found = await RESEARCH.ainvoke(f"Academic research for: {state['angle']}")
    return {"sources": [f"research: {found.content}"]}


@node_wrapper
def editorial(state: Article) -> dict[str, Any]:
    notes = state.get("review", "")
    draft = WRITER.invoke(
        f"Write about {state['angle']} using {state['sources']}. Notes: {notes}"
    )
    return {"draft": draft.content, "revisions": state.get("revisions", 0) + 1}


@node_wrapper
def review(state: Article) -> dict[str, Any]:
    verdict = EDITOR.invoke(f"Review this draft:\n{state['draft']}")
    return {"review": verdict.content}


def after_review(state: Article) -> str:
    if state["review"].startswith("REVISE") and state["revisions"] < 3:
        return "editorial"
    return "approval"


@node_wrapper
def approval(state: Article) -> dict[str, Any]:
    decision = interrupt({"question": "Publish this draft?", "draft": state["draft"]})
    return {"approved": bool(decision.get("approved"))}


@node_wrapper(skip_if=lambda state: not state.get("approved"))
def publish(state: Article, config: RunnableConfig) -> dict[str, Any]:
    slug = state["angle"].lower().replace(" ", "-")[:40]
    return {"published_url": f"https://news.example/{slug}"}


def build_graph() -> Any:
    builder = StateGraph(Article)
    for node in (curation, source_news, source_research, editorial, review):
        builder.add_node(node)
    builder.add_node(approval).add_node(publish)
    builder.add_edge(START, "curation")
    builder.add_edge("curation", "source_news").add_edge("curation", "source_research")
    builder.add_edge(["source_news", "source_research"], "editorial")
    builder.add_edge("editorial", "review")
    builder.add_conditional_edges("review", after_review, ["editorial", "approval"])
    builder.add_edge("approval", "publish").add_edge("publish", END)
    return builder.compile(checkpointer=InMemorySaver())


def print_table(thread_id: str) -> None:
    logs = sorted(read_node_logs(thread_id), key=lambda log: log.started_at)
    print(f"{'node':<16}{'step':>5}  {'status':<12}{'ms':>8}{'tokens':>8}  model")
    for log in logs:
        models = ",".join(sorted({u.model_name or "?" for u in log.token_usage}))
        print(
            f"{log.node_name:<16}{log.step or 0:>5}  {log.status:<12}"
            f"{log.duration_ms:>8.2f}{log.total_tokens:>8}  {models or '-'}"
        )
    summary = PipelineRunSummary.from_logs(thread_id, logs)
    print(
        f"\n{summary.status}: {summary.node_count} node runs, "
        f"{summary.total_tokens} tokens "
        f"({summary.total_prompt_tokens} in / {summary.total_completion_tokens} out)"
    )


# -- part two: a prebuilt agent nobody can decorate ---------------------------


class ToolCallingFakeModel(GenericFakeChatModel):
    """LangChain's fake chat model, accepting tools as a prebuilt agent needs."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ToolCallingFakeModel:
        return self


@tool
def count_sources(text: str) -> int:
    """Count the sources cited in a draft (one per 'according to')."""
    return text.lower().count("according to")


DRAFT = (
    "According to the 2024 study, 41% of newsrooms use AI; according to "
    "the desk editors, checks take half the time."
)


def fact_checker() -> Any:
    """A ReAct agent: the model asks for count_sources, then answers."""
    model = ToolCallingFakeModel(
        messages=iter(
            [
                AIMessage(
                    content="",
                    tool_calls=[
                        {"name": "count_sources", "args": {"text": DRAFT}, "id": "c1"}
                    ],
                    usage_metadata=usage(480, 36),
                    response_metadata={"model_name": "gpt-4o-mini"},
                ),
                AIMessage(
                    content="Two sources cited: enough for the desk.",
                    usage_metadata=usage(560, 14),
                    response_metadata={"model_name": "gpt-4o-mini"},
                ),
            ]
        )
    )
    # LangGraph still ships create_react_agent; langchain's create_agent,
    # its successor, is recorded the same way.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return create_react_agent(model, [count_sources])


def run_agent(thread_id: str, *, record_nodes: bool) -> None:
    agent = fact_checker()
    if not record_nodes:
        instrument(agent)  # wraps the agent's own nodes in place
    config: RunnableConfig = {
        "configurable": {"thread_id": thread_id},
        "callbacks": [TokenUsageCallbackHandler(record_nodes=record_nodes)],
    }
    answer = agent.invoke({"messages": [("user", f"Check: {DRAFT}")]}, config)
    print(f"agent says: {answer['messages'][-1].content!r}")


# -- part three: the functional API ---------------------------------------------

HEADLINES = fake_llm("gpt-4o-mini", ("Newsrooms hand fact-checks to AI", 220, 12))
SUMMARIES = fake_llm("gemini-2.5-flash", ("AI halves fact-checking time", 640, 48))


@task
def write_headline(topic: str) -> str:
    return str(HEADLINES.invoke(f"Headline for: {topic}").content)


@task
def write_summary(topic: str) -> str:
    return str(SUMMARIES.invoke(f"Summary of: {topic}").content)


@entrypoint(checkpointer=InMemorySaver())
def package_story(topic: str) -> dict[str, Any]:
    headline, summary = write_headline(topic), write_summary(topic)  # in parallel
    story = {"headline": headline.result(), "summary": summary.result()}
    decision = interrupt({"question": "Send to the desk?", **story})
    return {**story, "sent": bool(decision)}


def run_workflow(thread_id: str) -> None:
    instrument(package_story)  # the entrypoint and the tasks it calls
    config: RunnableConfig = {
        "configurable": {"thread_id": thread_id},
        "callbacks": [TokenUsageCallbackHandler()],
    }
    paused = package_story.invoke("AI fact-checking in local newsrooms", config)
    print(f"paused: {paused['__interrupt__'][0].value['question']!r} -> yes")
    final = package_story.invoke(Command(resume=True), config)
    print(f"sent: {final['headline']!r}")


def main() -> None:
    import asyncio

    graph = build_graph()
    thread_id = f"editorial-{uuid.uuid4()}"
    config: RunnableConfig = {
        "configurable": {"thread_id": thread_id},
        "callbacks": [TokenUsageCallbackHandler()],
    }
    paused = asyncio.run(graph.ainvoke({"topic": "AI in local newsrooms"}, config))
    question = paused["__interrupt__"][0].value["question"]
    print(f"paused for a human: {question!r} -> answering yes")
    final = asyncio.run(graph.ainvoke(Command(resume={"approved": True}), config))
    print(f"published: {final['published_url']}\n")
    print(f"thread {thread_id}, logged to {thread_log_path(thread_id)}\n")
    print_table(thread_id)

    for record_nodes, how in ((False, "instrument(agent)"), (True, "record_nodes")):
        agent_thread = f"fact-check-{uuid.uuid4()}"
        print(f"\n-- prebuilt agent, recorded with {how} --")
        run_agent(agent_thread, record_nodes=record_nodes)
        print_table(agent_thread)

    story_thread = f"story-{uuid.uuid4()}"
    print("\n-- functional API: two tasks in parallel, then an interrupt --")
    run_workflow(story_thread)
    print_table(story_thread)

    # Last, so the next commands are what a newcomer sees on the screen.
    print("\nLook at the pipeline's thread (all four: editorial-ai-obs runs):")
    print(f"  editorial-ai-obs show {thread_id}")
    print("  editorial-ai-obs serve     # then open the address it prints")


if __name__ == "__main__":
    main()
