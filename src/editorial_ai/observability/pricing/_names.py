"""Model-name resolution: the price-table entry that prices a reported name.

LangChain reports what the provider returned, so one model comes under many
names. A name is matched, case-insensitively, by the first rule that finds a
table entry:

1. the name itself (``gpt-4o``, or any name a user table lists);
2. without a provider prefix: a path (``models/``, ``openai/``,
   ``anthropic/``, ``google/``, ``projects/.../models/``), the Bedrock region
   and vendor (``us.``, ``eu.``, ``global.``, ``anthropic.``) and the Bedrock
   version suffix (``-v1:0``);
3. then without snapshot suffixes, repeatedly: ``-YYYY-MM-DD``,
   ``-YYYYMMDD``, ``-NNN`` or ``-NNNN`` (``-002``, ``-0613``), ``-latest``,
   ``-v2`` and a Vertex ``@20241022``; so a dated snapshot
   (``gpt-4o-mini-2024-07-18``, ``claude-sonnet-4-5-20250929``) is priced as
   its model;
4. then the longest table entry that is a prefix of the name at a ``-``
   boundary (``gpt-5-codex`` is priced as ``gpt-5``), unless what follows the
   entry names another model: a segment holding a digit (another version,
   context size or parameter count) or a word such as ``mini``, ``pro``,
   ``lite``, ``realtime``, ``audio`` or ``preview``. Those give ``None``
   rather than a wrong price, so ``gpt-4o-mini-...`` is never priced as
   ``gpt-4o``, and a preview (``gemini-2.5-flash-preview-09-2025``) is priced
   only when the table lists it by name, never at its released model's
   price.

A snapshot that was priced differently from its alias is listed by its full
name (``gpt-4o-2024-05-13``), which rule 1 finds first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_PATH_PREFIX = re.compile(r"^.*/")
# Bedrock ids: an optional region, then the vendor (``us.anthropic.``). Model
# names with a dot keep a digit before it (``gpt-4.1``), so they never match.
_DOTTED_PREFIX = re.compile(r"^(?:[a-z][a-z-]*\.)+")
_BEDROCK_SUFFIX = re.compile(r"-v\d+(?::\d+)?$")
# A preview is not a snapshot: it is priced only under its own name (a user
# table may list it), never at the general-availability price by guess.
_SNAPSHOT_SUFFIX = re.compile(
    r"(?:@.*|-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{3,4}|-latest|-v\d+(?::\d+)?)$"
)
# A word after a table entry that makes the name another model, priced
# differently (a size tier, a modality, a deep-research agent).
_OTHER_MODEL_WORDS = frozenset(
    {
        "mini", "nano", "pro", "lite", "flash", "turbo", "max", "ultra",
        "large", "medium", "small", "plus", "instruct", "realtime", "audio",
        "tts", "transcribe", "image", "embedding", "live", "vision", "deep",
        "research", "preview", "exp", "experimental", "thinking",
    }
)  # fmt: skip


def match(name: str, entries: Mapping[str, object]) -> str | None:
    """The key of ``entries`` that prices ``name`` (lower-case, stripped) by
    the rules of this module, or ``None``.

    Example:
        >>> match("openai/gpt-4o-2024-08-06", {"gpt-4o": 2.5})
        'gpt-4o'
    """
    if name in entries:
        return name
    bare = _BEDROCK_SUFFIX.sub("", _DOTTED_PREFIX.sub("", _PATH_PREFIX.sub("", name)))
    if bare in entries:
        return bare
    base = _strip_snapshot(bare)
    if base in entries:
        return base
    return _longest_prefix(base, entries)


def _longest_prefix(name: str, entries: Mapping[str, object]) -> str | None:
    best = ""
    for key in entries:
        if len(key) > len(best) and name.startswith(key + "-"):
            best = key
    if not best:
        return None
    # A shorter entry would leave a longer rest holding this one's rest,
    # so when the longest is refused, every shorter one is too.
    for segment in name[len(best) + 1 :].split("-"):
        if segment in _OTHER_MODEL_WORDS or any(c.isdigit() for c in segment):
            return None
    return best


def _strip_snapshot(name: str) -> str:
    while True:
        shorter = _SNAPSHOT_SUFFIX.sub("", name)
        if shorter == name or not shorter:
            return name
        name = shorter
