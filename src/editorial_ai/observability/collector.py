"""The token collector: which LLM calls belong to the node that is running.

Each node execution gets its own collector, held in a ``ContextVar``. The
variable holds a mutable collector object rather than a list that is replaced,
so an LLM call made on a thread pool that copies the context (LangChain's
executors do, and so does ``asyncio.to_thread``) appends to the same node's
collector, while two nodes running at once (threads of one superstep, asyncio
tasks) each hold their own and never see the other's tokens.

``record_token_usage`` where no collector was set up (no
``reset_token_collector()`` in this context and no wrapped node running) is
dropped with a debug log: it never raises and never reaches a later node.
"""

from __future__ import annotations

import logging
import math
import threading
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from ._internal import guard, warn_failure, warn_once
from .models import MAX_COUNT, TokenUsage, build_token_usage

_debug = logging.getLogger("editorial_ai.observability").debug


def _warn_no_model() -> None:
    warn_once(
        "usage:no-model-name",
        "an LLM call was recorded without a model name, so its cost is unknown "
        "('?'). The name is read from the response (response_metadata "
        "model_name/model), the ls_model_name metadata LangChain chat models "
        "set, or record_token_usage(model_name=...). (Said once per process.)",
    )


_dedupe_lock = threading.Lock()


@dataclass(slots=True)
class TokenCollector:
    """The LLM calls of one node execution, counted once per LLM run id."""

    usages: list[TokenUsage] = field(default_factory=list)
    seen_run_ids: set[str] | None = None
    """Run ids of the LLM calls counted; made on the first one."""
    seen_message_ids: set[str] | None = None
    """Ids of the AI messages whose usage a handler counted (see
    ``node_wrapper``'s fallback for calls no handler saw)."""

    def add(self, usage: TokenUsage, run_id: str | None = None) -> bool:
        """Add one call; ``False`` if a call with this ``run_id`` was counted."""
        if usage.model_name is None:
            _warn_no_model()
        if run_id is None:
            self.usages.append(usage)
            return True
        # One lock for all collectors: only LLM calls take it, a node run
        # does not (a lock per collector cost every node run its creation).
        with _dedupe_lock:
            seen = self.seen_run_ids
            if seen is None:
                seen = self.seen_run_ids = set()
            elif run_id in seen:
                return False
            seen.add(run_id)
            self.usages.append(usage)
        return True

    def note_messages(self, message_ids: list[str]) -> None:
        """Remember the ids of AI messages whose usage was counted."""
        if message_ids:
            with _dedupe_lock:
                if self.seen_message_ids is None:
                    self.seen_message_ids = set()
                self.seen_message_ids.update(message_ids)

    def harvest(self) -> list[TokenUsage]:
        """Return the calls counted so far and start over."""
        usages = self.usages
        if not usages:
            return []
        with _dedupe_lock:
            usages, self.usages = self.usages, []
        return usages


_current: ContextVar[TokenCollector | None] = ContextVar(
    "editorial_ai_observability_token_collector", default=None
)


def current_collector() -> TokenCollector | None:
    """The collector of the node running in this context, if any."""
    return _current.get()


# Collectors of the nodes running now, by LangGraph task namespace
# (``checkpoint_ns``); the node wrapper adds and removes its own. An LLM call
# made on a thread that did not copy the context, but was given the node's
# ``config``, carries that namespace in its callback metadata; the handler
# finds the node's collector here.
_by_namespace: dict[str, TokenCollector] = {}


def collector_for_namespace(namespace: str) -> TokenCollector | None:
    """The collector of the running node with this task namespace, if any."""
    return _by_namespace.get(namespace)


# Root run of every chain run a handler on the graph run has seen start and
# not yet end: the node wrapper finds its graph invocation here, through the
# run id of the node's own chain run (the parent of the node's callbacks).
_roots: dict[Any, Any] = {}
_MAX_ROOTS = 100_000


def note_chain_start(run_id: Any, parent_run_id: Any) -> None:
    """Remember which invocation (root run) the chain run ``run_id`` is in."""
    if len(_roots) >= _MAX_ROOTS:  # ends were lost: forget, do not grow
        _roots.clear()
    _roots[run_id] = (
        run_id if parent_run_id is None else _roots.get(parent_run_id, parent_run_id)
    )


