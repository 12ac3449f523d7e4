"""JSONL storage: file names, round trips, and the reader's rules."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from editorial_ai.observability import (
    NodeRunLog,
    append_node_log,
    list_threads,
    read_node_logs,
)
from editorial_ai.observability.storage import (
    _log_dir,
    _log_path,
    parse_lines,
    thread_file_stem,
    thread_id_from_stem,
    thread_log_path,
)

from .conftest import make_log

HOSTILE_IDS = [
    "../x",
    "a/b",
    "/abs",
    ".",
    "..",
    "",
    "nul\x00byte",
    "한국어-스레드",
    "é",
    "e\u0301",
    "x" * 500,
    "가" * 90,
    "a~b",
    "~a",
    "%2e%2e%2f",
    "lone\ud83dsurrogate",
    "line\nbreak",
    "CON",
    " spaced ",
]


def strict_json(line: bytes) -> object:
    """Parse as strict JSON: NaN/Infinity and lone surrogates are errors."""

    def reject(token: str) -> object:
        raise ValueError("non-strict JSON constant %s" % token)

    text = line.decode("utf-8")  # strict: invalid UTF-8 raises
    return json.loads(text, parse_constant=reject)


def test_plan_round_trip(log_dir: Path) -> None:
    """A node run appended is read back equal (plan verification step 2)."""
    log = make_log(input_state={"topic": "AI"}, output_state={"draft": "..."})
    append_node_log(log)
    assert read_node_logs("t1") == [log]
    assert (log_dir / "t1.jsonl").is_file()


def test_appends_keep_file_order(log_dir: Path) -> None:
    """Several appends come back in the order written."""
    logs = [make_log(node_name="n%d" % i, start_ms=-i) for i in range(20)]
    for log in logs:
        append_node_log(log)
    assert [log.node_name for log in read_node_logs("t1")] == [
        "n%d" % i for i in range(20)
    ]


def test_one_line_per_record_of_strict_json(log_dir: Path) -> None:
    """Every line is one strict JSON object ending in a newline."""
    append_node_log(make_log(input_state={"nan": float("nan"), "s": "\ud83d"}))
    append_node_log(make_log(input_state={"inf": float("inf")}))
    data = (log_dir / "t1.jsonl").read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") == 2
    for line in data.splitlines():
        assert isinstance(strict_json(line), dict)


def test_uuid_is_its_own_file_name(log_dir: Path) -> None:
    """An id of letters, digits, - and _ names its file unchanged (as the plan)."""
    thread_id = "3f2b8c1e-9d4a-4c6e-8f00-1234567890ab"
    append_node_log(make_log(thread_id))
    assert (log_dir / (thread_id + ".jsonl")).is_file()
    assert _log_path(thread_id) == log_dir / (thread_id + ".jsonl")


def test_log_dir_follows_environment_at_every_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log directory is resolved per write, not cached at import."""
    for name in ("one", "two"):
        monkeypatch.setenv("EDITORIAL_AI_LOG_DIR", str(tmp_path / name))
        append_node_log(make_log())
        assert (tmp_path / name / "t1.jsonl").is_file()


