"""The shared read layer: incremental index, pages, summaries, costs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from editorial_ai.observability import (
    PipelineRunSummary,
    TokenUsage,
    append_node_log,
    read_node_logs,
)
from editorial_ai.observability.reader import (
    thread_index,
    thread_logs,
    thread_run,
    thread_summaries,
    thread_summary,
)

from .conftest import make_log


def write_thread(count: int, thread_id: str = "t1") -> None:
    for i in range(count):
        append_node_log(
            make_log(
                thread_id,
                node_name="n%d" % (i % 3),
                start_ms=(count - i) * 10,  # written newest-first
                input_state={"i": i, "blob": "x" * 100},
                output_state={"o": i},
            )
        )


def test_summary_equals_from_logs() -> None:
    """The streaming summary is what from_logs computes on the same runs."""
    write_thread(12)
    append_node_log(make_log(node_name="n1", status="error", start_ms=10_000))
    append_node_log(
        make_log(
            node_name="n9",
            tokens=None,
            token_usage=[
                TokenUsage(prompt_tokens=1000, completion_tokens=10, model_name="x-1"),
                TokenUsage(model_name="gpt-4o", usage_reported=False),
                TokenUsage(total_tokens=70, model_name="gpt-4o"),
            ],
        )
    )
    expected = PipelineRunSummary.from_logs("t1", read_node_logs("t1"))
    got = thread_summary("t1")
    assert got is not None
    assert got.model_dump(exclude={"estimated_cost_usd"}) == expected.model_dump(
        exclude={"estimated_cost_usd"}
    )
    assert got.estimated_cost_usd == pytest.approx(expected.estimated_cost_usd)
    assert got.status == "failed" and got.unpriced_tokens == 1010 + 70


def test_runs_are_chronological_with_positions() -> None:
    """Runs come oldest first; index is the file-order position."""
    write_thread(5)
    logs = thread_logs("t1")
    assert [run.index for run in logs.runs] == [4, 3, 2, 1, 0]
    starts = [run.started_at for run in logs.runs]
    assert starts == sorted(starts)
    assert logs.total_runs == 5


def test_ties_keep_file_order() -> None:
    """Runs that started at the same instant keep their file order."""
    for name in ("a", "b", "c"):
        append_node_log(make_log(node_name=name, start_ms=0))
    assert [run.node_name for run in thread_logs("t1").runs] == ["a", "b", "c"]


def test_include_io_false_leaves_snapshots_out() -> None:
    """Without include_io the runs carry no snapshots; with it they do."""
    write_thread(3)
    assert all(
        run.input_state is None for run in thread_logs("t1", include_io=False).runs
    )
    assert all(run.input_state for run in thread_logs("t1").runs)


def test_paging_and_summary_of_whole_thread() -> None:
    """limit/offset page the runs; the summary covers all of them."""
    write_thread(10)
    page = thread_logs("t1", limit=3, offset=4)
    assert [run.index for run in page.runs] == [5, 4, 3]
    assert page.summary is not None and page.summary.node_count == 10


def test_run_by_position() -> None:
    """thread_run returns the run at its file position, with snapshots."""
    write_thread(4)
    run = thread_run("t1", 2)
    assert run is not None and run.input_state == {"i": 2, "blob": "x" * 100}
    assert thread_run("t1", 4) is None and thread_run("t1", -1) is None
    assert thread_run("nope", 0) is None


def test_unknown_thread_is_empty() -> None:
    """An unknown thread has no runs and no summary."""
    logs = thread_logs("nope")
    assert logs.runs == [] and logs.summary is None
    assert thread_summary("nope") is None


def test_repeated_read_parses_only_appended_bytes(log_dir: Path) -> None:
    """After one more line, a refresh parses that line, not the file again."""
    write_thread(200)
    index = thread_index("t1")
    assert index is not None
    before = index.bytes_parsed
    assert before == (log_dir / "t1.jsonl").stat().st_size
    append_node_log(make_log(node_name="late", start_ms=99_999))
    line = (log_dir / "t1.jsonl").read_bytes().splitlines()[-1]
    index = thread_index("t1")
    assert index is not None
    assert index.bytes_parsed - before == len(line) + 1
    assert index.count == 201


def test_replaced_file_is_reindexed(log_dir: Path) -> None:
    """A file replaced (new inode) or truncated is indexed from scratch."""
    write_thread(5)
    assert thread_summary("t1").node_count == 5  # type: ignore[union-attr]
    path = log_dir / "t1.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    replacement = log_dir / "new.tmp"
    replacement.write_bytes(b"".join(lines[:2]))
    os.replace(replacement, path)
    assert thread_summary("t1").node_count == 2  # type: ignore[union-attr]


def test_unfinished_tail_then_completed(log_dir: Path) -> None:
    """A half-written last line is pending; once finished it is read."""
    write_thread(2)
    line = make_log(node_name="late").model_dump_json().encode()
    with open(log_dir / "t1.jsonl", "ab") as handle:
        handle.write(line[:40])
        handle.flush()
        assert thread_logs("t1").total_runs == 2
        handle.write(line[40:] + b"\n")
    assert thread_logs("t1").total_runs == 3


def test_corrupt_nan_and_surrogate_lines(log_dir: Path) -> None:
    """Corrupt lines, NaN and escaped lone surrogates never break a read."""
    write_thread(2)
    good = make_log(node_name="nan").model_dump_json()
    with open(log_dir / "t1.jsonl", "ab") as handle:
        handle.write(b"{garbage\n")
        handle.write(
            good.replace('"step":null', '"step":null,"x":NaN').encode() + b"\n"
        )
        handle.write(b'{"thread_id": "t1", "node_name": "\\ud83d"}\n')
    logs = thread_logs("t1")
    assert "nan" in [run.node_name for run in logs.runs]
    assert logs.total_runs == 3
    text = logs.model_dump_json()
    assert "NaN" not in text


def test_lone_surrogate_id_is_found() -> None:
    """An id with a lone surrogate finds its runs, as read_node_logs does."""
    append_node_log(make_log("a\ud83d"))
    assert len(read_node_logs("a\ud83d")) == 1
    logs = thread_logs("a\ud83d")
    assert logs.total_runs == 1 and logs.thread_id == "a\ufffd"
    assert thread_summary("a\ud83d") is not None
    assert thread_run("a\ud83d", 0) is not None
    assert '"thread_id":"a\ufffd"' in logs.model_dump_json()


def test_thread_summaries_newest_first(log_dir: Path) -> None:
    """Threads are listed most recently written first, with limit/offset."""
    for age, thread_id in ((300, "a"), (200, "b"), (100, "c")):
        append_node_log(make_log(thread_id))
        os.utime(log_dir / (thread_id + ".jsonl"), (1e9 - age, 1e9 - age))
    assert [s.thread_id for s in thread_summaries().threads] == ["c", "b", "a"]
    assert [s.thread_id for s in thread_summaries(limit=1, offset=1).threads] == ["b"]


def test_costs_per_run_and_thread() -> None:
    """A priced model gets a cost per run; an unknown one gives None."""
    append_node_log(
        make_log(
            node_name="priced",
            tokens=None,
            token_usage=[
                TokenUsage(
                    prompt_tokens=1_000_000,
                    completion_tokens=1_000_000,
                    model_name="gpt-4o",
                )
            ],
        )
    )
    append_node_log(
        make_log(
            node_name="unknown",
            start_ms=50,
            tokens=None,
            token_usage=[TokenUsage(prompt_tokens=5, model_name="house-model-7")],
        )
    )
    logs = thread_logs("t1")
    costs = {run.node_name: run.estimated_cost_usd for run in logs.runs}
    assert costs == {"priced": pytest.approx(12.5), "unknown": None}
    assert logs.summary is not None
    assert logs.summary.estimated_cost_usd == pytest.approx(12.5)
    assert logs.summary.unpriced_tokens == 5
