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

import dataclasses
import re
from collections import UserString, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from types import MappingProxyType
from typing import Any, Literal, TypeAlias
from uuid import UUID

from langchain_core.messages import BaseMessage
from langgraph.types import Command, Send
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_json

from ._internal import warn_failure

__all__ = [
    "DEFAULT_OPTIONS",
    "DEFAULT_REDACT_KEYS",
    "REDACTED",
    "KeyPolicy",
    "SnapshotOptions",
    "snapshot_output",
    "snapshot_state",
]

KeyPolicy: TypeAlias = Literal["keep", "drop", "length"] | int
"""What to record for one top-level state key: ``"keep"`` (the default),
``"drop"`` (``"[dropped]"``), ``"length"`` (``{"_type": ..., "length": N}``) or
an ``int`` n: at most n characters, items, keys or bytes, with a marker."""

REDACTED = "[REDACTED]"

DEFAULT_REDACT_KEYS: frozenset[str] = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "api_key",
        "apikey",
        "authorization",
        "cookie",
        "private_key",
        "credentials",
        "access_token",
        "refresh_token",
        "id_token",
        "auth_token",
        "x_api_key",
    }
)
"""Key names redacted by default (normalized: lower case, ``_`` for ``-``)."""

# Usage counts, not credentials; kept even if a user adds "token" to the names.
_TOKEN_COUNT_KEYS = frozenset(
    {
        "tokens",
        "total_tokens",
        "max_tokens",
        "prompt_tokens",
        "completion_tokens",
        "input_tokens",
        "output_tokens",
        "cached_tokens",
        "reasoning_tokens",
        "max_completion_tokens",
        "max_output_tokens",
        "max_new_tokens",
    }
)

_POLICY_WORDS = frozenset({"keep", "drop", "length"})
_MAX_DEPTH = 64
_REPR_LIMIT = 1000  # characters of a foreign object's repr
_PREFIX_BYTES = 32  # bytes shown, in hex, of a bytes value
_BIG_INT = 2**63  # from here on, JavaScript and most JSON readers round
_BIG_INT_BITS = 330  # about 100 decimal digits; beyond, only the size is shown
_CACHE_LIMIT = 4096  # keys and classes remembered; beyond, decided each time
_CACHED_KEY_CHARS = 256

_DROPPED = "[dropped]"
_CYCLE = "<cycle>"
_DEPTH = "<max depth>"
_TOO_MANY = "<too many containers>"
_MAX_CONTAINERS = 1_000_000
# Marker texts are ASCII: "…" after a cut ASCII string would make CPython copy
# it into a two-byte-per-character string, three times slower than the cut.
_CUT_TEXT = "...[truncated, %d chars in all]"
_CUT_ITEMS = "...[truncated, %d items in all]"
_CUT_KEYS = "...[truncated, %d keys left out]"
_CUT_MAPPING = "...[truncated, %d keys in all]"
_CUT_KEY = "…"
# Bytes set aside on entering a container for the marker that may close it: the
# largest marker, `"…":"...[truncated, <19 digits> keys left out]",`, takes 58.
_RESERVE = 64
_FLOAT_BYTES = 24  # len(repr(-2.2250738585072014e-308))
_SORTABLE = frozenset({str, int, float, bytes, bool})

_SURROGATE = re.compile("[\ud800-\udfff]")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[-.\s]+")


def _normalize(name: str) -> str:
    return _SEPARATORS.sub("_", _CAMEL.sub("_", name)).lower()


def _replace_surrogates(text: str) -> str:
    # Through UTF-16 a high and low surrogate written as two code points join
    # into the one character they encode; only lone ones become U+FFFD.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _clean(text: str) -> str:
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return _replace_surrogates(text)


def _measure(text: str) -> tuple[str, int]:
    """``text`` without lone surrogates, and its compact JSON size in bytes."""
    # pydantic-core's encoder escapes as json.dumps(ensure_ascii=False) does
    # and is 2.5 times faster than json.encoder.encode_basestring.
    try:
        return text, len(to_json(text))
    except PydanticSerializationError:  # a lone surrogate
        text = _replace_surrogates(text)
        return text, len(to_json(text))