def test_default_log_dir_is_data_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the variable the directory is data/logs under the cwd, created."""
    monkeypatch.delenv("EDITORIAL_AI_LOG_DIR")
    monkeypatch.chdir(tmp_path)
    assert _log_dir() == Path("data/logs")
    assert (tmp_path / "data" / "logs").is_dir()
    append_node_log(make_log())
    assert read_node_logs("t1") == [make_log()]


@pytest.mark.parametrize("thread_id", HOSTILE_IDS)
def test_stem_is_one_safe_component_and_reversible(thread_id: str) -> None:
    """A file name never holds a separator, is never . or .., fits, and inverts."""
    stem = thread_file_stem(thread_id)
    assert "/" not in stem and "\x00" not in stem and "\\" not in stem
    assert stem not in ("", ".", "..")
    assert len((stem + ".jsonl").encode()) <= 255
    assert thread_id_from_stem(stem) in (thread_id.replace("\ud83d", "\ufffd"), None)


def test_hostile_ids_stay_inside_and_apart(tmp_path: Path, log_dir: Path) -> None:
    """Each hostile id gets its own file in the log dir and reads back intact."""
    for index, thread_id in enumerate(HOSTILE_IDS):
        append_node_log(make_log(thread_id, node_name="n%d" % index))
        append_node_log(make_log(thread_id, node_name="m%d" % index))
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert all(p.parent == log_dir for p in files)
    assert len(files) == len(HOSTILE_IDS)
    for index, thread_id in enumerate(HOSTILE_IDS):
        logs = read_node_logs(thread_id)
        stored = thread_id.replace("\ud83d", "\ufffd")
        assert [log.node_name for log in logs] == ["n%d" % index, "m%d" % index]
        assert all(log.thread_id == stored for log in logs)


def test_lone_surrogate_id_is_written_as_replacement(log_dir: Path) -> None:
    """An id with a lone surrogate is stored, readable under its cleaned spelling."""
    thread_id = "lone\ud83dsurrogate"
    append_node_log(make_log(thread_id))
    files = list(log_dir.iterdir())
    assert len(files) == 1
    (line,) = files[0].read_bytes().splitlines()
    assert strict_json(line)["thread_id"] == "lone\ufffdsurrogate"  # type: ignore[index]
    assert [log.thread_id for log in read_node_logs(thread_id)] == [
        "lone\ufffdsurrogate"
    ]


def test_distinct_ids_never_share_a_file() -> None:
    """Ids that look alike (encoded forms, long prefixes) get distinct names."""
    ids = ["a/b", "a%2Fb", "~a%2Fb", "a_b", "a-b", "x" * 300, "x" * 301, "x" * 200]
    ids += ["y" * 250 + str(i) for i in range(50)]
    stems = {thread_file_stem(thread_id) for thread_id in ids}
    assert len(stems) == len(ids)


def test_reader_skips_other_threads_lines(log_dir: Path) -> None:
    """A line whose thread_id differs from the file's thread is not returned."""
    log_dir.mkdir(parents=True)
    mine, theirs = make_log("t1"), make_log("t2")
    (log_dir / "t1.jsonl").write_text(
        mine.model_dump_json() + "\n" + theirs.model_dump_json() + "\n"
    )
    assert read_node_logs("t1") == [mine]


def test_missing_directory_reads_empty(log_dir: Path) -> None:
    """No directory, no file: empty results, no exception."""
    assert not log_dir.exists()
    assert read_node_logs("t1") == []
    assert list_threads() == []


