"""Concurrent appends from threads and processes, and writers killed mid-line."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from editorial_ai.observability import append_node_log, read_node_logs

from ._proc import CHILD_PRELUDE, SRC
from .conftest import make_log


def count_lines(path: Path) -> tuple[int, int]:
    """(complete non-empty lines, lines that are valid records) of a file.

    Empty lines are allowed: a writer checking for a torn tail while another
    process is mid-write may add a newline that was not needed.
    """
    from editorial_ai.observability.storage import parse_lines

    data = path.read_bytes()
    complete = sum(1 for line in data.split(b"\n")[:-1] if line.strip())
    return complete, len(list(parse_lines(data, None)))


def test_eight_threads_large_lines_never_interleave(log_dir: Path) -> None:
    """8 threads appending 100 KB and 1 MB lines at once: zero corrupt lines."""
    barrier = threading.Barrier(8)
    per_thread = 6

    def writer(index: int) -> None:
        barrier.wait()
        for seq in range(per_thread):
            size = 1 << 20 if seq % 2 else 100_000
            payload = chr(ord("a") + index) * size
            append_node_log(
                make_log(node_name="w%d-%d" % (index, seq), input_state={"p": payload})
            )

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    logs = read_node_logs("t1")
    assert len(logs) == 8 * per_thread
    assert count_lines(log_dir / "t1.jsonl") == (48, 48)
    for log in logs:
        index = int(log.node_name[1:].split("-")[0])
        payload = log.input_state["p"]  # type: ignore[index]
        assert set(payload) == {chr(ord("a") + index)}


WRITER = (
    CHILD_PRELUDE
    + """
import threading
SIZES = (100, 64 * 1024, 1 << 20)
proc = int(sys.argv[1])
go = threading.Barrier(4)
def run(thread):
    go.wait()
    for seq in range(12):
        size = SIZES[seq % 3]
        append_node_log(log("p%d-t%d-s%d" % (proc, thread, seq), size=size))
threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
for t in threads: t.start()
for t in threads: t.join()
"""
)


def test_four_processes_four_threads_exact_count(log_dir: Path) -> None:
    """4 processes x 4 threads x {100 B, 64 KiB, 1 MiB}: exact count, 0 corrupt."""
    env = dict(os.environ, PYTHONPATH=SRC, EDITORIAL_AI_LOG_DIR=str(log_dir))
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(p)], env=env)
        for p in range(4)
    ]
    assert [proc.wait(timeout=300) for proc in procs] == [0, 0, 0, 0]
    logs = read_node_logs("t1")
    assert len(logs) == 4 * 4 * 12
    assert len({log.node_name for log in logs}) == 192
    assert count_lines(log_dir / "t1.jsonl") == (192, 192)
    sizes = {len(log.input_state["payload"]) for log in logs}  # type: ignore[index]
    assert sizes == {100, 64 * 1024, 1 << 20}


KILLED = (
    CHILD_PRELUDE
    + """
append_node_log(log("started"))
print("ready", flush=True)
seq = 0
while True:
    append_node_log(log("k%d" % seq, size=4 << 20))
    seq += 1
"""
)


def wait_for_growth(path: Path, by: int) -> None:
    """Return once ``path`` has grown by ``by`` bytes: the writer is mid-stream."""
    start = path.stat().st_size
    deadline = time.monotonic() + 30
    while path.stat().st_size < start + by:
        assert time.monotonic() < deadline, "writer made no progress"
        time.sleep(0.001)


def test_sigkill_loop_keeps_every_complete_record(log_dir: Path) -> None:
    """Writers killed mid-line: every complete line reads, the rest is torn tails."""
    env = dict(os.environ, PYTHONPATH=SRC, EDITORIAL_AI_LOG_DIR=str(log_dir))
    kills = 10
    for _ in range(kills):
        child = subprocess.Popen(
            [sys.executable, "-c", KILLED], env=env, stdout=subprocess.PIPE
        )
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        wait_for_growth(log_dir / "t1.jsonl", 1 << 20)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    append_node_log(make_log(node_name="after-kills"))
    data = (log_dir / "t1.jsonl").read_bytes()
    lines = data.split(b"\n")
    assert lines[-1] == b""
    logs = read_node_logs("t1")
    assert logs[-1].node_name == "after-kills"
    assert sum(log.node_name == "started" for log in logs) == kills
    torn = len([line for line in lines[:-1] if line]) - len(logs)
    assert 0 <= torn <= kills


def test_deleting_the_file_under_writing_threads_never_misdirects(
    log_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Threads appending while the file is deleted again and again: no closed
    descriptor is used, no line lands in another thread's file."""
    caplog.set_level(logging.WARNING, "editorial_ai.observability")
    stop = threading.Event()
    barrier = threading.Barrier(9)

    def writer(thread_id: str, count: int) -> None:
        barrier.wait()
        for seq in range(count):
            append_node_log(make_log(thread_id, node_name="w%d" % seq))

    def deleter() -> None:
        barrier.wait()
        while not stop.is_set():
            for name in ("t1.jsonl",):
                try:
                    os.unlink(log_dir / name)
                except FileNotFoundError:
                    pass
            time.sleep(0.0005)

    threads = [threading.Thread(target=writer, args=("t1", 300)) for _ in range(6)]
    threads += [threading.Thread(target=writer, args=("t2", 300)) for _ in range(2)]
    cleaner = threading.Thread(target=deleter)
    cleaner.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    cleaner.join()
    lines = (log_dir / "t2.jsonl").read_bytes().splitlines()
    assert len([line for line in lines if line.strip()]) == 600
    assert all(b'"thread_id":"t2"' in line for line in lines if line.strip())
    assert "EBADF" not in caplog.text
    append_node_log(make_log("t1", node_name="after"))
    assert read_node_logs("t1")[-1].node_name == "after"
