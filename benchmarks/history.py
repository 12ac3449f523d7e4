"""A generated history for the across-threads benchmarks: many threads, days.

``write_history(folder, threads=10_000)`` writes one JSONL file per thread in
the writer's line format, head fields first, then the snapshots, then the
computed totals (tests/test_analytics.py checks a sample against
``NodeRunLog`` and the writer's own encoding):
10 node runs per thread and 2 LLM calls per run on average, over the last 14
days, with errors and their retries, interrupts, calls whose usage was not
reported, a model the price table does not know, and state snapshots of about
10 KB a run (5 KB in, 5 KB out), so 10,000 threads make about 1 GB. Lines are
built with string formatting rather than through the models: writing 1 GB this way takes
seconds, not minutes.

    python benchmarks/history.py /tmp/history --threads 10000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from datetime import UTC, datetime, timedelta

NODES = ("plan", "research", "draft", "review", "edit", "publish")
MODELS = (
    ("gpt-4o-mini", "openai"),
    ("gpt-4o-2024-08-06", "openai"),
    ("claude-sonnet-4-5-20250929", "anthropic"),
    ("models/gemini-2.5-flash", "google_genai"),
    ("house-model-7b", "internal"),  # not in the price table: unpriced
)
DAYS = 14


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _filler(rng: random.Random, size: int) -> str:
    words = ["the", "editor", "draft", "source", "claim", "quote", "revise",
             "headline", "fact", "check", "reader", "story", "angle"]  # fmt: skip
    text = " ".join(rng.choice(words) for _ in range(size // 5))
    return text[:size]


def _totals(began: datetime, ended: datetime, totals: list[int], calls: int = 0) -> str:
    """What the writer puts after the snapshots: the computed fields, ending
    with ``unreported_calls`` (the engine reads such a line's head only)."""
    prompt, completion, total, cached, written, reasoning, unreported = totals
    return (
        ',"interrupt_value":null,"resume_values":null,"duration_ms":%s,'
        '"total_prompt_tokens":%d,"total_completion_tokens":%d,"total_tokens":%d,'
        '"total_cached_tokens":%d,"total_cache_creation_tokens":%d,'
        '"total_reasoning_tokens":%d,"llm_calls":%d,"unreported_calls":%d'
        % ((ended - began).total_seconds() * 1000, prompt, completion, total,
           cached, written, reasoning, calls, unreported)
    )  # fmt: skip


def write_history(
    folder: str,
    threads: int = 10_000,
    *,
    runs_per_thread: int = 10,
    snapshot_bytes: int = 5_000,
    now: datetime | None = None,
    seed: int = 13,
) -> dict[str, int]:
    """Write the history; returns counts (threads, node_runs, llm_calls, bytes)."""
    rng = random.Random(seed)
    now = datetime.now(UTC) if now is None else now
    os.makedirs(folder, exist_ok=True)
    # A few distinct texts, reused: generating 1 GB of random words is slow.
    texts = [_filler(rng, snapshot_bytes) for _ in range(16)]
    encoded = [json.dumps(text) for text in texts]
    runs = calls = written = 0
    for number in range(threads):
        thread_id = "thread-%05d" % number
        start = now - timedelta(seconds=rng.uniform(600, DAYS * 86_400))
        moment = start
        lines = []
        step = 0
        node_index = 0
        while step < runs_per_thread:
            node = NODES[node_index % len(NODES)]
            step += 1
            duration = rng.lognormvariate(6.5 + node_index % 3 * 0.4, 0.6)
            began = moment
            ended = began + timedelta(milliseconds=duration)
            moment = ended + timedelta(milliseconds=rng.uniform(1, 50))
            roll = rng.random()
            status = "success"
            attempt = 1
            if roll < 0.03:
                status = "error"
            elif roll < 0.045:
                status = "interrupted"
            usages = []
            counts = []  # prompt, completion, total, cached, 0, reasoning, unreported
            for _ in range(rng.choice((1, 2, 2, 3))):
                model, provider = MODELS[
                    0 if rng.random() < 0.5 else rng.randrange(len(MODELS))
                ]
                reported = rng.random() > 0.02
                prompt = rng.randrange(200, 6000) if reported else 0
                completion = rng.randrange(50, 1500) if reported else 0
                cached = prompt // 3 if reported and rng.random() < 0.4 else 0
                reasoning = completion // 4 if "gpt" in model and reported else 0
                counts.append(
                    [prompt, completion, prompt + completion, cached, 0, reasoning,
                     0 if reported else 1]
                )  # fmt: skip
                usages.append(
                    '{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,'
                    '"model_name":"%s","prompt_chars":%d,"usage_reported":%s,'
                    '"cached_tokens":%d,"cache_creation_tokens":0,'
                    '"reasoning_tokens":%d,"provider":"%s","status":"%s"}'
                    % (prompt, completion, prompt + completion, model, prompt * 4,
                       "true" if reported else "false", cached, reasoning,
                       provider, "error" if status == "error" else "success")
                )  # fmt: skip
            calls += len(usages)
            totals = [0] * 7
            for values in counts:
                totals = [
                    left + right for left, right in zip(totals, values, strict=True)
                ]
            text = encoded[rng.randrange(len(encoded))]
            output = "null" if status != "success" else '{"text":%s}' % text
            error = (
                '"error_type":"TimeoutError","error_message":"provider timed out",'
                if status == "error"
                else ""
            )
            lines.append(
                '{"thread_id":"%s","node_name":"%s","status":"%s",'
                '"started_at":"%s","ended_at":"%s","token_usage":[%s],%s'
                '"step":%d,"attempt":%d,"input_state":{"topic":"story %d",'
                '"notes":%s},"output_state":%s%s}\n'
                % (thread_id, node, status, _iso(began), _iso(ended),
                   ",".join(usages), error, step, attempt, number, text, output,
                   _totals(began, ended, totals, len(usages)))
            )  # fmt: skip
            runs += 1
            if status == "error" and step < runs_per_thread:
                # A RetryPolicy's second attempt of the same node.
                attempt = 2
                node_index -= 1
            if status == "interrupted":
                moment += timedelta(minutes=rng.uniform(1, 30))  # a human answers
                node_index -= 1
            node_index += 1
            if attempt == 2:
                retry_began = moment
                retry_ended = retry_began + timedelta(milliseconds=duration)
                moment = retry_ended
                step += 1
                lines.append(
                    '{"thread_id":"%s","node_name":"%s","status":"success",'
                    '"started_at":"%s","ended_at":"%s","token_usage":[],'
                    '"step":%d,"attempt":2,"input_state":{"topic":"story %d"},'
                    '"output_state":{"text":%s}%s}\n'
                    % (thread_id, node, _iso(retry_began), _iso(retry_ended), step,
                       number, text, _totals(retry_began, retry_ended, [0] * 7))
                )  # fmt: skip
                runs += 1
                node_index += 1
        data = "".join(lines).encode()
        with open(os.path.join(folder, thread_id + ".jsonl"), "wb") as handle:
            handle.write(data)
        written += len(data)
    return {"threads": threads, "node_runs": runs, "llm_calls": calls, "bytes": written}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--snapshot-bytes", type=int, default=5_000)
    args = parser.parse_args(argv)
    counts = write_history(
        args.folder, args.threads, snapshot_bytes=args.snapshot_bytes
    )
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
