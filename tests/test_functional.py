"""The functional API: @task and @entrypoint leave records like nodes do."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from langgraph.cache.memory import InMemoryCache
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.func import entrypoint, task
from langgraph.types import CachePolicy, Command, RetryPolicy, interrupt

from editorial_ai.observability import (
    PipelineRunSummary,
    instrument,
    node_wrapper,
    read_node_logs,
)

from ._fakes import chat_model, reply
from ._runs import cfg, records


def research_workflow(*, decorate: str, checkpointer: Any = None) -> Any:
    """Two research tasks in parallel, each with its own model, then a join.

    ``decorate``: ``"under"`` stacks @node_wrapper under @task/@entrypoint,
    ``"over"`` above them, ``"instrument"`` calls instrument on the
    entrypoint, ``"none"`` records nothing.
    """
    news_model = chat_model(reply("3 reports", 300, 30))
    papers_model = chat_model(reply("2 studies", 500, 50))
    both_started = threading.Barrier(2, timeout=5)

    def search_news(topic: str) -> str:
        both_started.wait()  # the two tasks really run at the same time
        return "news: " + str(news_model.invoke("news on " + topic).content)

    def search_papers(topic: str) -> str:
        both_started.wait()
        return "papers: " + str(papers_model.invoke("papers on " + topic).content)

    if decorate == "under":
        news_task = task(node_wrapper(search_news))
        papers_task = task(node_wrapper(search_papers))
    elif decorate == "over":
        news_task = node_wrapper(task(search_news))
        papers_task = node_wrapper(task(search_papers))
    else:
        news_task = task(search_news)
        papers_task = task(search_papers)

    def research(topic: str) -> dict[str, Any]:
        futures = [news_task(topic), papers_task(topic=topic)]
        found = [future.result() for future in futures]
        decision = interrupt({"found": found}) if checkpointer else "auto"
        return {"found": found, "decision": decision}

    if decorate == "under":
        return entrypoint(checkpointer=checkpointer)(node_wrapper(research))
    workflow = entrypoint(checkpointer=checkpointer)(research)
    if decorate == "over":
        return node_wrapper(workflow)
    if decorate == "instrument":
        return instrument(workflow)
    return workflow


EXPECTED = {"found": ["news: 3 reports", "papers: 2 studies"], "decision": "auto"}


@pytest.mark.parametrize("decorate", ["under", "over", "instrument"])
def test_parallel_tasks_each_get_their_own_tokens(decorate: str) -> None:
    """Both tasks run at once; each record has exactly its own call's tokens."""
    plain = research_workflow(decorate="none").invoke("AI", cfg("plain"))
    assert plain == EXPECTED
    workflow = research_workflow(decorate=decorate)
    assert workflow.invoke("AI", cfg()) == EXPECTED
    assert sorted(records()) == [
        ("research", "success", 0),
        ("search_news", "success", 330),
        ("search_papers", "success", 550),
    ]
    logs = {log.node_name: log for log in read_node_logs("t1")}
    assert logs["search_news"].input_state == {"value": "AI"}
    assert logs["search_papers"].input_state == {"topic": "AI"}
    assert logs["search_news"].output_state == {"value": "news: 3 reports"}
    workflow_ns = logs["research"].checkpoint_ns or ""
    assert (logs["search_news"].checkpoint_ns or "").startswith(workflow_ns + "|")
    assert read_node_logs("plain") == []


def test_interrupt_and_resume_with_a_checkpointer() -> None:
    """Tasks done before an interrupt are not re-run on resume; both halves join."""
    workflow = research_workflow(decorate="instrument", checkpointer=InMemorySaver())
    config = cfg()
    paused = workflow.invoke("AI", config)
    (pending,) = paused["__interrupt__"]
    assert pending.value == {"found": EXPECTED["found"]}
    waiting = read_node_logs("t1")
    assert PipelineRunSummary.from_logs("t1", waiting).status == "interrupted"
    final = workflow.invoke(Command(resume="publish"), config)
    assert final == {"found": EXPECTED["found"], "decision": "publish"}
    assert sorted(records()) == [
        ("research", "interrupted", 0),
        ("research", "success", 0),
        ("search_news", "success", 330),
        ("search_papers", "success", 550),
    ]
    interrupted, resumed = [
        log for log in read_node_logs("t1") if log.node_name == "research"
    ]
    assert interrupted.interrupt_id == pending.id
    assert interrupted.interrupt_value == {"found": EXPECTED["found"]}
    assert resumed.resumed_interrupt_ids == [pending.id]
    assert resumed.resume_values == ["publish"]
    assert PipelineRunSummary.from_logs("t1", read_node_logs("t1")).status == (
        "completed"
    )


