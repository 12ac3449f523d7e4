"""The README's promises: its quick start runs as pasted, its pictures and
licence exist, and the licence matches the package metadata."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from ._proc import SRC

ROOT = Path(SRC).parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_quick_start_runs_as_pasted(tmp_path: Path) -> None:
    """The quick start's code, saved and run in an empty folder, writes its
    thread, and the CLI line the README gives then shows it."""
    section = README.split("## Quick start", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    (tmp_path / "quickstart.py").write_text(code.group(1), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=SRC)
    env.pop("EDITORIAL_AI_LOG_DIR", None)  # the README's default folder
    subprocess.run([sys.executable, "quickstart.py"], cwd=tmp_path, env=env, check=True)
    lines = (tmp_path / "data" / "logs" / "quickstart.jsonl").read_text().splitlines()
    assert len(lines) == 2
    shown = subprocess.run(
        [sys.executable, "-m", "editorial_ai.observability", "runs"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    row = shown.splitlines()[1].split()
    assert row[:3] == ["quickstart", "completed", "2"]
    assert "150" in row and "$0.0000360" in row  # as the README's comment says
    assert "$0.0000360" in section and "150 tokens" in section


def test_set_up_commands_come_first_in_separate_environments() -> None:
    """The first code block holds the two set-up commands, each in its own venv."""
    first = re.search(r"```bash\n(.*?)```", README, re.S)
    assert first is not None
    commands = first.group(1).strip().splitlines()
    assert len(commands) == 2
    venvs = [re.search(r"python3 -m venv (\S+)", line) for line in commands]
    assert all(venvs) and venvs[0].group(1) != venvs[1].group(1)  # type: ignore[union-attr]
    assert commands[0].endswith("python examples/editorial_pipeline.py")
    assert commands[1].endswith("python -m pytest -q")


def test_pictures_and_licence_exist() -> None:
    """Every picture the README shows is in the repository; LICENSE is the
    MIT licence pyproject names."""
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert {"docs/viewer-list.png", "docs/viewer-thread.png"} <= set(pictures)
    assert {"docs/viewer-run.png", "docs/viewer-compare.png"} <= set(pictures)
    for picture in pictures:
        assert (ROOT / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", picture
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
