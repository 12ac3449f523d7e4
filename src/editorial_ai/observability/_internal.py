"""The one internal-error guard: failures of ours never reach the pipeline.

Everything the library does on behalf of a user's node (snapshotting, token
bookkeeping, writing a line) runs under :func:`guard` or reports through
:func:`warn_failure`. A failure becomes a warning on the
``editorial_ai.observability`` logger and the pipeline goes on.

Repeats are counted, not logged: the same kind of failure is logged on its
1st, 2nd, 3rd, 10th, 100th, 1,000th ... occurrence, so 1,000 identical failures
give 6 warnings and a million give 9.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from types import TracebackType
from typing import ParamSpec, TypeVar

logger = logging.getLogger("editorial_ai.observability")

_P = ParamSpec("_P")
_R = TypeVar("_R")

_counts: dict[str, int] = {}
_counts_lock = threading.Lock()


def _should_log(count: int) -> bool:
    if count <= 3:
        return True
    while count % 10 == 0:
        count //= 10
    return count == 1


def warn_failure(kind: str, message: str, *args: object) -> None:
    """Log ``message`` as a warning unless this ``kind`` has been logged a lot.

    Args:
        kind: what failed, e.g. ``"append:ENOSPC"``; repeats of one kind are
            counted together.
        message: ``%``-style format string, formatted with ``args``.
        *args: the format arguments.

    Example:
        >>> warn_failure("append:EACCES", "cannot write %s", "/logs/t.jsonl")
    """
    with _counts_lock:
        count = _counts.get(kind, 0) + 1
        _counts[kind] = count
    if not _should_log(count):
        return
    suffix = "" if count == 1 else " (seen %d times)" % count
    try:
        logger.warning(message + suffix, *args)
    except Exception:  # a broken logging handler must not break the node
        pass


def warn_os_error(action: str, target: object, exc: OSError, then: str = "") -> None:
    """One warning for a failed file operation, counted by action and errno.

    Example:
        >>> warn_os_error("read", "/logs/t.jsonl", PermissionError(13, "denied"))
    """
    name = errno.errorcode.get(exc.errno or 0, "OSError")
    warn_failure(
        "%s:%s" % (action, name),
        "could not %s %s: [%s] %s" + then,
        action,
        target,
        name,
        exc.strerror or exc,
    )


_once: set[str] = set()


def warn_once(kind: str, message: str, *args: object) -> None:
    """Log ``message`` as a warning the first time this ``kind`` is seen in
    the process, never again: for advice about how the library is used (a
    missing thread id, a model without a name), not for failures.

    Example:
        >>> warn_once("usage:no-thread-id", "no thread id for node %s", "draft")
    """
    if kind in _once:  # read without the lock: a set lookup is atomic
        return
    with _counts_lock:
        if kind in _once:
            return
        _once.add(kind)
    try:
        logger.warning(message, *args)
    except Exception:  # a broken logging handler must not break the node
        pass


def reset_warning_counts() -> None:
    """Forget how often each failure was seen, and which advice was given
    (for tests and long runs)."""
    with _counts_lock:
        _counts.clear()
        _once.clear()


class guard:  # lower case: used like a function, ``with guard("kind"):``
    """Swallow an ``Exception`` raised inside, reporting it as one warning.

    ``BaseException`` (``KeyboardInterrupt``, ``SystemExit``,
    ``CancelledError``) passes through: those belong to the user. A class,
    not a generator-based context manager: it runs on every node execution.

    Example:
        >>> with guard("snapshot"):
        ...     1 / 0
    """

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False
        report(self.kind, exc)
        return True


def report(kind: str, exc: Exception) -> None:
    """What :class:`guard` does with a caught exception: one warning per kind.

    For hot paths that catch with a plain ``try``/``except Exception`` (a
    ``with guard(...)`` costs three Python calls) and then report here.
    """
    warn_failure(
        "%s:%s" % (kind, type(exc).__name__),
        "%s failed: %s: %s; the pipeline is unaffected",
        kind,
        type(exc).__name__,
        exc,
    )


def _after_fork_in_child() -> None:
    # A fork taken while another thread held this lock would leave the child
    # unable to ever warn again; a fresh lock restores it.
    global _counts_lock
    _counts_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def missing_extra(what: str, extra: str) -> str:
    """The one message for a missing optional dependency: the command to
    install it from a package index and from a source checkout (``pip install
    -e``), since the package is used both ways.

    Example:
        >>> print(missing_extra("editorial-ai-obs serve", "server"))
        editorial-ai-obs serve needs the server extra: pip install "editorial-ai-observability[server]" (from a checkout: pip install -e ".[server]")
    """  # noqa: E501
    return (
        '%s needs the %s extra: pip install "editorial-ai-observability[%s]" '
        '(from a checkout: pip install -e ".[%s]")' % (what, extra, extra, extra)
    )
