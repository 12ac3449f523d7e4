"""A small history on real files, and the figures computed by hand from it.

Two log folders (two workers), written through the library's own writer:
errors and their retries, interrupts, calls whose usage was not reported, a
model without a price, a call that reported only a total, a thread present
in both folders, several days; then a corrupt line, a line with ``NaN`` in its
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
from editorial_ai.observability.pricing import cost_of_usage, load_price_table
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
    reasoning_tokens: int = 0
    total_tokens: int = 0
    unreported_calls: int = 0
    unpriced_calls: int = 0
    priced: list[float] = field(default_factory=list)

    def add(self, usage: TokenUsage) -> None:
        self.llm_calls += 1
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cached_tokens += usage.cached_tokens
        self.reasoning_tokens += usage.reasoning_tokens
        self.total_tokens += usage.total_tokens
        self.unreported_calls += not usage.usage_reported
        cost = cost_of_usage(usage, load_price_table())
        if cost is None:
            self.unpriced_calls += 1
        else:
            self.priced.append(cost)

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
            "reasoning_tokens": self.reasoning_tokens,
            "total_tokens": self.total_tokens,
            "unreported_calls": self.unreported_calls,
            "unpriced_calls": self.unpriced_calls,
            "cost_usd": self.cost_usd,
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
