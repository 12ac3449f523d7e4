"""What token capture costs per LLM call, part by part, inside a real graph.

Run: python benchmarks/capture_gap.py [--reps N] [--clock wall|cpu]

The ``llm10`` workloads of ``run.py`` (10 wrapped nodes in a line, one
``GenericFakeChatModel`` call each), with the handler on the graph run cut
down one part at a time: the chain bookkeeping alone (invocation ids, graph
runs), then the call's start, then everything but the record of the call,
then all of it; and a no-op handler that adds one ready-made call to the
node's collector (what one call costs in the node's line). Every variant is
paired with the no-op chat handler of ``run.py`` in the same repetition, in
an order shuffled each repetition; reported: medians per node and of the
paired differences, with half the interquartile range of those differences.

Then, with ``--bodies``, the time inside each handler method as the graph
calls it (``perf_counter_ns`` around the call; a no-op handler's figures are
the timer's own cost). Tight loops (``call_capture.py``) show about a third
of these figures: between two nodes LangGraph runs enough code to leave the
caches cold.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from langchain_core.callbacks import BaseCallbackHandler
from workloads import ours, workloads

from editorial_ai.observability import TokenUsageCallbackHandler
from editorial_ai.observability.collector import current_collector
from editorial_ai.observability.models import build_call_usage


class NoOpChat(BaseCallbackHandler):
    """``run.py``'s reference: takes the events ours takes, does nothing."""

    run_inline = True

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        pass


class ChainsOnly(TokenUsageCallbackHandler):
    """Invocation ids and graph runs; no call is noted or counted."""

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
        pass


class StartOnly(TokenUsageCallbackHandler):
    """Also notes each call's start; its end only forgets it."""

    def on_llm_end(self, response: Any, *, run_id: Any, **kwargs: Any) -> None:
        self._pending.pop(run_id, None)


_AT = datetime.now(UTC)
_CALL = build_call_usage(
    120, 30, 150, "gpt-4o-mini", 20, True, None, "openai", "0" * 36, _AT, _AT,
    "success", None,
)  # fmt: skip


class OneReadyCall(NoOpChat):
    """A no-op handler that puts one ready-made call in the node's record."""

    def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
        collector = current_collector()
        if collector is not None:
            collector.add(_CALL)


VARIANTS: dict[str, Callable[[], BaseCallbackHandler]] = {
    "no-op chat handler": NoOpChat,
    "chains only": ChainsOnly,
    "+ call start": StartOnly,
    "full handler": TokenUsageCallbackHandler,
    "no-op + one ready call": OneReadyCall,
}


def paired(workload: Any, reps: int, clock: Callable[[], int], directory: str) -> None:
    graph = workload.build(ours())
    names = list(VARIANTS)
    samples: dict[str, list[float]] = {name: [] for name in names}
    shuffle = random.Random(reps)
    for rep in range(reps + 2):
        for name in shuffle.sample(names, len(names)):
            config = {
                "configurable": {"thread_id": "gap"},
                "callbacks": [VARIANTS[name]()],
            }
            start = clock()
            workload.run(graph, config)
            if rep >= 2:  # the first two warm up
                samples[name].append((clock() - start) / workload.nodes / 1000)
        for entry in os.scandir(directory):
            os.unlink(entry.path)
    base = samples["no-op chat handler"]
    print("%-26s %9s %9s %7s" % (workload.name, "us/node", "vs no-op", "IQR/2"))
    for name in names:
        diffs = sorted(v - b for v, b in zip(samples[name], base, strict=True))
        quarter = len(diffs) // 4
        print(
            "%-26s %9.1f %+9.1f %7.1f"
            % (
                name,
                statistics.median(samples[name]),
                statistics.median(diffs),
                (diffs[-quarter - 1] - diffs[quarter]) / 2,
            )
        )


_METHODS = ("on_chain_start", "on_chain_end", "on_chat_model_start", "on_llm_end")


def _timed(base: type[BaseCallbackHandler]) -> tuple[type, dict[str, list[int]]]:
    """A subclass of ``base`` timing each method's body as it is called."""
    samples: dict[str, list[int]] = {name: [] for name in _METHODS}
    methods: dict[str, Any] = {}
    for name in _METHODS:

        def timed(self: Any, *args: Any, _name: str = name, **kwargs: Any) -> None:
            start = time.perf_counter_ns()
            getattr(base, _name)(self, *args, **kwargs)
            samples[_name].append(time.perf_counter_ns() - start)

        methods[name] = timed
    return type("Timed" + base.__name__, (base,), methods), samples


def bodies(workload: Any, runs: int) -> None:
    graph = workload.build(ours())
    for base in (NoOpChat, TokenUsageCallbackHandler):
        handler_class, samples = _timed(base)
        for _ in range(runs):
            config = {"configurable": {"thread_id": "gap"}}
            workload.run(graph, {**config, "callbacks": [handler_class()]})
        print(
            "%-14s %-26s %s"
            % (
                workload.name,
                base.__name__,
                "  ".join(
                    "%s %.2f" % (name[3:], statistics.median(values) / 1000)
                    for name, values in samples.items()
                ),
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="cpu",
        help="time graph runs by the wall clock or by this process's CPU time",
    )
    parser.add_argument(
        "--bodies", action="store_true", help="also time each handler method"
    )
    args = parser.parse_args()
    clock = time.process_time_ns if args.clock == "cpu" else time.perf_counter_ns
    directory = tempfile.mkdtemp(prefix="obs-capture-")
    os.environ["EDITORIAL_AI_LOG_DIR"] = directory
    chosen = [w for w in workloads() if w.name.startswith("llm10-")]
    for workload in chosen:
        paired(workload, args.reps, clock, directory)
        print()
    if args.bodies:
        print("median microseconds inside each method, per call:")
        for workload in chosen:
            bodies(workload, 200)


if __name__ == "__main__":
    main()
