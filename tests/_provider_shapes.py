"""Provider answers in each provider's documented shapes, for the local server.

OpenAI Chat Completions: a ``chat.completion`` with ``usage`` (cached prompt
tokens in ``prompt_tokens_details.cached_tokens``, reasoning in
``completion_tokens_details.reasoning_tokens``, both parts of their totals);
streamed as ``chat.completion.chunk`` events, the usage in a last chunk with
no choices when ``stream_options.include_usage`` is asked for, then
``[DONE]``.

Anthropic Messages: a ``message`` whose ``usage.input_tokens`` excludes the
tokens read from the cache (``cache_read_input_tokens``) and written to it
(``cache_creation_input_tokens``, split by duration in ``cache_creation``);
streamed as ``message_start`` ... ``message_delta`` (cumulative usage) and
``message_stop`` events.

Gemini ``generateContent``: ``usageMetadata`` whose ``promptTokenCount``
includes ``cachedContentTokenCount`` and whose ``thoughtsTokenCount`` is
apart from ``candidatesTokenCount``; ``streamGenerateContent?alt=sse`` sends
one response per event, each with the usage so far.
"""

from __future__ import annotations

from typing import Any

from ._provider_server import Answer


def openai_usage(
    prompt: int, completion: int, cached: int = 0, reasoning: int = 0
) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def openai_completion(
    model: str,
    text: str | None,
    usage: dict[str, Any] | None,
    tool_call: tuple[str, str] | None = None,
    answer_id: str = "chatcmpl-1",
) -> Answer:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_call is not None:
        name, arguments = tool_call
        message["tool_calls"] = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        ]
    body: dict[str, Any] = {
        "id": answer_id,
        "object": "chat.completion",
        "created": 1_767_225_600,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if tool_call else "stop",
            }
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return Answer(body=body)


def openai_stream(model: str, words: list[str], usage: dict[str, Any]) -> Answer:
    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-2",
            "object": "chat.completion.chunk",
            "created": 1_767_225_600,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    events: list[tuple[str | None, Any]] = [
        (None, chunk({"role": "assistant", "content": ""}, None))
    ]
    events += [(None, chunk({"content": word}, None)) for word in words]
    events.append((None, chunk({}, "stop")))
    events.append(
        (
            None,
            {
                "id": "chatcmpl-2",
                "object": "chat.completion.chunk",
                "created": 1_767_225_600,
                "model": model,
                "choices": [],
                "usage": usage,
            },
        )
    )
    events.append((None, "[DONE]"))
    return Answer(events=events)


def openai_rate_limited() -> Answer:
    # retry-after-ms: the client waits this long before its retry.
    return Answer(
        status=429,
        headers={"retry-after-ms": "10", "x-should-retry": "true"},
        body={
            "error": {
                "message": "Rate limit reached for requests",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        },
    )


def anthropic_rate_limited() -> Answer:
    return Answer(
        status=429,
        headers={"retry-after-ms": "10", "x-should-retry": "true"},
        body={
            "type": "error",
            "error": {"type": "rate_limit_error", "message": "Rate limited"},
        },
    )


def anthropic_usage(
    uncached_input: int,
    output: int,
    cache_read: int = 0,
    write_5m: int = 0,
    write_1h: int = 0,
) -> dict[str, Any]:
    return {
        "input_tokens": uncached_input,
        "output_tokens": output,
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": write_5m + write_1h,
        "cache_creation": {
            "ephemeral_5m_input_tokens": write_5m,
            "ephemeral_1h_input_tokens": write_1h,
        },
    }


def anthropic_message(model: str, text: str, usage: dict[str, Any]) -> Answer:
    return Answer(
        body={
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }
    )


def anthropic_stream(
    model: str,
    words: list[str],
    usage: dict[str, Any],
    cut_after: int | None = None,
) -> Answer:
    start_usage = dict(usage, output_tokens=1)
    events: list[tuple[str | None, Any]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_02",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": start_usage,
                },
            },
        ),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
    ]
    events += [
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": word},
            },
        )
        for word in words
    ]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": usage,
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return Answer(events=events, cut_after=cut_after)


def gemini_usage(
    prompt: int, candidates: int, cached: int = 0, thoughts: int = 0
) -> dict[str, Any]:
    usage = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts,
    }
    if cached:
        usage["cachedContentTokenCount"] = cached
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return usage


def _gemini_response(
    model: str, text: str, usage: dict[str, Any], finish: bool
) -> dict[str, Any]:
    candidate: dict[str, Any] = {
        "content": {"role": "model", "parts": [{"text": text}]},
        "index": 0,
    }
    if finish:
        candidate["finishReason"] = "STOP"
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": "resp-1",
    }


def gemini_content(model: str, text: str, usage: dict[str, Any] | None) -> Answer:
    body = _gemini_response(model, text, usage or {}, True)
    if usage is None:
        del body["usageMetadata"]
    return Answer(body=body)


def gemini_stream(
    model: str, parts: list[tuple[str, dict[str, Any]]], cut_after: int | None = None
) -> Answer:
    events: list[tuple[str | None, Any]] = [
        (None, _gemini_response(model, text, usage, index == len(parts) - 1))
        for index, (text, usage) in enumerate(parts)
    ]
    return Answer(events=events, cut_after=cut_after)
