"""Deferred writing: node runs queued and appended in batches by one thread.

Off by default. Every line is then appended before the node returns, so a
crash of the process, however hard, loses nothing already recorded (at most
the line being written, left torn and repaired by the next writer).

With ``$EDITORIAL_AI_WRITE_DELAY_MS`` set to ``N`` > 0, a finished node
run's line is encoded as always, then queued instead of written, and one
background thread appends what is queued about ``N`` ms after the first line
of a batch, one ``write`` per thread file and batch. What a node saves is
the system calls of its line (the ``lstat`` that notices a rotated file and
the ``write``), which cost several times more one line at a time between two
nodes than once for a batch (see ``docs/performance.md``). The queue holds
bytes, not records: what it keeps alive is exactly what it will write, and
the garbage collector has nothing in it to walk.

What is queued is written:

- by the background thread, about ``N`` ms later (it looks at the queue
  every 10 to 50 ms, so a delay under 10 ms is about 10 ms; an idle
  process pays those looks, microseconds each, once it has queued a line);
- at once, in the recording thread, when 256 lines or 4 MiB are waiting
  (the queue never holds more, whatever the rate or the size of the
  snapshots), and before a line of 64 KiB or more, which is not queued:
  written at once, its system calls are a small part of what it costs,
  while queueing it would keep its bytes and copy them once more (at
  100 KB a line, that measured slower than writing each line at once);
- at exit (``atexit``: a normal exit, ``sys.exit``, an uncaught exception);
- before ``os.fork`` (the child starts with an empty queue);
- before this process reads the logs (``read_node_logs``, ``list_threads``,
  the CLI and API readers) and on ``flush_sinks()``.

The trade: a process killed without running its exit handlers (``SIGKILL``,
the default action of ``SIGTERM`` and other signals, ``os._exit``, a crash of
the interpreter) loses the runs of its last ``N`` ms. Lines are never torn by
this: a batch is one ``write`` per file (or a few, of at most 4 MiB each),
whole lines only, in the order the runs finished. A failure to write is
warned as for a single line, with the count of records lost; the pipeline
never sees it.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import deque

from . import _env
from ._internal import warn_failure, warn_os_error
from ._writer import append_line

WRITE_DELAY_MS = _env.WRITE_DELAY_MS

MAX_DELAY_MS = 60_000
MAX_QUEUED = 256
"""Lines waiting at most: the one that makes it 256 writes the queue in its
own thread."""
MAX_QUEUED_BYTES = 4 << 20
"""Bytes waiting at most, likewise."""
MAX_QUEUED_LINE = 64 << 10
"""A line this long or longer is written at once (after the queue)."""
_MIN_SLICE_MS, _MAX_SLICE_MS = 10, 50
_MAX_WRITE = 4 << 20  # bytes of lines in one write (a batch may take several)

# (path, directory, line), in the order runs finished. ``deque.append`` and
# ``popleft`` are atomic: no lock to queue.
_queue: deque[tuple[str, str, bytes]] = deque()
_queued_bytes = 0  # about: updated without a lock, reset by each flush
# Reentrant: a signal handler that flushes while this thread flushes must
# not wait for itself (it drains the same queue).
_flush_lock = threading.RLock()
_start_lock = threading.Lock()
_thread: threading.Thread | None = None
_delay = 0  # ms, as last queued with
_since = 0.0  # when the oldest queued line was queued (monotonic seconds)
_monotonic = time.monotonic
_parsed: tuple[str | None, int] = (None, 0)


def delay_ms() -> int:
    """``$EDITORIAL_AI_WRITE_DELAY_MS`` read now; ``0`` when unset, and for a
    value that is not a whole number from 0 to 60,000 (with one warning)."""
    global _parsed
    raw = _env.get(WRITE_DELAY_MS)
    parsed = _parsed
    if parsed[0] == raw:
        return parsed[1]
    value = 0
    if raw is not None and raw.strip():
        try:
            value = int(raw.strip())
        except ValueError:
            value = -1
        if not 0 <= value <= MAX_DELAY_MS:
            warn_failure(
                "setting:" + WRITE_DELAY_MS,
                "%s=%r is not a whole number of milliseconds from 0 to %d; "
                "writing each line before its node returns",
                WRITE_DELAY_MS,
                raw,
                MAX_DELAY_MS,
            )
            value = 0
    _parsed = (raw, value)
    return value


def enqueue(path: str, directory: str, line: bytes, delay: int) -> bool:
    """Queue ``line`` (ending in a newline) for ``path``; ``False`` for a
    line of 64 KiB or more, which the caller writes at once, after the queue
    (for such a line the system calls are a small part of the cost, and
    queueing it would hold and copy its bytes once more). Never raises.

    The common call costs a ``deque.append`` and a few comparisons: no lock,
    no event (the writer thread looks at the queue on its own)."""
    global _delay, _queued_bytes, _since
    if len(line) >= MAX_QUEUED_LINE:
        flush()  # what this thread queued before goes first
        return False
    if not _queue:
        _since = _monotonic()
    _queue.append((path, directory, line))
    _queued_bytes += len(line)
    _delay = delay
    if _thread is None:
        _start()
    if len(_queue) >= MAX_QUEUED or _queued_bytes >= MAX_QUEUED_BYTES:
        flush()
    return True


def pending() -> int:
    """How many lines wait to be written."""
    return len(_queue)


def _start() -> None:
    global _thread
    with _start_lock:
        if _thread is not None:
            return
        thread = threading.Thread(
            target=_run, name="editorial-ai-observability-writer", daemon=True
        )
        thread.start()
        _thread = thread


def _run() -> None:
    # Looks at the queue every 10 to 50 ms (the delay, within those bounds):
    # a wake-up costs the thread microseconds, and the recording threads
    # nothing. A delay changed meanwhile is followed at the next look.
    while True:
        time.sleep(min(max(_delay, _MIN_SLICE_MS), _MAX_SLICE_MS) / 1000)
        if _queue and (_monotonic() - _since) * 1000 >= _delay:
            flush()


def flush() -> None:
    """Write every queued line now, in order. Never raises.

    Returns once the lines queued so far are in their files, including those
    another thread took from the queue and is writing at this moment (the
    lock waits for it): so a line written at once after this call, or a read,
    comes after them."""
    if not _queue and _thread is None:
        return  # nothing was ever queued in this process
    with _flush_lock:
        try:
            if _queue:
                _write_queued()
        except Exception as exc:  # pragma: no cover (each record is guarded)
            warn_failure("deferred", "deferred writing failed: %r", exc)


def _write_queued() -> None:
    global _queued_bytes
    files: dict[str, tuple[str, list[bytes]]] = {}
    while True:
        try:
            path, directory, line = _queue.popleft()
        except IndexError:
            break
        entry = files.get(path)
        if entry is None:
            entry = files[path] = (directory, [])
        entry[1].append(line)
    _queued_bytes = 0
    for path, (directory, lines) in files.items():
        _append_lines(path, directory, lines)


def _append_lines(path: str, directory: str, lines: list[bytes]) -> None:
    start = 0
    while start < len(lines):
        size = 0
        end = start
        while end < len(lines) and (
            end == start or size + len(lines[end]) <= _MAX_WRITE
        ):
            size += len(lines[end])
            end += 1
        try:
            append_line(path, directory, b"".join(lines[start:end]))
        except OSError as exc:
            warn_os_error(
                "append node runs to",
                path,
                exc,
                "; %d records are lost (the pipeline is unaffected)" % (end - start),
            )
        except Exception as exc:
            warn_failure(
                "append:" + type(exc).__name__,
                "could not append node runs to %s: %s: %s; %d records are lost "
                "(the pipeline is unaffected)",
                path,
                type(exc).__name__,
                exc,
                end - start,
            )
        start = end


def _before_fork() -> None:
    # The child must not write the parent's records again: write them first.
    flush()


def _after_fork_in_child() -> None:
    global _thread, _flush_lock, _start_lock, _queued_bytes
    _queue.clear()
    _queued_bytes = 0
    _thread = None
    _flush_lock = threading.RLock()
    _start_lock = threading.Lock()


atexit.register(flush)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
