"""The price table: USD per million tokens by model, shipped and overridden.

The table ships with the package (``data/prices.json``, dated by its
``as_of``) and a user table overrides and extends it: a JSON file named by the
``path`` argument of :func:`load_price_table`, else by ``$EDITORIAL_AI_PRICES``.
A malformed file or entry warns and is left out; loading never raises.
Names are looked up by the rules of :mod:`._names`; resolutions are cached per
table.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from .._internal import warn_failure
from ._names import match

PRICES_ENV = "EDITORIAL_AI_PRICES"
"""Path of a JSON price table that overrides and extends the shipped one.
Read at every :func:`load_price_table` call made without a ``path``; unset or
empty means the shipped table alone."""

_METADATA_KEYS = frozenset({"as_of", "currency", "unit", "source", "notes"})
_RESOLUTION_CACHE_LIMIT = 4096


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
        resolved = match(name, self._models) if name else None
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
