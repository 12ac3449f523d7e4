"""Cost arithmetic: what one LLM call, a node run or a thread cost (USD).

Costs are the provider's bill. A call's prompt tokens are priced by kind:
those read from a cache (``cached_tokens``) at the ``cached_input`` rate,
those written to one (``cache_creation_tokens``) at the ``cache_write`` rate
(Anthropic: 1.25x input for a 5-minute write) or, for the 1-hour writes
Anthropic reports apart, ``cache_write_1h`` (2x input), the rest at
``input``. A write whose duration is not reported is a 5-minute write (the
default). ``completion_tokens`` are priced at ``output``; reasoning tokens are
a part of them, at the same rate, and their cost is also given apart
(``reasoning_usd``). A call cannot be priced (``None``, never a guess) when
its model is unknown, when its provider reported no usage or only a total,
when it read from or wrote to a cache and the table has no rate for that, or
when it ran on a service tier the table does not price (OpenAI ``priority``
and ``flex``); it costs 0.0 when it reported 0 tokens. A node run or a thread
(:class:`NodeCost`, :class:`ThreadCost`) sums the calls that could be priced,
is ``None`` when some call could not be priced and none could, and 0.0 without
LLM calls; beside the sum it counts the calls and tokens left out and names
their models.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from ..models import NodeRunHead, NodeRunLog, TokenUsage  # noqa: F401 (examples)
from ._table import PriceTable, load_price_table

UNKNOWN_MODEL = "unknown"
"""How ``unpriced_models`` names a call that reported no model name."""

_PER_MILLION = 1_000_000


@dataclass(frozen=True, slots=True)
class CallCost:
    """What one LLM call cost, by kind of token (USD).

    ``total`` is the bill; ``reasoning`` is a part of ``output`` (reasoning
    tokens are completion tokens), given apart.

    Example:
        >>> cost = call_cost(TokenUsage(prompt_tokens=1_000_000,
        ...     completion_tokens=0, cached_tokens=1_000_000, model_name="gpt-4o"))
        >>> cost.total, cost.cached_input
        (1.25, 1.25)
    """

    input: float
    cached_input: float
    cache_write: float
    output: float
    reasoning: float

    @property
    def total(self) -> float:
        """The call's bill: every part but ``reasoning`` (inside ``output``)."""
        return self.input + self.cached_input + self.cache_write + self.output


_ZERO = CallCost(0.0, 0.0, 0.0, 0.0, 0.0)
# Counts of a service tier priced apart from the standard rates the table
# holds (langchain-openai's ``input_token_details["priority"]`` and so on).
_TIER_DETAILS = frozenset(
    {"input_priority", "input_flex", "output_priority", "output_flex"}
)


def call_cost(usage: TokenUsage, table: PriceTable | None = None) -> CallCost | None:
    """USD for one LLM call by kind of token, or ``None`` when it cannot be
    priced (rules in the module docstring).

    Args:
        usage: the call.
        table: prices; ``None`` loads them with :func:`load_price_table`.

    Example:
        >>> cost = call_cost(TokenUsage(prompt_tokens=3000, completion_tokens=500,
        ...     cache_creation_tokens=2000, model_name="claude-sonnet-4-5"))
        >>> round(cost.total, 6)  # 1000 x 3 + 2000 x 3.75 + 500 x 15, per 1M
        0.018
    """
    if not usage.usage_reported:
        return None
    prompt, completion = usage.prompt_tokens, usage.completion_tokens
    if prompt == 0 and completion == 0:
        return _ZERO if usage.total_tokens == 0 else None
    table = load_price_table() if table is None else table
    price = table.price(usage.model_name)
    if price is None:
        return None
    details = usage.token_details
    if details and not _TIER_DETAILS.isdisjoint(details):
        return None
    cached, written = usage.cached_tokens, usage.cache_creation_tokens
    cached_usd = write_usd = 0.0
    if cached:
        if price.cached_input is None:
            return None
        cached_usd = cached * price.cached_input
    if written:
        one_hour = usage.cache_creation_1h_tokens or 0
        five_minutes = written - one_hour
        if five_minutes < 0 or (five_minutes and price.cache_write is None):
            return None
        if one_hour and price.cache_write_1h is None:
            return None
        write_usd = five_minutes * (price.cache_write or 0.0) + one_hour * (
            price.cache_write_1h or 0.0
        )
    plain = max(prompt - cached - written, 0)
    return CallCost(
        input=plain * price.input / _PER_MILLION,
        cached_input=cached_usd / _PER_MILLION,
        cache_write=write_usd / _PER_MILLION,
        output=completion * price.output / _PER_MILLION,
        reasoning=min(usage.reasoning_tokens, completion) * price.output / _PER_MILLION,
    )


