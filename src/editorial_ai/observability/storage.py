"""JSONL storage: one file per thread, one line per node run, nothing lost.

Writing (``_writer.py`` has the details). A line is one ``os.write`` on a
descriptor opened with ``O_APPEND``: lines written at once by threads and by
separate processes never interleave, whatever their size (we measured 1.5 M
concurrent appends of 100 B to 16 MiB without one interleaving; two ``write``
calls per line corrupt lines above 8 KiB). A torn last line left by a crash or
a full disk gets its newline back before the next line, so nothing else is
lost. A symlink or a FIFO at the log path is refused, never followed and never
waited on.

Reading. Every valid line is returned in file order; a corrupt line (a crash
mid-write, a hand edit) is skipped with one warning; an unfinished last line
(no newline yet: a writer is busy with it) is pending, not corrupt, and is
skipped silently unless it already is a whole record.

Nothing here raises into the pipeline: every failure is one warning on the
``editorial_ai.observability`` logger (repeats are counted, not logged).

File names. A thread id made only of ASCII letters, digits, ``-`` and ``_``
(every UUID), at most 200 characters, is its own file name. Any other id is
written as ``~`` followed by its UTF-8 bytes percent-encoded; when that would
be longer than 200 characters, as ``~``, a readable prefix, ``~`` and the
SHA-256 of the id. Plain names never contain ``~``, encoded ones hold exactly
one and hashed ones two, so two ids never share a file and no name is ``.``,
``..`` or holds a ``/``. Every line also stores its thread id and reading
keeps only lines of the id asked for.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes, unquote_to_bytes

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError, to_json

from . import _deferred, _env
from ._internal import guard, logger, warn_failure, warn_os_error
from ._line import encode_fields_line, encode_record_line
from ._writer import append_line
from .models import NodeRunLog, build_node_run_log
from .snapshot._text import _SURROGATE

SUFFIX = ".jsonl"
_PLAIN = re.compile(r"[A-Za-z0-9_-]{1,200}")
_MAX_STEM = 200
_HASHED_PREFIX = 120
_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


# -- file names ---------------------------------------------------------------


def thread_file_stem(thread_id: str) -> str:
    """The file name (without ``.jsonl``) that holds ``thread_id``'s lines.

    Example:
        >>> thread_file_stem("3f2b-run_7"), thread_file_stem("../x")
        ('3f2b-run_7', '~..%2Fx')
    """
    if _PLAIN.fullmatch(thread_id):
        return thread_id
    # A lone surrogate cannot be stored in a strict JSON line, so the record
    # holds U+FFFD in its place; name the file after that same spelling.
    raw = _SURROGATE.sub("\ufffd", thread_id).encode("utf-8")
    encoded = quote_from_bytes(raw, safe="").replace("~", "%7E")
    if len(encoded) + 1 <= _MAX_STEM:
        return "~" + encoded
    prefix = encoded[:_HASHED_PREFIX]
    cut = prefix.rfind("%", len(prefix) - 2)
    if cut != -1:  # never end the prefix inside a %XX escape
        prefix = prefix[:cut]
    return "~" + prefix + "~" + hashlib.sha256(raw).hexdigest()


def thread_id_from_stem(stem: str) -> str | None:
    """Invert :func:`thread_file_stem`; ``None`` for a hashed (long) name or a
    name this library did not make."""
    if _PLAIN.fullmatch(stem):
        return stem
    if not stem.startswith("~") or "~" in stem[1:]:
        return None
    try:
        thread_id = unquote_to_bytes(stem[1:]).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return thread_id if thread_file_stem(thread_id) == stem else None


def _log_dir() -> Path:
    """The log directory (``$EDITORIAL_AI_LOG_DIR`` or ``data/logs``), created
    if missing. Resolved at every call, never cached."""
    directory = _env.log_dir()
    with guard("create log directory"):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def _log_path(thread_id: str) -> Path:
    """The JSONL file of ``thread_id`` inside :func:`_log_dir`."""
    return _log_dir() / (thread_file_stem(thread_id) + SUFFIX)


def thread_log_path(
    thread_id: str, log_dir: str | os.PathLike[str] | None = None
) -> Path:
    """The JSONL file of ``thread_id``, without creating anything.

    Example:
        >>> thread_log_path("t1", "/tmp/logs")
        PosixPath('/tmp/logs/t1.jsonl')
    """
    return _env.log_dir(log_dir) / (thread_file_stem(thread_id) + SUFFIX)


# -- writing ------------------------------------------------------------------

_paths: dict[tuple[str, str], str] = {}


def _file_path(directory: str, thread_id: str) -> str:
    """``directory/stem.jsonl``, remembered: a thread writes many lines."""
    key = (directory, thread_id)
    path = _paths.get(key)
    if path is None:
        if len(_paths) > 4096:
            _paths.clear()
        path = _paths[key] = os.path.join(
            directory, thread_file_stem(thread_id) + SUFFIX
        )
    return path


def _clean(value: Any, seen: set[int]) -> Any:
    """A copy ``to_json`` accepts: no lone surrogates, cycles cut."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict | list | tuple | set | frozenset):
        if id(value) in seen:
            return "<cycle>"
        seen.add(id(value))
        try:
            if isinstance(value, dict):
                return {
                    _clean(key if isinstance(key, str) else _safe_repr(key), seen): (
                        _clean(item, seen)
                    )
                    for key, item in value.items()
                }
            return [_clean(item, seen) for item in value]
        finally:
            seen.discard(id(value))
    return value


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:
        return "<unrepresentable %s>" % type(value).__name__


