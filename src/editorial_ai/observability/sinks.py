"""Where finished node runs go: the JSONL file by default.

The wrapper hands each finished ``NodeRunLog`` to :func:`emit`.
"""

from __future__ import annotations

from .models import NodeRunLog
from .storage import append_node_log


def emit(log: NodeRunLog) -> None:
    """Hand ``log`` to the configured sinks (today: JSONL storage)."""
    append_node_log(log)