def test_corrupt_middle_line_costs_only_itself(
    log_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A garbage line is skipped with one warning; the lines around it read."""
    caplog.set_level(logging.WARNING, "editorial_ai.observability")
    first, last = make_log(node_name="a"), make_log(node_name="b")
    log_dir.mkdir(parents=True)
    (log_dir / "t1.jsonl").write_bytes(
        first.model_dump_json().encode()
        + b'\n{"thread_id": "t1", broken\n\xff\xfe garbage\n'
        + last.model_dump_json().encode()
        + b"\n"
    )
    assert read_node_logs("t1") == [first, last]
    assert len(caplog.records) == 1
    assert "2 corrupt line" in caplog.records[0].getMessage()


def test_unfinished_last_line_is_pending_not_corrupt(
    log_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A half-written last line is skipped without a warning."""
    caplog.set_level(logging.WARNING, "editorial_ai.observability")
    first, second = make_log(node_name="a"), make_log(node_name="b")
    line = second.model_dump_json().encode()
    log_dir.mkdir(parents=True)
    (log_dir / "t1.jsonl").write_bytes(
        first.model_dump_json().encode() + b"\n" + line[: len(line) // 2]
    )
    assert read_node_logs("t1") == [first]
    assert caplog.records == []


def test_complete_last_line_without_newline_is_read(log_dir: Path) -> None:
    """A hand-edited file missing its final newline still yields its last record."""
    log = make_log()
    log_dir.mkdir(parents=True)
    (log_dir / "t1.jsonl").write_text(log.model_dump_json())
    assert read_node_logs("t1") == [log]


def test_append_after_torn_line_reads_back(
    log_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A record appended after a torn fragment is not glued onto it."""
    first, fragment_source, after = (
        make_log(node_name="a"),
        make_log(node_name="torn"),
        make_log(node_name="b"),
    )
    append_node_log(first)
    with open(log_dir / "t1.jsonl", "ab") as handle:
        handle.write(fragment_source.model_dump_json().encode()[:77])
    append_node_log(after)
    assert read_node_logs("t1") == [first, after]
    assert len(caplog.records) == 1  # the fragment, now a corrupt line


def test_list_threads_newest_first(log_dir: Path) -> None:
    """Threads are listed by last write, newest first, hashed names included."""
    ids = ["old", "a/b", "z" * 400, "new"]
    for age, thread_id in zip((400, 300, 200, 100), ids, strict=True):
        append_node_log(make_log(thread_id))
        path = thread_log_path(thread_id)
        os.utime(path, (1_700_000_000 - age, 1_700_000_000 - age))
    assert list_threads() == list(reversed(ids))


def test_list_threads_ignores_foreign_files(log_dir: Path) -> None:
    """Other files, directories and symlinks in the log dir are not threads."""
    append_node_log(make_log("real"))
    (log_dir / "notes.txt").write_text("hi")
    (log_dir / "dir.jsonl").mkdir()
    (log_dir / "link.jsonl").symlink_to(log_dir / "real.jsonl")
    (log_dir / "~zz~deadbeef.jsonl").write_text("garbage\n")
    assert list_threads() == ["real"]


def test_invalid_directory_warns_and_does_not_raise(
    log_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A log dir that is a file: one warning, no exception (plan step 4)."""
    caplog.set_level(logging.WARNING, "editorial_ai.observability")
    log_dir.parent.mkdir(parents=True, exist_ok=True)
    log_dir.write_text("not a directory")
    append_node_log(make_log())
    assert read_node_logs("t1") == []
    assert list_threads() == []
    assert any("ENOTDIR" in r.getMessage() for r in caplog.records)


VALID = [make_log(node_name="n%d" % i, tokens=(i, i)) for i in range(4)]
VALID_LINES = [log.model_dump_json().encode() for log in VALID]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_reader_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    """Arbitrary file content never raises and yields only records of the thread."""
    previous = os.environ["EDITORIAL_AI_LOG_DIR"]
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, "t1.jsonl")
        path.write_bytes(data)
        os.environ["EDITORIAL_AI_LOG_DIR"] = directory
        try:
            logs = read_node_logs("t1")
        finally:
            os.environ["EDITORIAL_AI_LOG_DIR"] = previous
    assert all(isinstance(log, NodeRunLog) and log.thread_id == "t1" for log in logs)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(range(len(VALID_LINES))),
            st.binary(max_size=200).filter(lambda b: b"\n" not in b),
        ),
        max_size=12,
    ),
    st.booleans(),
)
def test_reader_returns_exactly_the_valid_lines(
    items: list[int | bytes], trailing_newline: bool
) -> None:
    """Valid lines among garbage lines are all returned, in order, and nothing else."""
    lines = [VALID_LINES[i] if isinstance(i, int) else i for i in items]
    data = b"\n".join(lines) + (b"\n" if trailing_newline and lines else b"")
    expected = [VALID[i] for i in items if isinstance(i, int)]
    got = list(parse_lines(data, "t1"))
    assert got == expected


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=sum(len(x) + 1 for x in VALID_LINES)))
def test_truncation_at_any_byte_gives_a_prefix(cut: int) -> None:
    """A file cut at any byte reads as a prefix of its records."""
    data = b"".join(line + b"\n" for line in VALID_LINES)[:cut]
    got = list(parse_lines(data, "t1"))
    assert got == VALID[: len(got)]
    complete = data.count(b"\n")
    assert len(got) in (complete, complete + 1)
