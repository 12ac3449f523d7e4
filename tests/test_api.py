"""The HTTP API through its real routes, on logs of a real graph."""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from editorial_ai.observability import NodeRunLog, append_node_log
from editorial_ai.observability.api import create_app, serve
from editorial_ai.observability.reader import thread_index
from editorial_ai.observability.storage import encode_line

from ._graphs import RUNS, XSS, run_editorial_thread
from ._proc import SRC
from ._server import running_server
from .conftest import make_log

LOCAL = "http://localhost"
SUMMARY_KEYS = {
    "thread_id",
    "node_count",
    "total_duration_ms",
    "total_prompt_tokens",
    "total_completion_tokens",
    "total_tokens",
    "status",
    "started_at",
    "ended_at",
    "wall_time_ms",
    "estimated_cost_usd",
    "unpriced_tokens",
    "total_cached_tokens",
    "total_cache_creation_tokens",
    "total_reasoning_tokens",
    "llm_calls",
    "unreported_calls",
    "unpriced_calls",
}
RUN_KEYS = set(NodeRunLog.model_json_schema(mode="serialization")["properties"]) | {
    "index",
    "estimated_cost_usd",
    "unpriced_calls",
    "reasoning_cost_usd",
    "call_costs_usd",
    "call_reasoning_costs_usd",
}


def strict(response: httpx.Response) -> Any:
    """The body as JSON, refusing NaN and infinities as strict readers do."""

    def refuse(constant: str) -> Any:
        raise ValueError("not strict JSON: %s" % constant)

    assert response.headers["content-type"].startswith("application/json")
    return json.loads(response.text, parse_constant=refuse)


def logs_url(thread_id: str, **params: str) -> str:
    """The query form of /logs, which takes any thread id."""
    return str(httpx.URL("/api/thread/logs", params={"thread_id": thread_id, **params}))


@pytest.fixture
def client() -> Iterator[TestClient]:
    """The app over $EDITORIAL_AI_LOG_DIR, addressed as localhost."""
    with TestClient(create_app(), base_url=LOCAL) as test_client:
        yield test_client


@pytest.fixture
def graph_thread() -> str:
    """A thread recorded by the real editorial graph (RUNS node runs)."""
    run_editorial_thread("newsroom-1")
    return "newsroom-1"


# -- routes and shapes ----------------------------------------------------------


def test_threads_route_shape(client: TestClient, graph_thread: str) -> None:
    """/api/threads is {"threads": [PipelineRunSummary]}."""
    body = strict(client.get("/api/threads"))
    assert set(body) == {"threads", "total"} and body["total"] == 1
    (summary,) = body["threads"]
    assert set(summary) == SUMMARY_KEYS
    assert summary["thread_id"] == graph_thread
    assert summary["node_count"] == RUNS and summary["status"] == "failed"


def test_threads_newest_first_and_paged(client: TestClient, log_dir: Path) -> None:
    """Threads come most recently written first; limit/offset page them."""
    for age, thread_id in ((300, "old"), (200, "mid"), (100, "new")):
        append_node_log(make_log(thread_id))
        os.utime(log_dir / (thread_id + ".jsonl"), (1e9 - age, 1e9 - age))
    ids = [s["thread_id"] for s in strict(client.get("/api/threads"))["threads"]]
    assert ids == ["new", "mid", "old"]
    page = strict(client.get("/api/threads?limit=1&offset=1"))["threads"]
    assert [s["thread_id"] for s in page] == ["mid"]


def test_logs_route_shape(client: TestClient, graph_thread: str) -> None:
    """/logs is {thread_id, runs, summary, total_runs}, runs with snapshots."""
    body = strict(client.get("/api/threads/%s/logs" % graph_thread))
    assert set(body) == {"thread_id", "runs", "summary", "total_runs"}
    assert body["thread_id"] == graph_thread and body["total_runs"] == RUNS
    assert set(body["summary"]) == SUMMARY_KEYS
    assert all(set(run) == RUN_KEYS for run in body["runs"])
    assert body["runs"][0]["input_state"]["topic"] == XSS


