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

import inspect
import logging
import threading
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._internal import guard, warn_once
from ._record_args import bind, count, optional_fields, record_signature, text
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
    """Ids of the AI messages whose usage was counted in this node or in a
    node running inside it (see ``node_wrapper``'s fallback for calls no
    handler saw)."""
    parent: TokenCollector | None = None
    """The collector of the wrapped node this one runs inside (a subgraph's
    node inside the node that invoked the subgraph), if any."""

    def add(
        self,
        usage: TokenUsage,
        run_id: str | None = None,
        message_ids: list[str] | None = None,
    ) -> bool:
        """Add one call; ``False`` if a call with this ``run_id`` was counted.

        ``message_ids``: the AI messages the call returned, noted as counted
        (:meth:`note_messages`) under the same lock.
        """
        if usage.model_name is None:
            _warn_no_model()
        if run_id is None:
            self.usages.append(usage)
            if message_ids:
                self.note_messages(message_ids)
            return True
        # One lock for all collectors: only LLM calls take it, a node run
        # does not (a lock per collector cost every node run its creation).
        # The first call of a node without an enclosing wrapped node, the
        # common case, makes both sets at once (``_note``, inlined).
        with _dedupe_lock:
            seen = self.seen_run_ids
            if seen is None:
                if message_ids:
                    if self.parent is None and self.seen_message_ids is None:
                        self.seen_message_ids = set(message_ids)
                    else:
                        self._note(message_ids)
                self.seen_run_ids = {run_id}
            else:
                if message_ids:
                    self._note(message_ids)
                if run_id in seen:
                    return False
                seen.add(run_id)
            self.usages.append(usage)
        return True

    def note_messages(self, message_ids: list[str]) -> None:
        """Remember the ids of AI messages whose usage was counted, here and
        in every enclosing node: a message counted anywhere in the invocation
        is not counted again by an enclosing node's fallback."""
        if message_ids:
            with _dedupe_lock:
                self._note(message_ids)

    def _note(self, message_ids: list[str]) -> None:
        collector: TokenCollector | None = self
        while collector is not None:
            if collector.seen_message_ids is None:
                collector.seen_message_ids = set()
            collector.seen_message_ids.update(message_ids)
            collector = collector.parent

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


def make_usage(
    prompt_tokens: object,
    completion_tokens: object,
    total_tokens: object,
    model_name: object = None,
    prompt_chars: object = 0,
    usage_reported: bool = True,
    extra: dict[str, Any] | None = None,
) -> TokenUsage:
    """Build a ``TokenUsage`` from untrusted counts, never raising.

    ``extra`` holds optional ``TokenUsage`` fields by name, already of the
    right types (the handler builds them; :func:`record_token_usage` checks
    what its caller gave).
    """
    name = text(model_name)
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
        total = total_tokens or prompt_tokens + completion_tokens
        return build_token_usage(
            prompt_tokens,
            completion_tokens,
            total,
            name,
            prompt_chars,
            usage_reported,
            extra,
        )
    return TokenUsage(
        prompt_tokens=count(prompt_tokens, "prompt_tokens"),
        completion_tokens=count(completion_tokens, "completion_tokens"),
        total_tokens=count(total_tokens, "total_tokens"),
        model_name=name,
        prompt_chars=count(prompt_chars, "prompt_chars"),
        usage_reported=usage_reported,
        **(extra or {}),
    )


# -- record_token_usage: the original pipeline's calls, unchanged ------------


def _record_token_usage(*args: Any, **kwargs: Any) -> None:
    """Count one LLM call against the node running in this context.

    Never raises, whatever it is given. Call shapes (all recorded):

    * ``record_token_usage(120, 30, 150)`` and
      ``record_token_usage(120, 30, 150, "gpt-4o-mini")`` (positional model);
    * the editorial pipeline's calls, unchanged:
      ``record_token_usage(prompt_tokens=..., completion_tokens=...,
      total_tokens=..., model_name=..., routing_reason=...,
      cached_tokens=...)``, also positionally in that order;
    * any of the keywords below.

    Misuse is one warning per kind and process, and the call is still
    recorded: an unknown keyword or a positional argument past the sixth is
    ignored; a value given by position and by keyword takes the keyword;
    ``None``, negative or non-numeric counts count as 0. Outside any node
    (no ``reset_token_collector()`` in this context, no wrapped node running)
    the call is dropped with a debug log.

    Args:
        prompt_tokens: input tokens the provider reported (cached ones
            included).
        completion_tokens: output tokens (reasoning included).
        total_tokens: total tokens; 0 means prompt + completion.
        model_name: the model that served the call, if known.
        routing_reason: why this model was chosen (the pipeline's router).
        cached_tokens: of ``prompt_tokens``, those read from a cache.
        prompt_chars: characters of prompt text sent.
        run_id: the LLM call's run id; a second record with the same id in
            the same node is ignored.
        usage_reported: ``False`` for a call whose provider reported no usage.
        cache_creation_tokens: of ``prompt_tokens``, those written to a cache.
        cache_creation_5m_tokens: of those, written for 5 minutes.
        cache_creation_1h_tokens: of those, written for 1 hour.
        reasoning_tokens: of ``completion_tokens``, those spent reasoning.
        token_details: other counts by name (``{"input_audio": 12}``).
        provider: who served the call (``openai``, ``anthropic``, ...).
        status: ``success``, ``error`` or ``aborted``.
        error_type: the exception's class name for a failed call.
        started_at: when the call started.
        ended_at: when it ended.

    Example:
        >>> reset_token_collector()
        >>> record_token_usage(100, 20, 120, "claude-sonnet-4-5", prompt_chars=412)
        >>> record_token_usage(prompt_tokens=900, completion_tokens=80,
        ...     total_tokens=980, model_name="gemini-2.5-flash",
        ...     routing_reason="long context", cached_tokens=600)
        >>> [(u.prompt_chars, u.cached_tokens) for u in harvest_tokens()]
        [(412, 0), (0, 600)]
    """
    with guard("record_token_usage"):
        values = bind(args, kwargs) if len(args) != 3 or kwargs else None
        collector = _current.get()
        if collector is None:
            _debug("record_token_usage outside any node: dropped")
            return
        if values is None:  # the plain (prompt, completion, total) call
            collector.add(make_usage(*args))
            return
        run_id = text(values.get("run_id"))
        collector.add(
            make_usage(
                values.get("prompt_tokens", 0),
                values.get("completion_tokens", 0),
                values.get("total_tokens", 0),
                values.get("model_name"),
                values.get("prompt_chars", 0),
                bool(values.get("usage_reported", True)),
                optional_fields(values),
            ),
            run_id,
        )


_record_token_usage.__name__ = _record_token_usage.__qualname__ = "record_token_usage"
_record_token_usage.__signature__ = inspect.signature(  # type: ignore[attr-defined]
    record_signature
)

if TYPE_CHECKING:
    record_token_usage = record_signature
else:
    record_token_usage = _record_token_usage


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
