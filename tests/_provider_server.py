"""A local HTTP server that answers like the LLM providers, for the tests.

The real client libraries (``openai``, ``anthropic``, ``google-genai``, under
langchain-openai, langchain-anthropic and langchain-google-genai) talk to it
over HTTP on 127.0.0.1. A test queues the answers it wants, in order; each
request takes the next one queued for its scenario (the ``X-Scenario``
header the test's client sends), so parallel nodes get their own answers. An
answer is a JSON body, or a server-sent event stream sent in HTTP/1.1 chunks
that can be cut off before its end (the connection closes without the last
chunk: a dropped stream, which the client sees as an error).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    """One scripted answer."""

    body: dict[str, Any] | None = None
    """A JSON body (``status`` 200 unless said)."""
    events: list[tuple[str | None, Any]] | None = None
    """Server-sent events: (event name or ``None``, data); data that is a
    ``str`` is sent as is (OpenAI's ``[DONE]``), else as JSON."""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    cut_after: int | None = None
    """Close the stream after this many events, without ending it."""


@dataclass
class Request:
    """What the client sent."""

    path: str
    body: dict[str, Any]
    scenario: str


class ProviderServer:
    """The server; use :func:`provider_server`."""

    def __init__(self) -> None:
        self.answers: dict[str, deque[Answer]] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                scenario = self.headers.get("X-Scenario") or ""
                with server._lock:
                    server.requests.append(
                        Request(self.path, json.loads(raw) if raw else {}, scenario)
                    )
                    queue = server.answers.get(scenario)
                    answer = queue.popleft() if queue else None
                if answer is None:
                    answer = Answer(
                        body={"error": {"message": "no answer queued"}}, status=500
                    )
                if answer.events is None:
                    self._send_json(answer)
                else:
                    self._send_events(answer)

            def _send_json(self, answer: Answer) -> None:
                payload = json.dumps(answer.body or {}).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            def _send_events(self, answer: Answer) -> None:
                self.send_response(answer.status)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Cache-Control", "no-cache")
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                events = answer.events or []
                if answer.cut_after is not None:
                    events = events[: answer.cut_after]
                for name, data in events:
                    text = data if isinstance(data, str) else json.dumps(data)
                    event = ("event: %s\n" % name if name else "") + "data: %s\n\n" % (
                        text
                    )
                    self._chunk(event.encode())
                if answer.cut_after is not None:
                    # No terminating chunk: the body is incomplete.
                    self.close_connection = True
                    return
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self._server.server_address[1]

    def answer(self, scenario: str, *answers: Answer) -> None:
        """Queue answers for a scenario, served in order."""
        with self._lock:
            self.answers.setdefault(scenario, deque()).extend(answers)

    def requests_of(self, scenario: str) -> list[Request]:
        """The requests a scenario's client sent."""
        with self._lock:
            return [r for r in self.requests if r.scenario == scenario]

    def serve(self) -> threading.Thread:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def provider_server() -> Iterator[ProviderServer]:
    """A running :class:`ProviderServer` on 127.0.0.1, shut down after."""
    server = ProviderServer()
    thread = server.serve()
    try:
        yield server
    finally:
        server.close()
        thread.join()
