"""OpenTelemetry export: spans from real graphs through the SDK's in-memory
exporter, the same spans from recorded JSONL, and failures kept away."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import operator
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, RetryPolicy, interrupt
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import (
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode
from typing_extensions import TypedDict

from editorial_ai.observability import (
    NodeRunLog,
    TokenUsage,
    TokenUsageCallbackHandler,
    node_wrapper,
    read_node_logs,
)
from editorial_ai.observability.invocations import graph_runs_path, read_graph_runs
from editorial_ai.observability.otel._attributes import (
    bounded_json,
    ns,
    provider_of,
)
from editorial_ai.observability.otel._sink import (
    OpenTelemetrySink,
    _PausingExporter,
    make_resource,
    spans_from_logs,
)
from editorial_ai.observability.otel._spans import TraceAssembler
from editorial_ai.observability.sinks import JsonlSink, set_sinks

from ._example import load_example
from ._fakes import chat_model, reply
from ._graphs import fan_out_graph
from .conftest import T0, make_log


class State(TypedDict, total=False):
    topic: str
    draft: str
    notes: Annotated[list[str], operator.add]


@pytest.fixture
def memory() -> Iterator[tuple[OpenTelemetrySink, InMemorySpanExporter]]:
    """An OpenTelemetry sink beside JSONL, spans kept in memory."""
    exporter = InMemorySpanExporter()
    sink = OpenTelemetrySink(SimpleSpanProcessor(exporter))
    set_sinks([JsonlSink(), sink])
    yield sink, exporter
    sink.shutdown()


def finished(
    memory: tuple[OpenTelemetrySink, InMemorySpanExporter],
) -> list[ReadableSpan]:
    sink, exporter = memory
    sink.force_flush()
    return list(exporter.get_finished_spans())


def config(thread_id: str = "t1", *, handler: bool = True) -> RunnableConfig:
    extra: dict[str, Any] = {"callbacks": [TokenUsageCallbackHandler()]}
    return {"configurable": {"thread_id": thread_id}, **(extra if handler else {})}


def line_graph(*nodes: Any, checkpointer: Any = None, retry: Any = None) -> Any:
    builder = StateGraph(State)
    previous = START
    for node in nodes:
        builder.add_node(node.__name__, node, retry_policy=retry)
        builder.add_edge(previous, node.__name__)
        previous = node.__name__
    builder.add_edge(previous, END)
    return builder.compile(checkpointer=checkpointer)


def by_name(spans: Sequence[ReadableSpan]) -> dict[str, list[ReadableSpan]]:
    named: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        named.setdefault(span.name, []).append(span)
    return named


def roots(spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    return [span for span in spans if span.parent is None]


def kind_of(span: ReadableSpan) -> str:
    """The OpenInference span kind."""
    return str((span.attributes or {})["openinference.span.kind"])


def node_spans(spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and kind_of(s) == "CHAIN"]


def call_spans(spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    return [span for span in spans if kind_of(span) == "LLM"]


def children_of(
    spans: Sequence[ReadableSpan], parent: ReadableSpan
) -> list[ReadableSpan]:
    assert parent.context is not None
    return [span for span in spans if parent_id(span) == parent.context.span_id]


def parent_id(span: ReadableSpan) -> int | None:
    return None if span.parent is None else span.parent.span_id


def span_key(span: ReadableSpan) -> tuple[Any, ...]:
    """Everything a backend would see of a span, comparable."""
    assert span.context is not None
    return (
        span.context.trace_id,
        span.context.span_id,
        parent_id(span),
        span.name,
        span.kind,
        span.start_time,
        span.end_time,
        dict(span.attributes or {}),
        [(e.name, e.timestamp, dict(e.attributes or {})) for e in span.events],
        span.status.status_code,
        span.status.description,
        dict(span.resource.attributes),
    )


def write_graph() -> Any:
    model = chat_model(reply("draft", 120, 30, model="claude-sonnet-4-5"))

    @node_wrapper
    def research(state: State) -> dict[str, Any]:
        return {"notes": ["facts"]}

    @node_wrapper
    def write(state: State) -> dict[str, Any]:
        return {"draft": str(model.invoke("write about " + state["topic"]).content)}

    return line_graph(research, write)


# -- spans, times, traces -------------------------------------------------------


def test_one_span_per_node_run_with_the_recorded_times(memory: Any) -> None:
    """Each node run is one INTERNAL CHAIN span starting and ending at the
    log's times, status OK."""
    write_graph().invoke({"topic": "AI"}, config())
    spans = finished(memory)
    logs = read_node_logs("t1")
    nodes = node_spans(spans)
    assert len(nodes) == len(logs) == 2 and len(roots(spans)) == 1
    for log in logs:
        (span,) = by_name(spans)[log.node_name]
        assert span.start_time == ns(log.started_at)
        assert span.end_time == ns(log.ended_at)
        assert span.end_time - span.start_time == (
            (log.ended_at - log.started_at) // timedelta(microseconds=1) * 1000
        )
        assert span.kind is SpanKind.INTERNAL
        assert kind_of(span) == "CHAIN"
        assert span.status.status_code is StatusCode.OK


