"""Nodes defined in a module with postponed annotations (strings)."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from typing_extensions import TypedDict

from editorial_ai.observability import node_wrapper


class PrivateInput(TypedDict):
    topic: str
    note: str


@node_wrapper
def reads_private(state: PrivateInput, config: RunnableConfig) -> dict[str, str]:
    """Takes a private input schema from its type hint, and the config."""
    return {
        "draft": "%s|%s|%s"
        % (state["topic"], state["note"], config["configurable"]["thread_id"])
    }
