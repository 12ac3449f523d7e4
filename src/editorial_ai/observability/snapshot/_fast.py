"""The fast path: a state that is already JSON data, taken in one pass.

Almost every state is a dict of strings, numbers, lists and dicts, with no
secret and under the bound. For those, a snapshot needs no conversion, no
cut and no redaction, only a copy of the containers (strings and numbers are
immutable and shared) and proof that nothing needed the careful walk:

1. one Python pass copies the containers and checks their types (exact
   ``dict`` with ``str`` keys, ``list``, ``tuple``, ``str``, ``int`` within
   2**63, ``float``, ``bool``, ``None``; LangChain messages, Pydantic
   models, dataclasses and dict subclasses read field by field as the walk
   reads them; nesting under 64), decides each key
   by the redaction rules through the same per-key cache as the walk, and
   adds up a lower bound of the size;
2. one call into pydantic-core's Rust serializer gives the exact JSON bytes
   (a lone surrogate fails it), whose length is checked against
   the bound;
3. one scan of those bytes (:func:`_redact.may_hold_secret`) looks for the
   credential formats.

A flat state of short ASCII texts and numbers skips step 2: its size is
bounded by counting six bytes a character, and its texts are scanned as one.
A long string (4 KB or more) is measured and scanned once per object and
remembered, with its JSON bytes (``_line.py`` splices them into the node's
line instead of escaping the text again); the bytes of step 2 leave it out.
Anything else (bytes, sets, dates, a secret, a state over the bound ...) is
declined and takes the careful walk, which gives the same bytes for every
state this path accepts (property-tested in ``tests/test_snapshot_fast.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic_core import PydanticSerializationError, to_json

from ._options import _Plan
from ._redact import REDACTED, has_secret_text, may_hold_secret
from ._text import _BIG_TEXT, _remember
from ._walk import (
    _KINDS,
    _classify,
    _dataclass_items,
    _dict_items,
    _message_items,
    _model_items,
    _send_items,
)

# Read without foreign code: fields, attributes, dict.items of a subclass.
_RECORDS = (_message_items, _model_items, _dataclass_items, _dict_items, _send_items)
_MAX_DEPTH = 64  # as the walk's
_BIG_INT = 2**63
_MAX_VALUES = 100_000  # beyond, the walk's container count and cycles decide

DECLINED = object()
"""The state needs the careful walk."""

OVER = object()
"""The state needs the careful walk, and its snapshot is over the bound."""


class _Decline(Exception):
    pass


# A long text: its JSON bytes (kept up to _KEPT_BYTES, else ``None``), their
# size and whether it holds a credential, by identity. The line encoding
# (``_line.py``) reads the bytes back through :func:`long_text_json`.
_long: dict[int, tuple[str, int, bool, bytes | None]] = {}
_KEPT_BYTES = 1 << 20


def _long_text(text: str) -> tuple[int, bool]:
    hit = _long.get(id(text))
    if hit is not None and hit[0] is text:
        return hit[1], hit[2]
    try:
        data = to_json(text)
    except PydanticSerializationError:
        raise _Decline from None  # a lone surrogate: the walk replaces it
    size = len(data)
    secret = has_secret_text(text)
    _remember(
        _long, id(text), (text, size, secret, data if size <= _KEPT_BYTES else None)
    )
    return size, secret


def long_text_json(text: str) -> bytes | None:
    """The JSON bytes (``to_json(text)``) of a long text the fast path took
    and still remembers, or ``None``.

    The entry holds the text, so a hit by identity is this very string, and
    a ``str`` cannot change: the bytes are its bytes whenever they are asked.
    """
    hit = _long.get(id(text))
    if hit is not None and hit[0] is text:
        return hit[3]
    return None


class _Copy:
    """One pass over a state: the copy, and what the checks need."""

    __slots__ = ("count", "keys", "long", "long_bytes", "plan", "secret", "size")

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.keys = plan.keys
        self.count = 0
        self.size = 0  # a lower bound of the JSON bytes: the characters of texts
        self.long: list[tuple[Any, Any, str]] = []  # (container, key, text)
        self.long_bytes = 0
        self.secret = False

    def mapping(
        self, items: Iterable[tuple[Any, Any]], size: int, depth: int
    ) -> dict[str, Any]:
        if depth >= _MAX_DEPTH:
            raise _Decline
        self.count += size
        if self.count > _MAX_VALUES:
            raise _Decline
        keys = self.keys
        out: dict[str, Any] = {}
        for key, item in items:
            entry = keys.get(key) if type(key) is str else None
            if entry is None:
                if type(key) is not str:
                    raise _Decline
                entry = self.plan.key_entry(key, -1)
                assert entry is not None
            if entry[0] is not key and entry[0] != key:
                raise _Decline  # written otherwise (a secret or a surrogate in it)
            if entry[1]:
                out[key] = REDACTED
                continue
            kind = type(item)
            if kind is str:
                if len(item) >= _BIG_TEXT:
                    self.long.append((out, key, item))
                else:
                    self.size += len(item)
                out[key] = item
            elif kind is int:
                if not -_BIG_INT < item < _BIG_INT:
                    raise _Decline
                out[key] = item
            elif kind is dict:
                out[key] = self.mapping(item.items(), len(item), depth + 1)
            elif kind is list or kind is tuple:
                out[key] = self.sequence(item, depth + 1)
            elif kind is float:
                out[key] = item if item - item == 0.0 else _non_finite(item)
            elif item is None or kind is bool:
                out[key] = item
            else:
                out[key] = self.record(item, depth + 1)
        return out

    def sequence(self, value: list[Any] | tuple[Any, ...], depth: int) -> list[Any]:
        if depth >= _MAX_DEPTH:
            raise _Decline
        self.count += len(value)
        if self.count > _MAX_VALUES:
            raise _Decline
        if len(value) == 2 and type(value[0]) is str:
            if self.plan.key_is_secret(value[0]):
                raise _Decline  # a (name, secret) pair
        out: list[Any] = []
        append = out.append
        for item in value:
            kind = type(item)
            if kind is str:
                if len(item) >= _BIG_TEXT:
                    self.long.append((out, len(out), item))
                else:
                    self.size += len(item)
                append(item)
            elif kind is int:
                if not -_BIG_INT < item < _BIG_INT:
                    raise _Decline
                append(item)
            elif kind is dict:
                append(self.mapping(item.items(), len(item), depth + 1))
            elif kind is list or kind is tuple:
                append(self.sequence(item, depth + 1))
            elif kind is float:
                append(item if item - item == 0.0 else _non_finite(item))
            elif item is None or kind is bool:
                append(item)
            else:
                append(self.record(item, depth + 1))
        return out

    def record(self, value: Any, depth: int) -> dict[str, Any]:
        """A message, model, dataclass or dict subclass, by the walk's own
        reading of its fields; anything else declines."""
        items = (_KINDS.get(type(value)) or _classify(type(value)))[1]
        if items not in _RECORDS:
            raise _Decline
        assert items is not None
        pairs, size = items(value)
        return self.mapping(pairs, size, depth)


def _non_finite(value: float) -> str:
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


_FLAT_KEYS = 32
_FLAT_TEXT = 256
# Short texts found clean, by identity (the entry holds the text, so its id
# is not reused while remembered): the same strings are in the state of node
# after node, and a dict lookup costs a tenth of a scan. Cleared when full.
_CLEAN_LIMIT = 1024
_clean: dict[int, str] = {}


def _flat(value: dict[Any, Any], plan: _Plan) -> dict[str, Any] | None:
    """The common small state in one loop, or ``None`` for the general pass.

    Up to 32 keys already decided (in the key cache), values ASCII strings of
    up to 256 characters, ints within 2**63, finite floats, booleans or
    ``None``. Sizes are counted at their worst (six bytes a character, as if
    each were escaped), so a state taken here is within the bound without
    being serialized; its strings not seen before are scanned as one text
    (joined by newlines, which no credential format crosses).
    """
    if len(value) > _FLAT_KEYS:
        return None
    keys = plan.keys
    size = 2
    out: dict[str, Any] = {}
    texts: list[str] = []
    for key, item in value.items():
        entry = keys.get(key) if type(key) is str else None
        if entry is None or entry[0] != key:
            return None
        size += entry[2] + 1
        if entry[1]:
            out[key] = REDACTED
            size += 12
            continue
        kind = type(item)
        if kind is str:
            if len(item) > _FLAT_TEXT or not item.isascii():
                return None
            size += 6 * len(item) + 2
            if _clean.get(id(item)) is not item:
                texts.append(item)
        elif kind is int:
            if not -_BIG_INT < item < _BIG_INT:
                return None
            size += 20
        elif kind is float:
            if item - item != 0.0:  # NaN and infinities: the general pass
                return None
            size += 24
        elif item is None or kind is bool:
            size += 5
        else:
            return None
        out[key] = item
    max_bytes = plan.max_bytes
    if max_bytes is not None and size > max_bytes:
        return None
    if texts and plan.scrub:
        if has_secret_text("\n".join(texts)):
            return None
        if len(_clean) + len(texts) > _CLEAN_LIMIT:
            _clean.clear()
        for text in texts:
            _clean[id(text)] = text
    return out


def fast_snapshot(value: Any, plan: _Plan) -> Any:
    """The snapshot of a plain state, or :data:`DECLINED` / :data:`OVER`."""
    if type(value) is dict:
        flat = _flat(value, plan)
        if flat is not None:
            return flat
    copy = _Copy(plan)
    try:
        if type(value) is dict:
            out = copy.mapping(value.items(), len(value), 0)
        else:
            out = copy.record(value, 0)
        for _, _, text in copy.long:
            size, secret = _long_text(text)
            copy.long_bytes += size - 2
            copy.size += len(text)
            copy.secret = copy.secret or secret
    except _Decline:
        return DECLINED
    max_bytes = plan.max_bytes
    if copy.secret and plan.scrub:
        return DECLINED
    if max_bytes is not None and copy.size > max_bytes:
        # Over for sure only if no short text can shrink by redaction.
        return OVER if copy.long_bytes > max_bytes or not plan.scrub else DECLINED
    long = copy.long
    for container, key, _ in long:
        container[key] = ""
    try:
        data = to_json(out)
    except (PydanticSerializationError, ValueError):
        return DECLINED  # a lone surrogate: the walk replaces it
    finally:
        for container, key, text in long:
            container[key] = text
    if plan.scrub and may_hold_secret(data):
        return DECLINED
    if max_bytes is not None and len(data) + copy.long_bytes > max_bytes:
        return OVER
    return out
