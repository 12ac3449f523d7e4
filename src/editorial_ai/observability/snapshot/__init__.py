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

Redaction (``snapshot._redact`` has the rules): a value under a secret key
name (``api_key``, ``GITHUB_TOKEN``, ``session_id``, fullwidth ``API_KEY`` ...)
becomes ``"[REDACTED]"``, so does the second item of a pair such as
``("Authorization", "Bearer ...")``, and credentials of well-known formats are
cut out of every string (``sk-[REDACTED]``,
``postgres://admin:[REDACTED]@db/x``). Counts of LLM tokens (``total_tokens``,
``max_tokens`` ...) are never redacted unless named exactly in
``redact_keys``.

Two paths, one result. A dict state made only of JSON data, with no secret
and under the bound, takes the fast path (``_fast``): a copy of its
containers, one call into pydantic-core's serializer to measure it, one scan
of the bytes. Anything else takes the careful walk (``_walk``). For every
state the fast path accepts, both give the same snapshot.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import Command

from .._internal import warn_failure
from ._fast import OVER, fast_snapshot
from ._options import DEFAULT_OPTIONS, KeyPolicy, SnapshotOptions, _Plan
from ._redact import (
    DEFAULT_REDACT_KEYS,
    DEFAULT_SECRET_WORDS,
    REDACTED,
    redact_message,
    redact_text,
)
from ._text import _describe
from ._walk import Overflow, _Walker

__all__ = [
    "DEFAULT_OPTIONS",
    "DEFAULT_REDACT_KEYS",
    "DEFAULT_SECRET_WORDS",
    "REDACTED",
    "KeyPolicy",
    "SnapshotOptions",
    "redact_message",
    "redact_text",
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


def careful(value: Any, plan: _Plan, over: bool = False, output: bool = False) -> Any:
    """The careful walk of ``value`` as a state, or as an ``output`` (where a
    ``Command`` is one).

    Unless the snapshot is known to be ``over`` the bound, an exact walk
    comes first: a snapshot that fits comes out whole. Only one that does not
    is walked again, cutting to the bound. May raise (foreign code).
    """
    command = output and isinstance(value, Command)
    if plan.max_bytes is not None and not over:
        walker = _Walker(plan, exact=True)
        try:
            result = walker.command(value, 0) if command else walker.state(value)
        except Overflow:
            pass
        else:
            if walker.remaining >= 0:
                return result
    walker = _Walker(plan)
    return walker.command(value, 0) if command else walker.state(value)


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
    return _snapshot(value, options, False)  # type: ignore[no-any-return]


def _snapshot(value: Any, options: SnapshotOptions, output: bool) -> Any:
    if value is None:
        return None
    plan = options._plan
    # A bare try, not _internal.guard: the marker needs the exception, and the
    # guard's context manager would cost as much as a whole small snapshot.
    # What can fail here is foreign code (a mapping's items(), a __len__).
    try:
        if plan.fast and not (output and isinstance(value, Command)):
            result = fast_snapshot(value, plan)
            if type(result) is dict:
                return result
            return careful(value, plan, result is OVER, output)
        return careful(value, plan, False, output)
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
    return _snapshot(value, options, True)  # type: ignore[no-any-return]