def test_one_trace_per_invocation_under_a_root(memory: Any) -> None:
    """With the handler on the graph run each invocation is a trace whose root
    spans its node runs; the trace id is the invocation id."""
    graph = write_graph()
    graph.invoke({"topic": "AI"}, config())
    graph = write_graph()
    graph.invoke({"topic": "ML"}, config())
    spans = finished(memory)
    logs = read_node_logs("t1")
    invocations = {log.invocation_id for log in logs}
    assert len(invocations) == 2 and None not in invocations
    traces = {span.context.trace_id for span in spans if span.context}
    assert traces == {uuid.UUID(str(i)).int for i in invocations}
    for root in roots(spans):
        assert root.name == "invoke_workflow" and root.context is not None
        members = [
            log
            for log in logs
            if uuid.UUID(str(log.invocation_id)).int == root.context.trace_id
        ]
        children = [
            s
            for s in node_spans(spans)
            if s.parent is not None and s.parent.trace_id == root.context.trace_id
        ]
        assert {parent_id(s) for s in children} == {root.context.span_id}
        assert kind_of(root) == "CHAIN"
        assert root.status.status_code is StatusCode.OK
        assert root.start_time == ns(min(log.started_at for log in members))
        assert root.end_time == ns(max(log.ended_at for log in members))
        assert (root.attributes or {})["gen_ai.operation.name"] == "invoke_workflow"


def test_without_the_handler_a_thread_is_one_trace(memory: Any) -> None:
    """Without a handler on the graph run all runs of a thread share one trace."""
    write_graph().invoke({"topic": "AI"}, config(handler=False))
    write_graph().invoke({"topic": "ML"}, config(handler=False))
    spans = finished(memory)
    assert len({span.context.trace_id for span in spans if span.context}) == 1
    # two runs of two nodes and one root (no handler: no LLM calls recorded)
    assert len(roots(spans)) == 1 and len(spans) == 5


BRANCHES = {"research": (101, 11), "factcheck": (202, 22), "headline": (303, 33)}


@pytest.mark.parametrize("use_async", [False, True])
def test_parallel_branches_carry_exactly_their_tokens(
    memory: Any, use_async: bool
) -> None:
    """Each parallel branch's span has one LLM call span with its tokens and
    model; the node spans themselves carry no usage."""
    graph = fan_out_graph(BRANCHES, use_async=use_async)
    if use_async:
        asyncio.run(graph.ainvoke({"topic": "x"}, config()))
    else:
        graph.invoke({"topic": "x"}, config())
    spans = by_name(finished(memory))
    (root,) = spans["invoke_workflow"]
    assert root.context is not None
    every = [span for group in spans.values() for span in group]
    for name, (prompt, completion) in BRANCHES.items():
        (span,) = spans[name]
        attributes = span.attributes or {}
        usage = ("gen_ai.usage", "gen_ai.request", "gen_ai.response", "llm.")
        assert not any(key.startswith(usage) for key in attributes)
        assert attributes["langgraph.llm_calls"] == 1
        assert parent_id(span) == root.context.span_id
        (call,) = children_of(every, span)
        assert call.name == "chat gpt-4.1-mini" and call.kind is SpanKind.CLIENT
        assert call.status.status_code is StatusCode.OK
        assert span.start_time <= call.start_time <= call.end_time <= span.end_time  # type: ignore[operator]
        got = call.attributes or {}
        assert got["openinference.span.kind"] == "LLM"
        assert got["gen_ai.operation.name"] == "chat"
        assert got["gen_ai.usage.input_tokens"] == got["llm.token_count.prompt"]
        assert got["gen_ai.usage.input_tokens"] == prompt
        assert got["gen_ai.usage.output_tokens"] == completion
        assert got["llm.token_count.completion"] == completion
        assert got["llm.token_count.total"] == prompt + completion
        assert got["gen_ai.request.model"] == got["llm.model_name"] == "gpt-4.1-mini"
        assert got["gen_ai.provider.name"] == "openai"
        assert got["llm.provider"] == got["llm.system"] == "openai"
    (join,) = spans["join"]
    assert "langgraph.llm_calls" not in (join.attributes or {})
    assert not children_of(every, join) and not join.events


