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
    rows = {line.split()[1]: line.split() for line in out.splitlines()[3:5]}
    assert rows["write"][:4] == ["1", "write", "1", "success"]
    assert rows["check"][:4] == ["2", "check", "2", "error"]
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
    assert table.count(" success ") == 1203
    numbers = [line.split()[0] for line in table.splitlines()[3:1206]]
    assert numbers == [str(n) for n in range(1, 1204)]  # run order, not file order
    assert table.splitlines()[3].split()[1] == "n1202"


def test_runs_prints_whole_ids_and_show_takes_prefix_and_path(
    log_dir: Path,
) -> None:
    """A 46-character id is printed whole, in a narrow terminal too, and show
    finds its thread by the id, a unique prefix, and the file's path."""
    thread_id = "editorial-2f281039-0bd5-4d3e-9ba2-2ea2a09fe889"
    pipeline(thread_id)
    pipeline("editorial-c62dc6dc-cdf1-4c0a-b06f-b0cf9e45e2ba")
    env_narrow = dict(os.environ, COLUMNS="40")
    table = subprocess.run(
        [sys.executable, "-m", "editorial_ai.observability", "runs"],
        capture_output=True,
        text=True,
        env=dict(env_narrow, PYTHONPATH=SRC, EDITORIAL_AI_LOG_DIR=str(log_dir)),
        check=True,
    ).stdout
    assert thread_id in {line.split()[0] for line in table.splitlines()}
    for given in (thread_id, thread_id[:13], str(log_dir / (thread_id + ".jsonl"))):
        result = run_cli("show", given, log_dir=log_dir)
        assert result.returncode == 0, (given, result.stderr)
        assert result.stdout.startswith("thread %s\n" % thread_id)
    ambiguous = run_cli("show", "editorial-", log_dir=log_dir)
    assert ambiguous.returncode == 1
    assert "is the start of 2 thread ids" in ambiguous.stderr
    assert thread_id in ambiguous.stderr


def test_file_path_works_from_another_folder(log_dir: Path, tmp_path: Path) -> None:
    """show FILE reads the file's own folder, whatever the log directory says."""
    pipeline("t-file")
    result = run_cli(
        "show", str(log_dir / "t-file.jsonl"), log_dir=tmp_path / "elsewhere"
    )
    assert result.returncode == 0, result.stderr
    assert "thread t-file" in result.stdout
    other = tmp_path / "notes.jsonl"
    other.write_text("not a record\n")
    refused = run_cli("show", str(other), log_dir=log_dir)
    assert refused.returncode == 1 and "not a thread's log file" in refused.stderr


def test_show_links_interrupt_and_resume_and_prints_states_whole(
    log_dir: Path,
) -> None:
    """An answered interrupt names the run that answered it, the resumed run
    names the interrupt and its resume value; --full prints states uncut."""
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command, interrupt

    class Review(TypedDict, total=False):
        draft: str
        verdict: str

    @node_wrapper
    def write(state: Review) -> dict[str, Any]:
        return {"draft": "x" * 500}

    @node_wrapper
    def approve(state: Review) -> dict[str, Any]:
        return {"verdict": str(interrupt({"question": "publish?"}))}

    builder = StateGraph(Review)
    builder.add_node(write).add_node(approve)
    builder.add_edge(START, "write").add_edge("write", "approve")
    builder.add_edge("approve", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "hitl"}}
    graph.invoke({"draft": ""}, config)

    waiting = run_cli("show", "hitl", log_dir=log_dir).stdout
    assert "waiting for a human: interrupt " in waiting
    assert waiting.strip().splitlines()[-1].startswith("interrupted: 2 node runs")
    listing = run_cli("runs", log_dir=log_dir).stdout
    assert listing.splitlines()[1].split()[:2] == ["hitl", "interrupted"]

    assert 'asked {"question": "publish?"}' in waiting  # without --io too
    graph.invoke(Command(resume="yes, publish"), config)
    plain = run_cli("show", "hitl", log_dir=log_dir).stdout
    assert 'resumed with "yes, publish"' in plain and '"draft"' not in plain
    done = run_cli("show", "hitl", "--io", log_dir=log_dir).stdout
    assert "waiting for a human" not in done
    assert "answered by run #3" in done
    assert "resumes interrupt" in done and "of run #2" in done
    assert 'resumed with "yes, publish"' in done
    assert "(cut; --full prints it whole)" in done
    full = run_cli("show", "hitl", "--full", log_dir=log_dir).stdout
    assert '"draft": "%s"' % ("x" * 500) in full
    assert "(cut;" not in full


