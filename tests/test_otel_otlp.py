"""End to end over real OTLP/HTTP: the live sink chosen by environment, and the
``export-otel`` backfill command, both read back by a receiver on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from opentelemetry.sdk.trace import ReadableSpan

from editorial_ai.observability import (
    NodeRunLog,
    TokenUsageCallbackHandler,
    append_node_log,
    node_wrapper,
    read_node_logs,
)
from editorial_ai.observability import sinks as sinks_module
from editorial_ai.observability.otel import OpenTelemetrySink, spans_from_logs
from editorial_ai.observability.otel._attributes import ns
from editorial_ai.observability.sinks import flush_sinks, get_sinks

from ._fakes import chat_model, reply
from ._otlp import ReceivedSpan, otlp_receiver
from ._proc import SRC, free_port
from .test_otel import State, line_graph


def pipeline(thread_id: str) -> None:
    """research (2 calls) -> draft (subgraph: outline, write) with tokens."""
    research_model = chat_model(
        reply("facts", 400, 40, model="gpt-4o-mini"),
        reply("more facts", 500, 50, model="gpt-4o-mini"),
    )
    writer = chat_model(reply("text", 1200, 300, model="claude-sonnet-4-5"))

    @node_wrapper
    def research(state: State) -> dict[str, Any]:
        research_model.invoke("find")
        research_model.invoke("find more")
        return {"notes": ["facts"]}

    @node_wrapper
    def outline(state: State) -> dict[str, Any]:
        return {"notes": ["outline"]}

    @node_wrapper
    def write(state: State) -> dict[str, Any]:
        return {"draft": str(writer.invoke("write").content)}

    sub = line_graph(outline, write)

    @node_wrapper
    def draft(state: State) -> dict[str, Any]:
        return {"draft": sub.invoke({"topic": state["topic"]})["draft"]}

    builder = StateGraph(State)
    builder.add_node(research).add_node(draft)
    builder.add_edge(START, "research").add_edge("research", "draft")
    builder.add_edge("draft", END)
    config: Any = {
        "configurable": {"thread_id": thread_id},
        "callbacks": [TokenUsageCallbackHandler()],
    }
    builder.compile().invoke({"topic": "AI"}, config)


def span_count(logs: list[NodeRunLog]) -> int:
    """Node runs, their LLM calls, one root."""
    return len(logs) + sum(len(log.token_usage) for log in logs) + 1


def check_received(received: list[ReceivedSpan], logs: list[NodeRunLog]) -> None:
    """The spans on the wire match the records and the in-process conversion."""
    expected: list[ReadableSpan] = spans_from_logs(logs, service_name="e2e")
    assert len(received) == len(expected) == span_count(logs) == 8
    wire = {span.span_id: span for span in received}
    for span in expected:
        assert span.context is not None
        got = wire[span.context.span_id]
        assert got.name == span.name and got.trace_id == span.context.trace_id
        assert got.parent_span_id == (span.parent.span_id if span.parent else None)
        assert (got.start_time, got.end_time) == (span.start_time, span.end_time)
        assert got.attributes == {
            key: list(value) if isinstance(value, tuple | list) else value
            for key, value in (span.attributes or {}).items()
        }
        assert got.service_name == "e2e"
    by_name = {span.name: span for span in received}
    root, draft = by_name["invoke_workflow"], by_name["draft"]
    research_calls = [
        span for span in received if span.parent_span_id == by_name["research"].span_id
    ]
    assert root.parent_span_id is None
    assert by_name["research"].parent_span_id == root.span_id
    assert draft.parent_span_id == root.span_id
    assert by_name["outline"].parent_span_id == draft.span_id
    assert by_name["write"].parent_span_id == draft.span_id
    assert len({span.trace_id for span in received}) == 1
    assert "gen_ai.usage.input_tokens" not in by_name["research"].attributes
    assert sorted(
        (
            call.name,
            call.attributes["gen_ai.usage.input_tokens"],
            call.attributes["gen_ai.usage.output_tokens"],
        )
        for call in research_calls
    ) == [("chat gpt-4o-mini", 400, 40), ("chat gpt-4o-mini", 500, 50)]
    write_call = by_name["chat claude-sonnet-4-5"]
    assert write_call.parent_span_id == by_name["write"].span_id
    assert write_call.attributes["llm.token_count.prompt"] == 1200
    assert write_call.attributes["llm.token_count.completion"] == 300
    assert write_call.attributes["gen_ai.provider.name"] == "anthropic"
    for log in logs:
        assert by_name[log.node_name].start_time == ns(log.started_at)
        assert by_name[log.node_name].end_time == ns(log.ended_at)


def test_live_sink_from_environment_sends_over_otlp_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """EDITORIAL_AI_SINKS=jsonl,otel with the standard OTEL_* variables: a real
    graph's spans reach the receiver with their parents, times and tokens."""
    monkeypatch.setattr(sinks_module, "_from_env", None)
    with otlp_receiver() as receiver:
        monkeypatch.setenv("EDITORIAL_AI_SINKS", "jsonl,otel")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.url)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "e2e")
        otel_sinks = [s for s in get_sinks() if isinstance(s, OpenTelemetrySink)]
        assert len(otel_sinks) == 1
        try:
            pipeline("live-thread")
            flush_sinks()
            logs = read_node_logs("live-thread")
            received = receiver.wait_for(span_count(logs))
        finally:
            otel_sinks[0].shutdown()
    check_received(received, logs)


