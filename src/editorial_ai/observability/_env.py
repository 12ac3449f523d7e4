"""Settings read from the environment, each declared once, read when used.

Nothing here is read at import time: a test or a long-running process may
change the environment between two node runs and the next run follows it.
"""

from __future__ import annotations

import os
from pathlib import Path

LOG_DIR = "EDITORIAL_AI_LOG_DIR"
"""Directory of the JSONL files, one per thread. Default: ``data/logs`` under
the current working directory, resolved at every write and read."""

DEFAULT_LOG_DIR = Path("data") / "logs"

API_KEY = "EDITORIAL_AI_OBS_API_KEY"
"""Key every ``/api`` route of the HTTP API requires (``X-API-Key`` header).
Read when the app is created; unset or empty means no key, which only a
loopback bind allows."""


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