def test_version_and_limit_zero(log_dir: Path) -> None:
    """--version prints the package version; runs --limit 0 is refused."""
    from importlib.metadata import version

    shown = run_cli("--version", log_dir=log_dir)
    assert shown.returncode == 0
    assert shown.stdout.strip() == "editorial-ai-obs " + version(
        "editorial-ai-observability"
    )
    refused = run_cli("runs", "--limit", "0", log_dir=log_dir)
    assert refused.returncode == 2
    assert "must be 1 or more" in refused.stderr


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_serve_refuses_a_bad_port(log_dir: Path, port: str) -> None:
    """A port out of range is a usage error naming the range, not a traceback."""
    result = run_cli("serve", "--port", port, log_dir=log_dir)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "--port" in result.stderr


def test_serve_says_what_to_do_when_the_port_is_busy(log_dir: Path) -> None:
    """A busy port: one line naming it and the --port way out, exit 1."""
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("serve", "--port", str(port), log_dir=log_dir)
    assert result.returncode == 1
    assert "port %d on 127.0.0.1 is busy" % port in result.stderr
    assert "--port" in result.stderr and "Traceback" not in result.stderr


def test_serve_prints_folder_and_url_and_honours_allowed_host(log_dir: Path) -> None:
    """serve says which folder and which URL it serves; --allowed-host lets a
    request naming that host through, others still get 400."""
    import http.client

    pipeline("served")
    env = dict(
        os.environ,
        PYTHONPATH=SRC,
        EDITORIAL_AI_LOG_DIR=str(log_dir),
        PYTHONUNBUFFERED="1",
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "editorial_ai.observability",
            "serve",
            "--port",
            "0",
            "--allowed-host",
            "obs.example.test",
            "--allowed-host",
            "other.example.test",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        second = process.stdout.readline()
        assert first.strip() == "serving the logs in %s (1 thread)" % log_dir
        url = second.split()[1]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        port = int(url.rsplit(":", 1)[1].strip("/"))
        answers = {}
        for host in ("obs.example.test", "other.example.test", "evil.test"):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", "/api/threads", headers={"Host": host})
            answers[host] = connection.getresponse().status
            connection.close()
        assert answers == {
            "obs.example.test": 200,
            "other.example.test": 200,
            "evil.test": 400,
        }
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_missing_extras_give_both_install_commands(log_dir: Path) -> None:
    """serve and export-otel without their extras name the pip commands for an
    index and for a checkout."""
    log_dir.mkdir(parents=True)
    code = (
        "import sys\n"
        "for name in ('fastapi', 'uvicorn', 'opentelemetry',"
        " 'opentelemetry.exporter.otlp.proto.http.trace_exporter',"
        " 'opentelemetry.sdk.trace.export'):\n"
        "    sys.modules[name] = None\n"
        "from editorial_ai.observability.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    for command, extra in (("serve", "server"), ("export-otel", "otel")):
        result = subprocess.run(
            [sys.executable, "-c", code, command, "--log-dir", str(log_dir)],
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=SRC),
            check=False,
        )
        assert result.returncode == 1, result.stderr
        assert 'pip install "editorial-ai-observability[%s]"' % extra in result.stderr
        assert 'pip install -e ".[%s]"' % extra in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


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
    assert "$0.000484 + 1 call unknown" in runs.stdout  # 2000 x 0.15 + 306 x 0.6
    show = run_cli("show", "part", log_dir=log_dir)
    assert show.returncode == 0, show.stderr
    assert "2,306 + 1 call unknown" in show.stdout


def test_show_gives_the_reasoning_cost_apart(log_dir: Path) -> None:
    """Reasoning tokens, billed at the output rate, are shown apart: a note
    under the run, the summary line, and ``reasoning_cost_usd`` in --json."""
    thinker = chat_model(
        AIMessage(
            "verdict",
            usage_metadata={
                "input_tokens": 1000,
                "output_tokens": 500,
                "total_tokens": 1500,
                "output_token_details": {"reasoning": 300},
            },
            response_metadata={"model_name": "o3"},
        )
    )
    plain = chat_model(reply("draft", 1200, 300, model="gpt-4o"))

    @node_wrapper
    def write(state: State) -> dict[str, Any]:
        plain.invoke("x")
        return {}

    @node_wrapper
    def judge(state: State) -> dict[str, Any]:
        thinker.invoke("y")
        return {}

    builder = StateGraph(State)
    builder.add_node(write).add_node(judge)
    builder.add_edge(START, "write").add_edge("write", "judge")
    builder.add_edge("judge", END)
    builder.compile().invoke(
        {"topic": "AI"},
        {
            "configurable": {"thread_id": "thinking"},
            "callbacks": [TokenUsageCallbackHandler()],
        },
    )
    show = run_cli("show", "thinking", log_dir=log_dir)
    assert show.returncode == 0, show.stderr
    lines = show.stdout.splitlines()
    # o3: $2 in, $8 out per 1M: 1000 x 2 + 500 x 8 = $0.006, of which 300 x 8.
    judge_row = next(i for i, line in enumerate(lines) if " judge " in line)
    assert "$0.00600" in lines[judge_row].split()
    assert lines[judge_row + 1].strip() == "| of which reasoning $0.00240 (300 tokens)"
    write_row = next(i for i, line in enumerate(lines) if " write " in line)
    assert "reasoning" not in lines[write_row + 1]  # no reasoning, no note
    # gpt-4o: 1200 x 2.5 + 300 x 10 = $0.006; the thread: $0.0120.
    assert lines[-1].endswith(
        "cost $0.0120, of which reasoning $0.00240 (300 tokens)"
    ), lines[-1]
    data = json.loads(run_cli("show", "thinking", "--json", log_dir=log_dir).stdout)
    by_node = {run["node_name"]: run for run in data["runs"]}
    assert by_node["judge"]["reasoning_cost_usd"] == pytest.approx(0.0024)
    assert by_node["write"]["reasoning_cost_usd"] == 0
    assert data["summary"]["total_reasoning_tokens"] == 300


def test_example_ends_with_commands_that_work(log_dir: Path) -> None:
    """The example prints the show and serve commands; the show command, pasted,
    prints its thread."""
    example = Path(SRC).parent / "examples" / "editorial_pipeline.py"
    printed = subprocess.run(
        [sys.executable, str(example)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=SRC, EDITORIAL_AI_LOG_DIR=str(log_dir)),
        timeout=120,
        check=True,
    ).stdout
    commands = [
        line.split("#")[0].split()
        for line in printed.splitlines()
        if line.strip().startswith("editorial-ai-obs ")
    ]
    assert [words[1] for words in commands] == ["show", "serve"]
    show = run_cli(*commands[0][1:], log_dir=log_dir)
    assert show.returncode == 0, show.stderr
    assert show.stdout.startswith("thread %s\n" % commands[0][2])
    assert "completed: 10 node runs" in show.stdout


def test_runs_filters_and_says_what_the_limit_hid(log_dir: Path) -> None:
    """runs --status/--node/--search select threads; a cut list says so."""
    pipeline("good-1")
    pipeline("good-2")
    pipeline("bad-1", fail=True)
    failed = run_cli("runs", "--status", "failed", log_dir=log_dir).stdout
    assert [line.split()[0] for line in failed.splitlines()[1:]] == ["bad-1"]
    found = run_cli("runs", "--search", "GOOD", log_dir=log_dir).stdout
    assert sorted(line.split()[0] for line in found.splitlines()[1:]) == [
        "good-1",
        "good-2",
    ]
    assert run_cli("runs", "--node", "write", log_dir=log_dir).stdout.count("\n") == 4
    none = run_cli("runs", "--node", "nowhere", log_dir=log_dir)
    assert none.returncode == 1 and "no thread matches" in none.stderr
    cut = run_cli("runs", "--limit", "1", log_dir=log_dir).stdout
    assert cut.strip().splitlines()[-1] == "(1 of 3 threads: raise --limit for more)"
