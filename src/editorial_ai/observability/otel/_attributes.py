"""What each span says: attributes, events and status, after the conventions.

Two vocabularies are written side by side, so that both kinds of backend read
the same spans without a converter:

* OpenTelemetry's GenAI semantic conventions: the invocation root is an
  ``invoke_workflow`` operation, each LLM call a ``chat`` operation span with
  ``gen_ai.request.model``, ``gen_ai.provider.name`` and ``gen_ai.usage.input_tokens`` /
  ``output_tokens`` / ``cache_read.input_tokens`` /
  ``cache_creation.input_tokens`` / ``reasoning.output_tokens``; the thread is
  ``gen_ai.conversation.id``; errors are ``error.type`` plus an ``exception``
  event.
* OpenInference (Arize Phoenix and the backends that read it):
  ``openinference.span.kind`` (``CHAIN`` for the root and every node, ``LLM``
  for a call), ``llm.model_name``, ``llm.provider``, ``llm.system``,
  ``llm.token_count.*`` with the cache and reasoning details, ``session.id``,
  and ``input.value`` / ``output.value`` with ``application/json`` mime types.

Usage lives on the call spans only: a node span carries no token counts and
no model attribute, so a backend adding usage up over a trace counts every
call once, and a node that used two models shows both (one per call span).
Everything else is ours, under ``langgraph.``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry.sdk.trace import Event
from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from ..models import NodeRunLog, TokenUsage

INTERRUPT_EVENT = "langgraph.interrupt"
TRUNCATION_MARK = "…[truncated: %d bytes in all]"
MIN_ATTRIBUTE_BYTES = 64
JSON_MIME = "application/json"

Attributes = dict[str, AttributeValue]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OK = Status(StatusCode.OK)

# Best effort from the model name alone, for calls whose record names no
# provider; ``gen_ai.provider.name`` is left out when nothing matches.
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

# LangChain's provider names (``ls_provider``) as GenAI ``gen_ai.provider.name``
# values; a name not listed is passed on as it is.
_LANGCHAIN_TO_GENAI = {
    "google_genai": "gcp.gemini",
    "google_vertexai": "gcp.vertex_ai",
    "google_anthropic_vertex": "gcp.vertex_ai",
    "bedrock": "aws.bedrock",
    "amazon_bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "mistralai": "mistral_ai",
    "xai": "x_ai",
    "ibm": "ibm.watsonx.ai",
}

# GenAI provider names as OpenInference (``llm.provider``, ``llm.system``).
_GENAI_TO_OPENINFERENCE: dict[str, tuple[str, str | None]] = {
    "openai": ("openai", "openai"),
    "anthropic": ("anthropic", "anthropic"),
    "cohere": ("cohere", "cohere"),
    "mistral_ai": ("mistralai", "mistralai"),
    "deepseek": ("deepseek", None),
    "groq": ("groq", None),
    "perplexity": ("perplexity", None),
    "x_ai": ("xai", None),
    "azure.ai.openai": ("azure", "openai"),
    "azure.ai.inference": ("azure", None),
    "aws.bedrock": ("aws", None),
    "gcp.vertex_ai": ("google", "vertexai"),
    "gcp.gemini": ("google", None),
    "gcp.gen_ai": ("google", None),
    "ibm.watsonx.ai": ("ibm.watsonx.ai", None),
    # Served by a host of other vendors' models: the host is the provider.
    "fireworks": ("fireworks", None),
    "together": ("together", None),
    "ollama": ("ollama", None),
    "cerebras": ("cerebras", None),
}


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


def genai_provider(usage: TokenUsage) -> str | None:
    """``gen_ai.provider.name`` of a call: its recorded provider when it is one
    the conventions know, else what the model name plainly points to, else the
    recorded name as it is.

    The recorded provider is LangChain's ``ls_provider``: the client class's
    name for a provider, but for a stand-in or a home-made subclass whatever
    that class says (``genericfakechatmodel``), which a backend's price table
    cannot match.

    Example:
        >>> genai_provider(TokenUsage(provider="google_genai"))
        'gcp.gemini'
        >>> genai_provider(TokenUsage(provider="mymodel", model_name="gpt-4o"))
        'openai'
    """
    recorded = (usage.provider or "").strip().lower()
    if recorded:
        name = _LANGCHAIN_TO_GENAI.get(recorded, recorded)
        if name in _GENAI_TO_OPENINFERENCE:
            return name
    return provider_of(usage.model_name) or recorded or None


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


def state_json(value: Any, max_bytes: int) -> str:
    """A recorded snapshot as the JSON of ``input.value`` / ``output.value``.

    The snapshot is already redacted and bounded as in the JSONL, so it is sent
    as recorded. Past ``max_bytes`` it is cut again by the snapshot code, with
    the JSONL's own markers, so the value stays valid JSON; only if that still
    does not fit is the text cut with a mark.

    Example:
        >>> state_json({"topic": "AI"}, 16384)
        '{"topic":"AI"}'
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr)
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    from ..snapshot import SnapshotOptions, snapshot_state

    # Markers take up to a few hundred bytes beyond the bound (see snapshot).
    budget = max_bytes - min(512, max_bytes // 2)
    smaller = snapshot_state(value, SnapshotOptions(max_bytes=budget))
    return bounded_json(smaller, max_bytes)


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


def io_attributes(
    input_value: Any, output_value: Any, max_attribute_bytes: int
) -> Attributes:
    """OpenInference's input and output panels: JSON values with mime types.

    Example:
        >>> io_attributes({"topic": "AI"}, None, 16384)["input.mime_type"]
        'application/json'
    """
    attributes: Attributes = {}
    if input_value is not None:
        attributes["input.value"] = state_json(input_value, max_attribute_bytes)
        attributes["input.mime_type"] = JSON_MIME
    if output_value is not None:
        attributes["output.value"] = state_json(output_value, max_attribute_bytes)
        attributes["output.mime_type"] = JSON_MIME
    return attributes


def node_content(
    log: NodeRunLog, capture_io: bool, max_attribute_bytes: int
) -> tuple[Attributes, list[Event], Status | None]:
    """Attributes, events and status (``None``: unset) of a node run's span.

    A node span is OpenInference ``CHAIN``; its status is OK for ``success``
    and ``skipped``, ERROR for ``error``, and left unset for ``interrupted``
    (the run is waiting, neither done nor failed).

    Example:
        >>> from datetime import datetime, UTC
        >>> now = datetime(2026, 1, 1, tzinfo=UTC)
        >>> log = NodeRunLog(thread_id="t1", node_name="draft", status="success",
        ...     started_at=now, ended_at=now)
        >>> node_content(log, False, 16384)[0]["openinference.span.kind"]
        'CHAIN'
    """
    attributes: Attributes = {
        "openinference.span.kind": "CHAIN",
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
    calls = log.token_usage
    if calls:
        # Counts and names only: the usage itself is on the call spans.
        attributes["langgraph.llm_calls"] = len(calls)
        models = list(dict.fromkeys(u.model_name for u in calls if u.model_name))
        if models:
            attributes["langgraph.models"] = models
    events: list[Event] = []
    status: Status | None = _OK if log.status in ("success", "skipped") else None
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
        attributes.update(
            io_attributes(log.input_state, log.output_state, max_attribute_bytes)
        )
    return attributes, events, status


def call_content(
    log: NodeRunLog, index: int, estimated_times: bool
) -> tuple[str, Attributes, list[Event], Status]:
    """Name, attributes, events and status of one LLM call's span.

    The GenAI operation span (``chat {model}``) with OpenInference's ``LLM``
    attributes for the same facts. Token counts are set only when the
    provider reported usage (``langgraph.usage_reported``); cache and
    reasoning counts only when non-zero. A failed or aborted call is ERROR.

    Example:
        >>> from datetime import datetime, UTC
        >>> now = datetime(2026, 1, 1, tzinfo=UTC)
        >>> log = NodeRunLog(thread_id="t1", node_name="draft", status="success",
        ...     started_at=now, ended_at=now, token_usage=[TokenUsage(
        ...         prompt_tokens=10, completion_tokens=5, model_name="gpt-4o")])
        >>> name, attributes, _, _ = call_content(log, 0, True)
        >>> name, attributes["llm.token_count.total"]
        ('chat gpt-4o', 15)
    """
    usage = log.token_usage[index]
    model = usage.model_name
    attributes: Attributes = {
        "openinference.span.kind": "LLM",
        "gen_ai.operation.name": "chat",
        "langgraph.node": log.node_name,
        "langgraph.call_index": index,
        "langgraph.usage_reported": usage.usage_reported,
        "langgraph.call_times": "estimated" if estimated_times else "recorded",
        **thread_attributes(log.thread_id, log.invocation_id),
    }
    if model:
        # One name is recorded (the response's, else the request's), so it is
        # given once, as the request's: gen_ai.response.model would claim more,
        # and Phoenix shows it as the call's output ({"model": ...}).
        attributes["gen_ai.request.model"] = model
        attributes["llm.model_name"] = model
    provider = genai_provider(usage)
    if provider:
        attributes["gen_ai.provider.name"] = provider
        inference_provider, system = _GENAI_TO_OPENINFERENCE.get(
            provider, (provider, None)
        )
        attributes["llm.provider"] = inference_provider
        if system:
            attributes["llm.system"] = system
    if usage.run_id:
        attributes["langgraph.llm_run_id"] = usage.run_id
    if usage.routing_reason:
        attributes["langgraph.routing_reason"] = usage.routing_reason
    if usage.usage_reported:
        attributes.update(_usage_attributes(usage))
    events: list[Event] = []
    status = _OK
    if usage.status != "success":
        error_type = usage.error_type or usage.status
        attributes["error.type"] = error_type
        attributes["langgraph.call_status"] = usage.status
        status = Status(StatusCode.ERROR, "%s: %s" % (usage.status, error_type))
        when = usage.ended_at or log.ended_at
        events.append(Event("exception", {"exception.type": error_type}, ns(when)))
    return ("chat %s" % model if model else "chat"), attributes, events, status


def _usage_attributes(usage: TokenUsage) -> Attributes:
    """One call's tokens in both vocabularies."""
    attributes: Attributes = {
        "gen_ai.usage.input_tokens": usage.prompt_tokens,
        "gen_ai.usage.output_tokens": usage.completion_tokens,
        "llm.token_count.prompt": usage.prompt_tokens,
        "llm.token_count.completion": usage.completion_tokens,
        "llm.token_count.total": usage.total_tokens,
    }
    for count, genai, inference in (
        (
            usage.cached_tokens,
            "gen_ai.usage.cache_read.input_tokens",
            "llm.token_count.prompt_details.cache_read",
        ),
        (
            usage.cache_creation_tokens,
            "gen_ai.usage.cache_creation.input_tokens",
            "llm.token_count.prompt_details.cache_write",
        ),
        (
            usage.reasoning_tokens,
            "gen_ai.usage.reasoning.output_tokens",
            "llm.token_count.completion_details.reasoning",
        ),
    ):
        if count:
            attributes[genai] = count
            attributes[inference] = count
    for key, value in (
        ("langgraph.usage.cache_creation_5m_tokens", usage.cache_creation_5m_tokens),
        ("langgraph.usage.cache_creation_1h_tokens", usage.cache_creation_1h_tokens),
    ):
        if value:
            attributes[key] = value
    return attributes


def root_content(
    thread_id: str,
    invocation_id: str | None,
    outcome: str,
    failed: list[str],
    node_runs: int,
    io: Attributes,
) -> tuple[Attributes, Status | None]:
    """Attributes and status of an invocation's root span.

    ``CHAIN``, not ``AGENT``: a LangGraph graph is a workflow whose steps the
    code fixes, which is what OpenInference's ``CHAIN`` means (and what its own
    LangChain instrumentor reports for a graph run); ``AGENT`` is for a loop in
    which a model chooses tools. GenAI's matching operation is
    ``invoke_workflow``. OK when completed, ERROR when a node's latest run
    failed, unset when the invocation is waiting at an interrupt.

    Example:
        >>> attributes, status = root_content("t1", None, "completed", [], 3, {})
        >>> attributes["openinference.span.kind"], status.status_code.name
        ('CHAIN', 'OK')
    """
    attributes: Attributes = {
        "openinference.span.kind": "CHAIN",
        "gen_ai.operation.name": "invoke_workflow",
        "langgraph.status": outcome,
        "langgraph.node_runs": node_runs,
        **thread_attributes(thread_id, invocation_id),
        **io,
    }
    status: Status | None = None
    if failed:
        status = Status(StatusCode.ERROR, "failed: %s" % ", ".join(failed))
    elif outcome == "completed":
        status = _OK
    return attributes, status