def cost_of_usage(usage: TokenUsage, table: PriceTable | None = None) -> float | None:
    """USD for one LLM call, or ``None`` when it cannot be priced.

    The provider's bill: cached reads, cache writes and the rest of the
    prompt each at their own rate, completion (reasoning included) at the
    output rate; see :func:`call_cost` for the parts. ``None`` when the
    model is unknown or unnamed, when the provider reported no usage
    (``usage_reported`` false), when only a total was reported (the split
    decides the price), or when a cache or tier rate the call needs is not
    in the table. A call that reported 0 tokens costs 0.0, whatever its
    model.

    Args:
        usage: the call.
        table: prices; ``None`` loads them with :func:`load_price_table`.

    Example:
        >>> cost_of_usage(TokenUsage(
        ...     prompt_tokens=1_000_000, completion_tokens=1_000_000,
        ...     model_name="gpt-4o"))
        12.5
    """
    cost = call_cost(usage, table)
    return None if cost is None else cost.total


@dataclass(frozen=True, slots=True)
class _Cost:
    estimated_cost_usd: float | None
    """Sum over the calls that could be priced; ``None`` when some call could
    not be priced and none could; 0.0 without LLM calls. Not rounded."""
    unpriced_tokens: int = 0
    """``total_tokens`` of the calls that could not be priced."""
    unpriced_calls: int = 0
    """Calls that could not be priced, unreported usage included."""
    unpriced_models: list[str] = field(default_factory=list)
    """Sorted, distinct names of models the table does not price;
    ``"unknown"`` for a call without a model name."""
    reasoning_usd: float = 0.0
    """Of ``estimated_cost_usd``, what the reasoning tokens of the priced
    calls cost (at the output rate), given apart."""


@dataclass(frozen=True, slots=True)
class NodeCost(_Cost):
    """What one node run's LLM calls cost.

    Example:
        >>> from datetime import datetime, UTC
        >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
        >>> log = NodeRunLog(thread_id="t", node_name="draft", status="success",
        ...     started_at=t0, ended_at=t0)
        >>> node_run_cost(log).estimated_cost_usd
        0.0
    """


@dataclass(frozen=True, slots=True)
class ThreadCost(_Cost):
    """What the LLM calls of a thread's node runs cost, all runs together.

    Example:
        >>> thread_cost([]).estimated_cost_usd
        0.0
    """


_CostT = TypeVar("_CostT", NodeCost, ThreadCost)


def _tally(
    usages: Iterable[TokenUsage], table: PriceTable, result: type[_CostT]
) -> _CostT:
    priced: list[float] = []
    reasoning: list[float] = []
    unpriced_tokens = unpriced_calls = 0
    unpriced_models: set[str] = set()
    for usage in usages:
        cost = call_cost(usage, table)
        if cost is not None:
            priced.append(cost.total)
            if cost.reasoning:
                reasoning.append(cost.reasoning)
            continue
        unpriced_calls += 1
        unpriced_tokens += usage.total_tokens
        # A known model left unpriced for want of usage (or of its split)
        # says nothing about the table, so it is not listed.
        if usage.usage_reported and table.price(usage.model_name) is None:
            unpriced_models.add(usage.model_name or UNKNOWN_MODEL)
    estimated: float | None
    if priced:
        estimated = math.fsum(priced)
    else:
        estimated = None if unpriced_calls else 0.0
    return result(
        estimated,
        unpriced_tokens,
        unpriced_calls,
        sorted(unpriced_models),
        math.fsum(reasoning),
    )


def node_run_cost(log: NodeRunHead, table: PriceTable | None = None) -> NodeCost:
    """Price one node run's LLM calls (rules in the module docstring).

    Args:
        log: the node run.
        table: prices; ``None`` loads them with :func:`load_price_table`.

    Example:
        >>> from datetime import datetime, UTC
        >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
        >>> log = NodeRunLog(thread_id="t", node_name="draft", status="success",
        ...     started_at=t0, ended_at=t0, token_usage=[
        ...         TokenUsage(prompt_tokens=10, model_name="no-such-model")])
        >>> cost = node_run_cost(log)
        >>> cost.estimated_cost_usd, cost.unpriced_tokens, cost.unpriced_models
        (None, 10, ['no-such-model'])
    """
    table = load_price_table() if table is None else table
    return _tally(log.token_usage, table, NodeCost)


def thread_cost(
    logs: Iterable[NodeRunHead], table: PriceTable | None = None
) -> ThreadCost:
    """Price every LLM call of a thread's node runs as one set of calls.

    Args:
        logs: the thread's node runs, in any order.
        table: prices; ``None`` loads them once with :func:`load_price_table`.

    Example:
        >>> thread_cost([], PriceTable({})).unpriced_calls
        0
    """
    table = load_price_table() if table is None else table
    usages = (usage for log in logs for usage in log.token_usage)
    return _tally(usages, table, ThreadCost)
