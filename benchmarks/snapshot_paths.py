"""What one snapshot costs, per kind of state, against the naive wrapper's.

Run: python benchmarks/snapshot_paths.py [--repeat N]

A loop, not a graph: the figures are the snapshot alone (``snapshot_state``
with the default options), next to ``pydantic_core.to_jsonable_python`` (the
naive wrapper's snapshot: no bound, no redaction, no copy of long strings).
Each figure is the lowest of N rounds of a timed loop, the variants of one
state interleaved round by round, so that a busy machine raises the noise
but not the floor. "first sight" states hold a long text never seen before,
built anew every call (its building is timed and subtracted): the scan for
secret formats then runs over the whole text.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic_core
from langchain_core.messages import AIMessage, HumanMessage

from editorial_ai.observability.snapshot import snapshot_state


@dataclass
class Item:
    id: int
    title: str
    score: float


def _states() -> dict[str, Callable[[], Any]]:
    small = {"topic": "AI in local newsrooms", "body": "x" * 60, "step": 0}
    kb100 = {"topic": "AI", "body": "y" * 100_000, "step": 0}
    at_bound = {"topic": "AI", "body": "w" * (256 * 1024 - 64), "step": 0}
    mb1 = {"topic": "AI", "body": "z" * 1_000_000, "step": 0}
    nested = {
        "items": [
            {"id": i, "title": "item %d" % i, "score": i / 7, "tags": ["a", "b"]}
            for i in range(100)
        ]
    }
    messages = {
        "messages": [
            HumanMessage("question %d about the draft" % i, id="h%d" % i)
            if i % 2 == 0
            else AIMessage(
                "answer %d, with some words in it" % i,
                id="a%d" % i,
                usage_metadata={
                    "input_tokens": 10,
                    "output_tokens": 5,
                    "total_tokens": 15,
                },
                response_metadata={"model_name": "gpt-4o-mini"},
            )
            for i in range(20)
        ]
    }
    dataclasses = {"items": [Item(i, "t%d" % i, i / 3) for i in range(50)]}
    english = (
        "The council met on Tuesday to discuss the budget - a long-awaited "
        "debate: see https://example.org/minutes for the record. "
    )
    text = (english * (100_000 // len(english) + 1))[:100_000]
    return {
        "small": lambda: small,
        "nested 100 items": lambda: nested,
        "20 messages": lambda: messages,
        "50 dataclasses": lambda: dataclasses,
        "100 KB text": lambda: kb100,
        "256 KiB text (at the bound)": lambda: at_bound,
        "1 MB text (over the bound)": lambda: mb1,
        "100 KB prose, first sight": lambda: {"body": "".join([text, " "])},
    }


def _timed(make: Callable[[], Any], snap: Callable[[Any], Any], loops: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(loops):
        snap(make())
    return (time.perf_counter_ns() - start) / loops / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    variants: dict[str, Callable[[Any], Any]] = {
        "ours": snapshot_state,
        "naive": lambda state: pydantic_core.to_jsonable_python(state, fallback=repr),
        "building only": lambda state: None,
    }
    print("%-30s %12s %12s %8s" % ("state", "ours us", "naive us", "x naive"))
    for name, make in _states().items():
        loops = 2000 if "text" not in name and "prose" not in name else 50
        best = {variant: float("inf") for variant in variants}
        for snap in variants.values():
            _timed(make, snap, 3)  # warm up (and teach the caches)
        for _ in range(args.repeat):
            for variant, snap in variants.items():
                best[variant] = min(best[variant], _timed(make, snap, loops))
        base = best["building only"]
        ours, naive = best["ours"] - base, best["naive"] - base
        print("%-30s %12.1f %12.1f %8.2f" % (name, ours, naive, ours / naive))


if __name__ == "__main__":
    main()