# Long texts usually travel through a graph unchanged: the same str object is
# in the state of node after node. Measuring (and cutting) one costs a pass
# over it, so the last results are kept, by object identity; each entry holds
# its text alive, hence few entries and only texts up to a few MB.
_BIG_TEXT = 4096
_CUT_STEP = 512
_CACHED_TEXTS = 16
_CACHEABLE_CHARS = 4_000_000
_big: dict[tuple[int, int], tuple[str, str, int]] = {}


def _remember(key: tuple[int, int], value: str, piece: str, size: int) -> None:
    if len(value) > _CACHEABLE_CHARS:
        return
    if len(_big) >= _CACHED_TEXTS:
        try:
            del _big[next(iter(_big))]
        except (KeyError, StopIteration, RuntimeError):  # another thread won
            pass
    _big[key] = (value, piece, size)


def _measure_big(value: str) -> tuple[str, int]:
    """:func:`_measure` for a long text, remembered."""
    key = (id(value), -1)
    hit = _big.get(key)
    if hit is not None and hit[0] is value:
        return hit[1], hit[2]
    piece, size = _measure(value)
    _remember(key, value, piece, size)
    return piece, size


def _fit_big(value: str, keep: int, room: int) -> tuple[str, int]:
    """:func:`_fit` of ``value[:keep]``, remembered for the same text."""
    key = (id(value), keep)
    hit = _big.get(key)
    if hit is not None and hit[0] is value and hit[2] <= room:
        return hit[1], hit[2]
    piece, size = _fit(value[:keep], room)
    _remember(key, value, piece, size)
    return piece, size


