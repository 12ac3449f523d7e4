"""Record three node runs by hand and read them back.

Run: python examples/editorial_pipeline.py
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from editorial_ai.observability import (
    NodeRunLog,
    PipelineRunSummary,
    append_node_log,
    harvest_tokens,
    read_node_logs,
    record_token_usage,
    reset_token_collector,
)
from editorial_ai.observability.storage import thread_log_path


def run_node(thread_id: str, name: str, state: dict[str, str]) -> dict[str, str]:
    reset_token_collector()
    started = datetime.now(UTC)
    clock = time.perf_counter_ns()
    record_token_usage(120, 40, 160, "gpt-4o-mini", prompt_chars=480)
    update = {name: "done: " + state.get("topic", "")}
    elapsed = timedelta(microseconds=(time.perf_counter_ns() - clock) // 1000)
    append_node_log(
        NodeRunLog(
            thread_id=thread_id,
            node_name=name,
            status="success",
            started_at=started,
            ended_at=started + elapsed,
            token_usage=harvest_tokens(),
            input_state=state,
            output_state=update,
        )
    )
    return update


def main() -> None:
    thread_id = str(uuid.uuid4())
    state = {"topic": "AI in the newsroom"}
    for name in ("curation", "source", "editorial"):
        state.update(run_node(thread_id, name, state))
    logs = read_node_logs(thread_id)
    print("logs written to", thread_log_path(thread_id))
    for log in logs:
        print(f"{log.node_name:<12} {log.status:<8} {log.total_tokens:>6} tokens")
    summary = PipelineRunSummary.from_logs(thread_id, logs)
    print(f"{summary.status}: {summary.node_count} nodes, {summary.total_tokens} tokens")


if __name__ == "__main__":
    main()
