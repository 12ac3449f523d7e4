"""What the overhead per node is made of, measured inside a real graph.

Run: python benchmarks/profile_gap.py [--reps N] [--clock wall|cpu]

Costs measured in a tight loop mislead here: LangGraph runs about a million
instructions between two node executions, so the caches are cold each time a
wrapper runs, and a system call or a pydantic-core serialization costs several
times what it costs in a loop. This script measures each part where it runs:
the 50-node, small-state graph of ``run.py``, with one part of the recording
swapped for nothing at a time (the sinks API makes that possible without
touching the wrapper), against the bare graph, interleaved, medians of
paired differences.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pydantic_core
from langchain_core.runnables.config import var_child_runnable_config
from workloads import State, naive_wrapper, ours, workloads

from editorial_ai.observability import NodeRunLog, _deferred, _env, append_node_log
from editorial_ai.observability._line import encode_record_line
from editorial_ai.observability.sinks import set_sinks


class Nothing:
    """A sink that drops the record: everything but encoding and writing."""

    def export(self, log: NodeRunLog) -> None:
        pass


class EncodeOnly:
    """A sink that encodes the line as the writer does and drops it:
    everything but the write (and the ``lstat`` before it)."""

    def export(self, log: NodeRunLog) -> None:
        encode_record_line(log)


class Jsonl:
    """The JSONL sink, reached through the same loop as the two above."""

    def export(self, log: NodeRunLog) -> None:
        append_node_log(log)


def _probe(body: Callable[[], object]) -> Callable[..., Any]:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(state: State, *args: Any, **kwargs: Any) -> Any:
            result = fn(state, *args, **kwargs)
            body()
            return result

        return wrapper

    return wrap


DELAYED: Any = object()
"""The variant runs with ``$EDITORIAL_AI_WRITE_DELAY_MS=100`` (default sinks)."""

_node_config = var_child_runnable_config.get
_probe_var: ContextVar[object] = ContextVar("probe", default=None)


def _minimal(fn: Callable[..., Any]) -> Callable[..., Any]:
    """What any recording wrapper does at least: the clock at both ends, the
    node's config read, a context variable set and reset."""

    @functools.wraps(fn)
    def wrapper(state: State, *args: Any, **kwargs: Any) -> Any:
        started = datetime.now(UTC)
        clock = time.perf_counter_ns()
        config = _node_config() or {}
        token = _probe_var.set(config.get("configurable"))
        try:
            return fn(state, *args, **kwargs)
        finally:
            _probe_var.reset(token)
            (time.perf_counter_ns() - clock, started)

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="time graph runs by the wall clock or by this process's CPU time",
    )
    args = parser.parse_args()
    clock = time.process_time_ns if args.clock == "cpu" else time.perf_counter_ns
    directory = tempfile.mkdtemp(prefix="obs-gap-")
    os.environ["EDITORIAL_AI_LOG_DIR"] = directory
    workload = next(w for w in workloads() if w.name == "line50-small-sync")
    line = b'{"node_name":"n","status":"success"}\n'
    fd = os.open(
        os.path.join(directory, "probe.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_CREAT
    )
    sample = NodeRunLog(
        thread_id="t",
        node_name="n",
        status="success",
        started_at=datetime.now(UTC),
        ended_at=datetime.now(UTC),
    )
    graphs: dict[str, tuple[Any, Any]] = {
        "baseline": (workload.build(None), None),
        "ours (default sinks)": (workload.build(ours()), None),
        "ours, JSONL as a sink": (workload.build(ours()), [Jsonl()]),
        "ours, encode only": (workload.build(ours()), [EncodeOnly()]),
        "ours, no sink": (workload.build(ours()), [Nothing()]),
        "ours capture_io=False (default)": (
            workload.build(ours(capture_io=False)),
            None,
        ),
        "ours capture_io=False, no sink": (
            workload.build(ours(capture_io=False)),
            [Nothing()],
        ),
        "ours, write delay 100 ms": (workload.build(ours()), DELAYED),
        "ours capture_io=False, delay": (
            workload.build(ours(capture_io=False)),
            DELAYED,
        ),
        "naive wrapper": (
            workload.build(naive_wrapper(os.path.join(directory, "n.jsonl"))),
            None,
        ),
        "probe: clock, config, context": (
            workload.build(_minimal),
            None,
        ),
        "probe: one os.write": (
            workload.build(_probe(lambda: os.write(fd, line))),
            None,
        ),
        "probe: one to_json": (
            workload.build(
                _probe(lambda: sample.__pydantic_serializer__.to_json(sample))
            ),
            None,
        ),
        "probe: to_json(state)": (
            workload.build(_probe(lambda: pydantic_core.to_json(workload.inputs))),
            None,
        ),
    }
    names = list(graphs)
    samples: dict[str, list[float]] = {name: [] for name in names}
    config = {"configurable": {"thread_id": "gap"}}
    # A new order each repetition (seeded): a rotation would keep each
    # variant's predecessor, and with it how warm the caches are (run.py).
    shuffle = random.Random(args.reps)
    for rep in range(args.reps + 2):
        order = shuffle.sample(names, len(names))
        for name in order:
            graph, sinks = graphs[name]
            delayed = sinks is DELAYED
            set_sinks(None if delayed else sinks)
            if delayed:
                os.environ[_env.WRITE_DELAY_MS] = "100"
            start = clock()
            workload.run(graph, config)
            if delayed:  # the queue is written inside the timed run
                _deferred.flush()
                del os.environ[_env.WRITE_DELAY_MS]
            elapsed = (clock() - start) / workload.nodes / 1000
            if rep >= 2:
                samples[name].append(elapsed)
        for entry in os.scandir(directory):
            if entry.name != "probe.jsonl":
                os.unlink(entry.path)
    set_sinks(None)
    base = samples["baseline"]
    print("%-34s %10s %10s" % ("variant (50-node small graph)", "us/node", "overhead"))
    for name in names:
        values = samples[name]
        over = statistics.median([v - b for v, b in zip(values, base, strict=True)])
        print("%-34s %10.1f %+10.1f" % (name, statistics.median(values), over))


if __name__ == "__main__":
    main()
