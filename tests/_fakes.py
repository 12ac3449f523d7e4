"""Fake chat models that report usage as real providers do (no network)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.language_models.llms import LLM
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, Generation, LLMResult


def reply(
    text: str, prompt: int, completion: int, model: str | None = "gpt-4o-mini"
) -> AIMessage:
    """An AI message carrying usage_metadata and a model name."""
    return AIMessage(
        content=text,
        usage_metadata={
            "input_tokens": prompt,
            "output_tokens": completion,
            "total_tokens": prompt + completion,
        },
        response_metadata={"model_name": model} if model else {},
    )


def chat_model(*replies: AIMessage, **kwargs: Any) -> GenericFakeChatModel:
    """A fake chat model answering with ``replies`` in turn."""
    return GenericFakeChatModel(messages=iter(replies), **kwargs)


class StreamingUsageModel(GenericFakeChatModel):
    """Streams words, then a last empty chunk with the call's usage."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for word in ("streamed", " words"):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word))
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata={
                    "input_tokens": self.prompt_tokens,
                    "output_tokens": self.completion_tokens,
                    "total_tokens": self.prompt_tokens + self.completion_tokens,
                },
                response_metadata={"model_name": "claude-sonnet-4-5"},
            )
        )


class LegacyUsageLLM(LLM):
    """An older-style integration: usage only in llm_output['token_usage']."""

    usage_key: str = "token_usage"

    @property
    def _llm_type(self) -> str:
        return "legacy-fake"

    def _call(self, prompt: str, stop: list[str] | None = None, **kwargs: Any) -> str:
        return "legacy answer"

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> LLMResult:
        if self.usage_key == "usage":
            usage = {"input_tokens": 21, "output_tokens": 8}
        else:
            usage = {"prompt_tokens": 21, "completion_tokens": 8, "total_tokens": 29}
        return LLMResult(
            generations=[[Generation(text="legacy answer")] for _ in prompts],
            llm_output={self.usage_key: usage, "model_name": "gpt-3.5-turbo-instruct"},
        )


class SilentModel(GenericFakeChatModel):
    """A provider that reports no usage at all."""


class ProviderDown(Exception):
    """What a provider outage looks like to the node."""


class FailingModel(GenericFakeChatModel):
    """A provider call that fails."""

    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        raise ProviderDown("503 from provider")


class ToolCallingModel(GenericFakeChatModel):
    """A chat model that accepts tools (a prebuilt agent binds them) and
    answers with the scripted messages, tool calls included."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ToolCallingModel:
        return self

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # Streamed like a provider: the words, then one chunk with the tool
        # calls and the call's usage (the generic fake drops tool calls).
        message = next(self.messages)
        assert isinstance(message, AIMessage)
        for word in str(message.content).split(" ") if message.content else ():
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=word))
            if run_manager is not None:
                run_manager.on_llm_new_token(word, chunk=chunk)
            yield chunk
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                tool_call_chunks=[
                    {
                        "name": call["name"],
                        "args": json.dumps(call["args"]),
                        "id": call["id"],
                        "index": index,
                        "type": "tool_call_chunk",
                    }
                    for index, call in enumerate(message.tool_calls)
                ],
                usage_metadata=message.usage_metadata,
                response_metadata=message.response_metadata,
            )
        )


def tool_call(
    name: str, args: dict[str, Any], call_id: str, usage: tuple[int, int]
) -> AIMessage:
    """An AI message asking for one tool call, with its call's usage."""
    prompt, completion = usage
    return AIMessage(
        content="",
        tool_calls=[{"name": name, "args": args, "id": call_id}],
        usage_metadata={
            "input_tokens": prompt,
            "output_tokens": completion,
            "total_tokens": prompt + completion,
        },
        response_metadata={"model_name": "gpt-4o-mini"},
    )
