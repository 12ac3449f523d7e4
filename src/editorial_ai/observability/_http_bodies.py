"""Response bodies of bounded size: what one API request may hold in memory.

A request's memory is bounded by bytes, never by a count of runs:

* A thread's runs without ``limit`` are streamed, one run at a time, in
  chunks of about ``CHUNK_BYTES``: a thread file of any size costs one run
  (at most one line of ``MAX_LINE_BYTES``) plus one chunk.
* A page (``limit`` or ``offset`` given) holds at most ``MAX_PAGE_RUNS`` runs,
  ``MAX_PAGE_RUNS_IO`` with snapshots, and stops early once its runs add up
  to ``PAGE_BYTES`` of JSON (it always holds at least one run): clients page
  on with ``offset + len(runs)`` until ``total_runs``.

At most ``MAX_READS`` requests build a body at once (:data:`reading`; a
stream takes it per chunk, not for its whole life, so a slow reader holds no
slot): the server's memory for bodies is bounded by that many bodies, however
many requests arrive.

Either way the runs are read through one descriptor, opened before the first
byte is sent (:func:`~editorial_ai.observability.reader.pin_thread`): a file
rotated, deleted or truncated meanwhile yields what it still holds, as valid
JSON; a failure to open it is an answer of its own, before any byte.

Serialising is done by pydantic-core, which reports some failures (an
allocation too large, for one) as pyo3's ``PanicException``, a
``BaseException``: :func:`dump` turns it into :class:`SerializationFailed`,
an ``Exception`` the server's guard handles.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pydantic_core
from pydantic import BaseModel
from starlette.responses import Response, StreamingResponse

from ._internal import warn_failure
from .pricing import load_price_table
from .reader import PinnedThread, _view, pin_thread
from .snapshot._text import _SURROGATE

CHUNK_BYTES = 1 << 20
PAGE_BYTES = 8 << 20
MAX_PAGE_RUNS = 5000
MAX_PAGE_RUNS_IO = 100
MAX_READS = 4
reading = threading.BoundedSemaphore(MAX_READS)
"""Held while a body (or a chunk of a stream) is built."""
_HEADERS = {"cache-control": "no-store"}


class SerializationFailed(Exception):
    """pydantic-core gave up on a value (it panicked)."""


def _is_panic(exc: BaseException) -> bool:
    # pyo3_runtime.PanicException cannot be imported by name; it derives
    # from BaseException directly.
    return type(exc).__name__ == "PanicException"


def dump(model: BaseModel) -> bytes:
    """``model`` as JSON bytes; a serializer panic becomes
    :class:`SerializationFailed`.

    Example:
        >>> from editorial_ai.observability.reader import ThreadList
        >>> dump(ThreadList(threads=[]))
        b'{"threads":[]}'
    """
    try:
        return model.__pydantic_serializer__.to_json(model)
    except BaseException as exc:
        if _is_panic(exc):
            raise SerializationFailed(str(exc)[:200]) from None
        raise


def json_response(model: BaseModel) -> Response:
    """A strict-JSON answer (NaN and infinities are ``null``)."""
    return Response(dump(model), media_type="application/json", headers=_HEADERS)


def _run_json(pinned: PinnedThread, index: int, include_io: bool) -> bytes | None:
    record = pinned.record(index, include_io)
    if record is None:
        return None  # gone (truncated) since it was indexed
    try:
        view = _view(index, record, pinned.table or load_price_table())
        return dump(view)
    except Exception as exc:
        warn_failure(
            "api:run:" + type(exc).__name__,
            "a run of thread %r could not be served (%s); it was left out",
            pinned.thread_id,
            type(exc).__name__,
        )
        return None


def _head(thread_id: str) -> bytes:
    return b'{"thread_id":' + pydantic_core.to_json(thread_id) + b',"runs":['


def _tail(pinned: PinnedThread) -> bytes:
    summary = b"null"
    if pinned.summary is not None:
        try:
            summary = dump(pinned.summary)
        except Exception as exc:  # the body must stay valid JSON
            warn_failure(
                "api:summary:" + type(exc).__name__,
                "the summary of thread %r could not be served (%s)",
                pinned.thread_id,
                type(exc).__name__,
            )
    return b'],"summary":' + summary + b',"total_runs":%d}' % pinned.count


def logs_response(
    thread_id: str,
    folder: Path,
    *,
    include_io: bool,
    limit: int | None,
    offset: int,
) -> Response:
    """The body of ``GET /api/threads/{thread_id}/logs`` (see the module)."""
    thread_id = _SURROGATE.sub("\ufffd", thread_id)
    table = load_price_table()
    pinned = pin_thread(thread_id, folder, table)
    if pinned is None:
        body = _head(thread_id) + b'],"summary":null,"total_runs":0}'
        return Response(body, media_type="application/json", headers=_HEADERS)
    if limit is None and offset == 0:
        return StreamingResponse(
            _stream(pinned, include_io), media_type="application/json", headers=_HEADERS
        )
    with pinned, reading:
        cap = MAX_PAGE_RUNS_IO if include_io else MAX_PAGE_RUNS
        count = cap if limit is None else min(limit, cap)
        wanted = pinned.order[offset : offset + count]
        parts = [_head(thread_id)]
        size = 0
        for index in wanted:
            if size >= PAGE_BYTES:
                break
            line = _run_json(pinned, index, include_io)
            if line is None:
                continue
            parts.append(b"," + line if len(parts) > 1 else line)
            size += len(line)
        parts.append(_tail(pinned))
    return Response(b"".join(parts), media_type="application/json", headers=_HEADERS)


def _stream(pinned: PinnedThread, include_io: bool) -> Iterator[bytes]:
    # Chunks of many runs: each chunk of a streamed response costs a hop to
    # the event loop, too slow to pay per run.
    with pinned:
        order = iter(pinned.order)
        first = True
        chunk = [_head(pinned.thread_id)]
        while True:
            size = 0
            done = True
            with reading:  # released before the chunk is sent
                for index in order:
                    line = _run_json(pinned, index, include_io)
                    if line is None:
                        continue
                    chunk.append(line if first else b"," + line)
                    first = False
                    size += len(line)
                    if size >= CHUNK_BYTES:
                        done = False
                        break
                if done:
                    chunk.append(_tail(pinned))
            yield b"".join(chunk)
            if done:
                return
            chunk = []
