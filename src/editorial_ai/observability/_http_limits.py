"""Limits of the HTTP server: who may ask, how many at once, how slowly.

* Fetch Metadata. A page on another site can make a browser send GETs to
  the API (``<img src>``, ``fetch(..., {mode: "no-cors"})``). It cannot read
  the answers, but the server would do the work. Browsers say where such a
  request comes from in ``Sec-Fetch-Site``; ``/api`` refuses ``cross-site``
  and ``same-site`` (another port of the same host is same-site) with 403.
  Clients that send no such header (curl, scripts, the CLI) are unaffected,
  and the page's own requests are ``same-origin``.
* Connections. Uvicorn waits for a request's head as long as the client
  likes; :class:`BoundedH11Protocol` closes a connection whose head has not
  arrived within ``HEADER_TIMEOUT_S`` seconds, and past ``max_connections``
  open connections it closes the oldest one still waiting for a head (else
  the new one), so clients that trickle partial headers never use up the
  process's descriptors nor keep new requests out.
* Concurrency. Uvicorn's ``limit_concurrency`` answers 503 past
  ``max_connections`` requests in flight; memory for bodies is bounded
  further in ``_http_bodies`` (``reading``).
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any

import h11
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_S = 10.0
_REFUSED_SITES = frozenset({b"cross-site", b"same-site"})
_FORBIDDEN = b'{"detail":"cross-site request refused (Sec-Fetch-Site)"}'


class FetchMetadataPolicy:
    """ASGI middleware: 403 for ``/api`` requests a browser marks as sent
    from another site (``Sec-Fetch-Site: cross-site`` or ``same-site``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path == "/api" or path.startswith("/api/"):
                for key, value in scope["headers"]:
                    if key == b"sec-fetch-site" and value.lower() in _REFUSED_SITES:
                        await send(
                            {
                                "type": "http.response.start",
                                "status": 403,
                                "headers": [
                                    (b"content-type", b"application/json"),
                                    (b"content-length", b"%d" % len(_FORBIDDEN)),
                                    (b"vary", b"Sec-Fetch-Site"),
                                ],
                            }
                        )
                        await send({"type": "http.response.body", "body": _FORBIDDEN})
                        return
        await self.app(scope, receive, send)


def default_max_connections() -> int:
    """Half the descriptors this process may open, at most 1,024: the other
    half stays for log files and the listening socket."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1024
    return max(8, min(1024, soft // 2))


class BoundedH11Protocol(H11Protocol):
    """Uvicorn's h11 protocol with a header timeout and a connection cap.

    Configure with :func:`bounded_protocol`, which sets the two class
    attributes on a subclass.
    """

    header_timeout_s: float = HEADER_TIMEOUT_S
    max_connections: int = 1024

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_timer: asyncio.TimerHandle | None = None
        self._opened = self.loop.time()
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            victim = _oldest_waiting(self.connections, self)
            if victim is None:
                transport.close()  # every other one is busy: refuse this one
                return
            victim._close_waiting()
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Keep-alive: the next request's head gets the same deadline.
        if not self.transport.is_closing():
            self._opened = self.loop.time()
            self._arm_head_timer()

    def waiting_for_head(self) -> bool:
        """No request of this connection is being served or answered."""
        return self.conn.their_state is h11.IDLE and (
            self.cycle is None or self.cycle.response_complete
        )

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(
            self.header_timeout_s, self._head_timed_out
        )

    def _disarm_head_timer(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.waiting_for_head():
            self._close_waiting()

    def _close_waiting(self) -> None:
        self._disarm_head_timer()
        if not self.transport.is_closing():
            self.transport.close()


def _oldest_waiting(
    connections: Any, newcomer: BoundedH11Protocol
) -> BoundedH11Protocol | None:
    oldest: BoundedH11Protocol | None = None
    for connection in connections:
        if (
            connection is newcomer
            or not isinstance(connection, BoundedH11Protocol)
            or connection.transport.is_closing()
            or not connection.waiting_for_head()
        ):
            continue
        if oldest is None or connection._opened < oldest._opened:
            oldest = connection
    return oldest


def bounded_protocol(
    header_timeout_s: float = HEADER_TIMEOUT_S, max_connections: int | None = None
) -> type[BoundedH11Protocol]:
    """A :class:`BoundedH11Protocol` class with these limits, for
    ``uvicorn.run(http=...)``.

    Example:
        >>> bounded_protocol(5.0, 64).max_connections
        64
    """
    return type(
        "BoundedH11Protocol",
        (BoundedH11Protocol,),
        {
            "header_timeout_s": header_timeout_s,
            "max_connections": max_connections or default_max_connections(),
        },
    )
