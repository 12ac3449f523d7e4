"""Retention: remove whole thread files whose last run is older than a cutoff.

``editorial-ai-obs prune --older-than 30d`` lists what it would remove and
removes nothing; ``--delete`` removes it. A file is removed only when all of
these hold, so a file being written is never touched:

* its last run (the latest ``ended_at`` of its valid lines) ended before the
  cutoff, and it has at least one valid line (a file of nothing but corrupt
  lines is reported, not removed);
* the file itself was last modified before the cutoff and at least
  :data:`MIN_IDLE` ago, whatever the cutoff;
* it ends with a newline (no line is being written into it);
* under an exclusive ``flock`` (the lock writers take to check a file's end),
  the file at that name is still the one that was read: same inode, size and
  modification time. Only then is it unlinked.

A writer that still holds the file open notices the removal before its next
line (it checks the link count) and starts a new file. Nothing here needs the
analytics extra.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import ValidationError

from .._internal import warn_os_error
from ..models import NodeRunHead
from .sources import LogFile, list_log_files

MIN_IDLE = timedelta(minutes=10)
"""A file modified this recently is never removed, whatever ``older_than``."""

_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class PruneCandidate:
    """One file and what was decided about it."""

    path: str
    thread_id: str | None
    last_run: datetime | None
    size: int
    removed: bool
    reason: str
    """``old`` (removed, or would be in a dry run) or why it is kept."""


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What :func:`prune_threads` found and did.

    Example:
        >>> prune_threads([Path("/nonexistent")], timedelta(days=30)).candidates
        []
    """

    cutoff: datetime
    dry_run: bool
    candidates: list[PruneCandidate]
    """Files whose last write is older than the cutoff, kept or removed."""
    kept_recent: int
    """Files written after the cutoff (not examined further)."""

    @property
    def old(self) -> list[PruneCandidate]:
        """The files that are (or, in a dry run, would be) removed."""
        return [item for item in self.candidates if item.reason == "old"]


def _last_run(fd: int, size: int) -> tuple[datetime | None, str | None, bool]:
    """The latest ``ended_at`` of the file's valid lines, its thread id, and
    whether the file ends with a newline."""
    latest: datetime | None = None
    thread_id: str | None = None
    position = 0
    pending = b""
    while position < size:
        chunk = os.pread(fd, min(_CHUNK, size - position), position)
        if not chunk:
            break
        position += len(chunk)
        data = pending + chunk
        lines = data.split(b"\n")
        pending = lines.pop()
        for line in lines:
            if not line.strip():
                continue
            try:
                head = NodeRunHead.model_validate_json(line)
            except ValidationError:
                continue
            thread_id = thread_id or head.thread_id
            if latest is None or head.ended_at > latest:
                latest = head.ended_at
    ends_with_newline = size == 0 or os.pread(fd, 1, size - 1) == b"\n"
    return latest, thread_id, ends_with_newline


def _examine(item: LogFile, cutoff: datetime, delete: bool) -> PruneCandidate:
    def decided(
        reason: str,
        last: datetime | None = None,
        thread: str | None = None,
        removed: bool = False,
    ) -> PruneCandidate:
        return PruneCandidate(item.path, thread, last, item.size, removed, reason)

    try:
        fd = os.open(item.path, _READ_FLAGS)
    except FileNotFoundError:
        return decided("gone")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return decided("not a regular file")
        last, thread_id, whole = _last_run(fd, info.st_size)
        if last is None:
            return decided("no valid run", None, thread_id)
        if last >= cutoff:
            return decided("recent run", last, thread_id)
        if not whole:
            return decided("unfinished last line", last, thread_id)
        if not delete:
            return decided("old", last, thread_id)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return decided("locked by a writer", last, thread_id)
        try:
            now = os.lstat(item.path)
            if (
                (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino)
                or now.st_size != info.st_size
                or now.st_mtime_ns != info.st_mtime_ns
            ):
                return decided("changed while examined", last, thread_id)
            os.unlink(item.path)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        return decided("old", last, thread_id, removed=True)
    except FileNotFoundError:
        return decided("gone")
    finally:
        os.close(fd)


def prune_threads(
    folders: Sequence[Path],
    older_than: timedelta,
    *,
    delete: bool = False,
    now: datetime | None = None,
) -> PruneResult:
    """Find (and with ``delete``, remove) the thread files of ``folders``
    whose last run ended more than ``older_than`` before ``now``.

    Args:
        folders: log folders.
        older_than: the age past which a thread is removed.
        delete: remove the files; ``False`` (the default) only lists them.
        now: the present (tests); ``None``: the clock.

    Raises:
        ValueError: a negative ``older_than``.
    """
    if older_than < timedelta(0):
        raise ValueError("older_than must not be negative")
    now = datetime.now(UTC) if now is None else now
    cutoff = now - older_than
    idle_before = min(cutoff, now - MIN_IDLE).timestamp() * 1e9
    candidates: list[PruneCandidate] = []
    recent = 0
    for item in list_log_files(folders):
        if item.mtime_ns >= idle_before:
            recent += 1
            continue
        try:
            candidates.append(_examine(item, cutoff, delete))
        except OSError as exc:
            if exc.errno not in (errno.ENOENT,):
                warn_os_error("prune", item.path, exc)
    return PruneResult(cutoff, not delete, candidates, recent)
