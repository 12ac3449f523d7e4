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


def react_agent(**kwargs: Any) -> Any:
    """A fresh ``create_react_agent`` graph: model -> word_count -> model.

    ``create_react_agent`` is deprecated in favour of langchain's
    ``create_agent`` (not a dependency here); its graph is what LangGraph
    still ships, so the warning is silenced.
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return create_react_agent(model, [word_count], **kwargs)


def contents(messages: list[BaseMessage]) -> list[tuple[str, Any]]:
    """What a conversation says, without ids that differ from run to run."""
    return [(m.type, m.content) for m in messages]


EXPECTED = [
    ("human", "How many words in 'local newsrooms use AI'?"),
    ("ai", ""),
    ("tool", "4"),
    ("ai", "It has 4 words."),
]
