"""Cost estimates: what a node run or a thread cost, priced when read.

Costs are never stored. A ``NodeRunLog`` keeps the tokens of each LLM call and
the model that spent them; this module prices them against a table of USD per
million input and output tokens, so a corrected or extended table reprices
every run already on disk. Nothing here writes a file.

The table ships with the package (``data/prices.json``, dated by its
``as_of``) and a user table overrides and extends it: a JSON file named by the
``path`` argument of :func:`load_price_table`, else by ``$EDITORIAL_AI_PRICES``.
A model the table does not know is priced ``None`` (unknown), never 0, and the
summaries count the tokens and calls that could not be priced.

Model names. LangChain reports what the provider returned, so one model comes
under many names. A name is matched, case-insensitively, by the first rule
that finds a table entry:

1. the name itself (``gpt-4o``, or any name a user table lists);
2. without a provider prefix: a path (``models/``, ``openai/``,
   ``anthropic/``, ``google/``, ``projects/.../models/``), the Bedrock region
   and vendor (``us.``, ``eu.``, ``global.``, ``anthropic.``) and the Bedrock
   version suffix (``-v1:0``);
3. then without snapshot suffixes, repeatedly: ``-YYYY-MM-DD``,
   ``-YYYYMMDD``, ``-NNN`` or ``-NNNN`` (``-002``, ``-0613``), ``-latest``,
   ``-v2`` and a Vertex ``@20241022``; so a dated snapshot
   (``gpt-4o-mini-2024-07-18``, ``claude-sonnet-4-5-20250929``) is priced as
   its model;
4. then the longest table entry that is a prefix of the name at a ``-``
   boundary (``gpt-5-codex`` is priced as ``gpt-5``), unless what follows the
   entry names another model: a segment holding a digit (another version,
   context size or parameter count) or a word such as ``mini``, ``pro``,
   ``lite``, ``realtime``, ``audio`` or ``preview``. Those give ``None``
   rather than a wrong price, so ``gpt-4o-mini-...`` is never priced as
   ``gpt-4o``, and a preview (``gemini-2.5-flash-preview-09-2025``) is priced
   only when the table lists it by name, never at its released model's
   price.

A snapshot that was priced differently from its alias is listed by its full
name (``gpt-4o-2024-05-13``), which rule 1 finds first. Resolutions are cached
per table.

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

import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from . import models
from ._internal import warn_failure
from .models import NodeRunHead, NodeRunLog, TokenUsage  # noqa: F401 (examples)

PRICES_ENV = "EDITORIAL_AI_PRICES"
"""Path of a JSON price table that overrides and extends the shipped one.
Read at every :func:`load_price_table` call made without a ``path``; unset or
empty means the shipped table alone."""

UNKNOWN_MODEL = "unknown"
"""How ``unpriced_models`` names a call that reported no model name."""

_PER_MILLION = 1_000_000
_METADATA_KEYS = frozenset({"as_of", "currency", "unit", "source", "notes"})
_RESOLUTION_CACHE_LIMIT = 4096

_PATH_PREFIX = re.compile(r"^.*/")
# Bedrock ids: an optional region, then the vendor (``us.anthropic.``). Model
# names with a dot keep a digit before it (``gpt-4.1``), so they never match.
_DOTTED_PREFIX = re.compile(r"^(?:[a-z][a-z-]*\.)+")
_BEDROCK_SUFFIX = re.compile(r"-v\d+(?::\d+)?$")
# A preview is not a snapshot: it is priced only under its own name (a user
# table may list it), never at the general-availability price by guess.
_SNAPSHOT_SUFFIX = re.compile(
    r"(?:@.*|-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{3,4}|-latest|-v\d+(?::\d+)?)$"
)
# A word after a table entry that makes the name another model, priced
# differently (a size tier, a modality, a deep-research agent).
_OTHER_MODEL_WORDS = frozenset(
    {
        "mini", "nano", "pro", "lite", "flash", "turbo", "max", "ultra",
        "large", "medium", "small", "plus", "instruct", "realtime", "audio",
        "tts", "transcribe", "image", "embedding", "live", "vision", "deep",
        "research", "preview", "exp", "experimental", "thinking",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens for one model.

    Example:
        >>> ModelPrice(input=2.5, output=10.0).output
        10.0
    """

    input: float
    output: float
    cached_input: float | None = None
    """Rate for prompt tokens read from the provider's cache."""
    cache_write: float | None = None
    """Rate for prompt tokens written to the cache (Anthropic's 5-minute
    writes: 1.25x ``input``); ``None``: cache writes cannot be priced."""
    cache_write_1h: float | None = None
    """Rate for prompt tokens written to the cache for 1 hour (Anthropic: 2x
    ``input``)."""


