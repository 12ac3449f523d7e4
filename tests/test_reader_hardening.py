"""The read side against bad records, many threads, foreign files, long lines."""

from __future__ import annotations

import json
import logging
import operator
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain_core.messages import AIMessage, AnyMessage
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from editorial_ai.observability import (
    append_node_log,
    node_wrapper,
    read_node_logs,
    reader,
)
from editorial_ai.observability.cli import main
from editorial_ai.observability.reader import (
    thread_index,
    thread_logs,
    thread_summaries,
)
from editorial_ai.observability.storage import encode_line

from .conftest import make_log


def _rchar() -> int:
    """Bytes this process has read through read() system calls so far."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


class Chat(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], operator.add]


def _huge_usage_graph() -> Any:
    @node_wrapper
    def answer(state: Chat) -> dict[str, Any]:
        message = AIMessage(
            "hi",
            usage_metadata={
                "input_tokens": 10**400,
                "output_tokens": 3,
                "total_tokens": 10**400 + 3,
            },
        )
        return {"messages": [message]}

    builder = StateGraph(Chat)
    builder.add_node(answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder.compile()


# -- one record never hides the rest (issue 10, point 2) ------------------------


def test_huge_token_count_is_refused_at_write(log_dir: Path) -> None:
    """A message claiming 10**400 tokens is recorded with the count refused."""
    graph = _huge_usage_graph()
    graph.invoke({"messages": []}, {"configurable": {"thread_id": "huge"}})
    append_node_log(make_log("other"))
    (run,) = read_node_logs("huge")
    assert [u.prompt_tokens for u in run.token_usage] == [0]
    listed = {s.thread_id for s in thread_summaries().threads}
    assert listed == {"huge", "other"}


@pytest.mark.parametrize(
    "field, value",
    [
        ("started_at", "0001-01-01T00:00:00+05:00"),
        ("ended_at", "9999-12-31T23:59:59-05:00"),
        ("prompt_tokens", 10**400),
        ("total_tokens", 2**53),
    ],
    ids=["date-before-utc", "date-after-utc", "tokens-10e400", "tokens-2e53"],
)
def test_out_of_range_line_costs_only_itself(
    log_dir: Path, caplog: pytest.LogCaptureFixture, field: str, value: object
) -> None:
    """A line with a date or count out of range is one corrupt line: its
    thread and every other thread are still listed and read."""
    append_node_log(make_log("good"))
    append_node_log(make_log("mixed", node_name="before"))
    record = json.loads(encode_line(make_log("mixed", node_name="bad")))
    if field in ("started_at", "ended_at"):
        record[field] = value
    else:
        record["token_usage"][0][field] = value
    with open(log_dir / "mixed.jsonl", "a") as handle:
        handle.write(json.dumps(record) + "\n")
    append_node_log(make_log("mixed", node_name="after", start_ms=5))
    with caplog.at_level(logging.WARNING, "editorial_ai.observability"):
        listing = thread_summaries()
        logs = thread_logs("mixed")
    assert sorted(s.thread_id for s in listing.threads) == ["good", "mixed"]
    assert [r.node_name for r in logs.runs] == ["before", "after"]
    assert "corrupt" in caplog.text
    assert main(["runs", "--log-dir", str(log_dir)]) == 0


# -- listing cost (point 3) -----------------------------------------------------


def test_listing_many_threads_twice_reads_nothing_again(log_dir: Path) -> None:
    """With more threads than the old 256-entry cache, a second listing
    parses no line again and reads no file's bytes."""
    lines = b"".join(encode_line(make_log("t")) for _ in range(3))
    log_dir.mkdir()
    for i in range(300):
        thread_id = "t%03d" % i
        (log_dir / (thread_id + ".jsonl")).write_bytes(
            lines.replace(b'"thread_id":"t"', b'"thread_id":"%s"' % thread_id.encode())
        )
    first = thread_summaries()
    assert len(first.threads) == 300
    indexes = {key: index for key, index in reader._indexes.items()}
    parsed = {key: index.bytes_parsed for key, index in indexes.items()}
    before = _rchar()
    second = thread_summaries()
    read = _rchar() - before
    assert second == first
    assert all(reader._indexes.get(key) is index for key, index in indexes.items())
    assert {key: index.bytes_parsed for key, index in indexes.items()} == parsed
    assert read < 64 * 1024  # the directory listing itself, no file content


def test_foreign_file_is_not_read_on_each_listing(log_dir: Path) -> None:
    """A file in the folder that is no thread file is read once, not on every
    listing; read again when it changes."""
    append_node_log(make_log("t1"))
    foreign = log_dir / "export.2026-01.jsonl"  # no thread file name
    foreign.write_bytes(b"not a record " * 400_000 + b"\n")  # 5 MB, one line
    assert [s.thread_id for s in thread_summaries().threads] == ["t1"]
    before = _rchar()
    assert [s.thread_id for s in thread_summaries().threads] == ["t1"]
    assert _rchar() - before < 1 << 20
    with open(foreign, "ab") as handle:
        handle.write(b"changed\n")
    before = _rchar()
    assert [s.thread_id for s in thread_summaries().threads] == ["t1"]
    assert _rchar() - before >= foreign.stat().st_size


# -- long lines (point 4) ---------------------------------------------------------


def test_line_over_the_bound_is_skipped_with_a_warning(
    log_dir: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A valid line longer than MAX_LINE_BYTES is skipped as corrupt with a
    warning; the lines around it are read."""
    monkeypatch.setattr(reader, "MAX_LINE_BYTES", 1 << 20)
    append_node_log(make_log(node_name="before"))
    append_node_log(make_log(node_name="big", input_state={"x": "y" * (3 << 20)}))
    append_node_log(make_log(node_name="after", start_ms=1))
    with caplog.at_level(logging.WARNING, "editorial_ai.observability"):
        logs = thread_logs("t1")
    assert [r.node_name for r in logs.runs] == ["before", "after"]
    assert "over %d bytes" % (1 << 20) in caplog.text


def test_unterminated_tail_is_not_scanned_again(log_dir: Path) -> None:
    """An unterminated last line is read once; a refresh with no new bytes
    reads nothing, and a refresh after an append reads only the tail."""
    append_node_log(make_log(node_name="done"))
    with open(log_dir / "t1.jsonl", "ab") as handle:
        handle.write(b'{"thread_id": "t1", "node_name": "' + b"z" * (4 << 20))
    index = thread_index("t1")
    assert index is not None and index.count == 1
    before = _rchar()
    for _ in range(5):
        index = thread_index("t1")
    assert index is not None and index.count == 1
    assert _rchar() - before < 64 * 1024
