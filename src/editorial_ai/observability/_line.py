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

A long text (4 KB or more) at the top level of a snapshot is not escaped
again: the snapshot fast path kept its JSON bytes (``to_json(text)``,
remembered by the text's identity, see ``snapshot._fast``). The record is
serialized with a placeholder in its place, in a shallow copy of that
snapshot dict (the record and its snapshot are never changed, so a sink
reading them in another thread sees nothing), and the kept bytes are put
where the placeholder is. The placeholder holds 128 random bits drawn at
import; a line in which it does not occur exactly once per text spliced is
serialized whole instead. A str cannot change, so the kept bytes are that
text's bytes whatever happened to the state since.
"""

from __future__ import annotations

import secrets
from typing import Any

from pydantic_core import to_json

from .models import NodeRunLog, TokenUsage
from .snapshot._fast import _long, long_text_json
from .snapshot._text import _BIG_TEXT

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


# The snapshots, in the order the line gives them.
_SNAPSHOTS = tuple(
    name for name in NodeRunLog.model_fields if name in ("input_state", "output_state")
)
_MAX_KEYS = 64  # a snapshot with more top-level keys is serialized whole
_PLACEHOLDER = "\x00spliced-text-" + secrets.token_hex(16)
_PLACEHOLDER_JSON = to_json(_PLACEHOLDER)


def _splice_slots(data: dict[str, Any]) -> list[bytes] | None:
    """Put the placeholder, in copies of the snapshot dicts in ``data``, where
    a long text's JSON bytes are kept; their bytes in order, or ``None``."""
    kept: list[bytes] | None = None
    for name in _SNAPSHOTS:
        snapshot = data[name]
        if type(snapshot) is not dict or len(snapshot) > _MAX_KEYS:
            continue
        copy: dict[str, Any] | None = None
        for key, value in snapshot.items():
            if type(value) is str and len(value) >= _BIG_TEXT:
                text_json = long_text_json(value)
                if text_json is None:
                    continue
                if copy is None:
                    copy = snapshot.copy()
                    data[name] = copy
                copy[key] = _PLACEHOLDER
                if kept is None:
                    kept = []
                kept.append(text_json)
    return kept


def _to_json(fields: dict[str, Any], data: dict[str, Any], end: bytes) -> bytes:
    """``data`` (a copy of ``fields`` plus the computed values) as JSON, with
    kept long texts spliced in, followed by ``end``."""
    # Nothing to splice while the fast path remembers no long text.
    kept = _splice_slots(data) if _long else None
    line = to_json(data, inf_nan_mode="null")
    if kept is not None:
        parts = line.split(_PLACEHOLDER_JSON)
        if len(parts) == len(kept) + 1:
            pieces = [parts[0]]
            for text_json, part in zip(kept, parts[1:], strict=True):
                pieces.append(text_json)
                pieces.append(part)
            pieces.append(end)
            return b"".join(pieces)
        # The placeholder elsewhere in the record: serialized whole.
        for name in _SNAPSHOTS:
            data[name] = fields[name]
        line = to_json(data, inf_nan_mode="null")
    return line + end if end else line


def encode_record(log: NodeRunLog) -> bytes:
    """``log`` as the bytes its model serializer gives (no newline).

    Raises what that serializer raises (``PydanticSerializationError``,
    ``ValueError``, ``RecursionError``) for values JSON cannot hold; the
    writer then takes its careful path.
    """
    return _encode(log, b"")


def encode_record_line(log: NodeRunLog) -> bytes:
    """:func:`encode_record` followed by a newline, without copying the line
    once more to add it. Raises as :func:`encode_record` does."""
    return _encode(log, b"\n")


def encode_fields_line(fields: dict[str, Any]) -> bytes | None:
    """The line (with its newline) of the record whose ``__dict__`` would be
    ``fields``, without building the ``NodeRunLog``: the node wrapper's path
    when the JSONL file is the only sink.

    ``fields`` must hold every ``NodeRunLog`` field in the model's order,
    each of its type (as :func:`~.models.build_node_run_log` requires).
    Returns ``None`` where the record would take the model serializer (a
    call that is not an exact ``TokenUsage``); raises as
    :func:`encode_record` does.
    """
    if fields["token_usage"] or _long:
        return _encode_fields(fields, b"\n")
    # The common record, inline: no LLM call, nothing to splice.
    data = fields.copy()
    data["duration_ms"] = (
        fields["ended_at"] - fields["started_at"]
    ).total_seconds() * 1000
    data.update(_NO_CALLS)
    return to_json(data, inf_nan_mode="null") + b"\n"


def _encode(log: NodeRunLog, end: bytes) -> bytes:
    fields = log.__dict__
    if type(log) is not NodeRunLog or len(fields) != _N_FIELDS:
        return log.__pydantic_serializer__.to_json(log) + end
    line = _encode_fields(fields, end)
    if line is None:
        line = log.__pydantic_serializer__.to_json(log) + end
    return line


def _encode_fields(fields: dict[str, Any], end: bytes) -> bytes | None:
    """The record's bytes followed by ``end``; ``None`` for a call that is
    not an exact ``TokenUsage`` (the model serializer's case)."""
    data = fields.copy()
    data["duration_ms"] = (
        fields["ended_at"] - fields["started_at"]
    ).total_seconds() * 1000
    usages = fields["token_usage"]
    if not usages:
        data.update(_NO_CALLS)
        return _to_json(fields, data, end)
    calls = []
    prompt = completion = total = cached = creation = reasoning = unreported = 0
    for usage in usages:
        values = usage.__dict__
        if type(usage) is not TokenUsage or len(values) != _N_USAGE_FIELDS:
            return None
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
    return _to_json(fields, data, end)