class PriceTable:
    """Prices by model name, with the name rules of this module.

    Example:
        >>> table = PriceTable({"gpt-4o": ModelPrice(2.5, 10.0)}, as_of="2026-10-07")
        >>> table.resolve("openai/gpt-4o-2024-08-06"), table.as_of
        ('gpt-4o', '2026-10-07')
    """

    __slots__ = ("_as_of", "_models", "_resolved")

    def __init__(
        self, models: Mapping[str, ModelPrice], as_of: str | None = None
    ) -> None:
        """Build a table.

        Args:
            models: price per model name; names are matched case-insensitively.
            as_of: the date the prices were read from their sources.
        """
        self._models: Mapping[str, ModelPrice] = MappingProxyType(
            {name.strip().lower(): price for name, price in models.items()}
        )
        self._as_of = as_of
        self._resolved: dict[str, str | None] = {}

    @property
    def as_of(self) -> str | None:
        """The date of the shipped prices (``YYYY-MM-DD``), if known."""
        return self._as_of

    @property
    def models(self) -> Mapping[str, ModelPrice]:
        """Every entry, by lower-case name (read-only)."""
        return self._models

    def __len__(self) -> int:
        return len(self._models)

    def __repr__(self) -> str:
        return "PriceTable(%d models, as_of=%r)" % (len(self._models), self._as_of)

    def resolve(self, model_name: str | None) -> str | None:
        """The table entry that prices ``model_name``, or ``None``.

        Example:
            >>> load_price_table().resolve("claude-sonnet-4-5-20250929")
            'claude-sonnet-4-5'
        """
        if model_name is None:
            return None
        name = model_name.strip().lower()
        try:
            return self._resolved[name]
        except KeyError:
            pass
        resolved = self._match(name) if name else None
        if len(self._resolved) >= _RESOLUTION_CACHE_LIMIT:
            # Names come from a handful of models; this bound only guards
            # against a caller feeding arbitrary strings.
            self._resolved.clear()
        self._resolved[name] = resolved
        return resolved

    def price(self, model_name: str | None) -> ModelPrice | None:
        """The price of ``model_name``, or ``None`` when it is not known.

        Example:
            >>> load_price_table().price("models/gemini-2.5-flash").input
            0.3
        """
        key = self.resolve(model_name)
        return None if key is None else self._models[key]

    def _match(self, name: str) -> str | None:
        if name in self._models:
            return name
        bare = _BEDROCK_SUFFIX.sub(
            "", _DOTTED_PREFIX.sub("", _PATH_PREFIX.sub("", name))
        )
        if bare in self._models:
            return bare
        base = _strip_snapshot(bare)
        if base in self._models:
            return base
        return self._longest_prefix(base)

    def _longest_prefix(self, name: str) -> str | None:
        best = ""
        for key in self._models:
            if len(key) > len(best) and name.startswith(key + "-"):
                best = key
        if not best:
            return None
        # A shorter entry would leave a longer rest holding this one's rest,
        # so when the longest is refused, every shorter one is too.
        for segment in name[len(best) + 1 :].split("-"):
            if segment in _OTHER_MODEL_WORDS or any(c.isdigit() for c in segment):
                return None
        return best


def _strip_snapshot(name: str) -> str:
    while True:
        shorter = _SNAPSHOT_SUFFIX.sub("", name)
        if shorter == name or not shorter:
            return name
        name = shorter


# -- loading ------------------------------------------------------------------


