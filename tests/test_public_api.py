"""The public surface: names exported, and nothing heavy imported."""

from __future__ import annotations

import subprocess
import sys

import editorial_ai.observability as obs

from ._proc import SRC

PUBLIC = [
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


def test_all_is_pinned_and_sorted() -> None:
    """__all__ lists exactly the public names, sorted, all importable."""
    assert obs.__all__ == sorted(PUBLIC)
    for name in obs.__all__:
        assert getattr(obs, name).__doc__, name


def fresh_python(code: str) -> str:
    """What ``code`` prints in a new interpreter that sees only our sources."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": SRC},
        check=True,
    )
    return out.stdout.strip()


def test_plan_import_line() -> None:
    """The plan's verification import works (plan step 1)."""
    code = (
        "from editorial_ai.observability import NodeRunLog, TokenUsage, "
        "PipelineRunSummary, record_token_usage, harvest_tokens, append_node_log, "
        "read_node_logs; print('OK')"
    )
    assert fresh_python(code) == "OK"


def test_import_loads_no_server_or_otel() -> None:
    """Importing the package loads no FastAPI, uvicorn or OpenTelemetry module
    beyond what its own dependencies (LangGraph, LangChain) already load."""
    code = (
        "import sys\n"
        "import langgraph.graph, langchain_core.callbacks, langchain_core.messages\n"
        "before = set(sys.modules)\n"
        "import editorial_ai.observability\n"
        "heavy = [m for m in set(sys.modules) - before if m.split('.')[0] in "
        "('fastapi', 'uvicorn', 'starlette', 'opentelemetry')]\n"
        "print(sorted(heavy))"
    )
    assert fresh_python(code) == "[]"


def test_core_install_never_loads_duckdb() -> None:
    """The package, its CLI and the analytics package import without DuckDB:
    only the engine loads it, when a command asks for it."""
    code = (
        "import sys\n"
        "import editorial_ai.observability, editorial_ai.observability.cli\n"
        "import editorial_ai.observability.analytics\n"
        "import editorial_ai.observability.analytics.engine\n"
        "print('duckdb' in sys.modules)"
    )
    assert fresh_python(code) == "False"


def test_analytics_names_are_pinned() -> None:
    """The analytics package's public names, sorted, each documented."""
    import editorial_ai.observability.analytics as analytics

    assert analytics.__all__ == [
        "INSTALL_HINT",
        "AnalyticsUnavailable",
        "PruneResult",
        "merged_thread_summaries",
        "parse_age",
        "parse_moment",
        "prune_threads",
        "resolve_log_dirs",
    ]
    for name in analytics.__all__:
        assert getattr(analytics, name).__doc__, name
