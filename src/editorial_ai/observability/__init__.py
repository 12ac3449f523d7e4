"""Node-level observability for LangGraph pipelines.

Every node execution leaves one JSON line: how long it took, the tokens it
spent and on which model, the state that went in and came out, and how it
failed.

Example:
    >>> from editorial_ai.observability import read_node_logs
    >>> read_node_logs("no-such-thread")
    []
"""

from .callbacks import TokenUsageCallbackHandler
from .collector import harvest_tokens, record_token_usage, reset_token_collector
from .instrument import instrument
from .models import NodeRunLog, PipelineRunSummary, TokenUsage
from .node_wrapper import node_wrapper
from .pricing import thread_cost as _thread_cost  # noqa: F401 (sets from_logs' pricer)
from .storage import append_node_log, list_threads, read_node_logs

__all__ = [
    "NodeRunLog",
    "PipelineRunSummary",
    "TokenUsage",
    "TokenUsageCallbackHandler",
    "append_node_log",
    "harvest_tokens",
    "instrument",
    "list_threads",
    "node_wrapper",
    "read_node_logs",
    "record_token_usage",
    "reset_token_collector",
]
