"""Against a running Arize Phoenix: the example pipeline sent live, recorded
threads sent by ``export-otel``, and everything read back over Phoenix's
GraphQL API compared with the JSONL records (kinds, tokens and cost per call,
per node and per trace, both models of a two-model node, state as input and
output, OK and ERROR, no duplicates after a backfill of what was sent live).

``.ci/run`` installs ``arize-phoenix``; without it this module skips outside
CI and fails under ``$CI``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph.types import Command

from editorial_ai.observability import (
    NodeRunLog,
    TokenUsageCallbackHandler,
    node_wrapper,
    read_node_logs,
)
from editorial_ai.observability.otel import OpenTelemetrySink, spans_from_logs
from editorial_ai.observability.pricing import (
    cost_of_usage,
    node_run_cost,
    thread_cost,
)
from editorial_ai.observability.sinks import JsonlSink, set_sinks

from ._example import load_example
from ._fakes import chat_model, reply
from ._phoenix import Phoenix, PhoenixSpan, phoenix_server
from ._proc import SRC
from .test_otel import State, line_graph


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phoenix]:
    """One Phoenix for the module, stopped by its process id at the end."""
    with phoenix_server(tmp_path_factory.mktemp("phoenix")) as server:
        yield server


def project_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """A Phoenix project of the test's own, named by resource attribute."""
    project = "test-%s" % uuid.uuid4().hex[:8]
    monkeypatch.setenv(
        "OTEL_RESOURCE_ATTRIBUTES", "openinference.project.name=%s" % project
    )
    return project


def export_otel(phoenix: Phoenix, *thread_ids: str) -> None:
    """``editorial-ai-obs export-otel --io`` in a process of its own."""
    env = dict(os.environ, PYTHONPATH=SRC)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "editorial_ai.observability",
            "export-otel",
            *thread_ids,
            "--io",
            "--endpoint",
            phoenix.traces_endpoint,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def two_model_thread(thread_id: str) -> None:
    """write (gpt-4o-mini with a cache read and reasoning, then
    claude-sonnet-4-5 with a cache write) -> check, which fails."""
    planned = reply("outline", 300, 40, model="gpt-4o-mini")
    assert planned.usage_metadata is not None
    planned.usage_metadata["input_token_details"] = {"cache_read": 200}
    planned.usage_metadata["output_token_details"] = {"reasoning": 10}
    drafted = reply("draft", 1200, 300, model="claude-sonnet-4-5")
    assert drafted.usage_metadata is not None
    drafted.usage_metadata["input_token_details"] = {"cache_creation": 100}
    outline = chat_model(planned)
    writer = chat_model(drafted)

    @node_wrapper
    def write(state: State) -> dict[str, Any]:
        plan = outline.invoke("outline " + state["topic"]).content
        return {"draft": str(writer.invoke("write " + str(plan)).content)}

    @node_wrapper
    def check(state: State) -> dict[str, Any]:
        raise ValueError("no source for claim 3")

    config: Any = {
        "configurable": {"thread_id": thread_id},
        "callbacks": [TokenUsageCallbackHandler()],
    }
    with pytest.raises(ValueError):
        line_graph(write, check).invoke({"topic": "AI"}, config)


def hex16(value: int) -> str:
    return format(value, "016x")


