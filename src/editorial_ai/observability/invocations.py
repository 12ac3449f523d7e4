"""Graph runs: the start and end of one graph invocation, for the sinks that
want them.

A ``TokenUsageCallbackHandler`` registered on the graph run
(``config["callbacks"]``) sees the run's root chain start and end. The start
keeps the graph's input (a snapshot, bounded and redacted like a node's); the
end hands the input and the final output to every sink that has an
``end_invocation(thread_id, invocation_id, graph_input, graph_output)``
method: the OpenTelemetry sink then sends the invocation's root span at once,
carrying both. Nothing is kept, and nothing is snapshotted, when no sink has
that method. Several handlers on one run end it once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from ._internal import guard, warn_failure
from .snapshot import snapshot_output

# Graph runs started and not yet ended (bounded: a run that never ends, such
# as a stream abandoned without closing, must not be kept forever).
_MAX_OPEN = 10_000
_started: OrderedDict[UUID, tuple[str, Any]] = OrderedDict()
_lock = threading.Lock()


def _invocation_sinks() -> list[Any]:
    from .sinks import get_sinks

    return [
        sink for sink in get_sinks() if callable(getattr(sink, "end_invocation", None))
    ]


def _thread_of(inputs: Any, metadata: Mapping[str, Any] | None) -> str:
    # The node wrapper's rule: the config's thread id, else the state's.
    if metadata:
        thread_id = metadata.get("thread_id")
        if thread_id is not None:
            return str(thread_id)
    if isinstance(inputs, Mapping) and inputs.get("thread_id") is not None:
        return str(inputs["thread_id"])
    return "unknown"


def graph_run_started(
    run_id: UUID, inputs: Any, metadata: Mapping[str, Any] | None
) -> None:
    """Note a graph run's start and its input, if a sink wants its end.

    Example:
        >>> from uuid import uuid4
        >>> graph_run_started(uuid4(), {"topic": "AI"}, {"thread_id": "t1"})
    """
    with guard("graph run start"):
        if not _invocation_sinks():
            return
        entry = (_thread_of(inputs, metadata), snapshot_output(inputs))
        with _lock:
            _started[run_id] = entry
            while len(_started) > _MAX_OPEN:
                _started.popitem(last=False)


def graph_run_ended(run_id: UUID, outputs: Any) -> None:
    """Hand a graph run's input and final output to the sinks that want them.

    ``outputs`` is ``None`` when the run failed. A run whose start was not
    noted (no sink wanted it, or another handler already ended it) is ignored.

    Example:
        >>> from uuid import uuid4
        >>> graph_run_ended(uuid4(), {"draft": "..."})
    """
    with _lock:
        entry = _started.pop(run_id, None)
    if entry is None:
        return
    thread_id, graph_input = entry
    with guard("graph run end"):
        graph_output = snapshot_output(outputs)
        for sink in _invocation_sinks():
            try:
                sink.end_invocation(thread_id, str(run_id), graph_input, graph_output)
            except Exception as exc:  # contained like a sink's export
                warn_failure(
                    "sink-invocation:%s" % type(sink).__name__,
                    "sink %r failed at the end of a graph run: %s: %s; the "
                    "pipeline is unaffected",
                    sink,
                    type(exc).__name__,
                    exc,
                )
