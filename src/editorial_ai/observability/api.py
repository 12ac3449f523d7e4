"""The HTTP API and the web viewer: what was recorded, served read-only.

:func:`create_app` builds a FastAPI app over one log directory; :func:`serve`
runs it with uvicorn. Every route reads through
:mod:`~editorial_ai.observability.reader`, never the files directly.

Routes (JSON unless said otherwise):

* ``GET /api/threads?limit=&offset=&q=&status=&node=&since=&until=``:
  :class:`~.reader.ThreadList`, newest first: ``q`` searches thread ids (any
  case), ``status`` / ``node`` / ``since`` / ``until`` filter, ``total``
  counts every match.
* ``GET /api/threads/{thread_id}/logs?include_io=true&limit=&offset=``:
  :class:`~.reader.ThreadLogs`, runs oldest first; an unknown thread is 200
  with no runs and a ``null`` summary.
* ``GET /api/threads/{thread_id}/summary``:
  :class:`~.models.PipelineRunSummary`, 404 for an unknown thread.
* ``GET /api/threads/{thread_id}/runs/{index}``: :class:`~.reader.NodeRunView`
  with its snapshots, 404 if absent.
* ``GET /``: the viewer page; ``GET /static/{name}``: its modules and styles
  (every file of the package's ``static`` folder, by exact name).

Reaching any thread id. In a path, ``{thread_id}`` is one percent-encoded
segment: ``/api/threads/100%25/logs`` is thread ``100%``. That covers every id
without a ``/`` except ``.`` and ``..``, which clients fold away as dot
segments, and a ``/`` cannot be carried at all: servers decode ``%2F`` before
routing. So each thread route also answers under ``/api/thread/...`` with the
id as the ``thread_id`` query parameter, which takes any string::

    GET /api/thread/logs?thread_id=a%2Fb&include_io=false
    GET /api/thread/summary?thread_id=..
    GET /api/thread/runs/3?thread_id=%ED%95%9C

The viewer always uses this form. Either way the id only ever becomes a file
name through :func:`~.storage.thread_file_stem`, the writer's own mapping, and
the resulting path is checked to sit directly in the log directory.

Security. Requests whose ``Host`` is not ``localhost``, ``127.0.0.1`` or
``[::1]`` (any port) or a configured host get 400 on every route (DNS
rebinding). With an API key, every ``/api`` route wants it in ``X-API-Key``
(401 otherwise); the page itself loads without it and asks for it once.
Responses carry ``X-Content-Type-Options: nosniff``, a Content-Security-Policy
without inline script, ``Referrer-Policy: no-referrer`` and
``X-Frame-Options: DENY``. There is no CORS. The interactive docs pages are
off (they load scripts from a CDN); ``/openapi.json`` stays. ``/api`` refuses
(403) requests a browser marks ``Sec-Fetch-Site: cross-site`` or
``same-site`` (``_http_limits``).

Limits. Every answer is bounded in memory by bytes (``_http_bodies``: logs
streamed, or paged by size with a capped ``limit``; at most four bodies built
at once); :func:`serve` adds a header timeout and a connection cap.

Example:
    >>> from editorial_ai.observability.api import create_app
    >>> app = create_app("/tmp/obs-logs")
    >>> sorted(r.path for r in app.routes if r.path.startswith("/api/threads"))[:2]
    ['/api/threads', '/api/threads/{thread_id}/logs']
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import socket
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated

try:
    import uvicorn
    from fastapi import FastAPI, HTTPException, Query
    from fastapi import Path as PathParam
    from fastapi.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    from ._internal import missing_extra

    raise ImportError(
        missing_extra("editorial_ai.observability.api (the API and the page)", "server")
    ) from exc

from . import _env, _http_bodies, _http_limits
from ._internal import guard
from .analytics.routes import add_stats_routes
from .analytics.sources import (
    _GLOB_CHARS,
    merged_thread_logs,
    merged_thread_run,
    merged_thread_summaries,
    merged_thread_summary,
    resolve_log_dirs,
)
from .models import PipelineRunSummary, RunStatus
from .reader import (
    NodeRunView,
    ThreadFilter,
    ThreadList,
    ThreadLogs,
    thread_run,
    thread_summaries,
    thread_summary,
)
from .storage import thread_log_path

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})

_PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", _PAGE_POLICY.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
_ASSET_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
_PORT = re.compile(r":[0-9]{1,5}")


# -- host, key and headers: one guard in front of every route -------------------


def _host_name(value: bytes) -> str | None:
    """The host of a ``Host`` header without its port, lowercased."""
    try:
        text = value.decode("ascii").lower()
    except UnicodeDecodeError:
        return None
    if text.startswith("["):
        end = text.find("]") + 1
        name, rest = (text[:end], text[end:]) if end else (text, "")
    else:
        name, colon, port = text.partition(":")
        rest = colon + port
    if not name or (rest and not _PORT.fullmatch(rest)):
        return None
    return name


class _ReadSideGuard:
    """ASGI middleware: ``Host`` check, API key, security headers."""

    def __init__(
        self, app: ASGIApp, *, hosts: frozenset[str], api_key: bytes | None
    ) -> None:
        self.app = app
        self.hosts = hosts
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hosts = [value for key, value in scope["headers"] if key == b"host"]
        if len(hosts) != 1 or _host_name(hosts[0]) not in self.hosts:
            await _reject(send, 400, b'{"detail":"host not allowed"}')
            return
        path: str = scope["path"]
        if self.api_key is not None and (path == "/api" or path.startswith("/api/")):
            given = [value for key, value in scope["headers"] if key == b"x-api-key"]
            # compare_digest on bytes: the time taken says nothing of the key.
            if len(given) != 1 or not secrets.compare_digest(given[0], self.api_key):
                await _reject(send, 401, b'{"detail":"missing or wrong X-API-Key"}')
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _reject(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *_SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# -- reading --------------------------------------------------------------------


def _json(
    model: ThreadList | ThreadLogs | PipelineRunSummary | NodeRunView,
) -> Response:
    # Serialised by Pydantic, not by json.dumps: NaN and infinities become
    # null, so the body is strict JSON, and nothing is validated twice.
    return _http_bodies.json_response(model)


def _checked(thread_id: str, directory: Path) -> None:
    """400 unless ``thread_id``'s file sits directly in ``directory``."""
    path = os.path.normpath(os.path.abspath(thread_log_path(thread_id, directory)))
    if os.path.dirname(path) != os.path.normpath(os.path.abspath(directory)):
        raise HTTPException(status_code=400, detail="thread id not allowed")


