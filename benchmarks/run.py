"""Per-node overhead of the instrumentation, against an uninstrumented baseline.

Run: python benchmarks/run.py [--reps N] [--clock wall|cpu] [--quick] [--out FILE]

Every variant of a workload runs the same compiled graph shape in this one
process, interleaved: each repetition runs every variant once, in an order
shuffled anew (seeded, so runs are repeatable). Not rotated: a rotation keeps
each variant's predecessor, and a variant that always follows one running the
same code (``ours + no-op handler`` before ``ours + no-op chat handler``) finds
the caches warm while one that always follows the bare graph (``ours`` after
``baseline``) does not, a bias of 5 to 8 us per node in the capture figures.

Reported per variant: the median microseconds per node, the median of the
paired overheads (variant minus the baseline of the same repetition) and of
the paired ratios. The floor is the cost of turning
the workload's state into one JSON line and writing it, measured alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pydantic_core
from langchain_core.callbacks import BaseCallbackHandler
from workloads import (
    LLM_COMPLETION,
    LLM_PROMPT,
    Workload,
    handler_config,
    naive_wrapper,
    ours,
    workloads,
)

from editorial_ai.observability import TokenUsageCallbackHandler, read_node_logs

try:  # the write delay (absent from older versions, timed with PYTHONPATH)
    from editorial_ai.observability import _deferred
except ImportError:  # pragma: no cover
    _deferred = None  # type: ignore[assignment]


def floor_us(state: dict[str, Any], directory: str, repeat: int = 200) -> float:
    """One state to one JSON line, written with one os.write: the floor.

    Measured alone, in a loop: the lowest of five medians, so that one burst
    of noise on a shared machine does not raise the floor everything is
    compared with.
    """
    path = os.path.join(directory, "floor.jsonl")
    medians = []
    for _ in range(5):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        samples = []
        try:
            for _ in range(repeat):
                start = time.perf_counter_ns()
                os.write(fd, pydantic_core.to_json(state) + b"\n")
                samples.append(time.perf_counter_ns() - start)
        finally:
            os.close(fd)
            os.unlink(path)
        medians.append(statistics.median(samples) / 1000)
    return min(medians)


class _NoOpHandler(BaseCallbackHandler):
    run_inline = True


class _NoOpChatHandler(BaseCallbackHandler):
    """A no-op handler that also takes ``on_chat_model_start`` (as ours does).

    Without it LangChain catches the base class's ``NotImplementedError`` and
    calls ``on_llm_start`` with the messages turned into text, a cost ours
    never pays; with it, the handler receives exactly the events ours does.
    """

    run_inline = True

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        pass


_NOOP = _NoOpHandler()
_NOOP_CHAT = _NoOpChatHandler()


class OpenInference:
    """OpenInference's LangChain instrumentor, OpenTelemetry SDK to a file."""

    def __init__(self, path: str) -> None:
        from openinference.instrumentation.langchain import LangChainInstrumentor
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            ConsoleSpanExporter,
            SimpleSpanProcessor,
        )

        self.file = open(path, "w")
        self.provider = TracerProvider()
        exporter = ConsoleSpanExporter(
            out=self.file, formatter=lambda span: span.to_json(indent=None) + "\n"
        )
        self.provider.add_span_processor(SimpleSpanProcessor(exporter))
        self.instrumentor = LangChainInstrumentor()

    def __enter__(self) -> None:
        self.instrumentor.instrument(tracer_provider=self.provider)

    def __exit__(self, *exc: object) -> None:
        self.instrumentor.uninstrument()
        self.file.flush()


def peer_available() -> bool:
    try:
        import openinference.instrumentation.langchain  # noqa: F401
        import opentelemetry.sdk  # noqa: F401
    except ImportError:
        return False
    return True


