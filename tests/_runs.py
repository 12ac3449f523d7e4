"""A run's config with the default handler, and what the run recorded."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from editorial_ai.observability import TokenUsageCallbackHandler, read_node_logs


def cfg(thread_id: str = "t1", **extra: Any) -> RunnableConfig:
    """A config for thread_id with one default handler, plus extra keys."""
    return {
        "configurable": {"thread_id": thread_id},
        "callbacks": [TokenUsageCallbackHandler()],
        **extra,
    }


def records(thread_id: str = "t1") -> list[tuple[str, str, int]]:
    """(node, status, total tokens) of each record of the thread, in order."""
    return [
        (log.node_name, log.status, log.total_tokens)
        for log in read_node_logs(thread_id)
    ]
