"""The CLI prints recorded values, never terminal control sequences."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from editorial_ai.observability import TokenUsage, append_node_log

from ._proc import SRC
from .conftest import make_log

CLIPBOARD = "\x1b]52;c;ZWNobyBwd25lZA==\x07"  # OSC 52: write the clipboard
LINK = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"  # OSC 8
TITLE = "\x1b]0;owned\x07"  # OSC 0: window title
CLEAR = "\x1b[2J\x1b[H"  # CSI 2J: clear the screen
C1 = "\x9b31m\x9d0;title\x9c\x7f"  # 8-bit CSI and OSC, ST, DEL
THREAD = "thread" + TITLE + C1
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def run_cli(*args: str, log_dir: Path) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PYTHONPATH=SRC, EDITORIAL_AI_LOG_DIR=str(log_dir))
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "editorial_ai.observability", *args],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture
def hostile_thread(log_dir: Path) -> str:
    """A thread whose every printed field carries control sequences."""
    append_node_log(
        make_log(
            THREAD,
            node_name="draft" + CLEAR,
            status="error",
            error_type="Boom" + LINK,
            error_message="tool said " + CLIPBOARD + "\nsecond line" + C1,
            error_traceback="Traceback:\n  File " + TITLE + "\nBoom: x",
            token_usage=[TokenUsage(prompt_tokens=1, model_name="gpt" + LINK)],
            tokens=None,
        )
    )
    return THREAD


@pytest.mark.parametrize("command", ["runs", "show"])
def test_text_output_has_no_control_characters(
    hostile_thread: str, log_dir: Path, command: str
) -> None:
    """runs and show print every control character but newlines escaped."""
    args = [command] if command == "runs" else [command, hostile_thread, "--io"]
    result = run_cli(*args, log_dir=log_dir)
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode("utf-8")
    assert UNSAFE.search(text) is None, ascii(text)
    assert "\\x1b]0;owned\\x07" in text  # shown, as text


def test_error_line_has_no_control_characters(log_dir: Path) -> None:
    """The one-line error on stderr escapes the thread id it quotes."""
    append_node_log(make_log("other"))
    result = run_cli("show", "nope" + CLEAR + C1, log_dir=log_dir)
    assert result.returncode == 1
    assert UNSAFE.search(result.stderr.decode("utf-8").rstrip("\n")) is None


@pytest.mark.parametrize("command", ["runs", "show"])
def test_json_output_is_the_same_json_without_raw_controls(
    hostile_thread: str, log_dir: Path, command: str
) -> None:
    """--json is exact JSON of the very values, with no raw control byte."""
    args = [command] if command == "runs" else [command, hostile_thread]
    result = run_cli(*args, "--json", log_dir=log_dir)
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode("utf-8")
    assert UNSAFE.search(text.replace("\n", "")) is None
    body = json.loads(text)
    if command == "runs":
        assert body["threads"][0]["thread_id"] == THREAD
    else:
        (run,) = body["runs"]
        assert run["thread_id"] == THREAD and run["node_name"] == "draft" + CLEAR
        assert run["error_message"].endswith(C1)


def test_escapes_keep_newlines_and_json_values() -> None:
    """Text escapes show each control as \\xNN; JSON escapes mean the same."""
    from editorial_ai.observability._terminal import escape_json, escape_text

    assert escape_text("a\x1b[2J\tb\nc\x9b") == "a\\x1b[2J\\x09b\nc\\x9b"
    document = json.dumps({"k": "x\x9by\x7f"}, ensure_ascii=False)
    assert json.loads(escape_json(document)) == {"k": "x\x9by\x7f"}
