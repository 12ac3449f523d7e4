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

SINKS = "EDITORIAL_AI_SINKS"
"""Comma-separated sinks for finished node runs: ``jsonl`` (the default),
``otel`` (OpenTelemetry, the ``otel`` extra), or ``module:attribute``."""

DEFAULT_LOG_DIR = Path("data") / "logs"


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