def encode_line(log: NodeRunLog) -> bytes:
    """``log`` as one line of strict JSON, ending in ``\\n``.

    Never raises for a value the record holds: lone surrogates become U+FFFD,
    ``NaN`` and infinities ``null``, cycles ``"<cycle>"``, and anything JSON
    cannot hold its ``repr``.
    """
    try:
        return log.__pydantic_serializer__.to_json(log) + b"\n"
    except (PydanticSerializationError, ValueError, RecursionError):
        return _replaced_line(log)


def _replaced_line(log: NodeRunLog) -> bytes:
    """The line of a record that JSON cannot hold as it is, with what it
    cannot hold replaced (see :func:`encode_line`), and one warning."""
    warn_failure(
        "encode",
        "a node run of thread %r held values JSON cannot hold; "
        "they were replaced (lone surrogates, cycles, unknown objects); "
        "the pipeline is unaffected",
        log.thread_id,
    )
    data = _clean(log.model_dump(mode="python", round_trip=True), set())
    return to_json(data, inf_nan_mode="null", fallback=_safe_repr) + b"\n"


def append_node_log(log: NodeRunLog) -> None:
    """Append ``log`` as one line to its thread's JSONL file. Never raises.

    The file is ``{log_dir}/{thread_file_stem(thread_id)}.jsonl``; the log
    directory is created when missing.

    Example:
        >>> from datetime import datetime, UTC
        >>> now = datetime.now(UTC)
        >>> append_node_log(NodeRunLog(thread_id="t1", node_name="draft",
        ...     status="success", started_at=now, ended_at=now))
    """
    _append(log.thread_id, None, log)


def append_fields(fields: dict[str, Any]) -> None:
    """:func:`append_node_log` of the record whose fields are ``fields``,
    without building the ``NodeRunLog`` (the node wrapper's path when the
    JSONL file is the only sink): the same file, the same bytes. ``fields``
    holds every field, each of its type (see ``models.build_node_run_log``).
    Never raises."""
    _append(fields["thread_id"], fields, None)


def _append(thread_id: str, fields: dict[str, Any] | None, log: Any) -> None:
    path = "?"
    try:
        directory = _env.get(_env.LOG_DIR) or _DEFAULT_DIR
        if directory[:1] != "/":
            # Relative (the default ``data/logs``): resolved against the
            # working directory of this write, and cached by the result.
            directory = os.path.join(os.getcwd(), directory)
        path = _paths.get((directory, thread_id)) or _file_path(directory, thread_id)
        try:  # the fast encoding; what it cannot take, the model's
            line = (
                encode_record_line(log)
                if fields is None
                else encode_fields_line(fields)
            )
            if line is None:  # a call of another class: the model encodes it
                line = encode_line(
                    log if fields is None else build_node_run_log(fields)
                )
        except (PydanticSerializationError, ValueError, RecursionError):
            # JSON cannot hold a value as it is (the model would fail alike):
            # replace it, without serializing the record once more first.
            line = _replaced_line(log if fields is None else build_node_run_log(fields))
        delay = (
            0
            if _environ is not None and _environ.get(_DELAY_KEY) is None
            else _deferred.delay_ms()
        )
        if not delay:
            if _deferred.was_used:
                # The delay was set back to 0: what waits goes first.
                _deferred.flush()
            append_line(path, directory, line)
        elif not _deferred.enqueue(path, directory, line, delay):
            append_line(path, directory, line)
    except OSError as exc:
        warn_os_error(
            "append a node run to",
            path,
            exc,
            "; this record is lost (the pipeline is unaffected)",
        )
    except Exception as exc:
        warn_failure(
            "append:" + type(exc).__name__,
            "could not append a node run to %s: %s: %s; this record is lost "
            "(the pipeline is unaffected)",
            path,
            type(exc).__name__,
            exc,
        )


_DEFAULT_DIR = str(_env.DEFAULT_LOG_DIR)
_environ = _env.environ_bytes
_DELAY_KEY = _env.key(_deferred.WRITE_DELAY_MS)