def bench_workload(
    workload: Workload, reps: int, directory: str, with_peer: bool
) -> dict[str, Any]:
    naive_path = os.path.join(directory, "naive.jsonl")
    variants: dict[str, tuple[Any, Any]] = {
        "baseline": (workload.build(None), False),
        "ours": (workload.build(ours()), workload.with_llm),
        "ours capture_io=False": (
            workload.build(ours(capture_io=False)),
            workload.with_llm,
        ),
        "ours bound off": (
            workload.build(ours(max_snapshot_bytes=None)),
            workload.with_llm,
        ),
        "naive wrapper": (workload.build(naive_wrapper(naive_path)), False),
        # nothing decorated: the handler records the node runs it sees
        "record_nodes handler": (workload.build(None), "record_nodes"),
    }
    if _deferred is not None:
        # $EDITORIAL_AI_WRITE_DELAY_MS: lines queued and written in batches
        # (the queue is written inside the timed run: its cost counts)
        variants["ours, write delay"] = (workload.build(ours()), workload.with_llm)
        variants["capture_io=False, delay"] = (
            workload.build(ours(capture_io=False)),
            workload.with_llm,
        )
    if workload.with_llm:
        variants["ours without handler"] = (workload.build(ours()), False)
        # LangChain's own cost of having any handler: callback managers and
        # run objects for every runnable, whatever the handler does.
        variants["ours + no-op handler"] = (workload.build(ours()), "noop")
        variants["ours + no-op chat handler"] = (workload.build(ours()), "noop-chat")
    peer = OpenInference(os.path.join(directory, "otel.jsonl")) if with_peer else None
    if peer is not None:
        variants["openinference+otel"] = (variants["baseline"][0], False)
    names = list(variants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm up every variant once
        graph, handler = variants[name]
        _timed(workload, graph, handler, name, peer)
    shuffle = random.Random(reps)
    for _ in range(reps):
        order = shuffle.sample(names, len(names))
        for name in order:
            graph, handler = variants[name]
            samples[name].append(_timed(workload, graph, handler, name, peer))
        _clear(directory)
    if workload.with_llm:
        _check_tokens(workload, variants["ours"][0], directory)
    base = samples["baseline"]
    result: dict[str, Any] = {
        "nodes": workload.nodes,
        "floor_us": floor_us(workload.inputs, directory),
        "variants": {},
    }
    if workload.with_llm:
        # Token capture per call (one call per node): ours minus ours with a
        # no-op handler, paired within each repetition.
        result["capture_us"] = {
            other: statistics.median(
                [a - b for a, b in zip(samples["ours"], samples[other], strict=True)]
            )
            for other in ("ours + no-op handler", "ours + no-op chat handler")
        }
    for name in names:
        values = samples[name]
        result["variants"][name] = {
            "us_per_node": statistics.median(values),
            "overhead_us": statistics.median(
                [v - b for v, b in zip(values, base, strict=True)]
            ),
            "ratio": statistics.median(
                [v / b for v, b in zip(values, base, strict=True)]
            ),
        }
    return result


# The clock of the graph runs: wall time, or with --clock cpu the CPU time of
# this process (user and system; a machine shared with other work then adds
# noise, but not the time this process waited for a core).
_clock = time.perf_counter_ns


def _timed(workload: Workload, graph: Any, handler: Any, name: str, peer: Any) -> float:
    if handler in ("noop", "noop-chat"):
        noop = _NOOP if handler == "noop" else _NOOP_CHAT
        config = {"configurable": {"thread_id": "bench"}, "callbacks": [noop]}
    elif handler == "record_nodes":
        config = {
            "configurable": {"thread_id": "bench"},
            "callbacks": [TokenUsageCallbackHandler(record_nodes=True)],
        }
    else:
        config = handler_config("bench", handler)
    if name == "openinference+otel":
        with peer:
            start = _clock()
            workload.run(graph, config)
            elapsed = _clock() - start
    elif name in _DELAYED:
        assert _deferred is not None
        os.environ[_deferred.WRITE_DELAY_MS] = str(WRITE_DELAY_MS)
        try:
            start = _clock()
            workload.run(graph, config)
            _deferred.flush()
            elapsed = _clock() - start
        finally:
            del os.environ[_deferred.WRITE_DELAY_MS]
    else:
        start = _clock()
        workload.run(graph, config)
        elapsed = _clock() - start
    return elapsed / workload.nodes / 1000


WRITE_DELAY_MS = 100
_DELAYED = frozenset({"ours, write delay", "capture_io=False, delay"})


def _clear(directory: str) -> None:
    for entry in os.scandir(directory):
        if entry.name.endswith(".jsonl") and entry.is_file():
            os.unlink(entry.path)


def _check_tokens(workload: Workload, graph: Any, directory: str) -> None:
    """The LLM workload's recorded tokens must be exact, not just fast."""
    _clear(directory)
    workload.run(graph, handler_config("tokens", True))
    logs = read_node_logs("tokens")
    expected = (LLM_PROMPT, LLM_COMPLETION)
    got = {(log.total_prompt_tokens, log.total_completion_tokens) for log in logs}
    if len(logs) != workload.nodes or got != {expected}:
        raise SystemExit("token totals are wrong in %s: %r" % (workload.name, got))


def print_table(results: dict[str, Any]) -> None:
    header = "%-22s %-24s %9s %10s %7s %9s %9s" % (
        "workload",
        "variant",
        "us/node",
        "overhead",
        "ratio",
        "x naive",
        "x floor",
    )
    print(header)
    print("-" * len(header))
    for workload, data in results["workloads"].items():
        naive = data["variants"]["naive wrapper"]["overhead_us"]
        floor = data["floor_us"]
        for name, row in data["variants"].items():
            over = row["overhead_us"]
            print(
                "%-22s %-24s %9.1f %+10.1f %7.3f %9s %9s"
                % (
                    workload,
                    name,
                    row["us_per_node"],
                    over,
                    row["ratio"],
                    "%.2f" % (over / naive) if naive > 0 else "-",
                    "%.2f" % (over / floor) if floor > 0 else "-",
                )
            )
        print("%-22s %-24s %9s %+10.1f" % (workload, "(floor alone)", "", floor))
        for other, value in data.get("capture_us", {}).items():
            print("%-22s capture per call vs %s: %+.1f us" % (workload, other, value))
        print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="time graph runs by the wall clock or by this process's CPU time",
    )
    parser.add_argument("--quick", action="store_true", help="skip the 1 MB loads")
    parser.add_argument("--only", help="run workloads whose name holds this")
    parser.add_argument("--no-peer", action="store_true", help="skip OpenInference")
    parser.add_argument("--no-read", action="store_true", help="skip the read side")
    parser.add_argument("--out", default="benchmarks/results.json")
    args = parser.parse_args()
    global _clock
    _clock = time.process_time_ns if args.clock == "cpu" else time.perf_counter_ns
    directory = tempfile.mkdtemp(prefix="obs-bench-")
    os.environ["EDITORIAL_AI_LOG_DIR"] = directory
    with_peer = not args.no_peer and peer_available()
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
        },
        "reps": args.reps,
        "clock": args.clock,
        "peer": with_peer,
        "workloads": {},
    }
    try:
        for workload in workloads(quick=args.quick):
            if args.only and args.only not in workload.name:
                continue
            print("running %s ..." % workload.name, file=sys.stderr)
            results["workloads"][workload.name] = bench_workload(
                workload, args.reps, directory, with_peer
            )
        if not args.no_read:
            from read_side import bench_read_side

            results["read_side"] = bench_read_side(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print_table(results)
    if "read_side" in results:
        from read_side import print_read_side

        print_read_side(results["read_side"])
    Path(args.out).write_text(json.dumps(results, indent=2))
    print("results written to", args.out)


if __name__ == "__main__":
    main()
