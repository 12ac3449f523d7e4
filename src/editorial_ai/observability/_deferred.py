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
- at exit (``atexit``: a normal exit, ``sys.exit``, an uncaught exception),
  and when a ``multiprocessing`` or ``ProcessPoolExecutor`` worker ends
  (those end with ``os._exit`` and run no ``atexit`` handler, but they do
  run ``threading``'s exit hooks, where the queue is written too);
- before ``os.fork`` (the child starts with an empty queue);
- before this process reads the logs (``read_node_logs``, ``list_threads``,
  the CLI and API readers) and on ``flush_sinks()``;
- before a line written at once because the delay was set back to ``0``
  (so a thread's lines stay in the order its runs finished).

A signal handler may flush (``flush_sinks()``) and may raise (``sys.exit``,
``KeyboardInterrupt``) at any moment, including while its thread writes the
queue: the lines that write had taken and not written yet stay first in
line, so the exit handlers write them, in order. (Python cannot tell
whether a ``write`` the handler interrupted on its return went through: the
lines of that one write, at most 4 MiB of one file, are written again, so a
reader may see them twice; none is lost.) A flush
called by a handler while its own thread is in the middle of writing the
queue returns at once (the interrupted write finishes when the handler
returns): writing newer lines first would reorder a thread's runs. A
handler that ends the process should therefore do it with ``sys.exit``, not
``os._exit``.

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
from itertools import islice

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
_queued_bytes = 0  # bytes queued since the queue was last empty (no lock)
_taken: list[tuple[str, str, bytes]] = []
"""Lines a flush took from the queue and has not written (under the flush
lock); a flush a signal handler interrupted leaves its rest here."""
# Reentrant: a signal handler that flushes while this thread flushes must
# not wait for itself (it drains the same queue).
_flush_lock = threading.RLock()
_start_lock = threading.Lock()
_writing = False  # a flush is writing (set and read under _flush_lock)
_thread: threading.Thread | None = None
was_used = False
"""Set once this process has queued a line: a line written at once must
then flush first (the delay may have been set back to 0 meanwhile)."""
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
        # Counted afresh from here, in the recording thread: a count the
        # writer thread reset while another line was being counted would
        # otherwise stay off, and the 4 MiB bound with it.
        _since = _monotonic()
        _queued_bytes = 0
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
    global _thread, was_used
    was_used = True
    # Not waited for: the holder is starting the thread (another thread, or
    # this one interrupted by a signal handler that records a run, which
    # would wait for itself forever).
    if not _start_lock.acquire(blocking=False):
        return
    try:
        if _thread is not None:
            return
        thread = threading.Thread(
            target=_run, name="editorial-ai-observability-writer", daemon=True
        )
        thread.start()
        _thread = thread
    finally:
        _start_lock.release()


def _run() -> None:
    # Looks at the queue every 10 to 50 ms (the delay, within those bounds):
    # a wake-up costs the thread microseconds, and the recording threads
    # nothing. A delay changed meanwhile is followed at the next look.
    while True:
        time.sleep(min(max(_delay, _MIN_SLICE_MS), _MAX_SLICE_MS) / 1000)
        if _queue and (_monotonic() - _since) * 1000 >= _delay:
            flush()
        elif _taken and not _writing:
            flush()  # what a flush a signal handler interrupted left


def flush() -> None:
    """Write every queued line now, in order. Never raises (but lets an
    exception a signal handler raised meanwhile go on, see the module).

    Returns once the lines queued so far are in their files, including those
    another thread took from the queue and is writing at this moment (the
    lock waits for it): so a line written at once after this call, or a read,
    comes after them."""
    global _writing
    if not _queue and _thread is None:
        return  # nothing was ever queued in this process
    with _flush_lock:
        if _writing:
            return  # a signal handler, while its thread writes: see the module
        _writing = True
        try:
            if _queue or _taken:
                _write_queued()
        except Exception as exc:  # pragma: no cover (each record is guarded)
            warn_failure("deferred", "deferred writing failed: %r", exc)
        finally:
            _writing = False


def _write_queued() -> None:
    taken = _taken
    # One C call moves the lines into a list that outlives this call: a
    # signal handler that raises right after it loses none of them.
    taken.extend(islice(iter(_queue.popleft, None), len(_queue)))
    done: set[int] = set()
    try:
        files: dict[str, tuple[str, list[int]]] = {}
        for index, (path, directory, _line) in enumerate(taken):
            entry = files.get(path)
            if entry is None:
                entry = files[path] = (directory, [])
            entry[1].append(index)
        for path, (directory, indexes) in files.items():
            _append_lines(path, directory, taken, indexes, done)
        taken.clear()
    except BaseException:
        # A signal handler raised (KeyboardInterrupt, SystemExit): what was
        # taken and not written stays first, in order, for the next flush
        # (the exit handlers' at the latest).
        taken[:] = [item for i, item in enumerate(taken) if i not in done]
        raise


def _append_lines(
    path: str,
    directory: str,
    taken: list[tuple[str, str, bytes]],
    indexes: list[int],
    done: set[int],
) -> None:
    start = 0
    while start < len(indexes):
        size = 0
        end = start
        while end < len(indexes) and (
            end == start or size + len(taken[indexes[end]][2]) <= _MAX_WRITE
        ):
            size += len(taken[indexes[end]][2])
            end += 1
        chunk = indexes[start:end]
        try:
            append_line(path, directory, b"".join([taken[i][2] for i in chunk]))
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
        done.update(chunk)
        start = end


def _before_fork() -> None:
    # The child must not write the parent's records again: write them first.
    flush()


def _after_fork_in_child() -> None:
    global _thread, _flush_lock, _start_lock, _queued_bytes, _writing
    _queue.clear()
    _taken.clear()
    _queued_bytes = 0
    _writing = False
    _thread = None
    _flush_lock = threading.RLock()
    _start_lock = threading.Lock()


atexit.register(flush)
# A multiprocessing (or ProcessPoolExecutor) worker ends with os._exit, which
# runs no atexit handler; it runs threading's exit hooks first (CPython).
_register_thread_exit = getattr(threading, "_register_atexit", None)
if _register_thread_exit is not None:
    try:
        _register_thread_exit(flush)
    except RuntimeError:  # imported while the interpreter shuts down
        pass
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
