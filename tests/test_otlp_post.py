"""``export-otel`` against hostile OTLP endpoints: trickling, huge, redirecting."""

from __future__ import annotations

import os
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from editorial_ai.observability import append_node_log

from ._proc import SRC
from .conftest import make_log


class Endpoint:
    """What a hostile endpoint did: requests taken, answer bytes sent."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.requests = 0
        self.sent = 0
        self.url = ""


@contextmanager
def hostile_endpoint(behaviour: str) -> Iterator[Endpoint]:
    endpoint = Endpoint(behaviour)
    stop = threading.Event()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            length = 0
            while (line := self.rfile.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            self.rfile.read(length)
            endpoint.requests += 1
            try:
                self.answer()
            except OSError:
                pass  # the client hung up: what a bounded client does

        def answer(self) -> None:
            if behaviour == "trickle":
                for byte in b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n":
                    if stop.wait(1.0):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            elif behaviour == "huge":
                size = 200 << 20
                self.wfile.write(
                    b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size
                )
                block = b"x" * (1 << 20)
                for _ in range(size >> 20):
                    self.wfile.write(block)
                    endpoint.sent += len(block)
            else:  # a redirect elsewhere, which the body must not follow
                self.wfile.write(
                    b"HTTP/1.1 307 Temporary Redirect\r\n"
                    b"location: http://127.0.0.1:9/v1/traces\r\n"
                    b"content-length: 0\r\n\r\n"
                )

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint.url = "http://127.0.0.1:%d/v1/traces" % server.server_address[1]
    try:
        yield endpoint
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def export(url: str, log_dir: Path, timeout: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=SRC, EDITORIAL_AI_LOG_DIR=str(log_dir))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "editorial_ai.observability",
            "export-otel",
            "--endpoint",
            url,
            "--timeout",
            timeout,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,  # a bound on the test, far above the command's deadline
        check=False,
    )


def test_trickling_endpoint_meets_the_total_deadline(log_dir: Path) -> None:
    """An endpoint sending its answer a byte a second (37 s in all) cannot
    keep the command past its --timeout: it fails, in one line."""
    append_node_log(make_log())
    with hostile_endpoint("trickle") as endpoint:
        result = export(endpoint.url, log_dir, "2")
    assert result.returncode == 1, result.stdout
    (line,) = result.stderr.splitlines()
    assert line.startswith("editorial-ai-obs: could not export to")
    assert "deadline" in line


def test_huge_answer_is_not_read_whole(log_dir: Path) -> None:
    """A 200 MB answer is read no further than a bounded prefix: the client
    hangs up long before the endpoint could send it all."""
    append_node_log(make_log())
    with hostile_endpoint("huge") as endpoint:
        result = export(endpoint.url, log_dir, "20")
        deadline = time.monotonic() + 10
        while endpoint.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert result.returncode == 0, result.stderr
    assert endpoint.requests == 1
    assert endpoint.sent < 64 << 20


def test_only_2xx_is_success(log_dir: Path) -> None:
    """A 307 answer is a failure, not "exported"."""
    append_node_log(make_log())
    with hostile_endpoint("redirect") as endpoint:
        result = export(endpoint.url, log_dir, "5")
    assert result.returncode == 1, result.stdout
    assert "exported" not in result.stdout
    (line,) = result.stderr.splitlines()
    assert "307" in line
