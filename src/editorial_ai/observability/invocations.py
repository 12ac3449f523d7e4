"""Graph runs: the start and end of one graph invocation, for the sinks that
want them.

A ``TokenUsageCallbackHandler`` registered on the graph run
(``config["callbacks"]``) sees the run's root chain start and end, and hands
the end to every sink that has an ``end_invocation(thread_id, invocation_id,
graph_input, graph_output)`` method: the OpenTelemetry sink then sends the
invocation's root span at once.

The graph's input and final output (snapshots, bounded and redacted like a
node's) are taken only when state is captured for OpenTelemetry: a configured
sink whose ``captures_graph_io`` is true (an ``OpenTelemetrySink`` with
``capture_io``), or ``$EDITORIAL_AI_OTEL_CAPTURE_IO=true``. Then the root
carries them, and the JSONL sink (``stores_graph_io``) appends them, one line
per graph run, to ``{log_dir}/graph-runs/{thread file name}.jsonl``
(:func:`append_graph_run`), where ``export-otel`` finds them
(:func:`read_graph_runs`), so a backfill's roots carry what the live roots
carried. Otherwise nothing is snapshotted or written (a graph run costs a
dictionary entry). The thread files stay one ``NodeRunLog`` per line. Several
handlers on one run end it once.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import pydantic_core

from . import _env
from ._internal import guard, warn_failure, warn_os_error
from ._writer import append_line
from .sinks import get_sinks
from .snapshot import snapshot_output
from .storage import SUFFIX, _file_path, read_file_bytes, thread_file_stem

GRAPH_RUNS_DIR = "graph-runs"
"""The folder, inside the log directory, of the graph-run records."""

# Graph runs started and not yet ended (bounded: a run that never ends, such
# as a stream abandoned without closing, must not be kept forever).
_MAX_OPEN = 10_000
_started: OrderedDict[UUID, tuple[str, Any, bool]] = OrderedDict()
_lock = threading.Lock()


def _plan() -> tuple[list[Any], bool]:
    """The sinks to tell about graph runs, and whether graph I/O is captured.

    This runs at every graph run's start: no import statement, no generator.
    """
    sinks = [s for s in get_sinks() if callable(getattr(s, "end_invocation", None))]
    if not sinks:
        return sinks, False
    capture = False
    for sink in sinks:
        if getattr(sink, "captures_graph_io", False):
            capture = True
            break
    if not capture:
        capture = _env.flag(_env.OTEL_CAPTURE_IO)
    if not capture:
        sinks = _without_io_stores(sinks)
    return sinks, capture


def _without_io_stores(sinks: list[Any]) -> list[Any]:
    """The sinks told about graph runs whose input and output are not
    captured: all but those that only keep them (``stores_graph_io``)."""
    return [s for s in sinks if not getattr(s, "stores_graph_io", False)]


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
        sinks, capture = _plan()
        if not sinks:
            return
        snapshot = snapshot_output(inputs) if capture else None
        entry = (_thread_of(inputs, metadata), snapshot, capture)
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
    if not _started:
        # Nothing noted (no sink wants graph runs), so neither is this run:
        # its start was noted, if at all, before its end in the same thread.
        return
    with _lock:
        entry = _started.pop(run_id, None)
    if entry is None:
        return
    thread_id, graph_input, capture = entry
    with guard("graph run end"):
        graph_output = snapshot_output(outputs) if capture else None
        sinks, _ = _plan()
        if not capture:
            sinks = _without_io_stores(sinks)
        for sink in sinks:
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


def graph_runs_path(
    thread_id: str, log_dir: str | os.PathLike[str] | None = None
) -> str:
    """Where the graph-run records of ``thread_id`` are kept.

    Example:
        >>> graph_runs_path("t1", "/logs")
        '/logs/graph-runs/t1.jsonl'
    """
    directory = os.path.join(_env.log_dir(log_dir), GRAPH_RUNS_DIR)
    return os.path.join(directory, thread_file_stem(thread_id) + SUFFIX)


def append_graph_run(
    thread_id: str, invocation_id: str, graph_input: Any, graph_output: Any
) -> None:
    """Append one graph run's input and final output (snapshots). Never raises.

    Example:
        >>> append_graph_run("t1", "run-1", {"topic": "AI"}, {"draft": "..."})
    """
    path = "?"
    try:
        directory = os.path.join(_env.log_dir_str(), GRAPH_RUNS_DIR)
        path = _file_path(directory, thread_id)
        record = {
            "thread_id": thread_id,
            "invocation_id": invocation_id,
            "input": graph_input,
            "output": graph_output,
        }
        # Snapshots are strict JSON data already: pydantic-core's encoder, a
        # fifth of json.dumps's time (one line per graph run, on its thread).
        line = pydantic_core.to_json(record) + b"\n"
        append_line(path, os.path.dirname(path), line)
    except OSError as exc:
        warn_os_error(
            "append a graph run to", path, exc, " (the pipeline is unaffected)"
        )
    except Exception as exc:  # a value json refuses: lose this record only
        warn_failure(
            "graph-run:" + type(exc).__name__,
            "could not append a graph run to %s: %s: %s (the pipeline is unaffected)",
            path,
            type(exc).__name__,
            exc,
        )


def read_graph_runs(
    thread_id: str, log_dir: str | os.PathLike[str] | None = None
) -> dict[str, tuple[Any, Any]]:
    """The recorded graph runs of ``thread_id``: invocation id -> (input,
    output). Never raises; a bad line costs only itself.

    Example:
        >>> read_graph_runs("no-such-thread", "/nonexistent")
        {}
    """
    path = graph_runs_path(thread_id, log_dir)
    try:
        data = read_file_bytes(path)
    except OSError as exc:
        warn_os_error("read graph runs from", path, exc)
        return {}
    runs: dict[str, tuple[Any, Any]] = {}
    for raw in (data or b"").splitlines():
        try:
            record = json.loads(raw)
            if record["thread_id"] == thread_id:
                runs[str(record["invocation_id"])] = (record["input"], record["output"])
        except (ValueError, KeyError, TypeError):
            continue
    return runs
