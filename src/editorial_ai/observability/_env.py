"""Settings read from the environment, each declared once, read when used.

Nothing here is read at import time: a test or a long-running process may
change the environment between two node runs and the next run follows it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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

WRITE_DELAY_MS = "EDITORIAL_AI_WRITE_DELAY_MS"
"""``0`` (the default): each node run's line is written before the node
returns. ``N`` from 1 to 60,000: lines are queued and written in batches at
most about ``N`` ms later (see ``_deferred``); a process killed without its
exit handlers loses the lines of its last ``N`` ms."""

DEFAULT_LOG_DIR = Path("data") / "logs"

API_KEY = "EDITORIAL_AI_OBS_API_KEY"
"""Key every ``/api`` route of the HTTP API requires (``X-API-Key`` header).
Read when the app is created; unset or empty means no key, which only a
loopback bind allows."""


# ``os.environ.get`` re-encodes the key and decodes the value on every call
# (about 0.7 us): too slow for reading two settings per node run. On POSIX
# ``os.environ`` keeps its bytes in ``_data``, which every assignment through
# ``os.environ`` updates; read it directly and decode only a changed value.
_environ_bytes: Any = getattr(os.environ, "_data", None)
if os.name != "posix":  # pragma: no cover
    _environ_bytes = None
environ_bytes: Any = _environ_bytes
"""``os.environ``'s own dict of bytes on POSIX (else ``None``): the hot path
tests that a setting is unset with one lookup, ``environ_bytes.get(key(name))
is None``, and calls :func:`get` only when it is set."""
_decoded: dict[str, tuple[object, str | None]] = {}


_KEYS: dict[str, bytes] = {}


def _key(name: str) -> bytes:
    key = _KEYS[name] = os.fsencode(name)
    return key


def key(name: str) -> bytes:
    """``name`` as the key of :data:`environ_bytes`."""
    return _KEYS.get(name) or _key(name)


def get(name: str) -> str | None:
    """The environment variable ``name``, read now (fast, never cached stale).

    Example:
        >>> get("EDITORIAL_AI_NO_SUCH_SETTING") is None
        True
    """
    if _environ_bytes is None or os.name != "posix":
        return os.environ.get(name)
    raw = _environ_bytes.get(_KEYS.get(name) or _key(name))
    seen = _decoded.get(name)
    if seen is not None and seen[0] is raw:
        return seen[1]
    value = None if raw is None else os.fsdecode(raw)
    _decoded[name] = (raw, value)
    return value


def log_dir_str() -> str:
    """``$EDITORIAL_AI_LOG_DIR`` or ``data/logs``, as a string (the writer's
    hot path: no ``Path`` object per node run)."""
    return get(LOG_DIR) or _DEFAULT_LOG_DIR_STR


_DEFAULT_LOG_DIR_STR = str(DEFAULT_LOG_DIR)
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


def api_key(explicit: str | None = None) -> str | None:
    """The API key: ``explicit``, else ``$EDITORIAL_AI_OBS_API_KEY``; ``None``
    when neither is set or the one used is empty.

    Example:
        >>> api_key("s3cret")
        's3cret'
    """
    value = explicit if explicit is not None else os.environ.get(API_KEY)
    return value or None


def flag(name: str, default: bool = False) -> bool:
    """The boolean setting ``$name``; unset gives ``default``, a malformed
    value warns and gives ``default``.

    Example:
        >>> flag("EDITORIAL_AI_NO_SUCH_SETTING")
        False
    """
    value = get(name)
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
