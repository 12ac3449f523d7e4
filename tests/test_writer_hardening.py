"""Where and how lines are written: modes, the working directory, rotation."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from editorial_ai.observability import append_node_log, read_node_logs
from editorial_ai.observability._writer import close_all

from .conftest import make_log


@pytest.fixture(autouse=True)
def fresh_descriptors() -> Iterator[None]:
    """No descriptor cached by an earlier test."""
    close_all()
    yield
    close_all()


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common umask 022, which leaves 0644 and 0755 as they are."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_files_are_0600_and_a_created_folder_0700(
    log_dir: Path, usual_umask: None
) -> None:
    """Other local users can read neither the files nor the folder."""
    append_node_log(make_log())
    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((log_dir / "t1.jsonl").stat().st_mode) == 0o600


def test_relative_default_folder_follows_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the relative default data/logs, a line written after os.chdir
    lands under the new working directory."""
    monkeypatch.delenv("EDITORIAL_AI_LOG_DIR")
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    monkeypatch.chdir(first)
    append_node_log(make_log(node_name="one"))
    monkeypatch.chdir(second)
    append_node_log(make_log(node_name="two"))
    assert [r.node_name for r in read_node_logs("t1", first / "data/logs")] == ["one"]
    assert [r.node_name for r in read_node_logs("t1", second / "data/logs")] == ["two"]


def test_rotation_is_noticed_at_the_next_line(log_dir: Path) -> None:
    """A file renamed away (log rotation) gets no further line: the next one
    creates the file again at its path."""
    append_node_log(make_log(node_name="before"))
    rotated = log_dir / "t1.jsonl.1"
    os.rename(log_dir / "t1.jsonl", rotated)
    append_node_log(make_log(node_name="after"))
    assert [r.node_name for r in read_node_logs("t1")] == ["after"]
    assert rotated.read_bytes().count(b"\n") == 1


def test_file_replaced_under_its_name_is_noticed_at_the_next_line(
    log_dir: Path,
) -> None:
    """A file replaced by another one under the same name gets the next line."""
    append_node_log(make_log(node_name="before"))
    replacement = log_dir / "new.tmp"
    replacement.write_bytes(b"")
    os.replace(replacement, log_dir / "t1.jsonl")
    append_node_log(make_log(node_name="after"))
    assert [r.node_name for r in read_node_logs("t1")] == ["after"]