# -- reading ------------------------------------------------------------------


def read_file_bytes(path: str | os.PathLike[str]) -> bytes | None:
    """The bytes of a regular log file; ``None`` if missing. Refuses (raises
    ``OSError``) a symlink, a FIFO or a directory at ``path``."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        chunks: list[bytes] = []
        while chunk := os.read(fd, max(info.st_size + 1, 1 << 16)):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def parse_lines(
    data: bytes, thread_id: str | None, source: str = "log"
) -> Iterator[NodeRunLog]:
    """Yield the valid records of JSONL ``data`` in order.

    A line that is not a ``NodeRunLog`` is skipped and counted (one warning
    per call); an unterminated last line that does not parse is pending and
    skipped silently. With ``thread_id``, lines of other threads are skipped.
    """
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when data ends with a newline
    corrupt = 0
    for raw in lines:
        if not raw.strip():
            continue
        try:
            log = NodeRunLog.model_validate_json(raw)
        except ValidationError:
            corrupt += 1
            continue
        if thread_id is None or log.thread_id == thread_id:
            yield log
    if tail.strip():
        try:
            log = NodeRunLog.model_validate_json(tail)
        except ValidationError:
            logger.debug("%s: unfinished last line (pending)", source)
        else:
            if thread_id is None or log.thread_id == thread_id:
                yield log
    if corrupt:
        warn_failure(
            "read:corrupt",
            "%s: skipped %d corrupt line(s); every valid line was read",
            source,
            corrupt,
        )


def read_node_logs(
    thread_id: str, log_dir: str | os.PathLike[str] | None = None
) -> list[NodeRunLog]:
    """All valid node runs of ``thread_id``, in file order. Never raises.

    A missing file (or log directory) gives ``[]``; a corrupt line is skipped
    with a warning and costs only itself.

    Example:
        >>> read_node_logs("no-such-thread")
        []
    """
    _deferred.flush()  # this process's queued lines first
    path = thread_log_path(thread_id, log_dir)
    try:
        data = read_file_bytes(path)
    except OSError as exc:
        warn_os_error("read", path, exc)
        return []
    if data is None:
        return []
    with guard("read_node_logs"):
        wanted = _SURROGATE.sub("\ufffd", thread_id)
        return list(parse_lines(data, wanted, str(path)))
    return []


_FIRST_LINES_READ = 64 << 20
_first_ids: dict[str, tuple[tuple[int, int, int, int], str | None]] = {}


def _first_thread_id(path: str) -> str | None:
    """The thread id of the first valid line among the file's first 64 MiB
    (a hashed file name does not say its id; a foreign file has none)."""
    fd = os.open(path, _READ_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            budget = _FIRST_LINES_READ
            while budget > 0:
                raw = handle.readline(budget)
                if not raw:
                    return None
                budget -= len(raw)
                if not raw.endswith(b"\n") and budget <= 0:
                    return None  # a line longer than the budget
                try:
                    return NodeRunLog.model_validate_json(raw).thread_id
                except Exception:  # any failure makes the line corrupt
                    continue
    finally:
        os.close(fd)
    return None


def _cached_first_thread_id(path: str, info: os.stat_result) -> str | None:
    """:func:`_first_thread_id`, read again only when the file changed
    (identity, size or modification time): a foreign file costs one read."""
    stamp = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    cached = _first_ids.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    thread_id = _first_thread_id(path)
    _first_ids[path] = (stamp, thread_id)
    return thread_id


def list_threads(log_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Thread ids with a log file, most recently written first. Never raises.

    Example:
        >>> isinstance(list_threads(), list)
        True
    """
    _deferred.flush()  # this process's queued lines first
    directory = _env.log_dir(log_dir)
    found: list[tuple[float, str, str]] = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    except OSError as exc:
        warn_os_error("list", directory, exc)
        return []
    unnamed: set[str] = set()
    for entry in entries:
        with guard("list_threads"):
            if not entry.name.endswith(SUFFIX) or not entry.is_file(
                follow_symlinks=False
            ):
                continue
            stem = entry.name[: -len(SUFFIX)]
            info = entry.stat(follow_symlinks=False)
            thread_id = thread_id_from_stem(stem)
            if thread_id is None:
                unnamed.add(entry.path)
                thread_id = _cached_first_thread_id(entry.path, info)
            if thread_id is not None:
                found.append((info.st_mtime, stem, thread_id))
    # Forget files gone from this folder; keep other folders' entries.
    prefix = os.path.join(str(directory), "")
    for path in [p for p in list(_first_ids) if p.startswith(prefix)]:
        if path in unnamed:
            continue
        _first_ids.pop(path, None)
    found.sort(key=lambda item: (-item[0], item[1]))
    return [thread_id for _, _, thread_id in found]