def test_node_with_two_models_lists_them(memory: Any) -> None:
    """A node calling two models has one call span per model, each with its
    own tokens; the node lists both models and carries no usage."""
    fast = chat_model(reply("a", 10, 1, model="gpt-4o-mini"))
    smart = chat_model(reply("b", 20, 2, model="claude-opus-4-1"))

    @node_wrapper
    def write(state: State) -> dict[str, Any]:
        fast.invoke("outline")
        smart.invoke("draft")
        return {}

    line_graph(write).invoke({"topic": "x"}, config())
    spans = finished(memory)
    (span,) = by_name(spans)["write"]
    attributes = span.attributes or {}
    assert list(attributes["langgraph.models"]) == ["gpt-4o-mini", "claude-opus-4-1"]  # type: ignore[arg-type]
    assert "gen_ai.request.model" not in attributes
    assert "gen_ai.response.model" not in attributes
    assert "gen_ai.usage.input_tokens" not in attributes
    calls = sorted(children_of(spans, span), key=lambda s: s.start_time or 0)
    facts = [
        (
            call.name,
            (call.attributes or {})["llm.model_name"],
            (call.attributes or {})["gen_ai.provider.name"],
            (call.attributes or {})["gen_ai.usage.input_tokens"],
            (call.attributes or {})["gen_ai.usage.output_tokens"],
        )
        for call in calls
    ]
    assert facts == [
        ("chat gpt-4o-mini", "gpt-4o-mini", "openai", 10, 1),
        ("chat claude-opus-4-1", "claude-opus-4-1", "anthropic", 20, 2),
    ]


def test_langgraph_attributes(memory: Any) -> None:
    """Node, step, namespace, attempt, status and thread are on every node span."""
    write_graph().invoke({"topic": "AI"}, config("thread-7"))
    spans = by_name(finished(memory))
    log = next(x for x in read_node_logs("thread-7") if x.node_name == "write")
    attributes = spans["write"][0].attributes or {}
    assert attributes["langgraph.node"] == "write"
    assert attributes["langgraph.step"] == log.step
    assert attributes["langgraph.checkpoint_ns"] == log.checkpoint_ns
    assert attributes["langgraph.attempt"] == 1
    assert attributes["langgraph.status"] == "success"
    assert attributes["langgraph.invocation_id"] == log.invocation_id
    for key in ("langgraph.thread_id", "gen_ai.conversation.id", "session.id"):
        assert attributes[key] == "thread-7"


# -- subgraphs ------------------------------------------------------------------


def test_subgraph_nodes_hang_under_the_node_that_ran_them(memory: Any) -> None:
    """A wrapped node running a subgraph is the parent of the subgraph's spans."""

    @node_wrapper
    def inner_a(state: State) -> dict[str, Any]:
        return {"notes": ["a"]}

    @node_wrapper
    def inner_b(state: State) -> dict[str, Any]:
        return {"notes": ["b"]}

    inner = line_graph(inner_a, inner_b)

    @node_wrapper
    def outer(state: State) -> dict[str, Any]:
        return {"draft": str(inner.invoke({"topic": state["topic"]})["notes"])}

    line_graph(outer).invoke({"topic": "x"}, config())
    spans = by_name(finished(memory))
    (root,), (outer_span,) = spans["invoke_workflow"], spans["outer"]
    assert root.context is not None and outer_span.context is not None
    assert parent_id(outer_span) == root.context.span_id
    for name in ("inner_a", "inner_b"):
        (span,) = spans[name]
        assert parent_id(span) == outer_span.context.span_id
        assert outer_span.start_time <= span.start_time <= outer_span.end_time


def test_unwrapped_subgraph_node_gets_a_placeholder_parent(memory: Any) -> None:
    """A subgraph added as a node without the wrapper appears as a placeholder
    span covering its children, under the root."""

    @node_wrapper
    def inner_a(state: State) -> dict[str, Any]:
        return {"notes": ["a"]}

    @node_wrapper
    def inner_b(state: State) -> dict[str, Any]:
        return {"notes": ["b"]}

    builder = StateGraph(State)
    builder.add_node("review", line_graph(inner_a, inner_b))
    builder.add_edge(START, "review").add_edge("review", END)
    builder.compile().invoke({"topic": "x"}, config())
    spans = by_name(finished(memory))
    (root,), (placeholder,) = spans["invoke_workflow"], spans["review"]
    assert root.context is not None and placeholder.context is not None
    assert (placeholder.attributes or {})["langgraph.placeholder"] is True
    assert parent_id(placeholder) == root.context.span_id
    children = spans["inner_a"] + spans["inner_b"]
    assert {parent_id(span) for span in children} == {placeholder.context.span_id}
    assert placeholder.start_time == min(span.start_time or 0 for span in children)
    assert placeholder.end_time == max(span.end_time or 0 for span in children)


# -- errors, retries, interrupts -------------------------------------------------


def test_error_sets_status_and_records_the_exception(memory: Any) -> None:
    """A failing node's span is ERROR with an exception event; so is the root."""

    @node_wrapper
    def check(state: State) -> dict[str, Any]:
        raise ValueError("no source for claim 3")

    with pytest.raises(ValueError):
        line_graph(check).invoke({"topic": "x"}, config())
    spans = by_name(finished(memory))
    (span,), (root,) = spans["check"], spans["invoke_workflow"]
    (log,) = read_node_logs("t1")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "ValueError: no source for claim 3"
    assert (span.attributes or {})["error.type"] == "ValueError"
    (event,) = span.events
    assert event.name == "exception" and event.timestamp == ns(log.ended_at)
    assert dict(event.attributes or {}) == {
        "exception.type": "ValueError",
        "exception.message": "no source for claim 3",
        "exception.stacktrace": log.error_traceback,
    }
    assert root.status.status_code is StatusCode.ERROR
    assert (root.attributes or {})["langgraph.status"] == "failed"


