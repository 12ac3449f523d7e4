"""editorial-ai-obs through a real subprocess, on logs written by a real graph."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy
from typing_extensions import TypedDict

from editorial_ai.observability import TokenUsageCallbackHandler, node_wrapper

from ._fakes import chat_model, reply
from ._proc import SRC


class State(TypedDict, total=False):
    topic: str
    draft: str


def run_cli(
    *args: str, log_dir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=SRC)
    if log_dir is not None:
        env["EDITORIAL_AI_LOG_DIR"] = str(log_dir)
    return subprocess.run(
        [sys.executable, "-m", "editorial_ai.observability", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def pipeline(thread_id: str, *, fail: bool = False) -> None:
    model = chat_model(reply("draft text", 1200, 300, model="gpt-4o"))

    @node_wrapper
    def write(state: State) -> dict[str, Any]:
        return {"draft": str(model.invoke("write about " + state["topic"]).content)}

    @node_wrapper
    def check(state: State) -> dict[str, Any]:
        if fail:
            raise ValueError("fact check failed: no source for claim 3")
        return {}

    builder = StateGraph(State)
    builder.add_node(write).add_node(check, retry_policy=RetryPolicy(max_attempts=1))
    builder.add_edge(START, "write").add_edge("write", "check").add_edge("check", END)
    config: Any = {
        "configurable": {"thread_id": thread_id},
        "callbacks": [TokenUsageCallbackHandler()],
    }
    try:
        builder.compile().invoke({"topic": "AI"}, config)
    except ValueError:
        assert fail


def test_runs_lists_threads_with_status_tokens_and_cost(log_dir: Path) -> None:
    """runs prints one row per thread with status, nodes, tokens and cost."""
    pipeline("good-thread")
    pipeline("bad-thread", fail=True)
    result = run_cli("runs", log_dir=log_dir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["THREAD", "STATUS", "NODES"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["good-thread"][1:3] == ["completed", "2"]
    assert rows["bad-thread"][1] == "failed"
    assert "1,500" in rows["good-thread"]
    assert "$0.00600" in rows["good-thread"]  # 1200 * 2.5 + 300 * 10 per million


def test_runs_json_is_the_api_object(log_dir: Path) -> None:
    """runs --json prints {"threads": [PipelineRunSummary, ...]}."""
    pipeline("t-json")
    result = run_cli("runs", "--json", log_dir=log_dir)
    data = json.loads(result.stdout)
    (summary,) = data["threads"]
    assert summary["thread_id"] == "t-json"
    assert summary["node_count"] == 2 and summary["total_tokens"] == 1500
    assert summary["estimated_cost_usd"] == pytest.approx(0.006)


def test_show_prints_rows_and_error_underneath(log_dir: Path) -> None:
    """show prints one row per node run and the error's traceback below its row."""
    pipeline("bad-thread", fail=True)
    result = run_cli("show", "bad-thread", log_dir=log_dir)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "write" in out and "check" in out and "ERROR" in out
    assert "ValueError: fact check failed: no source for claim 3" in out
    assert 'raise ValueError("fact check failed' in out
    assert out.strip().splitlines()[-1].startswith("failed: 2 node runs")


def test_show_json_and_io(log_dir: Path) -> None:
    """show --json prints the logs route's object; snapshots only with --io."""
    pipeline("t-io")
    plain = json.loads(run_cli("show", "t-io", "--json", log_dir=log_dir).stdout)
    assert set(plain) >= {"thread_id", "runs", "summary"}
    assert [run["node_name"] for run in plain["runs"]] == ["write", "check"]
    assert plain["runs"][0]["input_state"] is None
    full = json.loads(run_cli("show", "t-io", "--json", "--io", log_dir=log_dir).stdout)
    assert full["runs"][0]["input_state"] == {"topic": "AI"}
    text = run_cli("show", "t-io", "--io", log_dir=log_dir).stdout
    assert '"topic": "AI"' in text


def test_hostile_thread_id_is_shown(log_dir: Path) -> None:
    """A thread id with a slash and unicode is found by its id."""
    pipeline("../팀/a b")
    result = run_cli("show", "../팀/a b", log_dir=log_dir)
    assert result.returncode == 0, result.stderr
    assert "thread ../팀/a b" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "no-such-thread"], "no such thread"),
        (["runs"], "no threads"),
    ],
)
def test_errors_are_one_line_exit_1(
    log_dir: Path, args: list[str], message: str
) -> None:
    """Unknown thread or empty log dir: one line on stderr, exit 1."""
    log_dir.mkdir(parents=True)
    result = run_cli(*args, log_dir=log_dir)
    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_missing_log_dir_exit_1(tmp_path: Path) -> None:
    """A missing log directory is one line and exit 1 for both commands."""
    for args in (["runs"], ["show", "x"], ["runs", "--json"]):
        result = run_cli(*args, "--log-dir", str(tmp_path / "missing"))
        assert result.returncode == 1, args
        assert result.stderr.count("\n") == 1 and "no log directory" in result.stderr


def test_bad_usage_exit_2(log_dir: Path) -> None:
    """An unknown command is a usage error (exit 2), not a traceback."""
    result = run_cli("explode", log_dir=log_dir)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_long_thread_is_shown_page_by_page(log_dir: Path) -> None:
    """A thread longer than one page comes out whole, oldest first."""
    from editorial_ai.observability import append_node_log

    from .conftest import make_log

    for index in range(1203):
        append_node_log(make_log("long", node_name="n%d" % index, start_ms=-index))
    data = json.loads(run_cli("show", "long", "--json", log_dir=log_dir).stdout)
    assert data["total_runs"] == 1203 and len(data["runs"]) == 1203
    assert data["runs"][0]["node_name"] == "n1202"
    assert data["summary"]["node_count"] == 1203
    table = run_cli("show", "long", log_dir=log_dir).stdout
    assert table.count(" ok ") == 1203


def test_serve_refuses_open_bind_without_key(log_dir: Path) -> None:
    """serve on a non-loopback address without an API key: one line, exit 2."""
    result = run_cli("serve", "--host", "0.0.0.0", log_dir=log_dir)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_total_that_misses_calls_says_so(log_dir: Path) -> None:
    """A call without usage shows as ``+ 1 call unknown`` beside the tokens
    and the cost, in ``runs`` and in ``show``: never a clean-looking total."""
    from ._fakes import SilentModel

    reported = chat_model(reply("draft", 2000, 306, model="gpt-4o-mini"))
    silent = SilentModel(
        messages=iter(
            [AIMessage("no usage", response_metadata={"model_name": "gpt-4o-mini"})]
        )
    )

    @node_wrapper
    def write(state: State) -> dict[str, Any]:
        reported.invoke("x")
        silent.invoke("y")
        return {}

    builder = StateGraph(State)
    builder.add_node(write).add_edge(START, "write").add_edge("write", END)
    builder.compile().invoke(
        {"topic": "AI"},
        {
            "configurable": {"thread_id": "part"},
            "callbacks": [TokenUsageCallbackHandler()],
        },
    )
    runs = run_cli("runs", log_dir=log_dir)
    assert runs.returncode == 0, runs.stderr
    assert "2,306 + 1 call unknown" in runs.stdout
    assert "$0.00048 + 1 call unknown" in runs.stdout  # 2000 x 0.15 + 306 x 0.6
    show = run_cli("show", "part", log_dir=log_dir)
    assert show.returncode == 0, show.stderr
    assert "2,306 + 1 call unknown" in show.stdout
