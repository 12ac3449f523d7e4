"""The app served by a real uvicorn on 127.0.0.1, in a thread of the test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

START_TIMEOUT_S = 30.0


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def running_server(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free loopback port; yield its base URL.

    The socket is bound here and handed to uvicorn, so no other process can
    take the port in between; it only accepts once uvicorn listens, which is
    what the readiness poll waits for.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", ws="none", log_level="warning")
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _accepts(port):
            if not thread.is_alive():
                raise RuntimeError("uvicorn stopped before it served")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    "uvicorn did not listen within %ss" % START_TIMEOUT_S
                )
            time.sleep(0.02)
        yield "http://127.0.0.1:%d" % port
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)
        sock.close()