def test_logs_are_chronological(client: TestClient) -> None:
    """Runs are sorted by started_at, ties in file order, whatever the file order."""
    for name, start in (("c", 30), ("a", 10), ("tie1", 20), ("tie2", 20)):
        append_node_log(make_log(node_name=name, start_ms=start))
    runs = strict(client.get("/api/threads/t1/logs"))["runs"]
    assert [run["node_name"] for run in runs] == ["a", "tie1", "tie2", "c"]
    assert [run["index"] for run in runs] == [1, 2, 3, 0]


def test_graph_runs_chronological(client: TestClient, graph_thread: str) -> None:
    """The real graph's runs come back in start order, loop and resume included."""
    runs = strict(client.get("/api/threads/%s/logs" % graph_thread))["runs"]
    starts = [run["started_at"] for run in runs]
    assert starts == sorted(starts)
    names = [run["node_name"] for run in runs]
    assert names[0] == "plan" and names.count("write") == 2
    assert [run["status"] for run in runs if run["node_name"] == "approval"] == [
        "interrupted",
        "success",
    ]
    assert runs[-1]["node_name"] == "publish" and runs[-1]["status"] == "error"


def test_include_io_false_has_null_snapshots(
    client: TestClient, graph_thread: str
) -> None:
    """include_io=false leaves input_state, output_state and interrupt_value null."""
    runs = strict(client.get(logs_url(graph_thread, include_io="false")))["runs"]
    assert len(runs) == RUNS
    for run in runs:
        assert run["input_state"] is None and run["output_state"] is None
        assert run["interrupt_value"] is None


def test_paging_keeps_whole_summary(client: TestClient) -> None:
    """limit/offset give one page; summary and total_runs cover the thread."""
    for i in range(10):
        append_node_log(make_log(node_name="n%d" % i, start_ms=i))
    body = strict(client.get("/api/threads/t1/logs?limit=3&offset=4"))
    assert [run["node_name"] for run in body["runs"]] == ["n4", "n5", "n6"]
    assert body["summary"]["node_count"] == 10 and body["total_runs"] == 10


def test_negative_paging_is_rejected(client: TestClient) -> None:
    """A negative limit or offset is a 422, not a silent slice."""
    assert client.get("/api/threads/t1/logs?limit=-1").status_code == 422
    assert client.get("/api/threads?offset=-1").status_code == 422


def test_summary_route(client: TestClient, graph_thread: str) -> None:
    """/summary is the PipelineRunSummary of the whole thread."""
    body = strict(client.get("/api/threads/%s/summary" % graph_thread))
    assert set(body) == SUMMARY_KEYS
    assert body["node_count"] == RUNS and body["total_tokens"] > 0


def test_run_route_by_file_position(client: TestClient, graph_thread: str) -> None:
    """/runs/{index} is the run at that file position, with its snapshots."""
    body = strict(client.get("/api/threads/%s/runs/7" % graph_thread))
    assert set(body) == RUN_KEYS
    assert body["index"] == 7 and body["node_name"] == "approval"
    assert body["status"] == "interrupted"
    assert body["interrupt_value"] == {"question": "Publish?", "topic": XSS}
    error = strict(client.get("/api/threads/%s/runs/9" % graph_thread))
    assert error["error_type"] == "PublishRefused" and error["output_state"] is None


def test_reasoning_cost_is_given_apart(client: TestClient) -> None:
    """A run's reasoning cost is given apart, for the run and for each call."""
    from editorial_ai.observability import TokenUsage

    calls = [
        TokenUsage(
            prompt_tokens=1000,
            completion_tokens=500,
            reasoning_tokens=300,
            model_name="o3",
        ),
        TokenUsage(prompt_tokens=10, completion_tokens=90, reasoning_tokens=80),
    ]
    append_node_log(make_log("thinking", tokens=None, token_usage=calls))
    # o3: $2 in, $8 out per 1M; the unnamed call cannot be priced.
    (listed,) = strict(client.get("/api/threads/thinking/logs"))["runs"]
    assert listed["estimated_cost_usd"] == pytest.approx(0.006)  # 1000x2 + 500x8
    assert listed["reasoning_cost_usd"] == pytest.approx(0.0024)  # 300 x 8
    assert listed["call_reasoning_costs_usd"] is None  # per call: one run only
    run = strict(client.get("/api/threads/thinking/runs/0"))
    assert run["reasoning_cost_usd"] == pytest.approx(0.0024)
    assert run["call_costs_usd"] == [pytest.approx(0.006), None]
    assert run["call_reasoning_costs_usd"] == [pytest.approx(0.0024), None]


