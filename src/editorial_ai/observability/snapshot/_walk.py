"""The careful path: any value to bounded, redacted JSON data, walked in Python.

``_Walker`` converts a value depth first, carrying the byte budget left, the
containers on the path (cycles) and the depth; each type's conversion is
chosen once per class (``_classify``). Every string is scrubbed of secret
formats, every key decided by the redaction rules, and a list or tuple of two
items whose first is a secret key name hides its second.

A walker made with ``exact=True`` counts the bytes of its result exactly (for
JSON data) and sets nothing aside for markers: it raises :class:`Overflow`
where the bounded walk would cut. The snapshot tries it first, so a state
whose snapshot fits the bound comes out whole, exactly as the fast path
gives it; only a state that does not fit takes the cutting walk.
"""

from __future__ import annotations

import dataclasses
from collections import UserString, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any
from uuid import UUID

from langchain_core.messages import BaseMessage
from langgraph.types import Command, Send
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_json

from .._internal import warn_failure
from ._options import _CACHE_LIMIT, KeyPolicy, _Plan
from ._redact import REDACTED
from ._text import (
    _BIG_TEXT,
    _CUT_STEP,
    _CUT_TEXT,
    _clean,
    _fit,
    _fit_big,
    _measure,
    _measure_big,
    _repr,
    _scrub,
)

_MAX_DEPTH = 64
_PREFIX_BYTES = 32  # bytes shown, in hex, of a bytes value
_BIG_INT = 2**63  # from here on, JavaScript and most JSON readers round
_BIG_INT_BITS = 330  # about 100 decimal digits; beyond, only the size is shown

_DROPPED = "[dropped]"
_CYCLE = "<cycle>"
_DEPTH = "<max depth>"
_TOO_MANY = "<too many containers>"
_MAX_CONTAINERS = 1_000_000
# Marker texts are ASCII (see _text._CUT_TEXT).
_CUT_ITEMS = "...[truncated, %d items in all]"
_CUT_KEYS = "...[truncated, %d keys left out]"
_CUT_MAPPING = "...[truncated, %d keys in all]"
_CUT_KEY = "…"
# Bytes set aside on entering a container for the marker that may close it: the
# largest marker, `"…":"...[truncated, <19 digits> keys left out]",`, takes 58.
_RESERVE = 64
_SORTABLE = frozenset({str, int, float, bytes, bool})

# -- walking ------------------------------------------------------------------

_Items = tuple[Iterable[tuple[Any, Any]], int]
_Handler = Callable[["_Walker", Any, int], Any]
_MISSING = object()
_SECRET_ITEM = object()


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


class Overflow(Exception):
    """An exact walk met more than the bound holds."""


class _Walker:
    """One snapshot in the making: the byte budget left and the open path."""

    __slots__ = ("bounded", "entered", "exact", "path", "plan", "remaining", "scrub")

    def __init__(self, plan: _Plan, exact: bool = False) -> None:
        self.plan = plan
        self.bounded = plan.max_bytes is not None
        self.exact = exact and self.bounded
        self.remaining = plan.max_bytes or 0
        self.path: set[int] = set()
        self.entered = 0
        self.scrub = plan.scrub

    def overflow(self) -> None:
        if self.exact:
            raise Overflow

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
                self.remaining -= 5 if value is False else 4
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
        if self.scrub:
            value = _scrub(value)
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
        if self.exact and (limit is None or length <= limit):
            raise Overflow  # the bound cuts, not the key's own limit
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
        if self.exact and len(piece) < (length if limit is None else limit):
            raise Overflow  # cut by the bound, not by the key's own limit
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
                self.remaining -= len(to_json(value))
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
        if self.exact:
            self.remaining -= 2
        elif self.bounded:
            if depth and self.remaining < _RESERVE:
                return self.note(cut % total)
            self.remaining -= _RESERVE + 2
        self.path.add(id(container))
        return None

    def leave(self, container: object, marker_bytes: int) -> None:
        self.path.discard(id(container))
        if self.exact:
            self.remaining -= marker_bytes  # a key's own limit's marker
        elif self.bounded:
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
            if shown == limit:
                break
            if bounded and self.remaining <= 0:
                self.overflow()
                break
            entry = cache.get(raw_key) if type(raw_key) is str else None
            if entry is None:
                entry = plan.key_entry(raw_key, self.remaining if bounded else -1)
                if entry is None:
                    self.overflow()
                    break
            name, secret, cost = entry
            if bounded:
                if shown:
                    cost += 1  # the comma
                if cost > self.remaining:
                    self.overflow()
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
        if total == 2 and isinstance(container, list | tuple):
            # [("Authorization", "Bearer ...")]: the first names the second.
            first = container[0]
            if type(first) is str and self.plan.key_is_secret(first):
                items = (first, _SECRET_ITEM)
        for item in items:
            if len(out) == limit:
                break
            if bounded:
                if self.remaining <= 0:
                    self.overflow()
                    break
                if out:
                    self.remaining -= 1  # the comma
            if item is _SECRET_ITEM:
                append(self.note(REDACTED))
            else:
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