def compare(
    phoenix: Phoenix, project: str, found: list[PhoenixSpan], logs: list[NodeRunLog]
) -> tuple[dict[str, PhoenixSpan], dict[str, NodeRunLog]]:
    """Phoenix's spans of ``logs`` equal what the records say; returns them
    by span id, and the node runs by their span's id."""
    expected = spans_from_logs(logs, capture_io=True)
    by_id = {span.span_id: span for span in found}
    assert len(by_id) == len(found), "Phoenix holds a span twice"
    for span in expected:
        assert span.context is not None
        got = by_id[hex16(span.context.span_id)]
        attributes = span.attributes or {}
        assert got.name == span.name
        assert got.kind == str(attributes["openinference.span.kind"]).lower()
        assert got.parent_id == (hex16(span.parent.span_id) if span.parent else None)
        assert got.status == span.status.status_code.name
    logs_by_span = {hex16(_node_id(log, expected)): log for log in logs}
    for span_id, log in logs_by_span.items():
        node = by_id[span_id]
        assert node.kind == "chain" and node.total_tokens == 0  # usage on calls
        assert node.cumulative_tokens == log.total_tokens
        calls = sorted(
            (s for s in found if s.parent_id == span_id), key=lambda s: s.name
        )
        assert len(calls) == len(log.token_usage)
        usages = sorted(log.token_usage, key=lambda u: "chat %s" % u.model_name)
        for call, usage in zip(calls, usages, strict=True):
            assert call.kind == "llm" and call.status == "OK"
            assert call.attributes["langgraph"]["call_times"] == "recorded"
            details = call.attributes["llm"]["token_count"].get("prompt_details", {})
            assert details.get("cache_read", 0) == usage.cached_tokens
            assert details.get("cache_write", 0) == usage.cache_creation_tokens
            assert call.output is None  # no made-up {"model": ...} output
            assert call.attributes["llm"]["model_name"] == usage.model_name
            assert call.prompt_tokens == usage.prompt_tokens
            assert call.completion_tokens == usage.completion_tokens
            assert call.total_tokens == usage.total_tokens
            assert call.cost == pytest.approx(cost_of_usage(usage), rel=1e-9)
        if calls:
            node_cost = sum(call.cost or 0.0 for call in calls)
            assert node_cost == pytest.approx(
                node_run_cost(log).estimated_cost_usd, rel=1e-9
            )
        if log.input_state is not None:
            assert node.input is not None
            assert node.input["mimeType"] == "json"
            assert json.loads(node.input["value"]) == log.input_state
        if log.output_state is not None:
            assert node.output is not None
            assert json.loads(node.output["value"]) == log.output_state
        assert "response" not in node.attributes.get("gen_ai", {})
        assert "usage" not in node.attributes.get("gen_ai", {})
    for root in (s for s in expected if s.parent is None):
        assert root.context is not None
        members = [
            log for log in logs if _node_trace(log, expected) == root.context.trace_id
        ]
        got = by_id[hex16(root.context.span_id)]
        assert got.cumulative_tokens == sum(log.total_tokens for log in members)
        spans, cost = phoenix.trace_cost(project, format(root.context.trace_id, "032x"))
        assert spans == sum(1 + len(log.token_usage) for log in members) + 1
        # Phoenix has no cost for a trace without LLM calls; we say 0.
        assert (cost or 0.0) == pytest.approx(
            thread_cost(members).estimated_cost_usd, rel=1e-9
        )
    return by_id, logs_by_span


def _node_id(log: NodeRunLog, expected: list[Any]) -> int:
    for span in expected:
        attributes = span.attributes or {}
        if (
            attributes.get("openinference.span.kind") == "CHAIN"
            and span.parent is not None
            and attributes.get("langgraph.node") == log.node_name
            and span.start_time == _ns(log)
        ):
            return int(span.context.span_id)
    raise AssertionError("no span for %s" % log.node_name)


def _node_trace(log: NodeRunLog, expected: list[Any]) -> int:
    for span in expected:
        if span.context and span.context.span_id == _node_id(log, expected):
            return int(span.context.trace_id)
    raise AssertionError("no trace for %s" % log.node_name)


def _ns(log: NodeRunLog) -> int:
    from editorial_ai.observability.otel._attributes import ns

    return ns(log.started_at)


def descendants(found: list[PhoenixSpan], span: PhoenixSpan) -> list[PhoenixSpan]:
    children = [child for child in found if child.parent_id == span.span_id]
    return children + [d for child in children for d in descendants(found, child)]


