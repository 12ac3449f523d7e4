"""Snapshots: a node's input state and output update as bounded, strict JSON data.

A snapshot is a deep copy of a value made only of ``dict`` (``str`` keys),
``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``, such that
``json.dumps(snapshot, allow_nan=False)`` succeeds and strict readers accept
the result: no ``NaN`` or infinities, no lone surrogates, no integer a reader
would round. Taking one never raises, never mutates the value, and a later
mutation of the value does not reach the snapshot.

What cannot be kept whole is replaced by a visible marker, never dropped
silently: cycles (``"<cycle>"``), nesting deeper than 64 (``"<max depth>"``),
secrets (``"[REDACTED]"``), and whatever exceeds the size bound (a string ends
in ``"...[truncated, N chars in all]"``, a list in a last item
``"...[truncated, N items in all]"``, a dict gains the key ``"…"``). The bound
(``SnapshotOptions.max_bytes``) holds for the compact UTF-8 JSON of one
snapshot, give or take a few hundred bytes of markers. It is kept while
walking, so the cost follows the bound, not the state: a 10 MB string is
sliced, never copied whole, and a list of a million items is not walked past
the budget. Only a foreign object's own ``repr`` can cost more than that.

Redaction. A value is redacted when its key, normalized (camelCase split,
lower case, ``-``, ``.`` and spaces turned into ``_``), *contains* one of the
redacted names: ``db_password``, ``OPENAI_API_KEY``, ``secret_key`` and
``accessToken`` all are. Containment errs on the side of hiding
(``secretary`` is hidden too): a secret written to disk cannot be taken back.
Counts of LLM tokens (``total_tokens``, ``max_tokens`` ...) are never redacted
unless named exactly in ``redact_keys``.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import Command

from ._internal import warn_failure
from ._snapshot_options import (
    DEFAULT_OPTIONS,
    DEFAULT_REDACT_KEYS,
    REDACTED,
    KeyPolicy,
    SnapshotOptions,
    _Plan,
)
from ._snapshot_text import _describe
from ._snapshot_walk import _FLOAT_BYTES, _Walker

__all__ = [
    "DEFAULT_OPTIONS",
    "DEFAULT_REDACT_KEYS",
    "REDACTED",
    "KeyPolicy",
    "SnapshotOptions",
    "snapshot_output",
    "snapshot_state",
]


# -- public functions ---------------------------------------------------------


def _failed(exc: Exception) -> dict[str, Any]:
    description = _describe(exc)
    warn_failure(
        "snapshot:%s" % type(exc).__name__,
        "a snapshot failed: %s; it was recorded as a marker "
        "(the pipeline is unaffected)",
        description,
    )
    return {"_snapshot_error": description}


_FLAT_KEYS = 32
_FLAT_TEXT = 256
_FLAT_INT = 2**63


def _flat(value: dict[Any, Any], plan: _Plan) -> dict[str, Any] | None:
    """The common small state in one loop, or ``None`` for the full walk.

    A dict of up to 32 known keys (already decided by an earlier walk) whose
    values are ASCII strings of up to 256 characters, ints JSON readers hold
    exactly, finite floats, booleans or ``None`` comes out as the walk would
    make it: the same keys (redacted ones as ``[REDACTED]``) and the same
    immutable values, in a new dict. Sizes are counted at their worst (six
    bytes a character, as if every one were escaped), so a state this path
    takes is within the bound.
    """
    if plan.mask is not None or plan.policies is not None or len(value) > _FLAT_KEYS:
        return None
    keys = plan.keys
    size = 2
    out: dict[str, Any] = {}
    for key, item in value.items():
        entry = keys.get(key) if type(key) is str else None
        if entry is None or entry[0] != key:
            return None
        size += entry[2]
        if entry[1]:
            out[key] = REDACTED
            size += 12
            continue
        kind = type(item)
        if kind is str:
            if len(item) > _FLAT_TEXT or not item.isascii():
                return None
            size += 6 * len(item) + 2
        elif kind is int:
            if not -_FLAT_INT < item < _FLAT_INT:
                return None
            size += 20
        elif kind is float:
            if item - item != 0.0:  # NaN and infinities need the walk
                return None
            size += _FLOAT_BYTES
        elif item is None or kind is bool:
            size += 5
        else:
            return None
        out[key] = item
    max_bytes = plan.max_bytes
    if max_bytes is not None and size > max_bytes:
        return None
    return out


def snapshot_state(
    value: Any, options: SnapshotOptions = DEFAULT_OPTIONS
) -> dict[str, Any] | None:
    """A node's input state as strict, bounded, redacted JSON data. Never raises.

    A dict, mapping, Pydantic model or dataclass becomes a dict of its keys or
    fields (``options.state_keys`` apply to them); ``None`` stays ``None``; any
    other value becomes ``{"value": ...}``. If the snapshot itself fails (a
    foreign object misbehaving), the result is ``{"_snapshot_error": "..."}``
    and one warning is logged.

    Args:
        value: the state, as LangGraph hands it to the node.
        options: bound, redaction and per-key policies.

    Returns:
        A deep copy as JSON data (see the module docstring), or ``None``.

    Example:
        >>> snapshot_state({"topic": "AI", "api_key": "sk-1", "score": float("nan")})
        {'topic': 'AI', 'api_key': '[REDACTED]', 'score': 'NaN'}
    """
    if value is None:
        return None
    plan = options._plan
    if type(value) is dict:
        flat = _flat(value, plan)
        if flat is not None:
            return flat
    # A bare try, not _internal.guard: the marker needs the exception, and the
    # guard's context manager would cost as much as a whole small snapshot.
    # What can fail here is foreign code (a mapping's items(), a __len__).
    try:
        return _Walker(plan).state(value)
    except Exception as exc:
        return _failed(exc)


def snapshot_output(
    value: Any, options: SnapshotOptions = DEFAULT_OPTIONS
) -> dict[str, Any] | None:
    """A node's return value as strict, bounded, redacted JSON data. Never raises.

    A ``Command`` becomes ``{"update": ..., "goto": ...}`` (plus ``graph`` and
    ``resume`` when set), where a ``Send`` is ``{"node": ..., "arg": ...}``;
    anything else is snapshotted as by :func:`snapshot_state`.

    Args:
        value: what the node returned.
        options: bound, redaction and per-key policies.

    Returns:
        A deep copy as JSON data, or ``None`` when the node returned ``None``.

    Example:
        >>> from langgraph.types import Command, Send
        >>> snapshot_output(Command(update={"n": 1}, goto=Send("write", {"n": 1})))
        {'update': {'n': 1}, 'goto': {'node': 'write', 'arg': {'n': 1}}}
    """
    if value is None:
        return None
    plan = options._plan
    if type(value) is dict:
        flat = _flat(value, plan)
        if flat is not None:
            return flat
    try:
        walker = _Walker(plan)
        if isinstance(value, Command):
            return walker.command(value, 0)  # type: ignore[no-any-return]
        return walker.state(value)
    except Exception as exc:  # as in snapshot_state
        return _failed(exc)
