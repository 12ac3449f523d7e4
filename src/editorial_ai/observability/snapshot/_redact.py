"""Redaction rules: which key names hide their value, which texts are secrets.

Two kinds of rule, both on by default (``SnapshotOptions(redact=True)``):

By key name. A name is normalized first: NFKC (so ``API_KEY`` in fullwidth
letters reads as ``API_KEY``), camelCase split (``accessToken``, ``APIKey``), lower
case, every run of other characters (``-``, ``.``, spaces, ``__``) one ``_``,
trailing numbers dropped (``api_key_2``). Its value is hidden when

- the name *contains* one of :data:`DEFAULT_REDACT_KEYS` (``db_password``,
  ``client_secret``, ``x_api_key``: containment errs on the side of hiding,
  ``secretary`` is hidden too), or
- one of its ``_``-separated *components* is a secret word: ``bearer``,
  ``jwt``, ``pwd``, ``passphrase``, ``secret``, ``signature``, ``dsn``,
  ``password``, ``passwd``, ``credential(s)``, ``cookie``; ``token``
  (``token``, ``GITHUB_TOKEN``, ``SLACK_BOT_TOKEN``, a component ending in
  ``token`` such as ``csrftoken``) unless it is a count: followed by
  ``count``, ``usage``, ``details``, ``limit``, ``budget``, ``ids`` or
  ``logprobs`` (``prompt_token_count``, ``input_token_details``) or preceded
  by ``max``/``min``/``num``; ``session`` (``session_id``,
  ``AWS_SESSION_TOKEN``) unless followed by a word about its timing or size
  (``session_count``, ``session_start``, ``session_timeout``); ``auth`` as the
  last component (``basic_auth``); and ``key`` as the *last* component
  (``key``, ``openai_key``, ``API__KEY``, ``signing_key``) unless what it
  keys is plainly not a credential (``cache_key``, ``sort_key``,
  ``primary_key``, ``partition_key``, ``idempotency_key``, ``thread_key``
  ...). ``key`` elsewhere is kept: ``key_points``, ``keywords``, ``keys``,
  ``monkey`` are ordinary state.

Plural ``tokens`` and the usage counts LLM APIs and this library record
(``tokens``, ``total_tokens``, ``max_tokens``, ``input_token_details`` ...) are
never hidden unless named in ``redact_keys``. In a list or tuple of two items
whose first is a string, that string is a key name for the second:
``[("Authorization", "Bearer ...")]`` hides the second item.

By value. In every string a snapshot keeps, wherever it is, well-known
credential formats are replaced, keeping what kind of secret it was:
``sk-...`` (OpenAI, Anthropic), ``sk_live_``/``rk_live_`` (Stripe),
``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_``/``github_pat_`` (GitHub),
``xox?-``/``xapp-`` (Slack), ``hf_`` (Hugging Face), ``AKIA``/``ASIA`` (AWS
access keys), ``AIza`` (Google), JSON Web Tokens, PEM private keys, and the
password of a URL (``postgres://admin:[REDACTED]@db/x``). Error messages and
tracebacks also lose the value of ``name=value`` and ``name: value`` pairs
whose name is a secret by the key rule, and the token after ``Bearer``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

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
"""Key names redacted wherever they occur in a normalized key name."""

DEFAULT_SECRET_WORDS: frozenset[str] = frozenset(
    {
        "bearer",
        "cookie",
        "credential",
        "credentials",
        "dsn",
        "jwt",
        "passphrase",
        "passwd",
        "password",
        "pwd",
        "secret",
        "secrets",
        "signature",
    }
)
"""Components of a normalized key name that always hide its value; ``token``,
``session``, ``auth`` and ``key`` follow the narrower rules of the module
docstring."""

# Usage counts, not credentials; kept even if a user adds "token" to the names.
TOKEN_COUNT_KEYS = frozenset(
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
_COUNT_AFTER_TOKEN = frozenset(
    {
        "count",
        "counts",
        "usage",
        "usages",
        "details",
        "detail",
        "limit",
        "limits",
        "budget",
        "ids",
        "logprobs",
    }
)
_COUNT_BEFORE_TOKEN = frozenset({"max", "min", "num", "n"})
# Plural "tokens" is a count, except in these credential-ish names.
_CREDENTIAL_BEFORE_TOKENS = frozenset(
    {"api", "auth", "bearer", "oauth", "csrf", "xsrf", "personal", "access"}
)
_SESSION_FACTS = frozenset(
    {
        "count",
        "counts",
        "start",
        "started",
        "end",
        "ended",
        "duration",
        "length",
        "timeout",
        "ttl",
        "type",
        "index",
        "number",
        "name",
        "title",
        "date",
        "time",
        "state",
        "status",
    }
)
# What a key is for when it is plainly not a credential: an identifier of data.
_PLAIN_KEY_KINDS = frozenset(
    {
        "cache",
        "sort",
        "primary",
        "foreign",
        "partition",
        "idempotency",
        "dedup",
        "dedupe",
        "lookup",
        "group",
        "routing",
        "row",
        "index",
        "hash",
        "map",
        "dict",
        "store",
        "state",
        "thread",
        "run",
        "node",
        "message",
        "object",
        "shard",
        "join",
        "unique",
        "composite",
        "cursor",
        "page",
        "order",
        "lock",
        "queue",
        "metadata",
        "field",
        "column",
        "entity",
        "document",
        "doc",
        "item",
        "record",
        "music",
        "musical",
    }
)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_OTHER = re.compile(r"[^0-9a-z]+")


def normalize_key(name: str) -> str:
    """``name`` as the rules read it: NFKC, camelCase split, ``_``-separated.

    Example:
        >>> normalize_key("\\uff21\\uff30\\uff29\\uff3f\\uff2b\\uff25\\uff39")
        'api_key'
        >>> normalize_key("accessToken")
        'access_token'
    """
    if not name.isascii():
        name = unicodedata.normalize("NFKC", name)
    return _OTHER.sub("_", _CAMEL.sub("_", name).lower()).strip("_")


def _components(normalized: str) -> list[str]:
    parts = normalized.split("_")
    while len(parts) > 1 and parts[-1].isdigit():
        parts.pop()
    last = parts[-1].rstrip("0123456789")
    if last:
        parts[-1] = last
    return parts


def is_secret_name(
    normalized: str, names: Iterable[str], extras: frozenset[str], words: bool
) -> bool:
    """Whether a normalized key name hides its value.

    ``names`` are matched by containment (the defaults and ``extras``);
    ``words`` turns on the component rules of the module docstring.
    """
    if normalized in TOKEN_COUNT_KEYS and normalized not in extras:
        return False
    if any(name in normalized for name in names):
        return True
    if not words or not normalized:
        return False
    parts = _components(normalized)
    last = len(parts) - 1
    for index, part in enumerate(parts):
        if part in DEFAULT_SECRET_WORDS:
            return True
        before = parts[index - 1] if index else ""
        after = parts[index + 1] if index < last else ""
        if part.endswith("token"):
            if after in _COUNT_AFTER_TOKEN or before in _COUNT_BEFORE_TOKEN:
                continue
            return True
        if part == "tokens" and before in _CREDENTIAL_BEFORE_TOKENS:
            return True
        if part == "session" and after not in _SESSION_FACTS:
            return True
        if index == last and part == "auth":
            return True
        if index == last and part == "key" and before not in _PLAIN_KEY_KINDS:
            return True
    return False


# -- secrets by value ---------------------------------------------------------

# Each format is found from one literal character, the rarer one of the
# format ("-" of "sk-", "_" of "ghp_"), looking behind for the rest. Formats
# are grouped by that character, one compiled pattern per group: a pattern
# that starts with one literal is searched for at memchr-like speed (0.3 ns a
# byte), while a pattern starting with a set of characters costs ~6 ns a byte,
# and a group whose character is absent is not searched at all.
_FORMATS: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...] = (
    # (character, ((what follows it and the look-behind, the boundary, the rest)))
    (
        "-",
        (
            # OpenAI / Anthropic: sk-..., sk-proj-..., sk-ant-...; a digit in it.
            (
                "(?<=sk-)",
                "(?<![A-Za-z0-9]sk-)",
                "(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{16,}",
            ),
            ("(?<=xox[abposr]-)", "(?<![A-Za-z0-9]xox[abposr]-)", "[A-Za-z0-9-]{10,}"),
            ("(?<=xapp-)", "(?<![A-Za-z0-9]xapp-)", "[A-Za-z0-9-]{10,}"),
            (
                "----BEGIN [A-Z ]*PRIVATE KEY-----",
                "",
                r"[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
            ),
        ),
    ),
    (
        "_",
        (
            ("(?<=gh[pousr]_)", "(?<![A-Za-z0-9]gh[pousr]_)", "[A-Za-z0-9]{20,}"),
            ("(?<=github_pat_)", "", "[A-Za-z0-9_]{20,}"),
            ("(?<=hf_)", "(?<![A-Za-z0-9]hf_)", "[A-Za-z0-9]{20,}"),
            ("(?<=[sr]k_live_)", "", "[A-Za-z0-9]{10,}"),
        ),
    ),
    ("K", (("(?<=AK)", "(?<![A-Z0-9]AK)", "IA[0-9A-Z]{16}"),)),
    ("S", (("(?<=AS)", "(?<![A-Z0-9]AS)", "IA[0-9A-Z]{16}"),)),
    ("z", (("(?<=AIz)", "", "a[0-9A-Za-z_-]{35}"),)),
    # A JSON Web Token: base64url of '{"' twice, then a signature.
    (
        "J",
        (
            (
                "(?<=eyJ)",
                "(?<![A-Za-z0-9_-]eyJ)",
                r"[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
            ),
        ),
    ),
    # The password of a URL: scheme://user:password@host.
    (":", (("//", "", r"[^\s/?#@:]*:[^\s/?#@]+@"),)),
)

# The text rule: boundaries checked (no letter before "sk-").
_TEXT: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (
        char,
        re.compile(
            re.escape(char)
            + "(?:%s)" % "|".join(after + edge + rest for after, edge, rest in formats)
        ),
    )
    for char, formats in _FORMATS
)
# The byte filter over JSON text: a superset of the text rule, without the
# boundaries (in JSON an escaped newline puts a letter, "n", before "sk-") and
# without the end of a private key block.
_FILTER: tuple[tuple[bytes, re.Pattern[bytes]], ...] = tuple(
    (
        char.encode(),
        re.compile(
            (
                re.escape(char)
                + "(?:%s)"
                % "|".join(
                    after + ("" if after.startswith("----") else rest)
                    for after, _, rest in formats
                )
            ).encode()
        ),
    )
    for char, formats in _FORMATS
)


def _replace(match: re.Match[str]) -> str:
    found = match.group()
    if found.startswith("://"):
        user = found[3:-1].partition(":")[0]
        return "://%s:%s@" % (user, REDACTED)
    if found.startswith("-----BEGIN"):
        return REDACTED
    # Keep the character the format was found by: "sk-[REDACTED]".
    return found[0] + REDACTED


# A short text: one search of every group at once, then only if it matched,
# the groups one by one (the common case is a text without any).
_TEXT_ALL = re.compile("|".join(pattern.pattern for _, pattern in _TEXT))
_SHORT = 1024


def _patterns(text: str) -> list[re.Pattern[str]]:
    if len(text) < _SHORT and _TEXT_ALL.search(text) is None:
        return []
    return [pattern for char, pattern in _TEXT if char in text]


def redact_text(text: str) -> str:
    """``text`` with every credential of a well-known format replaced.

    Example:
        >>> redact_text("postgres://admin:DBPASS@db/x, key sk-proj-a1b2c3d4e5f6g7h8")
        'postgres://admin:[REDACTED]@db/x, key sk-[REDACTED]'
    """
    for pattern in _patterns(text):
        if pattern.search(text) is not None:
            text = pattern.sub(_replace, text)
    return text


def has_secret_text(text: str) -> bool:
    """Whether :func:`redact_text` would change ``text``."""
    for pattern in _patterns(text):
        if pattern.search(text) is not None:
            return True
    return False


# Short data: one search of all the groups costs less than a loop over them.
_FILTER_ALL = re.compile(b"|".join(pattern.pattern for _, pattern in _FILTER))


def may_hold_secret(data: bytes) -> bool:
    """Whether JSON ``data`` may hold a secret :func:`redact_text` would hide
    (false positives allowed, never a false negative)."""
    if len(data) < _SHORT:
        return _FILTER_ALL.search(data) is not None
    for char, pattern in _FILTER:
        if char in data and pattern.search(data) is not None:
            return True
    return False


_NAMED = re.compile(
    r"""(?P<name>[A-Za-z_][A-Za-z0-9_.\-]{0,63})"""
    r"""(?P<sep>['"]?\s{0,3}[:=]\s{0,3}(?:[bru]?['"])?)"""
    r"""(?P<scheme>(?:bearer|basic|token)\s+)?"""
    r"""(?P<value>[^\s'",;&)}\]]+)""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")


def redact_message(
    text: str, names: Iterable[str] = DEFAULT_REDACT_KEYS, rules: bool = True
) -> str:
    """An error message or traceback with its secrets hidden: credential
    formats, ``Bearer`` tokens, and ``name=value`` / ``'name': 'value'``
    pairs whose name hides its value by the key rule.

    Args:
        text: the message.
        names: the key names matched by containment.
        rules: also the credential formats and the component rules (what
            ``SnapshotOptions(redact=False)`` turns off).

    Example:
        >>> redact_message("login failed: {'user': 'ann', 'pwd': 'hunter2'}")
        "login failed: {'user': 'ann', 'pwd': '[REDACTED]'}"
    """
    if rules:
        text = redact_text(text)
    names = tuple(names)

    def named(match: re.Match[str]) -> str:
        name = normalize_key(match.group("name"))
        if not is_secret_name(name, names, frozenset(), rules):
            return match.group()
        return "%s%s%s%s" % (
            match.group("name"),
            match.group("sep"),
            match.group("scheme") or "",
            REDACTED,
        )

    text = _NAMED.sub(named, text)
    if not rules:
        return text
    return _BEARER.sub(lambda m: "%s %s" % (m.group(1), REDACTED), text)
