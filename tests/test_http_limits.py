"""Who may ask the server, and how slowly: Fetch Metadata in a real Chromium,
partial headers against a real ``serve()`` process."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright

from editorial_ai.observability import append_node_log
from editorial_ai.observability.api import create_app

from ._proc import SRC, free_port, require
from ._server import running_server
from .conftest import make_log

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium: missing fails in CI, skips elsewhere."""
    require(os.access(CHROMIUM, os.X_OK), "Debian's chromium at %s" % CHROMIUM)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


ATTACK = """<!doctype html><title>elsewhere</title>
<img src="{api}/api/thread/logs?thread_id=t1&limit=1000000000">
<script>
fetch("{api}/api/threads", {{mode: "no-cors"}}).finally(() => {{
  document.title = "sent";
}});
</script>"""


@contextmanager
def page_server(html: str) -> Iterator[int]:
    """A plain HTTP server on another loopback port serving ``html``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


class Recorder:
    """ASGI wrapper keeping the status the app answered to each /api path."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.statuses: dict[str, int] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def recording(message: Any) -> None:
            if message["type"] == "http.response.start" and scope["path"].startswith(
                "/api/"
            ):
                self.statuses[scope["path"]] = message["status"]
            await send(message)

        await self.app(scope, receive, recording)


@pytest.mark.parametrize(
    "page_host, api_host",
    [("127.0.0.1", "127.0.0.1"), ("localhost", "127.0.0.1")],
    ids=["same-site", "cross-site"],
)
def test_requests_from_another_site_are_refused(
    browser: Browser, log_dir: Path, page_host: str, api_host: str
) -> None:
    """A page on another loopback port makes Chromium send GETs (an <img>,
    a no-cors fetch) to /api: the server answers each 403 without serving
    it. The viewer's own requests and a typed-in URL still work."""
    append_node_log(make_log())
    recorder = Recorder(create_app(log_dir))
    with running_server(recorder) as url, ExitStack() as stack:
        api = url.replace("127.0.0.1", api_host)
        port = stack.enter_context(page_server(ATTACK.format(api=api)))
        context = browser.new_context()
        stack.callback(context.close)
        page = context.new_page()
        page.goto("http://%s:%d/" % (page_host, port))
        page.wait_for_function("document.title === 'sent'", timeout=15_000)
        deadline = time.monotonic() + 15
        while len(recorder.statuses) < 2 and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        assert recorder.statuses == {"/api/threads": 403, "/api/thread/logs": 403}
        # The same browser, same-origin (the viewer) and typed in: served.
        recorder.statuses.clear()
        page.goto(api + "/")
        answered = page.evaluate("fetch('/api/threads').then(r => r.status)")
        assert answered == 200
        typed = page.goto(api + "/api/threads")
        assert typed is not None and typed.status == 200


# -- slow clients (point 9) --------------------------------------------------------

SERVER = """
import resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
from editorial_ai.observability.api import serve
serve(log_dir=sys.argv[1], port=int(sys.argv[2]))
"""


def get_status(port: int, timeout: float) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/api/threads")
        return connection.getresponse().status
    finally:
        connection.close()


def slow_client(port: int) -> socket.socket | None:
    """A connection that sends part of a request head and then nothing."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /api/threads HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        return sock
    except OSError:
        return None


def test_partial_headers_do_not_starve_new_requests(log_dir: Path) -> None:
    """100 clients holding partial request heads, against a server allowed 64
    descriptors: a new request is still answered (the oldest waiting head is
    dropped for it), with the server's default limits."""
    append_node_log(make_log())
    port = free_port()
    env = dict(os.environ, PYTHONPATH=SRC)
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(log_dir), str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    held: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get_status(port, 5) == 200:
                    break
            except OSError:
                pass
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        for _ in range(100):
            sock = slow_client(port)
            if sock is not None:
                held.append(sock)
        assert len(held) >= 60
        assert get_status(port, timeout=20) == 200
        assert get_status(port, timeout=20) == 200
    finally:
        for sock in held:
            sock.close()
        child.kill()
        child.wait()


def test_head_not_sent_in_time_closes_the_connection() -> None:
    """A connection whose request head does not arrive within the header
    timeout is closed by the server; a whole request is still served."""
    from editorial_ai.observability._http_limits import bounded_protocol

    app = create_app("/nonexistent-log-dir")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            lifespan="off",
            ws="none",
            log_level="warning",
            http=bounded_protocol(0.5, 16),
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        slow = slow_client(port)
        assert slow is not None
        slow.settimeout(20)
        assert slow.recv(1024) == b""  # closed by the server, not by us
        slow.close()
        assert get_status(port, timeout=20) == 200
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
