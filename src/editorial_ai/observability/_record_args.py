"""The arguments of ``record_token_usage``: every call shape, checked, never raised.

``record_token_usage`` takes ``*args, **kwargs`` and binds them here, so that no
call, however it is written, can fail at call binding (a ``TypeError`` raised
before the function's own guard could catch it). What it documents is
:func:`record_signature`: the editorial pipeline's parameters in its order
(``prompt_tokens, completion_tokens, total_tokens, model_name,
routing_reason, cached_tokens``), then the optional ``TokenUsage`` fields by
keyword. Misuse is one warning per kind and process; the call is recorded.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ._internal import warn_failure, warn_once
from .models import MAX_COUNT


def text(value: object) -> str | None:
    """``value`` as text (``None`` and ``""`` stay ``None``), never raising."""
    if value is None or isinstance(value, str):
        return value or None
    try:
        return str(value)
    except Exception:  # an object whose __str__ fails still leaves a name
        return type(value).__name__


def count(value: object, name: str) -> int:
    """A token count from an untrusted value: 0, with a warning, if it is
    not a non-negative number within :data:`~.models.MAX_COUNT`."""
    if value is None:
        return 0
    number: int
    if isinstance(value, bool):
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value):
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        digits = value.strip()
        # int() of over 4,300 digits raises; any such count is out of range.
        number = int(digits) if len(digits) <= 20 else MAX_COUNT + 1
    else:
        warn_failure(
            "record_token_usage:" + name,
            "record_token_usage: %s=%r is not a token count; counted as 0",
            name,
            value,
        )
        return 0
    if number < 0:
        warn_failure(
            "record_token_usage:" + name,
            "record_token_usage: %s=%r is negative; counted as 0",
            name,
            value,
        )
        return 0
    if number > MAX_COUNT:
        # Refused, not clamped: no provider reports such a count, and a sum
        # or a price computed from it would be meaningless.
        warn_failure(
            "record_token_usage:" + name,
            "record_token_usage: %s is over %d, out of range; counted as 0",
            name,
            MAX_COUNT,
        )
        return 0
    return number


_POSITIONAL = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "model_name",
    "routing_reason",
    "cached_tokens",
)
_COUNT_KEYWORDS = (
    "cached_tokens",
    "cache_creation_tokens",
    "reasoning_tokens",
)
_SPLIT_KEYWORDS = ("cache_creation_5m_tokens", "cache_creation_1h_tokens")
_TEXT_KEYWORDS = ("routing_reason", "provider", "run_id", "error_type")
_KEYWORDS = frozenset(
    _POSITIONAL
    + _COUNT_KEYWORDS
    + _SPLIT_KEYWORDS
    + _TEXT_KEYWORDS
    + ("prompt_chars", "usage_reported", "token_details", "status")
    + ("started_at", "ended_at")
)
_STATUSES = frozenset({"success", "error", "aborted"})


def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments by name, as ``record_token_usage`` documents them;
    anything else is one warning per kind of misuse, never an error."""
    values = dict(zip(_POSITIONAL, args, strict=False))
    if len(args) > len(_POSITIONAL):
        warn_once(
            "record_token_usage:positional",
            "record_token_usage: %d positional arguments given, at most %d are"
            " read (prompt_tokens, completion_tokens, total_tokens, model_name,"
            " routing_reason, cached_tokens); the rest are ignored and the call"
            " is recorded",
            len(args),
            len(_POSITIONAL),
        )
    for key, value in kwargs.items():
        if key not in _KEYWORDS:
            warn_once(
                "record_token_usage:keyword:" + key,
                "record_token_usage: unknown keyword %r ignored; the call is recorded",
                key,
            )
            continue
        if key in values:
            warn_once(
                "record_token_usage:twice:" + key,
                "record_token_usage: %s given by position and by keyword; the"
                " keyword is used",
                key,
            )
        values[key] = value
    return values


def optional_fields(values: dict[str, Any]) -> dict[str, Any]:
    """The optional ``TokenUsage`` fields among the caller's values, checked."""
    extra: dict[str, Any] = {}
    for key in _COUNT_KEYWORDS:
        if key in values:
            number = count(values[key], key)
            if number:
                extra[key] = number
    for key in _SPLIT_KEYWORDS:
        if values.get(key) is not None:
            extra[key] = count(values[key], key)
    for key in _TEXT_KEYWORDS:
        if key in values:
            found = text(values[key])
            if found is not None:
                extra[key] = found
    if "status" in values:
        status = values["status"]
        if isinstance(status, str) and status in _STATUSES:
            extra["status"] = status
        else:
            warn_once(
                "record_token_usage:status",
                "record_token_usage: status=%r is not one of success, error,"
                " aborted; recorded as success",
                status,
            )
    for key in ("started_at", "ended_at"):
        moment = values.get(key)
        if isinstance(moment, datetime):
            extra[key] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        elif moment is not None:
            warn_once(
                "record_token_usage:" + key,
                "record_token_usage: %s=%r is not a datetime; ignored",
                key,
                moment,
            )
    details = values.get("token_details")
    if isinstance(details, Mapping):
        checked = {
            text(key) or "": count(value, "token_details")
            for key, value in details.items()
        }
        if checked:
            extra["token_details"] = checked
    elif details is not None:
        warn_once(
            "record_token_usage:token_details",
            "record_token_usage: token_details=%r is not a mapping; ignored",
            details,
        )
    return extra


def record_signature(
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    total_tokens: int = 0,
    model_name: str | None = None,
    routing_reason: str | None = None,
    cached_tokens: int = 0,
    *,
    prompt_chars: int = 0,
    run_id: str | None = None,
    usage_reported: bool = True,
    cache_creation_tokens: int = 0,
    cache_creation_5m_tokens: int | None = None,
    cache_creation_1h_tokens: int | None = None,
    reasoning_tokens: int = 0,
    token_details: Mapping[str, int] | None = None,
    provider: str | None = None,
    status: str = "success",
    error_type: str | None = None,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> None:
    """The documented signature of :func:`record_token_usage` (for type
    checkers, ``help()`` and ``inspect.signature``)."""