Limit = Annotated[int | None, Query(ge=0, description="at most this many items")]
Offset = Annotated[int, Query(ge=0, description="items to skip first")]
IncludeIO = Annotated[bool, Query(description="false: leave the snapshots out")]
ThreadInPath = Annotated[str, PathParam(description="the thread id, percent-encoded")]
ThreadInQuery = Annotated[str, Query(description="any thread id, percent-encoded")]
RunIndex = Annotated[int, PathParam(description="position in file order, from 0")]


def create_app(
    log_dir: str | Path | Sequence[str | Path] | None = None,
    *,
    api_key: str | None = None,
    allowed_hosts: Sequence[str] = (),
) -> FastAPI:
    """The API and viewer over ``log_dir``.

    Args:
        log_dir: the log directory; ``None`` resolves it at every request
            (``$EDITORIAL_AI_LOG_DIR``, else ``data/logs``). Several folders
            (or globs) are read as one: a thread in two is one thread.
        api_key: key every ``/api`` route requires in ``X-API-Key``; ``None``
            reads ``$EDITORIAL_AI_OBS_API_KEY`` now, ``""`` means no key.
        allowed_hosts: host names (no port) accepted in ``Host`` besides the
            loopback names.

    Example:
        >>> app = create_app("/tmp/obs-logs", api_key="s3cret")
        >>> app.title
        'editorial-ai-observability'
    """
    several: list[str | Path] | None = None
    if log_dir is not None and not isinstance(log_dir, str | Path):
        several = list(log_dir)
        globbed = any(_GLOB_CHARS & set(os.fspath(value)) for value in several)
        if len(several) == 1 and not globbed:
            log_dir, several = several[0], None
        else:
            log_dir = None
    explicit = None if log_dir is None else Path(log_dir)
    key = _env.api_key(api_key)
    app = FastAPI(
        title="editorial-ai-observability",
        summary="Node runs of LangGraph pipelines, read-only.",
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(_http_limits.FetchMetadataPolicy)
    app.add_middleware(
        _ReadSideGuard,
        hosts=LOOPBACK_HOSTS | {host.lower() for host in allowed_hosts},
        api_key=None if key is None else key.encode(),
    )

    def directory() -> Path:
        return _env.log_dir(explicit)

    def folders() -> list[Path]:
        return resolve_log_dirs(several) if several else [directory()]

    add_stats_routes(app, folders)

    @app.get("/api/threads", response_model=ThreadList)
    def list_threads(
        limit: Limit = None,
        offset: Offset = 0,
        q: Annotated[str | None, Query(description="part of the thread id")] = None,
        status: Annotated[RunStatus | None, Query(description="thread status")] = None,
        node: Annotated[str | None, Query(description="a node that ran")] = None,
        since: Annotated[
            datetime | None, Query(description="still running at or after")
        ] = None,
        until: Annotated[
            datetime | None, Query(description="started at or before")
        ] = None,
    ) -> Response:
        """Threads, most recently written first, searched and filtered; ``total``
        counts every match."""
        where = ThreadFilter(
            query=q or None, status=status, node=node or None, since=since, until=until
        )
        with guard("api:threads"):
            if several:
                return _json(
                    merged_thread_summaries(
                        folders(), limit=limit, offset=offset, where=where
                    )
                )
            return _json(
                thread_summaries(
                    log_dir=directory(), limit=limit, offset=offset, where=where
                )
            )
        return _json(ThreadList(threads=[], total=0))

    def logs(
        thread_id: str, include_io: bool, limit: int | None, offset: int
    ) -> Response:
        if several:
            for folder in folders():
                _checked(thread_id, folder)
            with guard("api:logs"):
                return _json(
                    merged_thread_logs(
                        thread_id,
                        folders(),
                        include_io=include_io,
                        limit=limit,
                        offset=offset,
                    )
                )
            return _json(ThreadLogs(thread_id=thread_id, runs=[], summary=None))
        folder = directory()
        _checked(thread_id, folder)
        with guard("api:logs"):
            # Streamed without limit, else one page bounded in bytes.
            return _http_bodies.logs_response(
                thread_id, folder, include_io=include_io, limit=limit, offset=offset
            )
        return _json(ThreadLogs(thread_id=thread_id, runs=[], summary=None))

    def summary(thread_id: str) -> Response:
        found = None
        for folder in folders():
            _checked(thread_id, folder)
        with guard("api:summary"):
            if several:
                found = merged_thread_summary(thread_id, folders())
            else:
                found = thread_summary(thread_id, log_dir=directory())
        if found is None:
            raise HTTPException(status_code=404, detail="no such thread")
        return _json(found)

    def run(thread_id: str, index: int) -> Response:
        for folder in folders():
            _checked(thread_id, folder)
        answer: Response | None = None
        with _http_bodies.reading, guard("api:run"):
            if several:
                found = merged_thread_run(thread_id, index, folders())
            else:
                found = thread_run(thread_id, index, log_dir=directory())
            answer = None if found is None else _json(found)
        if answer is None:
            raise HTTPException(status_code=404, detail="no such run")
        return answer

    @app.get("/api/threads/{thread_id}/logs", response_model=ThreadLogs)
    def thread_logs_route(
        thread_id: ThreadInPath,
        include_io: IncludeIO = True,
        limit: Limit = None,
        offset: Offset = 0,
    ) -> Response:
        """A thread's node runs, oldest first, and its summary."""
        return logs(thread_id, include_io, limit, offset)

    @app.get("/api/thread/logs", response_model=ThreadLogs)
    def thread_logs_by_query(
        thread_id: ThreadInQuery,
        include_io: IncludeIO = True,
        limit: Limit = None,
        offset: Offset = 0,
    ) -> Response:
        """``/api/threads/{thread_id}/logs`` for any thread id."""
        return logs(thread_id, include_io, limit, offset)

    @app.get(
        "/api/threads/{thread_id}/summary",
        response_model=PipelineRunSummary,
        responses={404: {"description": "no such thread"}},
    )
    def thread_summary_route(thread_id: ThreadInPath) -> Response:
        """What a thread's runs add up to."""
        return summary(thread_id)

    @app.get(
        "/api/thread/summary",
        response_model=PipelineRunSummary,
        responses={404: {"description": "no such thread"}},
    )
    def thread_summary_by_query(thread_id: ThreadInQuery) -> Response:
        """``/api/threads/{thread_id}/summary`` for any thread id."""
        return summary(thread_id)

    @app.get(
        "/api/threads/{thread_id}/runs/{index}",
        response_model=NodeRunView,
        responses={404: {"description": "no such run"}},
    )
    def thread_run_route(thread_id: ThreadInPath, index: RunIndex) -> Response:
        """One node run, with its snapshots."""
        return run(thread_id, index)

    @app.get(
        "/api/thread/runs/{index}",
        response_model=NodeRunView,
        responses={404: {"description": "no such run"}},
    )
    def thread_run_by_query(thread_id: ThreadInQuery, index: RunIndex) -> Response:
        """``/api/threads/{thread_id}/runs/{index}`` for any thread id."""
        return run(thread_id, index)

    # The viewer: fixed files shipped in the package, looked up by exact name,
    # so no request path ever reaches the file system here.
    # Every file of the static folder is read once here, so a view added as a
    # new module (static/stats.js, ...) is served without touching this code.
    static = Path(__file__).with_name("static")
    assets = {
        path.name: (path.read_bytes(), _ASSET_TYPES[path.suffix])
        for path in static.iterdir()
        if path.suffix in _ASSET_TYPES and path.is_file()
    }

    @app.get("/", include_in_schema=False)
    def page() -> Response:
        body, media_type = assets["index.html"]
        return Response(
            body, media_type=media_type, headers={"cache-control": "no-cache"}
        )

    @app.get("/static/{name}", include_in_schema=False)
    def asset(name: str) -> Response:
        if name not in assets or name == "index.html":
            raise HTTPException(status_code=404, detail="no such file")
        body, media_type = assets[name]
        return Response(
            body, media_type=media_type, headers={"cache-control": "no-cache"}
        )

    return app


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_WILDCARDS = ("0.0.0.0", "::", "[::]", "")


def _served_hosts(host: str, allowed_hosts: Sequence[str]) -> list[str]:
    """The ``Host`` names to accept besides loopback: the given ones, the
    bound address, and for a wildcard bind this machine's name (the name
    :func:`_page_url` announces)."""
    hosts = list(allowed_hosts)
    if host in _WILDCARDS:
        hosts.append(socket.gethostname())
    else:
        hosts.append("[%s]" % host if ":" in host else host)
    return hosts


def _page_url(host: str, port: int) -> str:
    """The address to open: this machine's name for a wildcard bind."""
    name = socket.gethostname() if host in _WILDCARDS else host
    if ":" in name and not name.startswith("["):
        name = "[%s]" % name
    return "http://%s:%d/" % (name, port)


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (``port`` 0: a free one), listening.

    Bound before the server starts, so a busy port or a refused address is an
    ``OSError`` here, not a traceback from inside the server.

    Example:
        >>> sock = bind("127.0.0.1", 0)
        >>> sock.getsockname()[1] > 0
        True
        >>> sock.close()
    """
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        # Listening now: a client that reads the announced URL at once is
        # queued until the server accepts, not refused.
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def serve(
    log_dir: str | Path | Sequence[str | Path] | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    api_key: str | None = None,
    *,
    allowed_hosts: Sequence[str] = (),
    announce: Callable[[str], None] | None = None,
    header_timeout: float = _http_limits.HEADER_TIMEOUT_S,
    max_connections: int | None = None,
) -> None:
    """Run the API and viewer with uvicorn until interrupted.

    Binding anything but a loopback address exposes the logs (states, prompts,
    errors) to the network, so it needs an API key.

    Limits: a connection whose request head has not arrived within
    ``header_timeout`` seconds is closed; past ``max_connections`` open
    connections (default: half the process's descriptor limit, at most
    1,024) the oldest one still waiting for its head is closed, and past as
    many requests in flight the server answers 503; at most four bodies are
    built at once, each bounded in bytes.

    Args:
        log_dir: as for :func:`create_app`.
        host: address to bind; ``127.0.0.1`` by default.
        port: TCP port; 0 picks a free one.
        api_key: as for :func:`create_app` (``None`` reads
            ``$EDITORIAL_AI_OBS_API_KEY``).
        allowed_hosts: more accepted ``Host`` names (the names clients use
            to reach this machine, e.g. ``obs.example.com``); a non-wildcard
            ``host`` is accepted without being listed, and with a wildcard
            (``0.0.0.0``, ``::``) so is the machine's own host name.
        announce: called with the page's URL once the port is bound.
        header_timeout: seconds a client has to send a request's head.
        max_connections: open connections kept at most.

    Raises:
        ValueError: ``host`` is not a loopback address and there is no key.
        OSError: the address cannot be bound (``EADDRINUSE``: the port is
            busy).

    Example:
        >>> serve(host="0.0.0.0", api_key="")
        Traceback (most recent call last):
        ...
        ValueError: refusing to serve on 0.0.0.0 without an API key; set EDITORIAL_AI_OBS_API_KEY
    """  # noqa: E501
    key = _env.api_key(api_key)
    if not _is_loopback(host) and key is None:
        raise ValueError(
            "refusing to serve on %s without an API key; set %s" % (host, _env.API_KEY)
        )
    app = create_app(
        log_dir, api_key=key or "", allowed_hosts=_served_hosts(host, allowed_hosts)
    )
    protocol = _http_limits.bounded_protocol(header_timeout, max_connections)
    sock = bind(host, port)
    try:
        if announce is not None:
            announce(_page_url(host, sock.getsockname()[1]))
        # proxy_headers off: X-Forwarded-* from a client must not be believed.
        config = uvicorn.Config(
            app,
            proxy_headers=False,
            server_header=False,
            http=protocol,
            # Counts connections and requests; the protocol keeps connections
            # under its cap, so this answers 503 only to requests past it.
            limit_concurrency=protocol.max_connections + 1,
        )
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


__all__ = ["bind", "create_app", "serve"]