def reset_token_collector() -> None:
    """Start collecting token usage for a new node in this context.

    Example:
        >>> reset_token_collector()
        >>> record_token_usage(10, 5, 15, model_name="gpt-4o-mini")
        >>> [u.total_tokens for u in harvest_tokens()]
        [15]
    """
    _current.set(TokenCollector())


def _count(value: object, name: str) -> int:
    if value is None:
        return 0
    number: int
    if isinstance(value, bool):
        number = int(value)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value):
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        digits = value.strip()
        # int() of over 4,300 digits raises; any such count is out of range.
        number = int(digits) if len(digits) <= 20 else MAX_COUNT + 1
    else:
        warn_failure(
            "record_token_usage:" + name,
            "record_token_usage: %s=%r is not a token count; counted as 0",
            name,
            value,
        )
        return 0
    if number < 0:
        warn_failure(
            "record_token_usage:" + name,
            "record_token_usage: %s=%r is negative; counted as 0",
            name,
            value,
        )
        return 0
    if number > MAX_COUNT:
        # Refused, not clamped: no provider reports such a count, and a sum
        # or a price computed from it would be meaningless.
        warn_failure(
            "record_token_usage:" + name,
            "record_token_usage: %s is over %d, out of range; counted as 0",
            name,
            MAX_COUNT,
        )
        return 0
    return number


def make_usage(
    prompt_tokens: object,
    completion_tokens: object,
    total_tokens: object,
    model_name: object = None,
    prompt_chars: object = 0,
    usage_reported: bool = True,
) -> TokenUsage:
    """Build a ``TokenUsage`` from untrusted values, never raising."""
    name: str | None
    if model_name is None or isinstance(model_name, str):
        name = model_name or None
    else:
        name = str(model_name)
    if (
        type(prompt_tokens) is int
        and type(completion_tokens) is int
        and type(total_tokens) is int
        and type(prompt_chars) is int
        and min(prompt_tokens, completion_tokens, total_tokens, prompt_chars) >= 0
        and max(prompt_tokens, completion_tokens, total_tokens, prompt_chars)
        <= MAX_COUNT
        and prompt_tokens + completion_tokens <= MAX_COUNT
    ):
        # Clean counts, as every provider reports them: skip validation.
        return build_token_usage(
            prompt_tokens,
            completion_tokens,
            total_tokens or prompt_tokens + completion_tokens,
            name,
            prompt_chars,
            usage_reported,
        )
    return TokenUsage(
        prompt_tokens=_count(prompt_tokens, "prompt_tokens"),
        completion_tokens=_count(completion_tokens, "completion_tokens"),
        total_tokens=_count(total_tokens, "total_tokens"),
        model_name=name,
        prompt_chars=_count(prompt_chars, "prompt_chars"),
        usage_reported=usage_reported,
    )


def record_token_usage(
    prompt_tokens: int,
    completion_tokens: int,
    total_tokens: int,
    model_name: str | None = None,
    *,
    prompt_chars: int = 0,
    run_id: str | None = None,
    usage_reported: bool = True,
) -> None:
    """Count one LLM call against the node running in this context.

    Never raises: ``None``, negative or non-numeric counts are counted as 0
    (with a warning); outside any node the call is dropped.

    Args:
        prompt_tokens: input tokens the provider reported.
        completion_tokens: output tokens the provider reported.
        total_tokens: total tokens; 0 means prompt + completion.
        model_name: the model that served the call, if known.
        prompt_chars: characters of prompt text sent.
        run_id: the LLM call's run id; a second record with the same id in
            the same node is ignored.
        usage_reported: ``False`` for a call whose provider reported no usage.

    Example:
        >>> reset_token_collector()
        >>> record_token_usage(100, 20, 120, "claude-sonnet-4-5", prompt_chars=412)
        >>> harvest_tokens()[0].prompt_chars
        412
    """
    with guard("record_token_usage"):
        collector = _current.get()
        if collector is None:
            _debug("record_token_usage outside any node: dropped")
            return
        collector.add(
            make_usage(
                prompt_tokens,
                completion_tokens,
                total_tokens,
                model_name,
                prompt_chars,
                usage_reported,
            ),
            run_id,
        )


def harvest_tokens() -> list[TokenUsage]:
    """Return this node's token usage so far and clear it.

    Example:
        >>> reset_token_collector()
        >>> record_token_usage(1, 2, 3)
        >>> len(harvest_tokens()), len(harvest_tokens())
        (1, 0)
    """
    collector = _current.get()
    if collector is None:
        return []
    return collector.harvest()
