"""Appending lines to thread files: whole lines, cheap in the common case.

Every line is one ``os.write`` on a descriptor opened with ``O_APPEND``: on
Linux and macOS such a write to a regular file lands whole at the end of the
file, so lines from threads and processes never interleave.

Descriptors stay open between node runs (at most 64 files per process), so
the common case costs two system calls: ``fstat``, then ``write``. The writer
remembers where its last line ended; if the file still ends there, it ends
with our newline. Otherwise someone else wrote since, and under an exclusive
``flock`` the writer reads the last byte: if a crash or a full disk left a torn
line without its newline, it restores the newline in the same write, so the
new line is not glued onto the fragment. (A writer on the fast path takes no
flock, so while several processes write one thread at once, a checking writer
may see a line still being written and add a newline that was not needed: an
empty line, which readers skip. No line is ever lost or cut.)

A file that was deleted (with its directory, say) is reopened and created
again on the next line, and so is a file renamed or replaced under the same
name (log rotation): each line starts with an ``lstat`` of the path, which
also gives the size the fast path compares, so noticing costs no extra system
call. The file is opened with ``O_NOFOLLOW | O_NONBLOCK`` and must be a
regular file: a symlink or a FIFO at the path is refused. Files are created
``0600`` and a missing log directory ``0700``: state snapshots hold whatever
the pipeline handled, so other local users must not read them. Callers pass
absolute paths, so a process that changes its working directory writes where
the new one says.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

_FLAGS = (
    # O_RDWR, not O_WRONLY: the writer reads the file's last byte.
    os.O_RDWR
    | os.O_APPEND
    | os.O_CREAT
    | os.O_NONBLOCK
    | os.O_NOFOLLOW
    | getattr(os, "O_CLOEXEC", 0)
)
_MAX_OPEN = 64
_LOCK_WAIT_S = 2.0
FILE_MODE = 0o600
DIR_MODE = 0o700


@dataclass(slots=True)
class _OpenFile:
    fd: int
    dev: int
    ino: int
    end: int = -1
    """File size right after our last line; -1 when unknown."""
    closed: bool = False
    """Set, under ``lock``, when ``fd`` is closed: a thread that waited for the
    lock must not use the number, which the system may have given to another
    file since."""
    lock: threading.Lock = field(default_factory=threading.Lock)


_open: OrderedDict[str, _OpenFile] = OrderedDict()
_table_lock = threading.Lock()


def _open_file(path: str, directory: str) -> _OpenFile:
    try:
        fd = os.open(path, _FLAGS, FILE_MODE)
    except FileNotFoundError:
        # The directory is missing (first write, or deleted since): make it.
        os.makedirs(directory, mode=DIR_MODE, exist_ok=True)
        fd = os.open(path, _FLAGS, FILE_MODE)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
    except BaseException:
        os.close(fd)
        raise
    return _OpenFile(fd, info.st_dev, info.st_ino)


def _entry(path: str, directory: str) -> _OpenFile:
    entry = _open.get(path)
    if entry is not None:
        return entry
    entry = _open_file(path, directory)
    evicted = []
    with _table_lock:
        existing = _open.get(path)
        if existing is not None:
            os.close(entry.fd)
            return existing
        _open[path] = entry
        while len(_open) > _MAX_OPEN:
            evicted.append(_open.popitem(last=False)[1])
    # Closed outside the table lock: the order of locks is always an entry's
    # lock first, then the table's (see _close).
    for oldest in evicted:
        with oldest.lock:
            _close_fd(oldest)
    return entry


def _close_fd(entry: _OpenFile) -> None:
    """Close ``entry``'s descriptor; the caller holds ``entry.lock``."""
    if not entry.closed:
        entry.closed = True
        try:
            os.close(entry.fd)
        except OSError:
            pass


def _close(path: str, entry: _OpenFile) -> None:
    """Drop ``entry`` from the table and close it; caller holds ``entry.lock``."""
    with _table_lock:
        if _open.get(path) is entry:
            del _open[path]
    _close_fd(entry)


def _flock(fd: int) -> bool:
    """Take an exclusive ``flock``; give up after ``_LOCK_WAIT_S`` (a stuck
    holder, such as a stopped process, must not stop the pipeline)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        pass
    deadline = time.monotonic() + _LOCK_WAIT_S
    delay = 0.0001
    while time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(delay * 2, 0.01)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            continue
    return False


def _write(path: str, entry: _OpenFile, line: bytes) -> None:
    """Append ``line`` when someone else wrote since (or this is our first
    line): look at the last byte under the flock, so that a writer taking the
    same path never reads another's line in progress as a torn one."""
    fd = entry.fd
    locked = _flock(fd)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        written = os.write(fd, line)
    finally:
        if locked:
            fcntl.flock(fd, fcntl.LOCK_UN)
    if written != len(line):
        entry.end = -1
        raise OSError(
            errno.EIO, "short write (%d of %d bytes)" % (written, len(line)), path
        )
    entry.end = size + written


def append_line(path: str, directory: str, line: bytes) -> None:
    """Append ``line`` (ending in ``\\n``) to the file at ``path``.

    Raises ``OSError`` on failure; the caller turns it into a warning.
    """
    for _ in range(4):
        entry = _open.get(path) or _entry(path, directory)
        with entry.lock:
            if entry.closed:
                continue  # another thread closed it while we waited: again
            try:
                try:
                    # The path, not the descriptor: a file deleted, renamed or
                    # replaced since the last line is noticed now, and for the
                    # file we hold, this is its size.
                    info = os.lstat(path)
                except FileNotFoundError:
                    info = None
                if info is None or info.st_ino != entry.ino or info.st_dev != entry.dev:
                    # Deleted or replaced: reopen (and so create) it.
                    _close(path, entry)
                    continue
                size = info.st_size
                if size == entry.end:
                    # The common case: the file ends where our last line
                    # ended, with our newline.
                    written = os.write(entry.fd, line)
                    if written == len(line):
                        entry.end = size + written
                        return
                    entry.end = -1
                    raise OSError(
                        errno.EIO,
                        "short write (%d of %d bytes)" % (written, len(line)),
                        path,
                    )
                _write(path, entry, line)
                return
            except BaseException:
                _close(path, entry)
                raise
    raise OSError(errno.EAGAIN, "the file kept changing under the writer", path)


def close_all() -> None:
    """Close every cached descriptor (tests, and before a process exits)."""
    with _table_lock:
        entries = list(_open.values())
        _open.clear()
    for entry in entries:
        with entry.lock:
            _close_fd(entry)


def _after_fork_in_child() -> None:
    # The child must not share our descriptors' flock and positions, nor a
    # lock another thread held at the fork: start from nothing.
    global _table_lock
    _table_lock = threading.Lock()
    for entry in list(_open.values()):
        entry.closed = True  # no thread of the parent's runs here
        try:
            os.close(entry.fd)
        except OSError:
            pass
    _open.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
