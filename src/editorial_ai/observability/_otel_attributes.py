"""What a node-run span says: attributes and events, after the conventions.

OpenTelemetry GenAI semantic conventions where they apply: token sums as
``gen_ai.usage.input_tokens`` / ``gen_ai.usage.output_tokens``, the model as
``gen_ai.request.model`` / ``gen_ai.response.model`` (the name LangChain
reported: the response's, else the request's), ``gen_ai.provider.name`` when
the model name plainly points to one, the thread as ``gen_ai.conversation.id``,
errors as ``error.type`` and an ``exception`` event. One span event per LLM
call, ``gen_ai.client.inference.operation.details``, stamped at the node's end:
a call's own start and end are not recorded, so a child span per call would
have to invent its times, and would repeat the node's token sums for backends
that add usage up over a trace. Everything else is ours, under ``langgraph.``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry.sdk.trace import Event
from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from .models import NodeRunLog

LLM_CALL_EVENT = "gen_ai.client.inference.operation.details"
INTERRUPT_EVENT = "langgraph.interrupt"
TRUNCATION_MARK = "…[truncated: %d bytes in all]"
MIN_ATTRIBUTE_BYTES = 64

Attributes = dict[str, AttributeValue]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Best effort from the model name alone (the record does not say which API
# served a call); ``gen_ai.provider.name`` is left out when nothing matches.
# Bedrock ids name the vendor after an optional region: ``us.anthropic.``.
_PROVIDERS = tuple(
    (re.compile(pattern), provider)
    for pattern, provider in (
        (
            r"^([a-z]{2,6}\.)?(anthropic|amazon|meta|cohere|ai21|mistral)\.",
            "aws.bedrock",
        ),
        (r"^(gpt-|chatgpt|o\d|text-embedding|davinci|babbage)", "openai"),
        (r"^claude", "anthropic"),
        (r"^(gemini|gemma)", "gcp.gen_ai"),
        (r"^(mistral|mixtral|codestral|ministral|pixtral|magistral)", "mistral_ai"),
        (r"^command", "cohere"),
        (r"^deepseek", "deepseek"),
        (r"^grok", "x_ai"),
    )
)


def provider_of(model_name: str | None) -> str | None:
    """The GenAI provider name a model name points to, if it plainly does.

    Example:
        >>> provider_of("claude-sonnet-4-5"), provider_of("my-finetune")
        ('anthropic', None)
    """
    if not model_name:
        return None
    name = model_name.lower().rsplit("/", 1)[-1]
    for pattern, provider in _PROVIDERS:
        if pattern.match(name):
            return provider
    return None


def bounded_json(value: Any, max_bytes: int) -> str:
    """``value`` as compact JSON, cut to ``max_bytes`` UTF-8 bytes with a mark.

    Example:
        >>> bounded_json({"draft": "x" * 100}, 64)
        '{"draft":"xxxxxxxxxxxxxxxxxxxxxx…[truncated: 112 bytes in all]'
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr)
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    mark = TRUNCATION_MARK % len(raw)
    keep = max(max_bytes - len(mark.encode("utf-8")), 0)
    return raw[:keep].decode("utf-8", "ignore") + mark


def ns(moment: datetime) -> int:
    """Nanoseconds since the epoch, exactly (no float rounding).

    Example:
        >>> ns(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC))
        1000005000
    """
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def thread_attributes(thread_id: str, invocation_id: str | None) -> Attributes:
    """The attributes every span of a thread carries.

    Example:
        >>> thread_attributes("t1", None)["gen_ai.conversation.id"]
        't1'
    """
    # The thread is LangGraph's conversation: GenAI calls it
    # gen_ai.conversation.id; Phoenix and Langfuse group by session.id.
    attributes: Attributes = {
        "langgraph.thread_id": thread_id,
        "gen_ai.conversation.id": thread_id,
        "session.id": thread_id,
    }
    if invocation_id:
        attributes["langgraph.invocation_id"] = invocation_id
    return attributes