def test_retry_attempts_are_sibling_spans(memory: Any) -> None:
    """Each attempt of a RetryPolicy is its own span; a final success is no error."""
    calls = {"n": 0}

    @node_wrapper
    def flaky(state: State) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("try again")
        return {"draft": "done"}

    retry = RetryPolicy(max_attempts=3, initial_interval=0.001, jitter=False)
    line_graph(flaky, retry=retry).invoke({"topic": "x"}, config())
    spans = by_name(finished(memory))
    attempts = sorted(spans["flaky"], key=lambda span: span.start_time or 0)
    assert [(s.attributes or {})["langgraph.attempt"] for s in attempts] == [1, 2, 3]
    assert [s.status.status_code for s in attempts] == [
        StatusCode.ERROR,
        StatusCode.ERROR,
        StatusCode.OK,
    ]
    assert len({s.context.span_id for s in attempts if s.context}) == 3
    (root,) = spans["invoke_workflow"]
    assert root.status.status_code is StatusCode.OK
    assert {parent_id(s) for s in attempts} == {
        root.context.span_id if root.context else 0
    }


def test_interrupt_is_marked_and_resume_is_joined(memory: Any) -> None:
    """An interrupted run carries its interrupt id (status unset); the resumed
    run, in the next invocation's trace, names the interrupt it answered."""

    @node_wrapper
    def approve(state: State) -> dict[str, Any]:
        return {"draft": str(interrupt({"question": "publish?"}))}

    graph = line_graph(approve, checkpointer=InMemorySaver())
    paused = graph.invoke({"topic": "x"}, config("hitl"))
    interrupt_id = paused["__interrupt__"][0].id
    graph.invoke(Command(resume="yes"), config("hitl"))
    spans = finished(memory)
    first, second = sorted(by_name(spans)["approve"], key=lambda s: s.start_time or 0)
    assert first.context is not None and second.context is not None
    assert first.context.trace_id != second.context.trace_id
    assert first.status.status_code is StatusCode.UNSET
    assert (first.attributes or {})["langgraph.status"] == "interrupted"
    assert (first.attributes or {})["langgraph.interrupt_id"] == interrupt_id
    (event,) = first.events
    assert event.name == "langgraph.interrupt"
    assert dict(event.attributes or {}) == {"langgraph.interrupt_id": interrupt_id}
    resumed = list((second.attributes or {})["langgraph.resumed_interrupt_ids"])  # type: ignore[arg-type]
    assert resumed == [interrupt_id]
    statuses = {
        span.context.trace_id: (span.attributes or {})["langgraph.status"]
        for span in roots(spans)
        if span.context
    }
    assert statuses == {
        first.context.trace_id: "interrupted",
        second.context.trace_id: "completed",
    }


# -- snapshots --------------------------------------------------------------------


def test_snapshots_are_not_attached_by_default(memory: Any) -> None:
    """Without capture_io no span carries state."""
    write_graph().invoke({"topic": "AI"}, config())
    for span in finished(memory):
        assert not any(
            key.startswith(("input.", "output.")) for key in span.attributes or {}
        )


def test_capture_io_attaches_bounded_snapshots() -> None:
    """With capture_io the snapshots are input.value / output.value JSON,
    a large one cut again with the JSONL's markers (still valid JSON)."""
    exporter = InMemorySpanExporter()
    sink = OpenTelemetrySink(
        SimpleSpanProcessor(exporter), capture_io=True, max_attribute_bytes=256
    )
    set_sinks([JsonlSink(), sink])

    @node_wrapper
    def summarize(state: State) -> dict[str, Any]:
        return {"draft": "short"}

    line_graph(summarize).invoke({"topic": "é" * 5000}, config())
    sink.force_flush()
    (span,) = by_name(exporter.get_finished_spans())["summarize"]
    (log,) = read_node_logs("t1")
    attributes = span.attributes or {}
    cut = str(attributes["input.value"])
    assert len(cut.encode("utf-8")) <= 256
    assert json.loads(cut)["topic"].startswith("éé")
    assert "truncated" in json.loads(cut)["topic"]
    assert attributes["input.mime_type"] == "application/json"
    assert json.loads(str(attributes["output.value"])) == log.output_state
    assert attributes["output.mime_type"] == "application/json"
    sink.shutdown()


