"""The callback handler: LLM calls become token usage of the node that made them.

``TokenUsageCallbackHandler`` is a LangChain callback handler. Register it on
the LLM client (``callbacks=[handler]``), on the graph run
(``config={"callbacks": [handler]}``), or both; any number of instances may see
the same call and it is counted once (by the LLM call's run id).

Which node a call belongs to: the node running in the calling context (the
wrapper's collector, which context-copying thread pools and asyncio tasks
inherit); else, for a call made on a thread that did not copy the context but
was given the node's ``config``, the node whose LangGraph task namespace
(``checkpoint_ns`` in the call's metadata) matches.

What is read, in order: ``usage_metadata`` on the returned message (also when
streamed, where the provider reports usage), else ``llm_output["token_usage"]``
or ``llm_output["usage"]`` (older integrations). The model name comes from the
response metadata, ``llm_output``, the ``ls_model_name`` metadata or the
invocation parameters; a call without one is still counted. A call whose
provider reported no usage is recorded with ``usage_reported=False``: usage
unknown, not zero. A call that failed is not counted.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult

from ._internal import guard
from .collector import (
    _MAX_ROOTS,
    TokenCollector,
    _roots,
    collector_for_namespace,
    current_collector,
    make_usage,
    note_chain_start,
)
from .invocations import graph_run_ended, graph_run_started

_MODEL_KEYS = ("model_name", "model", "model_id", "deployment_name")


@dataclass(slots=True)
class _Pending:
    collector: TokenCollector
    model_name: str | None
    prompt_chars: int


def _text_length(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        total = 0
        for block in content:
            if isinstance(block, str):
                total += len(block)
            elif isinstance(block, Mapping) and isinstance(block.get("text"), str):
                total += len(block["text"])
        return total
    return 0


def _model_from(mapping: Any) -> str | None:
    if isinstance(mapping, Mapping):
        for key in _MODEL_KEYS:
            value = mapping.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def _find_collector(metadata: Mapping[str, Any] | None) -> TokenCollector | None:
    collector = current_collector()
    if collector is not None:
        return collector
    if metadata:
        for key in ("checkpoint_ns", "langgraph_checkpoint_ns"):
            namespace = metadata.get(key)
            if isinstance(namespace, str) and namespace:
                found = collector_for_namespace(namespace)
                if found is not None:
                    return found
    return None


class TokenUsageCallbackHandler(BaseCallbackHandler):
    """Feeds ``record_token_usage`` from every chat model or LLM call it sees.

    Example:
        >>> from langchain_core.language_models import GenericFakeChatModel
        >>> from langchain_core.messages import AIMessage
        >>> handler = TokenUsageCallbackHandler()
        >>> model = GenericFakeChatModel(
        ...     messages=iter([AIMessage("hi", usage_metadata={
        ...         "input_tokens": 3, "output_tokens": 1, "total_tokens": 4})]),
        ...     callbacks=[handler],
        ... )
        >>> model.invoke("hello").content
        'hi'
    """

    # Handlers run in the calling thread and context, where the node's
    # collector is; never on an executor of LangChain's.
    run_inline = True
    raise_error = False

    def __init__(self) -> None:
        super().__init__()
        self._pending: dict[UUID, _Pending] = {}
        self._lock = threading.Lock()

    # -- chains: which graph invocation a node runs in --------------------------

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Note the chain run's root (the graph invocation)."""
        # note_chain_start, inlined: this runs for every runnable of a graph.
        roots = _roots
        if parent_run_id is None:
            roots[run_id] = run_id
            graph_run_started(run_id, inputs, kwargs.get("metadata"))
        elif len(roots) < _MAX_ROOTS:
            roots[run_id] = roots.get(parent_run_id, parent_run_id)
        else:
            note_chain_start(run_id, parent_run_id)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget the ended chain run; a graph run's end goes to the sinks."""
        _roots.pop(run_id, None)
        if kwargs.get("parent_run_id") is None:
            graph_run_ended(run_id, outputs)

    def on_chain_error(
        self, error: BaseException, *, run_id: UUID, **kwargs: Any
    ) -> None:
        """Forget the failed chain run; a graph run's end goes to the sinks."""
        _roots.pop(run_id, None)
        if kwargs.get("parent_run_id") is None:
            graph_run_ended(run_id, None)

    # -- start: decide which node the call belongs to -------------------------

    def _start(
        self,
        run_id: UUID,
        metadata: Mapping[str, Any] | None,
        invocation_params: Any,
        prompt_chars: int,
    ) -> None:
        collector = _find_collector(metadata)
        if collector is None:
            return
        model_name = (metadata or {}).get("ls_model_name") or _model_from(
            invocation_params
        )
        with self._lock:
            self._pending[run_id] = _Pending(
                collector,
                model_name if isinstance(model_name, str) else None,
                prompt_chars,
            )

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Note the call, its node and its prompt size."""
        with guard("token callback"):
            chars = sum(_text_length(m.content) for batch in messages for m in batch)
            self._start(run_id, metadata, kwargs.get("invocation_params"), chars)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Note the call, its node and its prompt size."""
        with guard("token callback"):
            chars = sum(len(p) for p in prompts if isinstance(p, str))
            self._start(run_id, metadata, kwargs.get("invocation_params"), chars)

    # -- end: read the usage and count it once --------------------------------

    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Count the finished call against its node."""
        with self._lock:
            pending = self._pending.pop(run_id, None)
        if pending is None:
            return
        with guard("token callback"):
            usage, model_name, message_ids = _read_usage(response)
            collector = pending.collector
            collector.note_messages(message_ids)
            reported = usage is not None
            counts = usage or {}
            collector.add(
                make_usage(
                    counts.get("prompt"),
                    counts.get("completion"),
                    counts.get("total"),
                    model_name or pending.model_name,
                    pending.prompt_chars,
                    usage_reported=reported,
                ),
                str(run_id),
            )

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        """Forget a failed call."""
        with self._lock:
            self._pending.pop(run_id, None)


def _read_usage(
    response: LLMResult,
) -> tuple[dict[str, Any] | None, str | None, list[str]]:
    """(token counts or None, model name, ids of the returned messages)."""
    usage: dict[str, Any] | None = None
    model_name: str | None = None
    message_ids: list[str] = []
    for generations in response.generations:
        for generation in generations:
            message = getattr(generation, "message", None)
            if message is None:
                continue
            if isinstance(message.id, str):
                message_ids.append(message.id)
            metadata = getattr(message, "response_metadata", None)
            model_name = model_name or _model_from(metadata)
            found = getattr(message, "usage_metadata", None)
            if usage is None and found:
                # One call, one usage: providers that return several
                # generations (n > 1) attach the call's usage to each.
                usage = {
                    "prompt": found.get("input_tokens"),
                    "completion": found.get("output_tokens"),
                    "total": found.get("total_tokens"),
                }
    output = response.llm_output
    if isinstance(output, Mapping):
        model_name = model_name or _model_from(output)
        if usage is None:
            for key in ("token_usage", "usage"):
                found = output.get(key)
                if isinstance(found, Mapping) and found:
                    usage = {
                        "prompt": _first(found, ("prompt_tokens", "input_tokens")),
                        "completion": _first(
                            found, ("completion_tokens", "output_tokens")
                        ),
                        "total": found.get("total_tokens"),
                    }
                    break
    return usage, model_name, message_ids


def _first(mapping: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        if mapping.get(key) is not None:
            return mapping[key]
    return None