def test_unknown_thread(client: TestClient) -> None:
    """Unknown thread: /logs is 200 empty, /summary and /runs are 404."""
    assert strict(client.get("/api/threads/nope/logs")) == {
        "thread_id": "nope",
        "runs": [],
        "summary": None,
        "total_runs": 0,
    }
    assert client.get("/api/threads/nope/summary").status_code == 404
    assert client.get("/api/threads/nope/runs/0").status_code == 404


@pytest.mark.parametrize("index", ["10", "-1", "99999999999999999999"])
def test_run_out_of_range(client: TestClient, graph_thread: str, index: str) -> None:
    """A run position outside the thread is 404."""
    url = "/api/threads/%s/runs/%s" % (graph_thread, index)
    assert client.get(url).status_code == 404


def test_log_dir_resolved_per_request(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without log_dir the app follows $EDITORIAL_AI_LOG_DIR at every request."""
    append_node_log(make_log("first"))
    assert strict(client.get("/api/threads/first/logs"))["total_runs"] == 1
    monkeypatch.setenv("EDITORIAL_AI_LOG_DIR", str(tmp_path / "elsewhere"))
    assert strict(client.get("/api/threads/first/logs"))["total_runs"] == 0


def test_explicit_log_dir_wins(
    log_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """create_app(log_dir) reads there, whatever $EDITORIAL_AI_LOG_DIR says."""
    append_node_log(make_log("mine"))
    monkeypatch.setenv("EDITORIAL_AI_LOG_DIR", str(tmp_path / "env-dir"))
    with TestClient(create_app(str(log_dir)), base_url=LOCAL) as client:
        assert strict(client.get("/api/threads/mine/logs"))["total_runs"] == 1


# -- hostile thread ids ---------------------------------------------------------

HOSTILE_IDS = [
    "a/b",
    "..",
    ".",
    "../x",
    "%",
    "100%",
    "%2e%2e%2fx",
    "한국어",
    "with space",
    "a\\b",
    "?x=1#y",
    "<b>bold</b>",
    "x" * 500,
]


@pytest.mark.parametrize("thread_id", HOSTILE_IDS)
def test_hostile_ids_reachable_by_query(client: TestClient, thread_id: str) -> None:
    """Any id is reached through /api/thread/...?thread_id=, and only its runs."""
    append_node_log(make_log(thread_id, node_name="mine"))
    append_node_log(make_log("other", node_name="not-mine"))
    body = strict(client.get(logs_url(thread_id)))
    assert body["thread_id"] == thread_id
    assert [run["node_name"] for run in body["runs"]] == ["mine"]
    query = httpx.QueryParams({"thread_id": thread_id})
    summary = strict(client.get("/api/thread/summary?%s" % query))
    assert summary["thread_id"] == thread_id and summary["node_count"] == 1
    run = strict(client.get("/api/thread/runs/0?%s" % query))
    assert run["thread_id"] == thread_id


@pytest.mark.parametrize("thread_id", ["%", "100%", "한국어", "with space", "a\\b"])
def test_segment_ids_reachable_by_path(client: TestClient, thread_id: str) -> None:
    """An id without '/' or dot segments also works percent-encoded in the path."""
    append_node_log(make_log(thread_id, node_name="mine"))
    body = strict(client.get("/api/threads/%s/logs" % quote(thread_id, safe="")))
    assert body["thread_id"] == thread_id
    assert [run["node_name"] for run in body["runs"]] == ["mine"]


def test_slash_id_in_path_is_not_another_thread(client: TestClient) -> None:
    """a%2Fb in the path is decoded before routing: 404, never thread a or b."""
    for thread_id in ("a/b", "a", "b"):
        append_node_log(make_log(thread_id))
    assert client.get("/api/threads/a%2Fb/logs").status_code == 404


# -- traversal ------------------------------------------------------------------

MARKER = "secret-marker-7f3c"


def plant(root: Path) -> Path:
    """A log dir with one public thread, and secrets beside and under it."""
    logs = root / "logs"
    logs.mkdir(parents=True)
    public = make_log("public", input_state={"note": "public"})
    (logs / "public.jsonl").write_bytes(encode_line(public))
    secret = make_log("secret", input_state={"note": MARKER})
    (root / "secret.jsonl").write_bytes(encode_line(secret))
    # The file '../secret' maps to, holding lines of another thread.
    (logs / "~..%2Fsecret.jsonl").write_bytes(encode_line(secret))
    (logs / "link.jsonl").symlink_to(root / "secret.jsonl")
    return logs


def attacks(root: Path) -> list[str]:
    """Request targets that try to reach outside the log directory."""
    absolute = quote(str(root / "secret"), safe="")
    long = "a" * 5000
    return [
        "/api/threads/%2e%2e%2fsecret/logs",
        "/api/threads/%2E%2E%2Fsecret/summary",
        "/api/threads/..%2fsecret/logs",
        "/api/threads/..%2F..%2Fsecret/runs/0",
        "/api/threads/%2e%2e/logs",
        "/api/threads/../secret/logs",
        "/api/threads/..%5csecret/logs",
        "/api/threads/%5c..%5csecret/logs",
        "/api/threads/%2F" + absolute + "/logs",
        "/api/threads/" + absolute + "/logs",
        "/api/threads/secret%00/logs",
        "/api/threads/%00/logs",
        "/api/threads/" + long + "/logs",
        "/api/threads/link/logs",
        "/api/threads/link/runs/0",
        "/api/thread/logs?thread_id=../secret",
        "/api/thread/logs?thread_id=..%2Fsecret",
        "/api/thread/logs?thread_id=%2e%2e%2fsecret",
        "/api/thread/logs?thread_id=" + quote(str(root / "secret"), safe=""),
        "/api/thread/logs?thread_id=secret%00",
        "/api/thread/logs?thread_id=..%5Csecret",
        "/api/thread/logs?thread_id=" + long,
        "/api/thread/runs/0?thread_id=../secret",
        "/api/thread/summary?thread_id=../secret",
        "/api/thread/summary?thread_id=~..%252Fsecret",
        "/static/..%2f..%2fapi.py",
        "/static/%2e%2e%2fapi.py",
        "/static/../api.py",
        "/%2e%2e/secret.jsonl",
    ]


def test_traversal_never_reaches_outside(tmp_path: Path) -> None:
    """No request target returns a file outside the log dir, and none is a 500."""
    logs = plant(tmp_path)
    with TestClient(create_app(logs), base_url=LOCAL) as client:
        for target in attacks(tmp_path):
            response = client.get(target)
            assert response.status_code in (200, 400, 404, 422), target
            assert MARKER not in response.text, target
            assert "def create_app" not in response.text, target
            if response.status_code == 200:
                assert strict(response).get("runs", []) == [], target
        listed = strict(client.get("/api/threads"))["threads"]
        assert [summary["thread_id"] for summary in listed] == ["public"]


def test_traversal_through_real_uvicorn(tmp_path: Path) -> None:
    """The same targets, sent byte for byte to uvicorn, never leak the secret."""
    logs = plant(tmp_path)
    with running_server(create_app(logs)) as base:
        port = httpx.URL(base).port
        for target in attacks(tmp_path):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", target, headers={"Host": "127.0.0.1"})
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            connection.close()
            assert response.status in (200, 400, 404, 422), target
            assert MARKER not in text and "def create_app" not in text, target


def test_slash_id_through_real_uvicorn(log_dir: Path) -> None:
    """Through a real server, 'a/b' is reached by ?thread_id=a%2Fb and not by path."""
    append_node_log(make_log("a/b", node_name="slashed"))
    append_node_log(make_log("a", node_name="plain-a"))
    with (
        running_server(create_app(log_dir)) as base,
        httpx.Client(base_url=base, trust_env=False) as web,
    ):
        body = strict(web.get("/api/thread/logs", params={"thread_id": "a/b"}))
        assert [run["node_name"] for run in body["runs"]] == ["slashed"]
        assert web.get("/api/threads/a%2Fb/logs").status_code == 404
        dot = strict(web.get("/api/thread/logs", params={"thread_id": ".."}))
        assert dot["thread_id"] == ".." and dot["runs"] == []


def test_foreign_host_through_real_uvicorn(log_dir: Path) -> None:
    """Through a real server, a rebinding Host is 400 and a loopback one is 200."""
    append_node_log(make_log())
    with running_server(create_app(log_dir)) as base:
        port = httpx.URL(base).port
        for host, status in (("evil.example", 400), ("localhost:%d" % port, 200)):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", "/api/threads", headers={"Host": host})
            assert connection.getresponse().status == status, host
            connection.close()


# -- damaged and growing files --------------------------------------------------


def test_damaged_file_served_with_good_records(
    client: TestClient, log_dir: Path
) -> None:
    """Corrupt line, NaN, lone surrogate, torn tail: 200, good records, strict JSON."""
    append_node_log(make_log(node_name="good1", start_ms=0))
    nan = make_log(node_name="nan", start_ms=10, input_state={"score": 1.5})
    nan_line = encode_line(nan).replace(b'"score":1.5', b'"score":NaN')
    surrogate = encode_line(make_log(node_name="PLACEHOLDER", start_ms=20))
    surrogate = surrogate.replace(b"PLACEHOLDER", b"\\ud83d")
    with open(log_dir / "t1.jsonl", "ab") as handle:
        handle.write(b"{not json at all\n")
        handle.write(nan_line)
        handle.write(surrogate)
        handle.write(b"\x00\xff\xfe garbage\n")
    append_node_log(make_log(node_name="good2", start_ms=30))
    with open(log_dir / "t1.jsonl", "ab") as handle:
        handle.write(encode_line(make_log(node_name="torn", start_ms=40))[:50])
    body = strict(client.get("/api/threads/t1/logs"))
    assert [run["node_name"] for run in body["runs"]] == ["good1", "nan", "good2"]
    assert body["runs"][1]["input_state"] == {"score": None}
    assert strict(client.get("/api/threads/t1/runs/1"))["node_name"] == "nan"
    assert strict(client.get("/api/threads/t1/summary"))["node_count"] == 3
    assert strict(client.get("/api/threads"))["threads"][0]["node_count"] == 3


@pytest.mark.parametrize("kind", ["directory", "fifo", "log-dir-is-a-file"])
def test_unreadable_log_path_is_empty_not_500(
    client: TestClient, log_dir: Path, kind: str
) -> None:
    """A directory or FIFO at the log path, or a file as log dir: 200 empty, no hang."""
    if kind == "log-dir-is-a-file":
        log_dir.write_text("not a directory")
    else:
        log_dir.mkdir()
        path = log_dir / "t1.jsonl"
        if kind == "directory":
            path.mkdir()
        else:
            os.mkfifo(path)
    assert strict(client.get("/api/threads/t1/logs"))["runs"] == []
    assert client.get("/api/threads/t1/summary").status_code == 404
    assert strict(client.get("/api/threads")) == {"threads": [], "total": 0}


def test_thread_being_written_is_served_as_is(
    client: TestClient, log_dir: Path
) -> None:
    """A half-written last line is left out until it is finished."""
    append_node_log(make_log(node_name="done"))
    line = encode_line(make_log(node_name="late", start_ms=50))
    with open(log_dir / "t1.jsonl", "ab") as handle:
        handle.write(line[:60])
        handle.flush()
        pending = strict(client.get("/api/threads/t1/logs"))
        assert [run["node_name"] for run in pending["runs"]] == ["done"]
        assert pending["summary"]["node_count"] == 1
        handle.write(line[60:])
    finished = strict(client.get("/api/threads/t1/logs"))
    assert [run["node_name"] for run in finished["runs"]] == ["done", "late"]


def test_repeat_request_parses_only_appended_line(
    client: TestClient, log_dir: Path
) -> None:
    """After one more line, the next request parses that line and nothing else."""
    for i in range(50):
        append_node_log(make_log(node_name="n%d" % i, start_ms=i))
    assert strict(client.get("/api/threads/t1/logs"))["total_runs"] == 50
    index = thread_index("t1")
    assert index is not None
    before = index.bytes_parsed
    append_node_log(make_log(node_name="appended", start_ms=999))
    appended = (log_dir / "t1.jsonl").read_bytes().splitlines(keepends=True)[-1]
    body = strict(client.get("/api/threads/t1/logs?include_io=false"))
    assert body["total_runs"] == 51
    assert index.bytes_parsed - before == len(appended)


# -- hosts, keys, headers -------------------------------------------------------

ROUTES = [
    "/",
    "/static/main.js",
    "/openapi.json",
    "/api/threads",
    "/api/threads/t1/logs",
    "/api/threads/t1/summary",
    "/api/threads/t1/runs/0",
    "/api/thread/logs?thread_id=t1",
    "/api/thread/summary?thread_id=t1",
    "/api/thread/runs/0?thread_id=t1",
]


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:8765",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "localhost:80:80",
        "localhost:http",
        "[::1]evil",
        "0.0.0.0",
    ],
)
def test_foreign_host_rejected_on_every_route(client: TestClient, host: str) -> None:
    """A Host that is not loopback or configured is 400 on every route."""
    append_node_log(make_log())
    for route in ROUTES:
        response = client.get(route, headers={"host": host})
        assert response.status_code == 400, route
        assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8765", "127.0.0.1:1", "[::1]:8765", "LocalHost"]
)
def test_loopback_hosts_accepted(client: TestClient, host: str) -> None:
    """localhost, 127.0.0.1 and [::1], with any port, reach every route."""
    append_node_log(make_log())
    for route in ROUTES:
        assert client.get(route, headers={"host": host}).status_code == 200, route


def test_configured_host_accepted(log_dir: Path) -> None:
    """A host given in allowed_hosts is accepted; others still are not."""
    app = create_app(log_dir, allowed_hosts=["obs.internal"])
    with TestClient(app, base_url="http://obs.internal:8765") as client:
        assert client.get("/api/threads").status_code == 200
        other = client.get("/api/threads", headers={"host": "evil.example"})
        assert other.status_code == 400


@pytest.fixture
def keyed() -> Iterator[TestClient]:
    """The app with an API key."""
    with TestClient(create_app(api_key="s3cret-key"), base_url=LOCAL) as client:
        yield client


@pytest.mark.parametrize("route", [r for r in ROUTES if r.startswith("/api")])
def test_api_key_missing_or_wrong_is_401(keyed: TestClient, route: str) -> None:
    """With a key set, an /api route without it or with a wrong one is 401."""
    append_node_log(make_log())
    assert keyed.get(route).status_code == 401
    for wrong in ("s3cret-ke", "s3cret-key ", "S3CRET-KEY", "x" * 1000):
        assert keyed.get(route, headers={"x-api-key": wrong}).status_code == 401
    right = keyed.get(route, headers={"x-api-key": "s3cret-key"})
    assert right.status_code == 200


def test_unknown_api_path_needs_the_key_too(keyed: TestClient) -> None:
    """Without the key, /api does not even say which paths exist."""
    assert keyed.get("/api/no-such-route").status_code == 401
    assert keyed.get("/api").status_code == 401


def test_page_and_assets_need_no_key(keyed: TestClient) -> None:
    """The page and its assets load without the key (it asks for it)."""
    for route in ("/", "/static/main.js", "/static/list.js", "/static/app.css"):
        assert keyed.get(route).status_code == 200, route


def test_key_read_from_env_when_created(
    log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$EDITORIAL_AI_OBS_API_KEY is read when the app is created, not later."""
    monkeypatch.setenv("EDITORIAL_AI_OBS_API_KEY", "from-env")
    app = create_app(log_dir)
    monkeypatch.delenv("EDITORIAL_AI_OBS_API_KEY")
    with TestClient(app, base_url=LOCAL) as client:
        assert client.get("/api/threads").status_code == 401
        ok = client.get("/api/threads", headers={"x-api-key": "from-env"})
        assert ok.status_code == 200


def test_key_never_logged(keyed: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    """Neither a right nor a wrong key appears in any log record."""
    caplog.set_level(logging.DEBUG)
    keyed.get("/api/threads", headers={"x-api-key": "wrong-guess-123"})
    keyed.get("/api/threads", headers={"x-api-key": "s3cret-key"})
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "s3cret-key" not in text and "wrong-guess-123" not in text


def test_security_headers(client: TestClient) -> None:
    """nosniff everywhere; the page has a CSP without inline script."""
    append_node_log(make_log())
    for route in ROUTES:
        response = client.get(route)
        assert response.headers["x-content-type-options"] == "nosniff", route
        assert response.headers["x-frame-options"] == "DENY", route
        assert response.headers["referrer-policy"] == "no-referrer", route
    page = client.get("/")
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert "unsafe" not in policy and "access-control-allow-origin" not in page.headers


def test_page_has_no_inline_script(client: TestClient) -> None:
    """The page loads its script from /static only, and no CDN."""
    html = client.get("/").text
    assert '<script type="module" src="/static/main.js"></script>' in html
    assert html.count("<script") == 1 and "http" not in html


def test_page_modules_are_served_small_and_self_contained(client: TestClient) -> None:
    """Every module the router imports, and every module they import, is served
    as JavaScript from /static; none is over 400 lines; none loads anything
    from elsewhere (no build step, no CDN)."""
    seen: set[str] = set()
    pending = ["main.js"]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        response = client.get("/static/" + name)
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith("text/javascript")
        assert response.text.count("\n") <= 400, name
        imports = re.findall(r'from "\./([a-z]+\.js)"', response.text)
        assert "http" not in " ".join(re.findall(r'from "([^"]+)"', response.text))
        pending.extend(imports)
    assert {"api.js", "list.js", "thread.js", "run.js", "compare.js"} <= seen


def test_no_cors(client: TestClient) -> None:
    """A cross-origin request gets no Access-Control-Allow-Origin."""
    response = client.get("/api/threads", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_unknown_static_name_is_404(client: TestClient) -> None:
    """Only the shipped assets are served under /static."""
    assert client.get("/static/api.py").status_code == 404
    assert client.get("/static/index.html").status_code == 404


def test_xss_payload_is_a_json_string(client: TestClient, graph_thread: str) -> None:
    """A <script> in state comes back as a JSON string value, served as JSON."""
    response = client.get("/api/threads/%s/runs/0" % graph_thread)
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert strict(response)["input_state"]["topic"] == XSS


def test_openapi_names_response_models(client: TestClient) -> None:
    """/openapi.json names ThreadList, ThreadLogs, PipelineRunSummary, NodeRunView."""
    schema = strict(client.get("/openapi.json"))
    names = set(schema["components"]["schemas"])
    assert {"ThreadList", "ThreadLogs", "PipelineRunSummary", "NodeRunView"} <= names

    def model_of(path: str) -> str:
        response = schema["paths"][path]["get"]["responses"]["200"]
        ref: str = response["content"]["application/json"]["schema"]["$ref"]
        return ref.rsplit("/", 1)[1]

    assert model_of("/api/threads") == "ThreadList"
    assert model_of("/api/threads/{thread_id}/logs") == "ThreadLogs"
    assert model_of("/api/threads/{thread_id}/summary") == "PipelineRunSummary"
    assert model_of("/api/threads/{thread_id}/runs/{index}") == "NodeRunView"
    assert model_of("/api/thread/logs") == "ThreadLogs"


# -- serve and the extra --------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.org"])
def test_serve_refuses_open_bind_without_key(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve() on a non-loopback address without a key raises ValueError."""
    monkeypatch.delenv("EDITORIAL_AI_OBS_API_KEY", raising=False)
    with pytest.raises(ValueError, match="without an API key"):
        serve(host=host)


def test_serve_empty_env_key_counts_as_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty $EDITORIAL_AI_OBS_API_KEY is no key: still refused."""
    monkeypatch.setenv("EDITORIAL_AI_OBS_API_KEY", "")
    with pytest.raises(ValueError, match="EDITORIAL_AI_OBS_API_KEY"):
        serve(host="0.0.0.0")


def test_missing_extra_names_the_install_command() -> None:
    """Without FastAPI, importing the api module says how to install the extra."""
    code = (
        "import sys\n"
        "sys.modules['fastapi'] = None\n"
        "try:\n"
        "    import editorial_ai.observability.api\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": SRC},
        check=True,
    )
    assert 'pip install "editorial-ai-observability[server]"' in out.stdout
    assert 'pip install -e ".[server]"' in out.stdout  # from a checkout


def test_api_all_is_pinned() -> None:
    """The api module exports bind, create_app and serve."""
    from editorial_ai.observability import api

    assert api.__all__ == ["bind", "create_app", "serve"]


def test_long_thread_is_streamed_whole_and_in_order(log_dir: Path) -> None:
    """Without a limit, a long thread comes back whole, oldest first, as one
    JSON object written a page at a time."""
    from fastapi.testclient import TestClient

    from editorial_ai.observability import append_node_log
    from editorial_ai.observability.api import create_app

    from .conftest import make_log

    for index in range(2345):
        append_node_log(make_log("long", node_name="n%d" % index, start_ms=-index))
    client = TestClient(create_app(log_dir), base_url=LOCAL)
    response = client.get("/api/threads/long/logs", params={"include_io": "false"})
    assert response.status_code == 200
    assert "content-length" not in response.headers  # streamed, not buffered
    data = response.json()
    assert data["total_runs"] == 2345 and len(data["runs"]) == 2345
    assert [run["node_name"] for run in data["runs"][:2]] == ["n2344", "n2343"]
    assert data["summary"]["node_count"] == 2345
    paged = client.get("/api/threads/long/logs?include_io=false&limit=100&offset=0")
    assert paged.json()["runs"] == data["runs"][:100]


def test_thread_waiting_at_interrupt_is_interrupted(client: TestClient) -> None:
    """A thread whose latest approval run is interrupted is "interrupted" in the
    list and the summary; answered, it completes."""
    append_node_log(make_log("hitl", node_name="draft", start_ms=0))
    append_node_log(make_log("hitl", node_name="approval", status="interrupted"))
    (listed,) = strict(client.get("/api/threads"))["threads"]
    assert listed["status"] == "interrupted"
    assert strict(client.get("/api/threads/hitl/summary"))["status"] == "interrupted"
    append_node_log(make_log("hitl", node_name="approval", start_ms=500))
    assert strict(client.get("/api/threads/hitl/summary"))["status"] == "completed"


def test_threads_searched_filtered_and_paged(client: TestClient, log_dir: Path) -> None:
    """q, status, node, since/until select threads on the server; limit/offset
    page them; total counts every match."""
    for number in range(30):
        thread_id = "%s-%02d" % ("news" if number % 2 else "Sport", number)
        status = "error" if number % 3 == 0 else "success"
        append_node_log(
            make_log(thread_id, node_name="draft", start_ms=number * 60_000)
        )
        append_node_log(
            make_log(
                thread_id,
                node_name="publish" if number < 10 else "archive",
                status=status,
                start_ms=number * 60_000 + 100,
            )
        )
        os.utime(log_dir / (thread_id + ".jsonl"), (1e9 + number, 1e9 + number))

    def ids(**params: str) -> tuple[list[str], int]:
        body = strict(client.get("/api/threads", params=params))
        return [s["thread_id"] for s in body["threads"]], body["total"]

    assert ids(q="NEWS", limit="3") == (["news-29", "news-27", "news-25"], 15)
    assert ids(q="news", limit="3", offset="3")[0] == ["news-23", "news-21", "news-19"]
    failed, total = ids(status="failed")
    assert total == 10 and all(int(t[-2:]) % 3 == 0 for t in failed)
    assert ids(node="publish", status="failed", limit="2") == (
        ["news-09", "Sport-06"],
        4,
    )
    since = "2026-03-01T12:25:00Z"  # T0 + 25 min
    assert ids(since=since)[1] == 5
    assert ids(since=since, until="2026-03-01T12:27:00Z")[0] == [
        "news-27",
        "Sport-26",
        "news-25",
    ]
    assert ids(q="nothing-like-it") == ([], 0)
    assert client.get("/api/threads?status=bogus").status_code == 422


def test_wildcard_bind_answers_to_the_machine_name_it_announces(
    log_dir: Path,
) -> None:
    """Served on 0.0.0.0 or ::, the page's address names this machine, and
    that name is accepted in Host; a named bind accepts its own address."""
    import socket

    from editorial_ai.observability.api import _page_url, _served_hosts

    name = socket.gethostname()
    for wildcard in ("0.0.0.0", "::"):
        assert _page_url(wildcard, 8765) == "http://%s:8765/" % name
        hosts = _served_hosts(wildcard, ["obs.example.test"])
        assert hosts == ["obs.example.test", name]
        with TestClient(
            create_app(log_dir, api_key="", allowed_hosts=hosts), base_url=LOCAL
        ) as web:
            answers = [
                web.get("/api/threads", headers={"host": host}).status_code
                for host in (name, "obs.example.test", "elsewhere.test")
            ]
        assert answers == [200, 200, 400]
    assert _served_hosts("10.1.2.3", []) == ["10.1.2.3"]
    assert _served_hosts("fe80::1", []) == ["[fe80::1]"]
    assert _page_url("fe80::1", 80) == "http://[fe80::1]:80/"
