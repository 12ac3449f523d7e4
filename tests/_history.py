"""A small history on real files, and the figures computed by hand from it.

Two log folders (two workers), written through the library's own writer:
errors and their retries, interrupts, calls whose usage was not reported, a
model without a price, a call that reported only a total, a thread present
in both folders, several days, and every case of the bill (:data:`BILL_CASES`:
cached reads, 5-minute and 1-hour cache writes, reasoning, a preview, dated
snapshots, failed and aborted calls with partial usage, a priced service
tier); then a corrupt line, a line with ``NaN`` in its
state, the largest token count a record may hold and one past it, and a
torn last line, written by hand.

The hand figures are computed from the records the library's reader returns
(``storage.parse_lines``), with ``statistics``-free plain Python and
``pricing.cost_of_usage``: nothing of the engine.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from editorial_ai.observability import NodeRunLog, TokenUsage, append_node_log
from editorial_ai.observability.models import NodeRunHead
from editorial_ai.observability.pricing import call_cost, load_price_table
from editorial_ai.observability.storage import SUFFIX, parse_lines

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
NODES = ("plan", "draft", "review")
MODELS = ("gpt-4o-mini", "claude-sonnet-4-5-20250929", "house-model")


def _usage(number: int, model: str, **extra: Any) -> TokenUsage:
    return TokenUsage(
        prompt_tokens=100 + number * 7,
        completion_tokens=20 + number * 3,
        model_name=model,
        cached_tokens=number % 5 * 10,
        reasoning_tokens=number % 3 * 4,
        provider="openai" if model.startswith("gpt") else "other",
        **extra,
    )


BILL_CASES: list[TokenUsage] = [
    TokenUsage(prompt_tokens=1200, completion_tokens=80, model_name="gpt-4o-mini"),
    # cached reads, on a model and on its dated snapshot
    TokenUsage(
        prompt_tokens=5000, completion_tokens=300, cached_tokens=4096,
        model_name="gpt-4o-mini-2024-07-18",
    ),
    TokenUsage(prompt_tokens=900, completion_tokens=40, cached_tokens=512,
               model_name="openai/gpt-4o"),
    # cache writes: 5 minutes (split unreported, then reported), 1 hour, both
    TokenUsage(
        prompt_tokens=3000, completion_tokens=500, cache_creation_tokens=2000,
        model_name="claude-sonnet-4-5-20250929", provider="anthropic",
    ),
    TokenUsage(
        prompt_tokens=3100, completion_tokens=510, cache_creation_tokens=2000,
        cache_creation_5m_tokens=2000, model_name="claude-sonnet-4-5",
    ),
    TokenUsage(
        prompt_tokens=4000, completion_tokens=200, cache_creation_tokens=3000,
        cache_creation_1h_tokens=3000, cache_creation_5m_tokens=0,
        model_name="claude-haiku-4-5-20251001",
    ),
    TokenUsage(
        prompt_tokens=9000, completion_tokens=700, cached_tokens=1000,
        cache_creation_tokens=5000, cache_creation_5m_tokens=1500,
        cache_creation_1h_tokens=3500, reasoning_tokens=300,
        model_name="us.anthropic.claude-opus-4-1-20250805-v1:0",
    ),
    # reasoning, within the completion (and one recorded above it)
    TokenUsage(prompt_tokens=700, completion_tokens=2400, reasoning_tokens=2048,
               model_name="o3-2025-04-16"),
    TokenUsage(prompt_tokens=10, completion_tokens=5, reasoning_tokens=9,
               model_name="o4-mini"),
    # previews: only by their own entry
    TokenUsage(prompt_tokens=800, completion_tokens=60,
               model_name="gemini-2.5-flash-preview-09-2025"),
    TokenUsage(prompt_tokens=800, completion_tokens=60,
               model_name="gpt-4-turbo-preview"),
    TokenUsage(prompt_tokens=800, completion_tokens=60, cached_tokens=100,
               model_name="models/gemini-2.5-flash"),
    # unknown: model, no model name, no usage, only a total, a tier, rates
    TokenUsage(prompt_tokens=50, completion_tokens=5, model_name="house-model"),
    TokenUsage(prompt_tokens=50, completion_tokens=5),
    TokenUsage(model_name="gpt-4o", usage_reported=False, status="aborted",
               error_type="CancelledError"),
    TokenUsage(total_tokens=77, model_name="gpt-4o"),
    TokenUsage(prompt_tokens=100, completion_tokens=10, model_name="gpt-4o",
               token_details={"input_priority": 100}),
    TokenUsage(prompt_tokens=100, completion_tokens=10, model_name="gpt-4o",
               token_details={"input_audio": 20}),
    TokenUsage(prompt_tokens=100, completion_tokens=10, cached_tokens=50,
               model_name="gpt-4-turbo"),
    TokenUsage(prompt_tokens=100, completion_tokens=10, cache_creation_tokens=50,
               model_name="gpt-4o"),
    TokenUsage(prompt_tokens=100, completion_tokens=10, cache_creation_tokens=50,
               cache_creation_1h_tokens=80, model_name="claude-sonnet-4-5"),
    # failed calls: partial usage priced, none reported unknown
    TokenUsage(prompt_tokens=400, completion_tokens=50, model_name="gemini-2.5-flash",
               status="error", error_type="ServerError", provider="google_genai"),
    TokenUsage(model_name="claude-sonnet-4-5", usage_reported=False, status="error",
               error_type="RateLimitError"),
    # 0 tokens reported: 0.0 whatever the model; more cached than prompt
    TokenUsage(model_name="house-model"),
    TokenUsage(prompt_tokens=10, completion_tokens=1, cached_tokens=8,
               cache_creation_tokens=8, model_name="claude-sonnet-4-5"),
]  # fmt: skip
"""One LLM call of each kind the bill prices differently (or cannot price)."""


def write_history(first: Path, second: Path) -> None:
    """Write the history into two folders (``first``, ``second``)."""
    previous = os.environ.get("EDITORIAL_AI_LOG_DIR")
    try:
        for thread in range(12):
            folder = first if thread % 2 == 0 else second
            os.environ["EDITORIAL_AI_LOG_DIR"] = str(folder)
            start = NOW - timedelta(days=thread % 9, hours=thread)
            for position in range(6):
                node = NODES[position % 3]
                number = thread * 10 + position
                began = start + timedelta(seconds=position * 3)
                ended = began + timedelta(milliseconds=50 + number * 13 % 900)
                status = "success"
                usages = [_usage(number, MODELS[number % 3])]
                if number % 4 == 0:
                    usages.append(
                        TokenUsage(model_name="gpt-4o-mini", usage_reported=False)
                    )
                if number % 11 == 0:
                    usages.append(TokenUsage(total_tokens=77, model_name="gpt-4o"))
                usages.append(BILL_CASES[number % len(BILL_CASES)])
                extra: dict[str, Any] = {}
                if number % 9 == 4:
                    status = "error"
                    extra = {"error_type": "TimeoutError", "error_message": "slow"}
                elif number % 13 == 5:
                    status = "interrupted"
                    extra = {"interrupt_id": "i%d" % number}
                append_node_log(
                    NodeRunLog(
                        thread_id="thread-%02d" % thread,
                        node_name=node,
                        status=status,  # type: ignore[arg-type]
                        started_at=began,
                        ended_at=ended,
                        token_usage=usages,
                        attempt=1,
                        step=position,
                        input_state={"n": number},
                        **extra,
                    )
                )
                if status == "error":  # the RetryPolicy's second attempt
                    append_node_log(
                        NodeRunLog(
                            thread_id="thread-%02d" % thread,
                            node_name=node,
                            status="success",
                            started_at=ended + timedelta(milliseconds=5),
                            ended_at=ended + timedelta(milliseconds=400),
                            token_usage=[_usage(number + 1, "gpt-4o-mini")],
                            attempt=2,
                            step=position,
                        )
                    )
        # One thread resumed on the other worker: the same id in both folders.
        os.environ["EDITORIAL_AI_LOG_DIR"] = str(second)
        append_node_log(
            NodeRunLog(
                thread_id="thread-00",
                node_name="publish",
                status="success",
                started_at=NOW - timedelta(minutes=5),
                ended_at=NOW - timedelta(minutes=4),
                token_usage=[_usage(3, "claude-sonnet-4-5-20250929")],
            )
        )
    finally:
        if previous is None:
            os.environ.pop("EDITORIAL_AI_LOG_DIR", None)
        else:
            os.environ["EDITORIAL_AI_LOG_DIR"] = previous
    moment = (NOW - timedelta(hours=2)).isoformat()
    with open(first / ("thread-02" + SUFFIX), "ab") as handle:
        handle.write(b'{"thread_id": "thread-02", "node_name": "dr\n')  # corrupt
        handle.write(
            b'{"thread_id":"thread-02","node_name":"review","status":"success",'
            b'"started_at":"%s","ended_at":"%s","input_state":{"x":NaN},'
            b'"token_usage":[{"prompt_tokens":9007199254740991,'
            b'"completion_tokens":1,"model_name":"house-model"}]}\n'
            % (moment.encode(), moment.encode())
        )
        # A count past MAX_COUNT: not a record, for the reader as for the engine.
        handle.write(
            b'{"thread_id":"thread-02","node_name":"review","status":"success",'
            b'"started_at":"%s","ended_at":"%s","token_usage":[{"prompt_tokens":'
            b'100000000000000000000000,"completion_tokens":1}]}\n'
            % (moment.encode(), moment.encode())
        )
    with open(second / ("thread-03" + SUFFIX), "ab") as handle:
        handle.write(b'{"thread_id":"thread-03","node_name":"plan","status":"succ')


def records(folders: Iterable[Path]) -> list[NodeRunLog]:
    """Every valid record of the folders, as the library's reader reads them."""
    found: list[NodeRunLog] = []
    for folder in folders:
        for name in sorted(os.listdir(folder)):
            if name.endswith(SUFFIX):
                data = (folder / name).read_bytes()
                found.extend(parse_lines(data, None, name))
    return found


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Figures:
    """Calls, tokens and cost of a set of calls, by hand."""

    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0
    unreported_calls: int = 0
    unpriced_calls: int = 0
    unpriced_tokens: int = 0
    priced: list[float] = field(default_factory=list)
    reasoning: list[float] = field(default_factory=list)

    def add(self, usage: TokenUsage) -> None:
        self.llm_calls += 1
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cached_tokens += usage.cached_tokens
        self.cache_creation_tokens += usage.cache_creation_tokens
        self.reasoning_tokens += usage.reasoning_tokens
        self.total_tokens += usage.total_tokens
        self.unreported_calls += not usage.usage_reported
        cost = call_cost(usage, load_price_table())
        if cost is None:
            self.unpriced_calls += 1
            self.unpriced_tokens += usage.total_tokens
        else:
            self.priced.append(cost.total)
            self.reasoning.append(cost.reasoning)

    @property
    def cost_usd(self) -> float | None:
        if self.priced:
            return math.fsum(self.priced)
        return None if self.unpriced_calls else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "llm_calls": self.llm_calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "cache_creation_tokens": self.cache_creation_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "total_tokens": self.total_tokens,
            "unreported_calls": self.unreported_calls,
            "unpriced_calls": self.unpriced_calls,
            "unpriced_tokens": self.unpriced_tokens,
            "cost_usd": self.cost_usd,
            "reasoning_usd": math.fsum(self.reasoning),
        }


