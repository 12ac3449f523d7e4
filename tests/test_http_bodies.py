"""API bodies: bounded memory under an address-space limit, one descriptor
per stream, serializer panics caught."""

from __future__ import annotations

import gc
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, field_serializer

from editorial_ai.observability import NodeRunLog, TokenUsage, append_node_log
from editorial_ai.observability.api import create_app
from editorial_ai.observability.storage import encode_line

from ._proc import SRC, free_port
from ._server import running_server

HEADROOM = 256 << 20
"""Address space the server may add to what it uses once started: 16 times
the size of each test thread. Before the bound, one page of every run took
about 35 times the thread's size."""

SERVER = """
import resource, sys
from pathlib import Path
from editorial_ai.observability.api import serve

def vm_size():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise SystemExit("no VmSize")

limit = vm_size() + int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
serve(log_dir=sys.argv[1], port=int(sys.argv[2]))
"""


def write_thread(path: Path, thread_id: str, runs: int, state_bytes: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with open(path, "wb") as handle:
        for run in range(runs):
            began = start + timedelta(milliseconds=run)
            handle.write(
                encode_line(
                    NodeRunLog(
                        thread_id=thread_id,
                        node_name="node%d" % (run % 9),
                        status="success",
                        started_at=began,
                        ended_at=began + timedelta(microseconds=700),
                        token_usage=[
                            TokenUsage(
                                prompt_tokens=900,
                                completion_tokens=80,
                                model_name="gpt-4o",
                            )
                        ],
                        input_state={
                            "round": run,
                            # Many small values, as states hold: their
                            # objects weigh many times their JSON.
                            "notes": [
                                {"id": i, "text": "note"}
                                for i in range(state_bytes // 26)
                            ],
                        },
                        step=run,
                    )
                )
            )


def get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@contextmanager
def limited_server(log_dir: Path, headroom: int) -> Iterator[tuple[int, Any]]:
    """``serve()`` in a child process whose address space may grow by
    ``headroom`` bytes once it has started."""
    port = free_port()
    # One malloc arena: each further one reserves 64 MiB of address space
    # without using it, which would measure threads rather than bodies.
    env = dict(os.environ, PYTHONPATH=SRC, MALLOC_ARENA_MAX="1")
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(log_dir), str(port), str(headroom)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(port, "/api/threads")[0] == 200:
                    break
            except OSError:
                pass
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start: %r" % child.stderr)
            time.sleep(0.05)
        yield port, child
    finally:
        child.kill()
        child.wait()
        if child.stderr is not None:
            child.stderr.close()


def strict_json(body: bytes) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    return json.loads(body, parse_constant=refuse)


def test_worst_requests_answer_under_an_address_space_limit(log_dir: Path) -> None:
    """Under an address-space limit, the requests that used to take about 35
    times a thread's size (limit=10^9 with snapshots; 8 at once on a thread
    of 999 runs) are answered with valid JSON, and the server lives on."""
    log_dir.mkdir()
    write_thread(log_dir / "big.jsonl", "big", 160, 100_000)  # 16 MB
    write_thread(log_dir / "mid.jsonl", "mid", 999, 16_000)  # 16 MB, 999 runs
    with limited_server(log_dir, HEADROOM) as (port, child):
        status, body = get(port, "/api/thread/logs?thread_id=big&limit=1000000000")
        assert status == 200, body[:300]
        page = strict_json(body)
        assert page["total_runs"] == 160 and 0 < len(page["runs"]) <= 100
        results: list[tuple[int, bytes]] = []
        lock = threading.Lock()

        def fetch(path: str) -> None:
            found = get(port, path)
            with lock:
                results.append(found)

        paths = ["/api/thread/logs?thread_id=mid"] * 8
        paths += ["/api/thread/logs?thread_id=mid&limit=1000000000"] * 8
        workers = [threading.Thread(target=fetch, args=(path,)) for path in paths]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert sorted(status for status, _ in results) == [200] * 16
        whole = [strict_json(body) for _, body in results]
        assert sorted(len(found["runs"]) for found in whole)[-1] == 999
        assert child.poll() is None
        assert get(port, "/api/threads")[0] == 200


# -- one descriptor per stream (point 10) ------------------------------------------


def _rotate(path: Path, how: str) -> None:
    if how == "delete":
        path.unlink()
    elif how == "rename":
        path.rename(path.with_name("t1.jsonl.1"))
    else:
        os.truncate(path, path.stat().st_size // 3)


@pytest.mark.parametrize("how", ["delete", "rename", "truncate"])
def test_stream_survives_rotation(log_dir: Path, how: str) -> None:
    """A thread streamed while its file is deleted, renamed or truncated is
    answered with valid JSON of the runs read: all of them when the file's
    bytes still exist, a prefix after truncation."""
    log_dir.mkdir()
    write_thread(log_dir / "t1.jsonl", "t1", 1200, 10_000)  # 12 MB answer
    with running_server(create_app(log_dir)) as url:
        port = int(url.rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.request("GET", "/api/thread/logs?thread_id=t1")
        response = connection.getresponse()
        assert response.status == 200
        first = response.read(256 * 1024)  # the server is now mid-stream
        _rotate(log_dir / "t1.jsonl", how)
        body = strict_json(first + response.read())
        connection.close()
    assert body["total_runs"] == 1200
    rounds = [run["input_state"]["round"] for run in body["runs"]]
    if how == "truncate":
        assert rounds == list(range(len(rounds))) and 0 < len(rounds) < 1200
    else:
        assert rounds == list(range(1200))


# -- serializer panics ----------------------------------------------------------


def _panic_class() -> type[BaseException]:
    for candidate in gc.get_objects():
        if isinstance(candidate, type) and candidate.__name__ == "PanicException":
            return candidate
    raise AssertionError("pyo3's PanicException is not loaded")


def test_serializer_panic_becomes_an_exception() -> None:
    """pyo3's PanicException (a BaseException) is turned into an Exception
    the server's guard handles."""
    from editorial_ai.observability._http_bodies import SerializationFailed, dump

    panic = _panic_class()

    class Exploding(BaseModel):
        value: int = 1

        @field_serializer("value")
        def _explode(self, value: int) -> int:
            raise panic("capacity overflow")

    with pytest.raises(SerializationFailed):
        dump(Exploding())


def test_small_thread_is_valid_json_through_the_stream(log_dir: Path) -> None:
    """A short thread streamed is the same object as before."""
    append_node_log(
        NodeRunLog(
            thread_id="t1",
            node_name="a",
            status="success",
            started_at=datetime(2026, 1, 1, tzinfo=UTC),
            ended_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
    )
    with running_server(create_app(log_dir)) as url:
        port = int(url.rsplit(":", 1)[1])
        status, body = get(port, "/api/thread/logs?thread_id=t1")
    found = strict_json(body)
    assert status == 200 and set(found) == {
        "thread_id",
        "runs",
        "summary",
        "total_runs",
    }
    assert found["total_runs"] == 1 and found["runs"][0]["node_name"] == "a"
