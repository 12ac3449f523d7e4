"""Side by side with an application's own regular ``editorial_ai`` package.

This library's ``editorial_ai`` is a namespace package (no ``__init__.py``),
so it can share the name with the editorial pipeline it was written for. That
application ships a regular ``editorial_ai`` package (with an
``__init__.py``), which hides every other ``editorial_ai`` folder on the path
unless its ``__init__.py`` extends its ``__path__`` with
``pkgutil.extend_path``: the supported way, shown in the README. Each test
builds such an application in a temporary folder and imports both from a
fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from ._proc import SRC

EXTEND = """\
\"\"\"Editorial AI Worker - Multi-agent editorial content pipeline.\"\"\"

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
"""

PLAIN = '"""Editorial AI Worker - Multi-agent editorial content pipeline."""\n'

APP_GRAPH = """\
from editorial_ai.observability import node_wrapper, record_token_usage
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    topic: str


def curation(state: State) -> State:
    record_token_usage(
        prompt_tokens=900, completion_tokens=80, total_tokens=980,
        cached_tokens=600, model_name="gemini-2.5-flash",
        routing_reason="long context",
    )
    return {}


def build():
    builder = StateGraph(State)
    builder.add_node("curation", node_wrapper(node_name="curation")(curation))
    builder.add_edge(START, "curation")
    builder.add_edge("curation", END)
    return builder.compile()
"""

CHECK = """\
import editorial_ai
from editorial_ai.graph import build
from editorial_ai.observability import read_node_logs

build().invoke({"topic": "AI"}, {"configurable": {"thread_id": "side"}})
(log,) = read_node_logs("side")
(call,) = log.token_usage
print(editorial_ai.__doc__.split(" - ")[0], log.node_name, call.cached_tokens,
      call.routing_reason)
"""


def application(root: Path, init: str) -> Path:
    """The application's source folder: its regular ``editorial_ai``."""
    package = root / "app" / "src" / "editorial_ai"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(init)
    (package / "graph.py").write_text(APP_GRAPH)
    return package.parent


def run(path: list[str], log_dir: Path) -> subprocess.CompletedProcess[str]:
    # -S: no site-packages path hooks of this environment's own editable
    # install; the path is exactly the application's folder, then ours,
    # then the dependencies.
    dependencies = [p for p in sys.path if "site-packages" in p]
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([*path, *dependencies]),
        EDITORIAL_AI_LOG_DIR=str(log_dir),
    )
    return subprocess.run(
        [sys.executable, "-S", "-c", textwrap.dedent(CHECK)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_applications_package_extending_its_path_sees_ours(
    tmp_path: Path, log_dir: Path
) -> None:
    """With ``extend_path`` in the application's ``__init__``, its modules and
    ours import together, whichever comes first on the path."""
    app = application(tmp_path, EXTEND)
    for order, path in enumerate(([str(app), SRC], [SRC, str(app)])):
        result = run(path, log_dir / str(order))
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [
            "Editorial",
            "AI",
            "Worker",
            "curation",
            "600",
            "long",
            "context",
        ]


def test_without_extend_path_the_applications_package_hides_ours(
    tmp_path: Path, log_dir: Path
) -> None:
    """The reason for the step above: a plain regular package hides ours."""
    app = application(tmp_path, PLAIN)
    result = run([str(app), SRC], log_dir)
    assert result.returncode != 0
    assert "No module named 'editorial_ai.observability'" in result.stderr