def per_node(logs: list[NodeRunLog], model: str | None = None) -> dict[str, Any]:
    """Per node: runs, errors, interrupts, retries, p50/p95/max, figures."""
    runs: dict[str, list[NodeRunHead]] = defaultdict(list)
    figures: dict[str, Figures] = defaultdict(Figures)
    for log in logs:
        calls = [u for u in log.token_usage if model is None or u.model_name == model]
        if model is not None and not calls:
            continue
        runs[log.node_name].append(log)
        for usage in calls:
            figures[log.node_name].add(usage)
    table = {}
    for node, node_runs in runs.items():
        durations = [log.duration_ms for log in node_runs]
        table[node] = {
            "runs": len(node_runs),
            "errors": sum(log.status == "error" for log in node_runs),
            "interrupted": sum(log.status == "interrupted" for log in node_runs),
            "retries": sum((log.attempt or 1) > 1 for log in node_runs),
            "p50_ms": quantile(durations, 0.5),
            "p95_ms": quantile(durations, 0.95),
            "max_ms": max(durations),
            **(figures[node].as_dict() if node in figures else Figures().as_dict()),
        }
    return table


def per_model_day(logs: list[NodeRunLog]) -> dict[tuple[date, str | None], Any]:
    """Per (UTC day of the node run, model): figures."""
    table: dict[tuple[date, str | None], Figures] = defaultdict(Figures)
    for log in logs:
        for usage in log.token_usage:
            table[(log.started_at.date(), usage.model_name)].add(usage)
    return {key: value.as_dict() for key, value in table.items()}
