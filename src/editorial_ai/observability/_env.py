"""Settings read from the environment, each declared once, read when used.

Nothing here is read at import time: a test or a long-running process may
change the environment between two node runs and the next run follows it.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._internal import warn_failure

LOG_DIR = "EDITORIAL_AI_LOG_DIR"
"""Directory of the JSONL files, one per thread. Default: ``data/logs`` under
the current working directory, resolved at every write and read."""

SINKS = "EDITORIAL_AI_SINKS"
"""Comma-separated sinks for finished node runs: ``jsonl`` (the default),
``otel`` (OpenTelemetry, the ``otel`` extra), or ``module:attribute``."""

OTEL_CAPTURE_IO = "EDITORIAL_AI_OTEL_CAPTURE_IO"
"""``true`` to attach the node-state snapshots to OpenTelemetry spans (as
``langgraph.input_state`` / ``langgraph.output_state``); default ``false``.
Read at every node run when the sink was not given ``capture_io``; a value
other than ``true``/``false`` (``1``/``0``, ``yes``/``no``, ``on``/``off``)
warns and counts as ``false``."""

DEFAULT_LOG_DIR = Path("data") / "logs"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def log_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The log directory: ``explicit``, else ``$EDITORIAL_AI_LOG_DIR``, else
    ``data/logs``.

    Example:
        >>> log_dir("/tmp/obs")
        PosixPath('/tmp/obs')
    """
    if explicit is not None:
        return Path(explicit)
    value = os.environ.get(LOG_DIR)
    if value:
        return Path(value)
    return DEFAULT_LOG_DIR


def flag(name: str, default: bool = False) -> bool:
    """The boolean setting ``$name``; unset gives ``default``, a malformed
    value warns and gives ``default``.

    Example:
        >>> flag("EDITORIAL_AI_NO_SUCH_SETTING")
        False
    """
    value = os.environ.get(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False if word else default
    warn_failure(
        "setting:" + name,
        "%s=%r is not true or false; using %s",
        name,
        value,
        "true" if default else "false",
    )
    return default
