"""Snapshot options: bound, redaction and per-key policies, decided once.

``SnapshotOptions`` is what a user configures (checked when it is made);
``_Plan`` is what the walker reads on every node run: the redaction decision
per key name, cached.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

from ._redact import (
    DEFAULT_REDACT_KEYS,
    is_secret_name,
    normalize_key,
    redact_text,
)
from ._text import _measure, _repr

_CACHE_LIMIT = 4096  # keys and classes remembered; beyond, decided each time
_CACHED_KEY_CHARS = 256

KeyPolicy: TypeAlias = Literal["keep", "drop", "length"] | int
"""What to record for one top-level state key: ``"keep"`` (the default),
``"drop"`` (``"[dropped]"``), ``"length"`` (``{"_type": ..., "length": N}``) or
an ``int`` n: at most n characters, items, keys or bytes, with a marker."""

_POLICY_WORDS = frozenset({"keep", "drop", "length"})


# -- options ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SnapshotOptions:
    """How snapshots are bounded and scrubbed; validated when created.

    Attributes:
        max_bytes: bound on the compact UTF-8 JSON of one snapshot (markers
            may add a few hundred bytes); ``None`` for no bound.
        redact: the default redaction rules (``snapshot._redact``): values
            under secret key names, credentials of well-known formats in any
            string, the second of ``(name, value)`` pairs.
        redact_keys: more key names to redact, matched like
            :data:`DEFAULT_REDACT_KEYS` (contained in the normalized name).
        mask: ``mask(key, value)`` is called for every dict key and model or
            dataclass field that is not redacted; what it returns is recorded
            instead of ``value``. If it raises, ``"[REDACTED]"`` is recorded
            and one warning logged: a failing mask never lets a value through.
            For a state whose snapshot is over ``max_bytes`` the mask may be
            called twice per key (a first walk finds the state does not fit).
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
            if not normalize_key(name):
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

    __slots__ = (
        "extras",
        "fast",
        "keys",
        "mask",
        "max_bytes",
        "names",
        "policies",
        "scrub",
    )

    def __init__(self, options: SnapshotOptions) -> None:
        self.max_bytes = options.max_bytes
        self.mask = options.mask
        self.scrub = options.redact
        self.extras = frozenset(normalize_key(name) for name in options.redact_keys)
        defaults = DEFAULT_REDACT_KEYS if options.redact else frozenset()
        self.names = tuple(sorted(defaults | self.extras))
        # "keep" needs no work per key, so only the other policies are looked up.
        policies: dict[str, KeyPolicy] = {
            key: policy
            for key, policy in options.state_keys.items()
            if policy != "keep"
        }
        self.policies: dict[str, KeyPolicy] | None = policies or None
        # The fast path takes states the user's mask and policies do not touch.
        self.fast = self.mask is None and self.policies is None
        # key as found -> (key as written, redacted?, JSON bytes with ":")
        self.keys: dict[str, tuple[str, bool, int]] = {}

    def is_secret(self, name: str) -> bool:
        return is_secret_name(normalize_key(name), self.names, self.extras, self.scrub)

    def key_is_secret(self, name: str) -> bool:
        """:meth:`is_secret` of a ``str`` key, through the key cache."""
        entry = self.keys.get(name)
        if entry is None:
            entry = self.key_entry(name, -1)
            assert entry is not None
        return entry[1]

    def key_entry(self, raw_key: object, room: int) -> tuple[str, bool, int] | None:
        """How to write ``raw_key``; ``None`` if longer than ``room`` (>= 0)."""
        if isinstance(raw_key, str):
            name = str.__str__(raw_key)
        else:
            name = _repr(raw_key)
        if 0 <= room < len(name):
            return None
        if self.scrub:
            name = redact_text(name)
        name, size = _measure(name)
        entry = (name, self.is_secret(name), size + 1)
        if (
            type(raw_key) is str
            and len(raw_key) <= _CACHED_KEY_CHARS
            and len(self.keys) < _CACHE_LIMIT
        ):
            self.keys[raw_key] = entry
        return entry


DEFAULT_OPTIONS = SnapshotOptions()
"""Bounded to 256 KiB, default redaction, no mask, every key kept."""