def node_content(
    log: NodeRunLog, capture_io: bool, max_attribute_bytes: int
) -> tuple[Attributes, list[Event], Status | None]:
    """Attributes, events and status (``None``: unset) of a node run's span.

    Example:
        >>> from datetime import datetime, UTC
        >>> now = datetime(2026, 1, 1, tzinfo=UTC)
        >>> log = NodeRunLog(thread_id="t1", node_name="draft", status="success",
        ...     started_at=now, ended_at=now)
        >>> node_content(log, False, 16384)[0]["langgraph.node"]
        'draft'
    """
    attributes: Attributes = {
        "langgraph.node": log.node_name,
        "langgraph.status": log.status,
        **thread_attributes(log.thread_id, log.invocation_id),
    }
    for key, value in (
        ("langgraph.step", log.step),
        ("langgraph.checkpoint_ns", log.checkpoint_ns),
        ("langgraph.attempt", log.attempt),
    ):
        if value is not None:
            attributes[key] = value
    attributes.update(_usage_attributes(log))
    events = [_call_event(log, index) for index in range(len(log.token_usage))]
    status: Status | None = None
    if log.status == "error":
        error_type = log.error_type or "Exception"
        attributes["error.type"] = error_type
        message = log.error_message or ""
        status = Status(
            StatusCode.ERROR,
            "%s: %s" % (error_type, message) if message else error_type,
        )
        exception: Attributes = {
            "exception.type": error_type,
            "exception.message": message,
        }
        if log.error_traceback:
            exception["exception.stacktrace"] = log.error_traceback
        events.append(Event("exception", exception, ns(log.ended_at)))
    if log.interrupt_id:
        attributes["langgraph.interrupt_id"] = log.interrupt_id
    if log.status == "interrupted":
        details: Attributes = {}
        if log.interrupt_id:
            details["langgraph.interrupt_id"] = log.interrupt_id
        if capture_io and log.interrupt_value is not None:
            details["langgraph.interrupt_value"] = bounded_json(
                log.interrupt_value, max_attribute_bytes
            )
        events.append(Event(INTERRUPT_EVENT, details, ns(log.ended_at)))
    if log.resumed_interrupt_ids:
        attributes["langgraph.resumed_interrupt_ids"] = list(log.resumed_interrupt_ids)
    if capture_io:
        for key, snapshot in (
            ("langgraph.input_state", log.input_state),
            ("langgraph.output_state", log.output_state),
        ):
            if snapshot is not None:
                attributes[key] = bounded_json(snapshot, max_attribute_bytes)
    return attributes, events, status


def _usage_attributes(log: NodeRunLog) -> Attributes:
    """Token sums and models of a node's LLM calls (nothing without calls)."""
    calls = log.token_usage
    if not calls:
        return {}
    attributes: Attributes = {
        "langgraph.llm_calls": len(calls),
        "gen_ai.usage.input_tokens": log.total_prompt_tokens,
        "gen_ai.usage.output_tokens": log.total_completion_tokens,
    }
    unreported = sum(1 for usage in calls if not usage.usage_reported)
    if unreported:
        attributes["langgraph.llm_calls_without_usage"] = unreported
    models = list(dict.fromkeys(u.model_name for u in calls if u.model_name))
    if models:
        attributes["langgraph.models"] = models
    if len(models) == 1:
        # GenAI's model attributes are single strings: set only when the node
        # used one model; each call's event names its own.
        attributes["gen_ai.request.model"] = models[0]
        attributes["gen_ai.response.model"] = models[0]
        provider = provider_of(models[0])
        if provider:
            attributes["gen_ai.provider.name"] = provider
    return attributes


def _call_event(log: NodeRunLog, index: int) -> Event:
    """One LLM call as a span event, at the node's end (the call's own times
    are not recorded)."""
    usage = log.token_usage[index]
    attributes: Attributes = {"langgraph.call_index": index}
    if usage.model_name:
        attributes["gen_ai.request.model"] = usage.model_name
        attributes["gen_ai.response.model"] = usage.model_name
        provider = provider_of(usage.model_name)
        if provider:
            attributes["gen_ai.provider.name"] = provider
    attributes["langgraph.usage_reported"] = usage.usage_reported
    if usage.usage_reported:
        attributes["gen_ai.usage.input_tokens"] = usage.prompt_tokens
        attributes["gen_ai.usage.output_tokens"] = usage.completion_tokens
    return Event(LLM_CALL_EVENT, attributes, ns(log.ended_at))
