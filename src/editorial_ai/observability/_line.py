"""A node run as its JSON line, without the model serializer's Python calls.

``NodeRunLog``'s serializer checks every field against its type and calls nine
computed properties (``duration_ms`` and the totals) back in Python; for the
one-line-per-node hot path that is half the cost of the line. Here the same
bytes come from one call into pydantic-core's serializer on a plain ``dict``:
the record's own ``__dict__`` (a shallow copy, in field order), its calls'
``__dict__`` in place of the ``TokenUsage`` objects, and the computed values
added in the order the model gives them.

Only exact ``NodeRunLog`` and ``TokenUsage`` instances holding every field
take this path; anything else (a subclass, a record whose fields were
replaced by other types) is serialized by the model, as before.
``tests/test_line_encoding.py`` compares both encodings byte for byte.
"""

from __future__ import annotations

from pydantic_core import to_json

from .models import NodeRunLog, TokenUsage

_N_FIELDS = len(NodeRunLog.model_fields)
_N_USAGE_FIELDS = len(TokenUsage.model_fields)

# The computed fields of a record without LLM calls, in the model's order
# (``duration_ms`` first, set per record).
_NO_CALLS = {
    "total_prompt_tokens": 0,
    "total_completion_tokens": 0,
    "total_tokens": 0,
    "total_cached_tokens": 0,
    "total_cache_creation_tokens": 0,
    "total_reasoning_tokens": 0,
    "llm_calls": 0,
    "unreported_calls": 0,
}
_COMPUTED = ("duration_ms", *_NO_CALLS)
if tuple(NodeRunLog.model_computed_fields) != _COMPUTED:  # pragma: no cover
    raise ImportError("NodeRunLog's computed fields changed: update _line.py")


def encode_record(log: NodeRunLog) -> bytes:
    """``log`` as the bytes its model serializer gives (no newline).

    Raises what that serializer raises (``PydanticSerializationError``,
    ``ValueError``, ``RecursionError``) for values JSON cannot hold; the
    writer then takes its careful path.
    """
    fields = log.__dict__
    if type(log) is not NodeRunLog or len(fields) != _N_FIELDS:
        return log.__pydantic_serializer__.to_json(log)
    data = fields.copy()
    data["duration_ms"] = (
        fields["ended_at"] - fields["started_at"]
    ).total_seconds() * 1000
    usages = fields["token_usage"]
    if not usages:
        data.update(_NO_CALLS)
        return to_json(data, inf_nan_mode="null")
    calls = []
    prompt = completion = total = cached = creation = reasoning = unreported = 0
    for usage in usages:
        values = usage.__dict__
        if type(usage) is not TokenUsage or len(values) != _N_USAGE_FIELDS:
            return log.__pydantic_serializer__.to_json(log)
        calls.append(values)
        prompt += values["prompt_tokens"]
        completion += values["completion_tokens"]
        total += values["total_tokens"]
        cached += values["cached_tokens"]
        creation += values["cache_creation_tokens"]
        reasoning += values["reasoning_tokens"]
        if not values["usage_reported"]:
            unreported += 1
    data["token_usage"] = calls
    data["total_prompt_tokens"] = prompt
    data["total_completion_tokens"] = completion
    data["total_tokens"] = total
    data["total_cached_tokens"] = cached
    data["total_cache_creation_tokens"] = creation
    data["total_reasoning_tokens"] = reasoning
    data["llm_calls"] = len(calls)
    data["unreported_calls"] = unreported
    return to_json(data, inf_nan_mode="null")