def run_cli(*args: str, log_dir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=SRC, EDITORIAL_AI_LOG_DIR=str(log_dir))
    env["OTEL_SERVICE_NAME"] = "e2e"
    return subprocess.run(
        [sys.executable, "-m", "editorial_ai.observability", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_backfill_command_sends_recorded_threads(log_dir: Path) -> None:
    """export-otel reads the JSONL and sends the same spans over OTLP/HTTP."""
    pipeline("laptop-thread")
    pipeline("other-thread")
    with otlp_receiver() as receiver:
        result = run_cli(
            "export-otel", "laptop-thread", "--endpoint", receiver.url, log_dir=log_dir
        )
        logs = read_node_logs("laptop-thread")
        received = receiver.wait_for(span_count(logs))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "exported %d spans from 1 threads to %s\n" % (
        span_count(logs),
        receiver.url,
    )
    check_received(received, logs)


def test_backfill_without_ids_sends_every_thread(log_dir: Path) -> None:
    """Without thread ids every recorded thread is sent."""
    pipeline("first")
    pipeline("second")
    with otlp_receiver() as receiver:
        result = run_cli("export-otel", "--endpoint", receiver.url, log_dir=log_dir)
        expected = span_count(read_node_logs("first")) + span_count(
            read_node_logs("second")
        )
        received = receiver.wait_for(expected)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("exported %d spans from 2 threads" % expected)
    assert len(received) == expected
    threads = {span.attributes["langgraph.thread_id"] for span in received}
    assert threads == {"first", "second"}


def test_unreachable_endpoint_is_a_one_line_error(log_dir: Path) -> None:
    """Nothing listening: exit 1 with one line on stderr, no traceback."""
    pipeline("t1")
    url = "http://127.0.0.1:%d/v1/traces" % free_port()
    result = run_cli(
        "export-otel", "--endpoint", url, "--timeout", "1", log_dir=log_dir
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("editorial-ai-obs: could not export to %s" % url)


def test_endpoint_answering_an_error_is_a_one_line_error(log_dir: Path) -> None:
    """A server that refuses the path (404) fails the command in one line."""
    pipeline("t1")
    with otlp_receiver() as receiver:
        url = receiver.url.replace("/v1/traces", "/wrong")
        result = run_cli("export-otel", "--endpoint", url, log_dir=log_dir)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and "404" in result.stderr


def test_unknown_thread_is_an_error_before_sending(log_dir: Path) -> None:
    """An unknown thread id exits 1 and nothing is sent."""
    pipeline("t1")
    with otlp_receiver() as receiver:
        result = run_cli(
            "export-otel", "t1", "nope", "--endpoint", receiver.url, log_dir=log_dir
        )
        assert receiver.requests == 0
    assert result.returncode == 1
    assert result.stderr == "editorial-ai-obs: no such thread: 'nope'\n"


def test_backfill_takes_the_live_idle_rule(log_dir: Path) -> None:
    """--root-idle-seconds splits a thread's trace where the live sink would:
    two node runs a second apart get two roots at 0.5 s, one at 60 s."""
    from .conftest import make_log

    for log in (make_log("idle"), make_log("idle", "review", start_ms=1000)):
        append_node_log(log)
    roots = {}
    for idle in ("0.5", "60"):
        with otlp_receiver() as receiver:
            result = run_cli(
                "export-otel",
                "idle",
                "--endpoint",
                receiver.url,
                "--root-idle-seconds",
                idle,
                log_dir=log_dir,
            )
            assert result.returncode == 0, result.stderr
            received = receiver.wait_for(int(result.stdout.split()[1]))
        roots[idle] = [span for span in received if span.parent_span_id is None]
    assert (len(roots["0.5"]), len(roots["60"])) == (2, 1)
    result = run_cli("export-otel", "idle", "--root-idle-seconds", "0", log_dir=log_dir)
    assert result.returncode == 1 and "must be > 0" in result.stderr
