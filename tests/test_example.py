"""The example runs as documented and records what its tables show."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from editorial_ai.observability import list_threads, read_node_logs

from ._proc import SRC

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "editorial_pipeline.py"


def test_example_records_the_pipeline_the_agent_twice_and_the_workflow(
    log_dir: Path,
) -> None:
    """Four threads: the pipeline, the agent by instrument and by callbacks
    (the same records), and the functional workflow with its interrupt."""
    env = {**os.environ, "EDITORIAL_AI_LOG_DIR": str(log_dir), "PYTHONPATH": SRC}
    out = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    assert "recorded with record_nodes" in out.stdout
    threads = {thread.split("-")[0]: thread for thread in list_threads()}
    assert len(list_threads()) == 4
    agent_runs = [
        [(log.node_name, log.status, log.total_tokens) for log in read_node_logs(t)]
        for t in list_threads()
        if t.startswith("fact-check-")
    ]
    assert (
        agent_runs
        == [
            [
                ("agent", "success", 516),
                ("tools", "success", 0),
                ("agent", "success", 574),
            ]
        ]
        * 2
    )
    story = sorted(
        (log.node_name, log.status, log.total_tokens)
        for log in read_node_logs(threads["story"])
    )
    assert story == [
        ("package_story", "interrupted", 0),
        ("package_story", "success", 0),
        ("write_headline", "success", 232),
        ("write_summary", "success", 688),
    ]
    assert len(read_node_logs(threads["editorial"])) == 10
    # It ends with the commands to look at the pipeline's thread.
    *_, show, serve = out.stdout.strip().splitlines()
    assert show.split() == ["editorial-ai-obs", "show", threads["editorial"]]
    assert serve.split()[:2] == ["editorial-ai-obs", "serve"]