@pytest.mark.parametrize(("value", "attached"), [("true", True), ("0", False)])
def test_capture_io_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, attached: bool
) -> None:
    """$EDITORIAL_AI_OTEL_CAPTURE_IO decides when the sink was given nothing."""
    monkeypatch.setenv("EDITORIAL_AI_OTEL_CAPTURE_IO", value)
    exporter = InMemorySpanExporter()
    sink = OpenTelemetrySink(SimpleSpanProcessor(exporter))
    sink.export(make_log(input_state={"topic": "x"}))
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "draft"]
    assert ("input.value" in (span.attributes or {})) is attached
    sink.shutdown()


def test_malformed_capture_setting_warns_and_attaches_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A capture setting that is not a boolean warns and falls back to off."""
    monkeypatch.setenv("EDITORIAL_AI_OTEL_CAPTURE_IO", "maybe")
    exporter = InMemorySpanExporter()
    sink = OpenTelemetrySink(SimpleSpanProcessor(exporter))
    sink.export(make_log(input_state={"topic": "x"}))
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "draft"]
    assert "input.value" not in (span.attributes or {})
    assert "EDITORIAL_AI_OTEL_CAPTURE_IO='maybe'" in caplog.text
    sink.shutdown()


def test_bounded_json_keeps_small_values_whole() -> None:
    """A value under the bound is exact JSON; a cut never splits a character."""
    assert bounded_json({"a": [1, 2]}, 64) == '{"a":[1,2]}'
    cut = bounded_json({"text": "日本語" * 100}, 100)
    assert len(cut.encode("utf-8")) <= 100 and "\ufffd" not in cut


# -- backfill equals live ---------------------------------------------------------


def test_backfill_gives_the_live_spans(memory: Any) -> None:
    """spans_from_logs on the JSONL gives the very spans the live sink sent."""

    @node_wrapper
    def inner(state: State) -> dict[str, Any]:
        return {"notes": ["inner"]}

    sub = line_graph(inner)

    @node_wrapper
    def outer(state: State) -> dict[str, Any]:
        return {"notes": sub.invoke({"topic": "x"})["notes"]}

    @node_wrapper
    def approve(state: State) -> dict[str, Any]:
        return {"draft": str(interrupt("ok?"))}

    graph = StateGraph(State)
    graph.add_node("research", fan_out_graph(BRANCHES, use_async=False))
    graph.add_node(outer).add_node(approve)
    graph.add_edge(START, "research").add_edge("research", "outer")
    graph.add_edge("outer", "approve").add_edge("approve", END)
    compiled = graph.compile(checkpointer=InMemorySaver())
    compiled.invoke({"topic": "x"}, config())
    compiled.invoke(Command(resume="yes"), config())
    live = finished(memory)
    backfill = spans_from_logs(read_node_logs("t1"))
    # 8 node runs, 3 LLM calls, a placeholder and 2 roots
    assert len(live) == len(backfill) == 14
    assert sorted(map(span_key, live)) == sorted(map(span_key, backfill))


# -- the sink's own behaviour -------------------------------------------------------


def test_idle_trace_is_closed_by_the_clock() -> None:
    """A trace whose last run ended idle_seconds ago gets its root."""
    assembler = TraceAssembler(make_resource(), 16384, idle_seconds=60.0)
    first = assembler.add(make_log("t1", "draft", tokens=None))
    assert [span.name for span in first] == ["draft"]
    assert assembler.close_idle(T0 + timedelta(seconds=30), keep=100) == []
    closed = assembler.close_idle(T0 + timedelta(seconds=61), keep=100)
    assert [span.name for span in closed] == ["invoke_workflow"]
    assert closed[0].context is not None and first[0].context is not None
    assert closed[0].context.trace_id == first[0].context.trace_id
    assert assembler.open_traces() == 0


def test_a_run_after_the_root_was_sent_opens_a_new_root() -> None:
    """A node run of a trace whose root was sent gets a new root with a new
    span id (generation 1) covering only the later runs; the old root is
    never sent again."""
    assembler = TraceAssembler(make_resource(), 16384, idle_seconds=60.0)
    spans = assembler.add(make_log("t1", "draft", tokens=None))
    spans += assembler.close_idle(T0 + timedelta(seconds=61), keep=100)
    late = make_log("t1", "review", start_ms=90_000, status="error", tokens=None)
    spans += assembler.add(late)
    spans += assembler.close_all()
    first, second = roots(spans)
    assert first.context is not None and second.context is not None
    assert first.context.trace_id == second.context.trace_id
    assert first.context.span_id != second.context.span_id
    assert (first.attributes or {})["langgraph.node_runs"] == 1
    assert first.status.status_code is StatusCode.OK
    assert (second.attributes or {})["langgraph.root_generation"] == 1
    assert (second.attributes or {})["langgraph.node_runs"] == 1
    assert second.status.status_code is StatusCode.ERROR
    assert second.start_time == ns(late.started_at)
    (review,) = by_name(spans)["review"]
    assert parent_id(review) == second.context.span_id


def test_an_idle_gap_in_the_records_splits_the_backfill_alike() -> None:
    """The backfill starts a new root where a run starts idle_seconds after
    the trace's last end, as the live sink did; live and backfill agree."""
    logs = [
        make_log("t1", "draft"),
        make_log("t1", "review", start_ms=20_000),
        make_log("t1", "publish", start_ms=200_000),
    ]
    exporter = InMemorySpanExporter()
    sink = OpenTelemetrySink(SimpleSpanProcessor(exporter), root_idle_seconds=60.0)
    for log in logs:
        # the live sink's clock reads each run's end as it arrives
        sink._clock = lambda log=log: log.ended_at  # type: ignore[misc]
        sink.export(log)
    sink.shutdown()
    live = list(exporter.get_finished_spans())
    backfill = spans_from_logs(logs, root_idle_seconds=60.0)
    assert sorted(map(span_key, live)) == sorted(map(span_key, backfill))
    runs = sorted(
        (span.attributes or {})["langgraph.node_runs"] for span in roots(backfill)
    )
    assert runs == [1, 2]


