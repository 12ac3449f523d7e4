"""A prebuilt ReAct agent over a fake tool-calling model, and what it answers."""

from __future__ import annotations

import warnings
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.tools import tool
from langgraph.prebuilt import create_react_agent

from ._fakes import ToolCallingModel, reply, tool_call

QUESTION = {"messages": [("user", "How many words in 'local newsrooms use AI'?")]}
FIRST_CALL = (120, 18)
"""Usage of the model call that asks for the tool."""
SECOND_CALL = (160, 9)
"""Usage of the model call that answers."""


@tool
def word_count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


FACTORIES = ["create_react_agent", "create_agent"]
"""LangGraph's prebuilt agent, and its successor in langchain (dev extra)."""

MODEL_NODE = {"create_react_agent": "agent", "create_agent": "model"}
"""What each factory calls the node that calls the model."""


def react_agent(factory: str = "create_react_agent", **kwargs: Any) -> Any:
    """A fresh ReAct agent graph: model -> word_count -> model.

    ``create_react_agent`` is deprecated in favour of langchain's
    ``create_agent``; LangGraph still ships it, so the warning is silenced.
    """
    model = ToolCallingModel(
        messages=iter(
            [
                tool_call(
                    "word_count", {"text": "local newsrooms use AI"}, "c1", FIRST_CALL
                ),
                reply("It has 4 words.", *SECOND_CALL),
            ]
        )
    )
    if factory == "create_agent":
        from langchain.agents import create_agent

        return create_agent(model, [word_count], **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return create_react_agent(model, [word_count], **kwargs)


def agent_records(factory: str) -> list[tuple[str, str, int]]:
    """(node, status, tokens) of one run of the agent answering QUESTION."""
    model_node = MODEL_NODE[factory]
    return [
        (model_node, "success", sum(FIRST_CALL)),
        ("tools", "success", 0),
        (model_node, "success", sum(SECOND_CALL)),
    ]


def contents(messages: list[BaseMessage]) -> list[tuple[str, Any]]:
    """What a conversation says, without ids that differ from run to run."""
    return [(m.type, m.content) for m in messages]


EXPECTED = [
    ("human", "How many words in 'local newsrooms use AI'?"),
    ("ai", ""),
    ("tool", "4"),
    ("ai", "It has 4 words."),
]
