"""Run a Python snippet in a child process, optionally under a fault recipe."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def free_port() -> int:
    """A loopback port free now, for a server a child process will bind."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def require(available: bool, what: str) -> None:
    """Go on only if ``available``. In CI (``$CI`` set, as ``.ci/run`` runs,
    as root) a missing requirement fails the test; elsewhere it is skipped
    with the reason, so the test suite runs on any developer machine."""
    if available:
        return
    message = "this test needs %s (CI has it)" % what
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require_root(*tools: str) -> None:
    """Root, ``unshare`` and the given tools: the real-fault recipes."""
    require(IS_ROOT, "root")
    for tool in ("unshare", *tools):
        require(shutil.which(tool) is not None, tool)


def run_python(
    code: str,
    *,
    log_dir: Path,
    prefix: Sequence[str] = (),
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with ``$EDITORIAL_AI_LOG_DIR`` set, under ``prefix``."""
    env = dict(os.environ)
    env["EDITORIAL_AI_LOG_DIR"] = str(log_dir)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [*prefix, sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


CHILD_PRELUDE = """
import logging, sys
from datetime import datetime, timedelta, UTC
from editorial_ai.observability import NodeRunLog, append_node_log, read_node_logs
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
T0 = datetime(2026, 3, 1, tzinfo=UTC)
def log(node, size=100, thread="t1"):
    return NodeRunLog(thread_id=thread, node_name=node, status="success",
        started_at=T0, ended_at=T0 + timedelta(milliseconds=1),
        input_state={"payload": "x" * size})
"""
