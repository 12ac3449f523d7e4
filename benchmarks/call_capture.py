"""Per-call capture cost of the callback handler, outside a graph.

Run: python benchmarks/call_capture.py [--reps N] [--calls N]

One LLM call as LangChain reports it to a handler (``on_chat_model_start``
then ``on_llm_end`` with a message carrying ``usage_metadata`` with cache and
reasoning details), inside a node's collector, timed in a loop. Reported: the
median of ``reps`` medians, in microseconds per call, for the handler against a
no-op handler given the same calls (their difference is what capture costs).
Tight loops flatter everything (warm caches); compare runs of this script on
one machine, not with the in-graph figures of ``run.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from editorial_ai.observability import (
    TokenUsageCallbackHandler,
    harvest_tokens,
    reset_token_collector,
)


class _NoOp(BaseCallbackHandler):
    run_inline = True

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        pass


def _result() -> LLMResult:
    message = AIMessage(
        "done",
        id="msg-1",
        usage_metadata={
            "input_tokens": 1200,
            "output_tokens": 300,
            "total_tokens": 1500,
            "input_token_details": {"cache_read": 1000},
            "output_token_details": {"reasoning": 200},
        },
        response_metadata={"model_name": "gpt-4o-mini-2024-07-18"},
    )
    return LLMResult(generations=[[ChatGeneration(message=message)]])


def _time(handler: Any, calls: int) -> float:
    messages = [[HumanMessage("summarise the draft")]]
    metadata = {"ls_provider": "openai", "ls_model_name": "gpt-4o-mini"}
    params = {"model": "gpt-4o-mini"}
    result = _result()
    run_ids = [uuid.uuid4() for _ in range(calls)]
    reset_token_collector()
    start = time.perf_counter_ns()
    for run_id in run_ids:
        handler.on_chat_model_start(
            {}, messages, run_id=run_id, metadata=metadata, invocation_params=params
        )
        handler.on_llm_end(result, run_id=run_id)
    elapsed = time.perf_counter_ns() - start
    harvest_tokens()
    return elapsed / calls / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    ours, noop = TokenUsageCallbackHandler(), _NoOp()
    samples: dict[str, list[float]] = {"handler": [], "no-op": []}
    _time(ours, 200)
    for rep in range(args.reps):
        pairs = [("handler", ours), ("no-op", noop)]
        for name, handler in pairs if rep % 2 else pairs[::-1]:
            samples[name].append(_time(handler, args.calls))
    handler_us = statistics.median(samples["handler"])
    noop_us = statistics.median(samples["no-op"])
    print(
        "handler %.2f us/call, no-op %.2f us/call, capture %.2f us/call"
        % (handler_us, noop_us, handler_us - noop_us)
    )


if __name__ == "__main__":
    main()
