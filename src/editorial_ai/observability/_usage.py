"""Provider usage shapes: what one LLM call reports, as ``TokenUsage`` fields.

LangChain gives a call's usage in one of two places. Current integrations put
``usage_metadata`` on the returned message (``input_tokens``,
``output_tokens``, ``total_tokens``, and ``input_token_details`` /
``output_token_details``); older ones put the provider's own usage object in
``llm_output["token_usage"]`` or ``llm_output["usage"]``. This module reads
both into the counts of a :class:`~.models.TokenUsage`:

* ``cached_tokens``: ``cache_read`` (also a service tier's ``priority_cache_read``,
  ``flex_cache_read``); OpenAI's ``prompt_tokens_details.cached_tokens``;
  Anthropic's ``cache_read_input_tokens``; Gemini's
  ``cached_content_token_count``.
* ``cache_creation_tokens``: ``cache_creation``, or, where Anthropic reports
  the split, ``ephemeral_5m_input_tokens`` + ``ephemeral_1h_input_tokens``
  (langchain-anthropic then sets ``cache_creation`` to 0, so the split wins);
  the split is kept in ``cache_creation_5m_tokens`` / ``cache_creation_1h_tokens``.
* ``reasoning_tokens``: ``reasoning`` (OpenAI ``reasoning_tokens``, Gemini
  ``thoughts_token_count``, Anthropic ``thinking_tokens``), a part of the
  completion tokens.
* anything else the details hold (``audio``, a service tier's ``priority``
  or ``flex`` counts) in ``token_details``, named ``input_<key>`` or
  ``output_<key>``.

All of it is read, never trusted: a detail that is not an integer from 0 to
``MAX_COUNT`` is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .models import MAX_COUNT

Counts = tuple[Any, Any, Any, dict[str, Any] | None]
"""(prompt, completion, total, the optional fields or ``None``)."""

_EMPTY: dict[str, Any] = {}


def _int(value: object) -> int | None:
    return value if type(value) is int and 0 <= value <= MAX_COUNT else None


def details_fields(
    input_details: object, output_details: object
) -> dict[str, Any] | None:
    """The optional ``TokenUsage`` fields of ``usage_metadata``'s details.

    Example:
        >>> details_fields({"cache_read": 80}, {"reasoning": 12})
        {'cached_tokens': 80, 'reasoning_tokens': 12}
    """
    fields: dict[str, Any] = {}
    other: dict[str, int] = {}
    if input_details and (
        type(input_details) is dict or isinstance(input_details, Mapping)
    ):
        cached = creation = 0
        split_5m = split_1h = None
        for key, value in input_details.items():
            count = _int(value)
            if count is None:
                continue
            if key == "cache_read" or key.endswith("_cache_read"):
                cached += count
            elif key == "cache_creation" or key.endswith("_cache_creation"):
                creation += count
            elif key == "ephemeral_5m_input_tokens":
                split_5m = count
            elif key == "ephemeral_1h_input_tokens":
                split_1h = count
            elif count:
                other["input_" + key] = count
        if split_5m is not None or split_1h is not None:
            split = (split_5m or 0) + (split_1h or 0)
            if split or not creation:
                creation = split
                fields["cache_creation_5m_tokens"] = split_5m or 0
                fields["cache_creation_1h_tokens"] = split_1h or 0
        if cached:
            fields["cached_tokens"] = cached
        if creation:
            fields["cache_creation_tokens"] = creation
    if output_details and (
        type(output_details) is dict or isinstance(output_details, Mapping)
    ):
        reasoning = 0
        for key, value in output_details.items():
            count = _int(value)
            if count is None:
                continue
            if key == "reasoning" or key.endswith("_reasoning"):
                reasoning += count
            elif count:
                other["output_" + key] = count
        if reasoning:
            fields["reasoning_tokens"] = reasoning
    if other:
        fields["token_details"] = other
    return fields or None


def from_usage_metadata(usage: Mapping[str, Any]) -> Counts:
    """Counts of a LangChain ``usage_metadata`` mapping.

    Example:
        >>> from_usage_metadata({"input_tokens": 10, "output_tokens": 2,
        ...     "total_tokens": 12, "input_token_details": {"cache_read": 4}})
        (10, 2, 12, {'cached_tokens': 4})
    """
    input_details = usage.get("input_token_details")
    output_details = usage.get("output_token_details")
    return (
        usage.get("input_tokens"),
        usage.get("output_tokens"),
        usage.get("total_tokens"),
        details_fields(input_details, output_details)
        if input_details or output_details
        else None,
    )


def _sub(mapping: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    found = mapping.get(key)
    return found if isinstance(found, Mapping) else _EMPTY


def from_provider_usage(usage: Mapping[str, Any]) -> Counts:
    """Counts of a provider's own usage object (``llm_output`` of older
    integrations): OpenAI's, Anthropic's or Gemini's shape.

    Anthropic's ``input_tokens`` leaves out the tokens read from and written
    to the cache; they are added back, so ``prompt_tokens`` is every prompt
    token, as in ``usage_metadata``.

    Example:
        >>> from_provider_usage({"prompt_tokens": 10, "completion_tokens": 2,
        ...     "prompt_tokens_details": {"cached_tokens": 4}})
        (10, 2, None, {'cached_tokens': 4})
    """
    if "prompt_token_count" in usage or "candidates_token_count" in usage:
        thoughts = _int(usage.get("thoughts_token_count")) or 0
        candidates = _int(usage.get("candidates_token_count")) or 0
        return (
            usage.get("prompt_token_count"),
            candidates + thoughts,
            usage.get("total_token_count"),
            details_fields(
                {"cache_read": usage.get("cached_content_token_count")},
                {"reasoning": thoughts},
            ),
        )
    if "cache_read_input_tokens" in usage or "cache_creation_input_tokens" in usage:
        split = _sub(usage, "cache_creation")
        cache_details: dict[str, Any] = {
            "cache_read": usage.get("cache_read_input_tokens"),
            "cache_creation": usage.get("cache_creation_input_tokens"),
            **{
                key: split.get(key)
                for key in ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens")
                if key in split
            },
        }
        fields = details_fields(
            cache_details,
            {"reasoning": _sub(usage, "output_tokens_details").get("thinking_tokens")},
        )
        prompt = usage.get("input_tokens")
        if _int(prompt) is not None and fields:
            prompt += fields.get("cached_tokens", 0) + fields.get(
                "cache_creation_tokens", 0
            )
        return prompt, usage.get("output_tokens"), usage.get("total_tokens"), fields
    prompt = usage.get("prompt_tokens")
    completion = usage.get("completion_tokens")
    if prompt is None:
        prompt = usage.get("input_tokens")
    if completion is None:
        completion = usage.get("output_tokens")
    input_details = _sub(usage, "prompt_tokens_details") or _sub(
        usage, "input_tokens_details"
    )
    output_details = _sub(usage, "completion_tokens_details") or _sub(
        usage, "output_tokens_details"
    )
    fields = None
    if input_details or output_details:
        fields = details_fields(
            {
                "cache_read": input_details.get("cached_tokens"),
                "cache_creation": input_details.get("cache_write_tokens"),
                "audio": input_details.get("audio_tokens"),
            },
            {
                "reasoning": output_details.get("reasoning_tokens"),
                "audio": output_details.get("audio_tokens"),
            },
        )
    return prompt, completion, usage.get("total_tokens"), fields