def test_too_many_open_traces_close_the_oldest() -> None:
    """Past the bound of open traces the least recently active one is closed."""
    assembler = TraceAssembler(make_resource(), 16384)
    for index in range(3):
        assembler.add(make_log("t%d" % index, start_ms=index))
    closed = assembler.close_idle(T0, keep=2)
    assert [(span.attributes or {})["langgraph.thread_id"] for span in closed] == ["t0"]


def test_shutdown_sends_pending_roots_once() -> None:
    """shutdown closes open traces and is idempotent; later runs are ignored."""
    exporter = InMemorySpanExporter()
    sink = OpenTelemetrySink(SimpleSpanProcessor(exporter))
    sink.export(make_log(tokens=None))
    sink.shutdown()
    sink.shutdown()
    sink.export(make_log(start_ms=50, tokens=None))
    assert sorted(s.name for s in exporter.get_finished_spans()) == [
        "draft",
        "invoke_workflow",
    ]


class Unreachable(SpanExporter):
    """An exporter whose collector is down."""

    def __init__(self) -> None:
        self.calls = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.calls += 1
        raise ConnectionError("collector unreachable")


def test_dead_collector_never_reaches_the_node(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With the default batching and a failing exporter, results are unchanged
    and the failures are a few warnings."""
    exporter = Unreachable()
    sink = OpenTelemetrySink(exporter=exporter)
    set_sinks([sink])
    graph = write_graph()
    for index in range(30):
        graph = write_graph()
        result = graph.invoke({"topic": "AI"}, config("t%d" % index))
        assert result["draft"] == "draft"
        sink.force_flush()
    sink.shutdown()
    assert exporter.calls >= 1
    ours = [
        r
        for r in caplog.records
        if r.name == "editorial_ai.observability" and r.levelno == logging.WARNING
    ]
    assert 1 <= len(ours) <= 10
    assert "collector unreachable" in ours[0].getMessage()


def test_failed_export_pauses_then_retries() -> None:
    """After a failure batches are dropped for a growing while, then tried
    again; an explicit flush tries at once; a success ends the pause."""
    clock = {"now": 100.0}
    inner = Unreachable()
    exporter = _PausingExporter(inner, "collector", clock=lambda: clock["now"])
    batch = [ReadableSpan("x")]
    assert exporter.export(batch) is SpanExportResult.FAILURE
    clock["now"] = 104.0
    assert exporter.export(batch) is SpanExportResult.FAILURE
    assert inner.calls == 1
    clock["now"] = 105.5
    exporter.export(batch)
    assert inner.calls == 2
    clock["now"] = 114.0  # the second pause is twice as long
    exporter.export(batch)
    assert inner.calls == 2
    exporter.try_now()  # an explicit flush tries at once
    exporter.export(batch)
    assert inner.calls == 3
    exporter.exporter = InMemorySpanExporter()
    clock["now"] = 200.0
    assert exporter.export(batch) is SpanExportResult.SUCCESS
    assert exporter.export(batch) is SpanExportResult.SUCCESS


def test_configuration_errors_raise_at_once() -> None:
    """Contradictory or out-of-range arguments are ValueErrors at construction."""
    processor = SimpleSpanProcessor(InMemorySpanExporter())
    with pytest.raises(ValueError):
        OpenTelemetrySink(processor, endpoint="http://127.0.0.1:4318/v1/traces")
    with pytest.raises(ValueError):
        OpenTelemetrySink(processor, max_attribute_bytes=10)
    with pytest.raises(ValueError):
        OpenTelemetrySink(processor, root_idle_seconds=0)


def test_service_name_argument_then_environment_then_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """service.name: the argument, else $OTEL_SERVICE_NAME, else editorial-ai."""
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert make_resource().attributes["service.name"] == "editorial-ai"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "newsroom")
    assert make_resource().attributes["service.name"] == "newsroom"
    assert make_resource("desk").attributes["service.name"] == "desk"


def test_provider_from_model_name() -> None:
    """Providers are named only where the model name plainly says so."""
    assert provider_of("gpt-4o-mini") == "openai"
    assert provider_of("o3-mini") == "openai"
    assert provider_of("models/gemini-2.5-flash") == "gcp.gen_ai"
    assert provider_of("us.anthropic.claude-sonnet-4-5-v1:0") == "aws.bedrock"
    assert provider_of("llama-3.1-70b") is None
    assert provider_of(None) is None


def test_span_ids_are_stable_and_distinct() -> None:
    """The same record gives the same ids; runs differing in time or attempt differ."""
    logs: list[NodeRunLog] = [
        make_log(),
        make_log(),
        make_log(start_ms=1),
        make_log(attempt=2),
    ]
    ids = [spans_from_logs([log])[0].context for log in logs]
    assert ids[0] == ids[1]
    assert len({context.span_id for context in ids if context}) == 3


# -- LLM calls as spans -------------------------------------------------------------


def test_call_spans_keep_recorded_times_and_details() -> None:
    """A call with its own start and end keeps them; cache reads and writes
    and reasoning appear under both vocabularies; a failed call is ERROR."""
    start = T0 + timedelta(milliseconds=2)
    calls = [
        TokenUsage(
            prompt_tokens=1000,
            completion_tokens=200,
            cached_tokens=600,
            cache_creation_tokens=100,
            reasoning_tokens=50,
            model_name="claude-sonnet-4-5",
            provider="anthropic",
            run_id="run-1",
            started_at=start,
            ended_at=start + timedelta(milliseconds=3),
        ),
        TokenUsage(
            model_name="gemini-2.5-flash",
            provider="google_genai",
            usage_reported=False,
            status="error",
            error_type="ResourceExhausted",
            started_at=start + timedelta(milliseconds=4),
            ended_at=start + timedelta(milliseconds=5),
        ),
    ]
    log = make_log(tokens=None, token_usage=calls)
    spans = spans_from_logs([log])
    (node,) = node_spans(spans)
    first, second = sorted(children_of(spans, node), key=lambda s: s.start_time or 0)
    assert (first.start_time, first.end_time) == (
        ns(start),
        ns(start + timedelta(milliseconds=3)),
    )
    got = dict(first.attributes or {})
    assert got["langgraph.call_times"] == "recorded"
    assert got["langgraph.llm_run_id"] == "run-1"
    assert got["gen_ai.usage.cache_read.input_tokens"] == 600
    assert got["llm.token_count.prompt_details.cache_read"] == 600
    assert got["gen_ai.usage.cache_creation.input_tokens"] == 100
    assert got["llm.token_count.prompt_details.cache_write"] == 100
    assert got["gen_ai.usage.reasoning.output_tokens"] == 50
    assert got["llm.token_count.completion_details.reasoning"] == 50
    assert got["gen_ai.provider.name"] == got["llm.provider"] == "anthropic"
    assert first.status.status_code is StatusCode.OK
    failed = dict(second.attributes or {})
    assert second.status.status_code is StatusCode.ERROR
    assert failed["error.type"] == "ResourceExhausted"
    assert failed["gen_ai.provider.name"] == "gcp.gemini"
    assert failed["llm.provider"] == "google"
    assert failed["langgraph.usage_reported"] is False
    assert not any("token" in key for key in failed)
    assert [event.name for event in second.events] == ["exception"]


def test_calls_without_times_share_the_node_time_in_order() -> None:
    """Calls recorded without their own times split the node's span evenly,
    in record order, marked estimated."""
    calls = [TokenUsage(prompt_tokens=n, model_name="gpt-4o") for n in (1, 2, 3)]
    log = make_log(tokens=None, token_usage=calls, duration_ms=30.0)
    spans = spans_from_logs([log])
    (node,) = node_spans(spans)
    ordered = sorted(children_of(spans, node), key=lambda s: s.start_time or 0)
    assert [(s.attributes or {})["llm.token_count.prompt"] for s in ordered] == [
        1,
        2,
        3,
    ]
    assert ordered[0].start_time == node.start_time
    assert ordered[-1].end_time == node.end_time
    for before, after in itertools.pairwise(ordered):
        assert before.end_time == after.start_time
    assert {(s.attributes or {})["langgraph.call_times"] for s in ordered} == {
        "estimated"
    }


# -- the root at the end of the graph run ---------------------------------------------


def test_root_is_sent_when_the_graph_run_ends_with_its_input_and_output(
    log_dir: Path,
) -> None:
    """With the handler on the graph run, the root leaves as the run ends
    (no flush), carrying the graph's input and final output; export from
    the JSONL gives the same spans, root included."""
    exporter = InMemorySpanExporter()
    sink = OpenTelemetrySink(SimpleSpanProcessor(exporter), capture_io=True)
    set_sinks([JsonlSink(), sink])
    result = write_graph().invoke({"topic": "AI"}, config())
    live = list(exporter.get_finished_spans())
    (root,) = roots(live)
    attributes = root.attributes or {}
    assert json.loads(str(attributes["input.value"])) == {"topic": "AI"}
    assert json.loads(str(attributes["output.value"])) == result
    assert attributes["output.mime_type"] == "application/json"
    sink.shutdown()
    assert len(exporter.get_finished_spans()) == len(live)  # nothing re-sent
    logs = read_node_logs("t1")
    graph_runs = read_graph_runs("t1")
    assert list(graph_runs) == [logs[0].invocation_id]
    backfill = spans_from_logs(logs, capture_io=True, graph_runs=graph_runs)
    assert sorted(map(span_key, live)) == sorted(map(span_key, backfill))


def test_two_handlers_end_a_graph_run_once(log_dir: Path) -> None:
    """Two handlers on one graph run: one root, one graph-run record."""
    exporter = InMemorySpanExporter()
    sink = OpenTelemetrySink(SimpleSpanProcessor(exporter), capture_io=True)
    set_sinks([JsonlSink(), sink])
    run_config: Any = {
        "configurable": {"thread_id": "t1"},
        "callbacks": [TokenUsageCallbackHandler(), TokenUsageCallbackHandler()],
    }
    write_graph().invoke({"topic": "AI"}, run_config)
    assert len(roots(exporter.get_finished_spans())) == 1
    lines = Path(graph_runs_path("t1")).read_text().splitlines()
    assert len(lines) == 1
    sink.shutdown()


def test_a_failing_graph_run_still_sends_its_root_once() -> None:
    """A graph run that raises ends its trace: the root is ERROR, no output."""
    exporter = InMemorySpanExporter()
    sink = OpenTelemetrySink(SimpleSpanProcessor(exporter), capture_io=True)
    set_sinks([JsonlSink(), sink])

    @node_wrapper
    def check(state: State) -> dict[str, Any]:
        raise ValueError("no source")

    with pytest.raises(ValueError):
        line_graph(check).invoke({"topic": "x"}, config())
    (root,) = roots(exporter.get_finished_spans())
    assert root.status.status_code is StatusCode.ERROR
    assert "input.value" in (root.attributes or {})
    assert "output.value" not in (root.attributes or {})
    sink.shutdown()
    assert len(roots(exporter.get_finished_spans())) == 1


class BrokenAtTheEnd:
    """A sink whose graph-run end raises."""

    def export(self, log: NodeRunLog) -> None:
        pass

    def end_invocation(self, *args: Any) -> None:
        raise RuntimeError("sink bug")


def test_without_capture_no_graph_run_is_kept(log_dir: Path) -> None:
    """JSONL alone, or OpenTelemetry without capture: no graph-runs file, and
    the root still leaves at the end of the graph run, without state."""
    write_graph().invoke({"topic": "AI"}, config())
    exporter = InMemorySpanExporter()
    sink = OpenTelemetrySink(SimpleSpanProcessor(exporter), capture_io=False)
    set_sinks([JsonlSink(), sink])
    write_graph().invoke({"topic": "ML"}, config())
    (root,) = roots(exporter.get_finished_spans())
    assert "input.value" not in (root.attributes or {})
    assert not (log_dir / "graph-runs").exists()
    sink.shutdown()


def test_a_sink_failing_at_the_graph_run_end_is_contained(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The graph's result stands; the failure is one warning."""
    set_sinks([BrokenAtTheEnd()])
    result = write_graph().invoke({"topic": "AI"}, config())
    assert result["draft"] == "draft"
    assert "sink bug" in caplog.text


def test_example_pipeline_live_and_backfill_agree_with_capture(log_dir: Path) -> None:
    """The example pipeline (parallel async branches, a loop, an interrupt and
    its resume) with state captured: the live spans and export-otel's spans
    from the JSONL and graph-runs files are the same, roots included."""
    exporter = InMemorySpanExporter()
    sink = OpenTelemetrySink(SimpleSpanProcessor(exporter), capture_io=True)
    set_sinks([JsonlSink(), sink])
    example = load_example()
    graph = example.build_graph()
    run_config: Any = {
        "configurable": {"thread_id": "example"},
        "callbacks": [TokenUsageCallbackHandler()],
    }
    asyncio.run(graph.ainvoke({"topic": "AI"}, run_config))
    asyncio.run(graph.ainvoke(Command(resume={"approved": True}), run_config))
    live = list(exporter.get_finished_spans())  # before any flush: roots sent
    sink.shutdown()
    assert len(exporter.get_finished_spans()) == len(live)
    backfill = spans_from_logs(
        read_node_logs("example"),
        capture_io=True,
        graph_runs=read_graph_runs("example"),
    )
    assert sorted(map(span_key, live)) == sorted(map(span_key, backfill))
    assert len(roots(live)) == 2 and len(call_spans(live)) == 7
    for root in roots(live):
        assert {"input.value", "output.value"} <= set(root.attributes or {})