def _fit(piece: str, room: int) -> tuple[str, int]:
    """The longest prefix of ``piece`` found whose JSON fits in ``room`` bytes."""
    piece, size = _measure(piece)
    for _ in range(3):
        if size <= room:
            return piece, size
        keep = min(len(piece) - 1, len(piece) * room // size)
        piece, size = _measure(piece[: max(keep, 0)])
    if size > room:
        # No character takes more than 6 bytes ("\u001f"), so this one fits.
        piece, size = _measure(piece[: max((room - 2) // 6, 0)])
    return piece, size


def _repr(value: object) -> str:
    try:
        text = repr(value)
    except Exception:  # a foreign __repr__ is user code; it must not break us
        return "<unrepresentable %s>" % type(value).__name__
    text = str.__str__(text)
    if len(text) > _REPR_LIMIT:
        return text[:_REPR_LIMIT] + _CUT_TEXT % len(text)
    return text


def _describe(exc: Exception) -> str:
    try:
        message = str(exc)
    except Exception:  # an exception's __str__ is user code too
        message = "<unprintable>"
    return _clean("%s: %s" % (type(exc).__name__, message[:200]))


# -- options ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SnapshotOptions:
    """How snapshots are bounded and scrubbed; validated when created.

    Attributes:
        max_bytes: bound on the compact UTF-8 JSON of one snapshot (markers
            may add a few hundred bytes); ``None`` for no bound.
        redact: redact values under :data:`DEFAULT_REDACT_KEYS`.
        redact_keys: more key names to redact, matched like the defaults.
        mask: ``mask(key, value)`` is called for every dict key and model or
            dataclass field that is not redacted; what it returns is recorded
            instead of ``value``. If it raises, ``"[REDACTED]"`` is recorded
            and one warning logged: a failing mask never lets a value through.
        state_keys: a :data:`KeyPolicy` per top-level state key. Per key the
            order is: redaction, then ``"drop"``/``"length"`` (which never look
            at the value), then the mask, then an ``int`` policy's cut.

    Raises:
        TypeError: an option of the wrong type (a non-callable ``mask``).
        ValueError: a bad value (negative ``max_bytes``, an unknown policy).

    Example:
        >>> options = SnapshotOptions(max_bytes=64 * 1024, redact_keys=("ssn",),
        ...     state_keys={"raw_html": "length", "messages": 20})
        >>> snapshot_state({"ssn": "078-05-1120", "raw_html": "<p>hi</p>"},
        ...     options)
        {'ssn': '[REDACTED]', 'raw_html': {'_type': 'str', 'length': 9}}
    """

    max_bytes: int | None = 256 * 1024
    redact: bool = True
    redact_keys: tuple[str, ...] = ()
    mask: Callable[[str, Any], Any] | None = None
    # Left out of the hash (a mapping has none) but compared: options stay
    # usable as dict keys, and equal options still hash alike.
    state_keys: Mapping[str, KeyPolicy] = field(default_factory=dict, hash=False)
    _plan: _Plan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_bytes is not None:
            if isinstance(self.max_bytes, bool) or not isinstance(self.max_bytes, int):
                raise TypeError("max_bytes must be an int or None")
            if self.max_bytes < 0:
                raise ValueError("max_bytes must be >= 0, got %d" % self.max_bytes)
        if not isinstance(self.redact, bool):
            raise TypeError("redact must be True or False")
        if isinstance(self.redact_keys, str):
            raise TypeError("redact_keys must be a tuple of names, not one string")
        names = tuple(self.redact_keys)
        for name in names:
            if not isinstance(name, str):
                raise TypeError("redact_keys must hold strings, got %r" % (name,))
            if not _normalize(name).strip("_"):
                # "" is contained in every key: it would redact everything.
                raise ValueError("redact_keys holds an empty name")
        if self.mask is not None and not callable(self.mask):
            raise TypeError("mask must be callable as mask(key, value)")
        if not isinstance(self.state_keys, Mapping):
            raise TypeError("state_keys must map key names to policies")
        policies = dict(self.state_keys)
        for key, policy in policies.items():
            if not isinstance(key, str):
                raise TypeError("state_keys names must be strings, got %r" % (key,))
            if isinstance(policy, str):
                if policy not in _POLICY_WORDS:
                    raise ValueError(
                        "state_keys[%r]: unknown policy %r (use keep, drop, "
                        "length or an int)" % (key, policy)
                    )
            elif isinstance(policy, bool) or not isinstance(policy, int):
                raise TypeError(
                    "state_keys[%r]: a policy is keep, drop, length or an int, "
                    "got %r" % (key, policy)
                )
            elif policy < 0:
                raise ValueError("state_keys[%r]: a cut must be >= 0" % key)
        object.__setattr__(self, "redact_keys", names)
        object.__setattr__(self, "state_keys", MappingProxyType(policies))
        object.__setattr__(self, "_plan", _Plan(self))


class _Plan:
    """What one ``SnapshotOptions`` decides once, and its per-key decisions."""

    __slots__ = ("extras", "keys", "mask", "max_bytes", "names", "policies")

    def __init__(self, options: SnapshotOptions) -> None:
        self.max_bytes = options.max_bytes
        self.mask = options.mask
        self.extras = frozenset(_normalize(name) for name in options.redact_keys)
        defaults = DEFAULT_REDACT_KEYS if options.redact else frozenset()
        self.names = tuple(sorted(defaults | self.extras))
        # "keep" needs no work per key, so only the other policies are looked up.
        policies: dict[str, KeyPolicy] = {
            key: policy
            for key, policy in options.state_keys.items()
            if policy != "keep"
        }
        self.policies: dict[str, KeyPolicy] | None = policies or None
        # key as found -> (key as written, redacted?, JSON bytes with ":" and ",")
        self.keys: dict[str, tuple[str, bool, int]] = {}

    def is_secret(self, name: str) -> bool:
        normalized = _normalize(name)
        if normalized in _TOKEN_COUNT_KEYS and normalized not in self.extras:
            return False
        return any(secret in normalized for secret in self.names)

    def key_entry(self, raw_key: object, room: int) -> tuple[str, bool, int] | None:
        """How to write ``raw_key``; ``None`` if longer than ``room`` (>= 0)."""
        if isinstance(raw_key, str):
            name = str.__str__(raw_key)
        else:
            name = _repr(raw_key)
        if 0 <= room < len(name):
            return None
        name, size = _measure(name)
        entry = (name, self.is_secret(name), size + 2)
        if (
            type(raw_key) is str
            and len(raw_key) <= _CACHED_KEY_CHARS
            and len(self.keys) < _CACHE_LIMIT
        ):
            self.keys[raw_key] = entry
        return entry


DEFAULT_OPTIONS = SnapshotOptions()
"""Bounded to 256 KiB, default redaction, no mask, every key kept."""


# -- walking ------------------------------------------------------------------

_Items = tuple[Iterable[tuple[Any, Any]], int]
_Handler = Callable[["_Walker", Any, int], Any]
_MISSING = object()


def _dict_items(value: Any) -> _Items:
    # dict.items, not value.items: a subclass's override is not consulted.
    return dict.items(value), len(value)


def _mapping_items(value: Any) -> _Items:
    return value.items(), len(value)


def _model_items(value: Any) -> _Items:
    # Fields read one by one: model_dump can raise, validate or be slow.
    names = type(value).model_fields
    items = [(name, getattr(value, name, _MISSING)) for name in names]
    extra = getattr(value, "__pydantic_extra__", None)
    if isinstance(extra, dict):
        items.extend(dict.items(extra))
    items = [item for item in items if item[1] is not _MISSING]
    return items, len(items)


def _dataclass_items(value: Any) -> _Items:
    items = [
        (f.name, getattr(value, f.name, _MISSING)) for f in dataclasses.fields(value)
    ]
    items = [item for item in items if item[1] is not _MISSING]
    return items, len(items)


_MESSAGE_EXTRAS = (
    "name",
    "id",
    "tool_calls",
    "invalid_tool_calls",
    "tool_call_id",
    "usage_metadata",
    "response_metadata",
)


def _message_items(message: Any) -> _Items:
    items = [("type", message.type), ("content", message.content)]
    for name in _MESSAGE_EXTRAS:
        value = getattr(message, name, None)
        if value:
            items.append((name, value))
    return items, len(items)


def _send_items(send: Any) -> _Items:
    return [("node", send.node), ("arg", send.arg)], 2


class _Walker:
    """One snapshot in the making: the byte budget left and the open path."""

    __slots__ = ("bounded", "entered", "path", "plan", "remaining")

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.bounded = plan.max_bytes is not None
        self.remaining = plan.max_bytes or 0
        self.path: set[int] = set()
        self.entered = 0

    def convert(self, value: Any, depth: int) -> Any:
        cls = type(value)
        # The types states are made of first, by identity: the common case.
        if cls is str:
            return self.text(value, None)
        if cls is int:
            return self.integer(value)
        if cls is dict:
            return self.mapping(value, value.items(), len(value), depth, None, None)
        if cls is list:
            return self.sequence(value, value, len(value), depth, None)
        if value is None or cls is bool:
            if self.bounded:
                self.remaining -= 5
            return value
        if cls is float:
            return self.real(value)
        handler, items = _KINDS.get(cls) or _classify(cls)
        if items is not None:
            pairs, total = items(value)
            return self.mapping(value, pairs, total, depth, None, None)
        assert handler is not None
        return handler(self, value, depth)

    def note(self, text: str) -> str:
        if self.bounded:
            self.remaining -= len(text.encode()) + 2
        return text

    def text(self, value: str, limit: int | None) -> str:
        length = len(value)
        if not self.bounded:
            if limit is None or length <= limit:
                return _clean(value)
            return _clean(value[:limit]) + _CUT_TEXT % length
        room = self.remaining
        if length <= room and (limit is None or length <= limit):
            if length >= _BIG_TEXT:
                piece, size = _measure_big(value)
            else:
                try:  # _measure, inlined: most of the work of a small state
                    piece, size = value, len(to_json(value))
                except PydanticSerializationError:
                    piece, size = _measure(value)
            if size <= room:
                self.remaining = room - size
                return piece
        marker = _CUT_TEXT % length
        marker_size = len(marker)
        room -= marker_size
        # Every character takes at least one byte: slice before measuring, so
        # a 10 MB string costs what the budget allows, not 10 MB.
        keep = min(length, room - 2)
        if limit is not None:
            keep = min(keep, limit)
        if keep >= _BIG_TEXT:
            # Rounded down, so that the same long text in the next node's
            # state (its room a few bytes different) finds the same cut.
            piece, size = _fit_big(value, keep - keep % _CUT_STEP, room)
        else:
            piece, size = _fit(value[:keep], room) if keep > 0 else ("", 2)
        self.remaining -= size + marker_size
        return piece + marker

    def integer(self, value: int) -> int | str:
        if -_BIG_INT < value < _BIG_INT:
            if self.bounded:
                self.remaining -= len(str(value))
            return value
        bits = value.bit_length()
        # str() of a very large int raises ValueError (int_max_str_digits).
        if bits <= _BIG_INT_BITS:
            return self.note(str(value))
        return self.note("<int of %d bits>" % bits)

    def real(self, value: float) -> float | str:
        if value - value == 0.0:  # false for NaN and both infinities
            if self.bounded:
                self.remaining -= _FLOAT_BYTES
            return value
        if value != value:
            return self.note("NaN")
        return self.note("Infinity" if value > 0 else "-Infinity")

    def enter(self, container: object, depth: int, cut: str, total: int) -> str | None:
        """``None`` if ``container`` may be walked (and it is entered), else the
        marker that stands for it."""
        if depth >= _MAX_DEPTH:
            return self.note(_DEPTH)
        if id(container) in self.path:
            return self.note(_CYCLE)
        self.entered += 1
        if self.entered > _MAX_CONTAINERS:
            # Without a byte bound, a structure sharing sub-objects (a = [b, b],
            # b = [c, c], ...) expands exponentially: stop at a fixed count.
            return self.note(_TOO_MANY)
        if self.bounded:
            if depth and self.remaining < _RESERVE:
                return self.note(cut % total)
            self.remaining -= _RESERVE + 2
        self.path.add(id(container))
        return None

    def leave(self, container: object, marker_bytes: int) -> None:
        self.path.discard(id(container))
        if self.bounded:
            self.remaining += _RESERVE - marker_bytes

    def mapping(
        self,
        container: object,
        items: Iterable[tuple[Any, Any]],
        total: int,
        depth: int,
        limit: int | None,
        policies: dict[str, KeyPolicy] | None,
    ) -> Any:
        blocked = self.enter(container, depth, _CUT_MAPPING, total)
        if blocked is not None:
            return blocked
        plan = self.plan
        cache = plan.keys
        mask = plan.mask
        bounded = self.bounded
        child = depth + 1
        out: dict[str, Any] = {}
        shown = 0
        for raw_key, value in items:
            if shown == limit or (bounded and self.remaining <= 0):
                break
            entry = cache.get(raw_key) if type(raw_key) is str else None
            if entry is None:
                entry = plan.key_entry(raw_key, self.remaining if bounded else -1)
                if entry is None:
                    break
            name, secret, cost = entry
            if bounded:
                if cost > self.remaining:
                    break
                self.remaining -= cost
            shown += 1
            if secret:
                out[name] = self.note(REDACTED)
            elif policies is not None and name in policies:
                out[name] = self.apply_policy(name, value, policies[name], child)
            elif mask is not None:
                out[name] = self.masked(name, value, child, None)
            else:
                out[name] = self.convert(value, child)
        else:
            self.leave(container, 0)
            return out
        marker = _CUT_KEYS % (total - shown)
        out[_CUT_KEY] = marker
        self.leave(container, len(marker) + 9)  # `"…":"` + marker + `",`
        return out

    def sequence(
        self,
        container: object,
        items: Iterable[Any],
        total: int,
        depth: int,
        limit: int | None,
    ) -> Any:
        blocked = self.enter(container, depth, _CUT_ITEMS, total)
        if blocked is not None:
            return blocked
        bounded = self.bounded
        child = depth + 1
        out: list[Any] = []
        append = out.append
        for item in items:
            if len(out) == limit or (bounded and self.remaining <= 0):
                break
            if bounded:
                self.remaining -= 1  # the comma
            append(self.convert(item, child))
        else:
            self.leave(container, 0)
            return out
        marker = _CUT_ITEMS % total
        append(marker)
        self.leave(container, len(marker) + 3)  # `,"` + marker + `"`
        return out

    def set_items(self, value: Any, depth: int, limit: int | None = None) -> Any:
        total = len(value)
        items: Iterable[Any] = value
        # Sorted for a stable record, when cheap and safe: builtin elements of
        # one type (no user __lt__ runs) and few enough to fit the budget.
        if 1 < total and (not self.bounded or total <= self.remaining // 2):
            kinds = {type(item) for item in value}
            if len(kinds) == 1 and kinds.pop() in _SORTABLE:
                items = sorted(value)
        return self.sequence(value, items, total, depth, limit)

    def binary(self, value: Any, limit: int | None = None) -> dict[str, Any]:
        count = _PREFIX_BYTES if limit is None else min(limit, _PREFIX_BYTES)
        if isinstance(value, memoryview):
            length = value.nbytes
            head = value.cast("B")[:count].tobytes() if value.c_contiguous else b""
        else:
            length = len(value)
            head = bytes(value[:count])
        prefix = head.hex()
        if self.bounded:
            self.remaining -= 60 + len(prefix)
        return {"_type": "bytes", "length": length, "prefix": prefix}

    def masked(self, name: str, value: Any, depth: int, limit: int | None) -> Any:
        mask = self.plan.mask
        if mask is not None:
            try:
                value = mask(name, value)
            except Exception as exc:  # the user's mask: contain it, fail closed
                # The message could quote the value, so only the type is logged.
                warn_failure(
                    "snapshot mask:%s" % type(exc).__name__,
                    "the snapshot mask raised %s for key %r; the value was "
                    "recorded as [REDACTED] (the pipeline is unaffected)",
                    type(exc).__name__,
                    name,
                )
                return self.note(REDACTED)
        if limit is None:
            return self.convert(value, depth)
        return self.limited(value, limit, depth)

    def apply_policy(self, name: str, value: Any, policy: KeyPolicy, depth: int) -> Any:
        if policy == "drop":
            return self.note(_DROPPED)
        if policy == "length":
            kind = type(value).__name__
            if self.bounded:
                self.remaining -= 42  # {"_type":,"length":} and the number
            if hasattr(type(value), "__len__"):
                return {"_type": self.text(kind, None), "length": len(value)}
            return {"_type": self.text(kind, None)}
        return self.masked(
            name, value, depth, policy if isinstance(policy, int) else None
        )

    def limited(self, value: Any, limit: int, depth: int) -> Any:
        if isinstance(value, str):
            return self.text(str.__str__(value), limit)
        if isinstance(value, bytes | bytearray | memoryview):
            return self.binary(value, limit)
        if isinstance(value, AbstractSet):
            return self.set_items(value, depth, limit)
        if isinstance(value, Mapping):
            return self.mapping(value, value.items(), len(value), depth, limit, None)
        if isinstance(value, list | tuple | deque):
            return self.sequence(value, value, len(value), depth, limit)
        return self.convert(value, depth)

    def record(
        self, value: Any, depth: int, policies: dict[str, KeyPolicy] | None
    ) -> Any:
        """``value`` as a dict of its keys or fields with top-level ``policies``,
        or ``_MISSING`` when it has neither."""
        if type(value) is dict:
            return self.mapping(value, value.items(), len(value), depth, None, policies)
        items = (_KINDS.get(type(value)) or _classify(type(value)))[1]
        if items is None:
            return _MISSING
        pairs, total = items(value)
        return self.mapping(value, pairs, total, depth, None, policies)

    def state(self, value: Any) -> dict[str, Any]:
        result = self.record(value, 0, self.plan.policies)
        if result is not _MISSING:
            return result  # type: ignore[no-any-return]
        if self.bounded:
            self.remaining -= 10  # {"value":}
        return {"value": self.convert(value, 1)}

    def command(self, command: Any, depth: int) -> Any:
        blocked = self.enter(command, depth, _CUT_MAPPING, 2)
        if blocked is not None:
            return blocked
        child = depth + 1
        out: dict[str, Any] = {"update": None, "goto": None}
        if self.bounded:
            self.remaining -= 19  # "update":,"goto":
        # goto first: it is small and says where the graph went next.
        out["goto"] = self.convert(command.goto, child)
        for name in ("graph", "resume"):
            value = getattr(command, name)
            if value is not None:
                if self.bounded:
                    self.remaining -= len(name) + 4  # ,"name":
                out[name] = self.convert(value, child)
        if command.update is not None:
            policies = self.plan.policies if depth == 0 else None
            update = self.record(command.update, child, policies)
            if update is _MISSING:
                update = self.convert(command.update, child)
            out["update"] = update
        self.leave(command, 0)
        return out

    # Handlers for the other types, chosen once per class by _classify.

    def enum_value(self, value: Any, depth: int) -> Any:
        return self.convert(value.value, depth + 1)

    def str_subclass(self, value: Any, depth: int) -> Any:
        return self.text(str.__str__(value), None)

    def int_subclass(self, value: Any, depth: int) -> Any:
        return self.integer(int.__int__(value))

    def float_subclass(self, value: Any, depth: int) -> Any:
        return self.real(float.__float__(value))

    def array(self, value: Any, depth: int) -> Any:
        return self.sequence(value, value, len(value), depth, None)

    def unordered(self, value: Any, depth: int) -> Any:
        return self.set_items(value, depth)

    def bytes_like(self, value: Any, depth: int) -> Any:
        return self.binary(value)

    def iso(self, value: Any, depth: int) -> Any:
        return self.text(str.__str__(value.isoformat()), None)

    def seconds(self, value: Any, depth: int) -> Any:
        return self.real(value.total_seconds())

    def as_str(self, value: Any, depth: int) -> Any:
        return self.text(str.__str__(str(value)), None)

    def as_command(self, value: Any, depth: int) -> Any:
        return self.command(value, depth)

    def as_repr(self, value: Any, depth: int) -> Any:
        return self.text(_repr(value), None)


_Kind = tuple[_Handler | None, Callable[[Any], _Items] | None]
_KINDS: dict[type, _Kind] = {}


def _classify(cls: type) -> _Kind:
    """How values of ``cls`` are converted; remembered for the next time."""
    kind: _Kind
    handler: _Handler = _Walker.as_repr
    items: Callable[[Any], _Items] | None = None
    if issubclass(cls, Enum):  # before str and int: StrEnum, IntEnum
        handler = _Walker.enum_value
    elif issubclass(cls, BaseMessage):  # before BaseModel
        items = _message_items
    elif issubclass(cls, str):
        handler = _Walker.str_subclass
    elif issubclass(cls, int):
        handler = _Walker.int_subclass
    elif issubclass(cls, float):
        handler = _Walker.float_subclass
    elif issubclass(cls, bytes | bytearray | memoryview):
        handler = _Walker.bytes_like
    elif issubclass(cls, dict):
        items = _dict_items
    elif issubclass(cls, list | tuple | deque):
        handler = _Walker.array
    elif issubclass(cls, set | frozenset):
        handler = _Walker.unordered
    elif issubclass(cls, BaseModel):
        items = _model_items
    elif issubclass(cls, Command):  # before dataclasses: Command is one
        handler = _Walker.as_command
    elif issubclass(cls, Send):
        items = _send_items
    elif dataclasses.is_dataclass(cls):
        items = _dataclass_items
    elif issubclass(cls, datetime | date | time):
        handler = _Walker.iso
    elif issubclass(cls, timedelta):
        handler = _Walker.seconds
    elif issubclass(cls, UUID | PurePath | Decimal | UserString):
        handler = _Walker.as_str
    elif issubclass(cls, range):
        pass  # a Sequence, but range(10**12) must not be listed
    elif issubclass(cls, Mapping):
        items = _mapping_items
    elif issubclass(cls, AbstractSet):
        handler = _Walker.unordered
    elif issubclass(cls, Sequence):
        handler = _Walker.array
    kind = (None, items) if items is not None else (handler, None)
    if len(_KINDS) < _CACHE_LIMIT:
        _KINDS[cls] = kind
    return kind


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