def test_async_tasks_gathered_in_parallel() -> None:
    """Async tasks awaited together record separately, with their tokens."""
    models = {
        "headline": chat_model(reply("h", 11, 1)),
        "summary": chat_model(reply("s", 22, 2)),
    }

    @task
    async def write(part: str) -> str:
        await asyncio.sleep(0)
        answer = await models[part].ainvoke("write the " + part)
        return part + ": " + str(answer.content)

    @entrypoint()
    async def article(topic: str) -> list[str]:
        return list(await asyncio.gather(write("headline"), write("summary")))

    instrument(article)
    result = asyncio.run(article.ainvoke("AI", cfg()))
    assert result == ["headline: h", "summary: s"]
    by_part = {
        (log.input_state or {}).get("value"): log.total_tokens
        for log in read_node_logs("t1")
        if log.node_name == "write"
    }
    assert by_part == {"headline": 12, "summary": 24}
    assert [n for n, _, _ in records()].count("article") == 1


def test_retried_task_records_each_attempt() -> None:
    """A task under a RetryPolicy leaves one record per attempt."""
    attempts = {"n": 0}

    @task(retry_policy=RetryPolicy(max_attempts=3, initial_interval=0.001))
    def flaky(topic: str) -> str:
        attempts["n"] += 1
        if attempts["n"] < 3:
            raise ConnectionError("provider busy")
        return "fetched " + topic

    @entrypoint()
    def fetch(topic: str) -> str:
        return flaky(topic).result()

    assert instrument(fetch).invoke("AI", cfg()) == "fetched AI"
    logs = [log for log in read_node_logs("t1") if log.node_name == "flaky"]
    assert [(log.status, log.attempt) for log in logs] == [
        ("error", 1),
        ("error", 2),
        ("success", 3),
    ]
    assert logs[0].error_type == "ConnectionError"


def test_cached_task_runs_once_and_records_once() -> None:
    """A CachePolicy hit returns the cached value; the task did not run: no record."""
    calls: list[str] = []

    @task(cache_policy=CachePolicy())
    def expensive(topic: str) -> str:
        calls.append(topic)
        return "brief on " + topic

    @entrypoint(cache=InMemoryCache())
    def brief(topic: str) -> str:
        return expensive(topic).result()

    instrument(brief)
    assert brief.invoke("AI", cfg("first")) == "brief on AI"
    assert brief.invoke("AI", cfg("second")) == "brief on AI"
    assert calls == ["AI"]
    assert records("first") == [
        ("expensive", "success", 0),
        ("brief", "success", 0),
    ]
    assert records("second") == [("brief", "success", 0)]


def test_task_arguments_of_every_shape() -> None:
    """No arguments, keywords only, several positionals: recorded by name."""

    @task
    @node_wrapper
    def none_at_all() -> int:
        return 1

    @task
    @node_wrapper
    def several(a: int, b: int, *, scale: int = 1) -> int:
        return (a + b) * scale

    @entrypoint()
    def combine(n: int) -> int:
        return none_at_all().result() + several(n, 2, scale=10).result()

    assert combine.invoke(3, cfg()) == 51
    inputs = {log.node_name: log.input_state for log in read_node_logs("t1")}
    assert inputs == {"none_at_all": {}, "several": {"a": 3, "b": 2, "scale": 10}}


def test_task_error_reaches_the_caller_unchanged() -> None:
    """A task's exception propagates as the same object; both levels record it."""
    refused = PermissionError("the CMS refused")

    @task
    def publish(draft: str) -> str:
        raise refused

    @entrypoint()
    def release(draft: str) -> str:
        return publish(draft).result()

    instrument(release)
    with pytest.raises(PermissionError) as caught:
        release.invoke("draft", cfg())
    assert caught.value is refused
    assert sorted(records()) == [("publish", "error", 0), ("release", "error", 0)]


def test_name_above_task_names_the_task_only() -> None:
    """node_wrapper('name') above @task names that task's records."""

    @node_wrapper("fetch_sources")
    @task
    def fetch(topic: str) -> str:
        return "sources on " + topic

    @entrypoint()
    def flow(topic: str) -> str:
        return fetch(topic).result()

    assert flow.invoke("AI", cfg()) == "sources on AI"
    assert records() == [("fetch_sources", "success", 0)]
    with pytest.raises(TypeError):
        node_wrapper("a_name")(flow)


def test_instrumented_sync_workflow_run_async_and_streamed() -> None:
    """ainvoke and stream of a sync entrypoint: one record per run, same result."""
    workflow = research_workflow(decorate="instrument")
    assert asyncio.run(workflow.ainvoke("AI", cfg("async"))) == EXPECTED
    streamed = list(research_workflow(decorate="instrument").stream("AI", cfg("s")))
    assert streamed[-1] == {"research": EXPECTED}
    for thread_id in ("async", "s"):
        assert sorted(records(thread_id)) == [
            ("research", "success", 0),
            ("search_news", "success", 330),
            ("search_papers", "success", 550),
        ]


def test_instrument_a_task_directly() -> None:
    """instrument(task) wraps that task's function; the task stays a task."""

    @task
    def tag(topic: str) -> str:
        return "#" + topic

    assert instrument(tag) is tag

    @entrypoint()
    def flow(topic: str) -> str:
        return tag(topic).result()

    assert flow.invoke("ai", cfg()) == "#ai"
    assert records() == [("tag", "success", 0)]