def _rate(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        rate = float(value)
    except OverflowError:  # a JSON integer beyond a float
        return None
    return rate if math.isfinite(rate) and rate >= 0 else None


def _parse_price(entry: object) -> ModelPrice | None:
    if not isinstance(entry, dict):
        return None
    input_rate, output_rate = _rate(entry.get("input")), _rate(entry.get("output"))
    if input_rate is None or output_rate is None:
        return None
    optional: list[float | None] = []
    for key in ("cached_input", "cache_write", "cache_write_1h"):
        value = entry.get(key)
        rate = None if value is None else _rate(value)
        if value is not None and rate is None:
            return None
        optional.append(rate)
    return ModelPrice(input_rate, output_rate, *optional)


def _parse_table(
    data: object, origin: str
) -> tuple[dict[str, ModelPrice], str | None] | None:
    """Entries of a table file (``{"models": {...}}`` or a bare mapping)."""
    if not isinstance(data, dict):
        warn_failure(
            "pricing:table",
            "price table %s is not a JSON object; using the shipped prices",
            origin,
        )
        return None
    currency = data.get("currency", "USD")
    entries = data.get("models", data)
    if not isinstance(entries, dict) or str(currency).upper() != "USD":
        warn_failure(
            "pricing:table",
            'price table %s needs "models": {name: {"input": USD, "output": USD}}'
            " in USD per 1M tokens; using the shipped prices",
            origin,
        )
        return None
    as_of = data.get("as_of")
    models: dict[str, ModelPrice] = {}
    for name, entry in entries.items():
        if entries is data and name in _METADATA_KEYS:
            continue
        price = _parse_price(entry)
        if price is None or not name.strip():
            warn_failure(
                "pricing:entry",
                "price table %s: skipped entry %r, which needs non-negative"
                ' numbers "input" and "output" (USD per 1M tokens)',
                origin,
                name,
            )
            continue
        models[name.strip().lower()] = price
    return models, as_of if isinstance(as_of, str) else None


@cache
def _shipped_table() -> PriceTable:
    origin = "data/prices.json"
    try:
        text = (
            resources.files("editorial_ai.observability")
            .joinpath(origin)
            .read_text(encoding="utf-8")
        )
        parsed = _parse_table(json.loads(text), origin)
    except (OSError, ValueError, RecursionError) as exc:
        warn_failure(
            "pricing:shipped",
            "cannot read the shipped price table: %s: %s; every cost is unknown",
            type(exc).__name__,
            exc,
        )
        parsed = None
    if parsed is None:
        return PriceTable({})
    models, as_of = parsed
    return PriceTable(models, as_of=as_of)


def _read_user_table(path: Path) -> dict[str, ModelPrice] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        warn_failure(
            "pricing:table",
            "cannot read price table %s: %s: %s; using the shipped prices",
            path,
            type(exc).__name__,
            exc,
        )
        return None
    parsed = _parse_table(data, str(path))
    return None if parsed is None else parsed[0]


def load_price_table(path: str | os.PathLike[str] | None = None) -> PriceTable:
    """The shipped prices, overridden and extended by a user table.

    The user table is the JSON file at ``path``, else at
    ``$EDITORIAL_AI_PRICES``; it has the shipped file's shape
    (``{"models": {"my-model": {"input": 0.5, "output": 1.5}}}``, with the
    optional rates ``cached_input``, ``cache_write`` and ``cache_write_1h``)
    or is the bare mapping of model to prices. Its entries replace shipped ones of the
    same name and add the others. A missing or malformed file warns and the
    shipped prices are used; a malformed entry warns and is skipped. Never
    raises.

    Args:
        path: a user price table; ``None`` reads ``$EDITORIAL_AI_PRICES``.

    Example:
        >>> table = load_price_table()
        >>> table.price("gpt-4o-mini-2024-07-18").cached_input
        0.075
    """
    shipped = _shipped_table()
    if path is None:
        path = os.environ.get(PRICES_ENV, "").strip()
        if not path:
            return shipped
    user = _read_user_table(Path(path))
    if user is None:
        return shipped
    return PriceTable({**shipped.models, **user}, as_of=shipped.as_of)


# -- costs --------------------------------------------------------------------


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


# ``PipelineRunSummary.from_logs`` prices threads with this module, which
# imports the models: the models take the function from here instead of
# importing it (the package imports this module, so it is always in place).
models.set_thread_pricer(thread_cost)
