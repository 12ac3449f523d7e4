"""Text for snapshots: scrubbed, measured as JSON, cut to fit, remembered when long.

Every string a snapshot keeps is measured in the bytes its JSON takes (escapes
and UTF-8 included) so the size bound holds exactly, and cut with a visible
marker when it does not fit. Long texts that travel through a graph unchanged
are measured and cut once per object.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic_core import PydanticSerializationError, to_json

from ._redact import redact_text

_REPR_LIMIT = 1000  # characters of a foreign object's repr
# Marker texts are ASCII: "…" after a cut ASCII string would make CPython copy
# it into a two-byte-per-character string, three times slower than the cut.
_CUT_TEXT = "...[truncated, %d chars in all]"

_SURROGATE = re.compile("[\ud800-\udfff]")


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


def _remember(cache: dict[Any, Any], key: object, entry: tuple[Any, ...]) -> None:
    """Keep ``entry`` (its text first) in ``cache``, the oldest entry dropped
    when full; a text over ``_CACHEABLE_CHARS`` is not kept."""
    if len(entry[0]) > _CACHEABLE_CHARS:
        return
    if len(cache) >= _CACHED_TEXTS:
        try:
            del cache[next(iter(cache))]
        except (KeyError, StopIteration, RuntimeError):  # another thread won
            pass
    cache[key] = entry


def _measure_big(value: str) -> tuple[str, int]:
    """:func:`_measure` for a long text, remembered."""
    key = (id(value), -1)
    hit = _big.get(key)
    if hit is not None and hit[0] is value:
        return hit[1], hit[2]
    piece, size = _measure(value)
    _remember(_big, key, (value, piece, size))
    return piece, size


def _fit_big(value: str, keep: int, room: int) -> tuple[str, int]:
    """:func:`_fit` of ``value[:keep]``, remembered for the same text."""
    key = (id(value), keep)
    hit = _big.get(key)
    if hit is not None and hit[0] is value and hit[2] <= room:
        return hit[1], hit[2]
    piece, size = _fit(value[:keep], room)
    _remember(_big, key, (value, piece, size))
    return piece, size


_scrubbed: dict[int, tuple[str, str]] = {}


def _scrub(text: str) -> str:
    """``text`` without credentials of well-known formats; a long text's
    result is remembered (by identity), and is the same object next time."""
    if len(text) < _BIG_TEXT:
        return redact_text(text)
    key = id(text)
    hit = _scrubbed.get(key)
    if hit is not None and hit[0] is text:
        return hit[1]
    clean = redact_text(text)
    _remember(_scrubbed, key, (text, clean))
    return clean


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
