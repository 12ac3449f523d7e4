"""Reading long lines: the time to index a thread whose one line is long.

Run: python benchmarks/long_lines.py [--mb 16 32 64] [--reps 3] [--src DIR]

For each size writes a thread file holding one valid node run of about that
many megabytes (one long state string) and a short run after it, then, in a
child process running the reader from ``--src`` (this tree by default), times
``thread_index`` on a cold index. Reports the median over ``--reps`` and the
time per megabyte: reading is linear when that figure stays flat as lines
grow. A line over ``MAX_LINE_BYTES`` (64 MiB) is skipped as corrupt, so sizes
above it measure the skip.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from editorial_ai.observability import NodeRunLog
from editorial_ai.observability.storage import encode_line

HERE = Path(__file__).resolve().parents[1] / "src"

CHILD = """
import sys, time
from editorial_ai.observability.reader import thread_index
began = time.perf_counter()
index = thread_index("t1", sys.argv[1])
print(time.perf_counter() - began, index.count if index else 0)
"""


def write(directory: Path, megabytes: int) -> int:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    run = NodeRunLog(
        thread_id="t1",
        node_name="long",
        status="success",
        started_at=moment,
        ended_at=moment,
        input_state={"document": "d" * (megabytes << 20)},
    )
    short = run.model_copy(update={"node_name": "short", "input_state": None})
    data = encode_line(run) + encode_line(short)
    (directory / "t1.jsonl").write_bytes(data)
    return len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--src", type=Path, default=HERE)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(args.src))
    print("reader from %s" % args.src)
    print("| line (MB) | runs read | median s | s per MB |")
    print("|---|---|---|---|")
    for megabytes in args.mb:
        directory = Path(tempfile.mkdtemp(prefix="long-lines-"))
        try:
            size = write(directory, megabytes)
            times = []
            count = 0
            for _ in range(args.reps):
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, str(directory)],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.split()
                times.append(float(out[0]))
                count = int(out[1])
            median = statistics.median(times)
            print(
                "| %d | %d | %.3f | %.4f |"
                % (megabytes, count, median, median / (size / (1 << 20))),
                flush=True,
            )
        finally:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