def span_table(found: list[PhoenixSpan], runs: dict[str, NodeRunLog]) -> str:
    """The spans as Phoenix returns them, beside the JSONL's figures."""
    names = {span.span_id: span.name for span in found}
    lines = [
        "%-24s %-16s %-5s %-18s %6s %9s %-3s %-3s | %s"
        % ("name", "parent", "kind", "model", "tokens", "cost $", "in", "out", "JSONL")
    ]
    for span in found:
        tokens = span.total_tokens if span.kind == "llm" else span.cumulative_tokens
        cost = span.cost
        if span.kind == "chain":  # what its calls cost, at any depth
            cost = sum(c.cost or 0.0 for c in descendants(found, span))
        log = runs.get(span.span_id)
        jsonl = ""
        if log is not None:
            recorded = node_run_cost(log).estimated_cost_usd
            jsonl = "%d tokens, $%.6f" % (log.total_tokens, recorded or 0.0)
        lines.append(
            "%-24s %-16s %-5s %-18s %6d %9s %-3s %-3s | %s"
            % (
                span.name[:24],
                names.get(span.parent_id or "", "-")[:16],
                span.kind,
                (span.attributes.get("llm", {}).get("model_name") or "-")[:18],
                tokens,
                "%.6f" % cost if cost else "-",
                "yes" if span.input else "-",
                "yes" if span.output else "-",
                jsonl,
            )
        )
    return "\n".join(lines)


def test_example_pipeline_live_then_backfill_in_phoenix(
    phoenix: Phoenix, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example pipeline sent live and a two-model thread sent by
    export-otel read back from Phoenix equal to the records; backfilling the
    live thread adds no span."""
    project = project_env(monkeypatch)
    sink = OpenTelemetrySink(endpoint=phoenix.traces_endpoint, capture_io=True)
    set_sinks([JsonlSink(), sink])
    example = load_example()
    graph = example.build_graph()
    config: Any = {
        "configurable": {"thread_id": "example"},
        "callbacks": [TokenUsageCallbackHandler()],
    }
    asyncio.run(graph.ainvoke({"topic": "AI in local newsrooms"}, config))
    asyncio.run(graph.ainvoke(Command(resume={"approved": True}), config))
    sink.shutdown()
    set_sinks([JsonlSink()])
    logs = read_node_logs("example")
    expected = len(spans_from_logs(logs))
    live = phoenix.wait_for_spans(project, lambda spans: len(spans) >= expected)
    assert len(live) == expected
    by_id, runs = compare(phoenix, project, live, logs)
    roots = [span for span in live if span.parent_id is None]
    assert sorted(root.status for root in roots) == ["OK", "UNSET"]  # interrupted
    for root in roots:
        assert root.kind == "chain" and root.input is not None
        assert root.output is not None  # the graph's input and final output
    print("\nexample pipeline, live:\n" + span_table(live, runs))

    # Recorded to JSONL only, with capture on (so the graph's input and
    # output are kept for the backfill's root), then sent by export-otel.
    monkeypatch.setenv("EDITORIAL_AI_OTEL_CAPTURE_IO", "true")
    two_model_thread("two-models")
    models_logs = read_node_logs("two-models")
    # Backfill the live thread again, then the new thread: Phoenix ingests in
    # order, so once the new thread is in, the old one was seen again.
    export_otel(phoenix, "example", "two-models")
    total = expected + len(spans_from_logs(models_logs))
    both = phoenix.wait_for_spans(project, lambda spans: len(spans) >= total)
    assert len(both) == total  # nothing twice
    again = {span.span_id: span for span in both}
    for span_id, span in by_id.items():
        assert again[span_id] == span
    new = [span for span in both if span.span_id not in by_id]
    _, new_runs = compare(phoenix, project, new, models_logs)
    (write,) = [span for span in new if span.name == "write"]
    calls = [span for span in new if span.parent_id == write.span_id]
    assert sorted(call.attributes["llm"]["model_name"] for call in calls) == [
        "claude-sonnet-4-5",
        "gpt-4o-mini",
    ]
    (check,) = [span for span in new if span.name == "check"]
    assert check.status == "ERROR"
    (root,) = [span for span in new if span.parent_id is None]
    assert root.status == "ERROR"
    assert root.input is not None  # the graph's input, kept for the backfill
    assert json.loads(root.input["value"]) == {"topic": "AI"}
    print("\ntwo-model node, export-otel:\n" + span_table(new, new_runs))
