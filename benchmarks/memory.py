"""Memory: a 1 GB thread file is served page by page, never held whole.

Run: python benchmarks/memory.py [--gb 1.0] [--keep DIR]

Writes one thread file of about ``--gb`` gigabytes (node runs carrying a
100 KB state each), then runs each read command in a child process and reports
its peak resident memory (``ru_maxrss``) next to the file size and next to a
child that only imports the package.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workloads import synthetic_line

from editorial_ai.observability.storage import thread_log_path

THREAD = "big-thread"


def write_thread(gigabytes: float) -> tuple[Path, int]:
    path = thread_log_path(THREAD)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "b" * 100_000
    target = int(gigabytes * 1e9)
    written = runs = 0
    with open(path, "wb") as handle:
        while written < target:
            line = synthetic_line(THREAD, runs, {"document": body, "round": runs})
            handle.write(line)
            written += len(line)
            runs += 1
    return path, runs


CHILD = """
import resource, sys
{body}
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""

API_GET = """
from fastapi.testclient import TestClient
from editorial_ai.observability.api import create_app
client = TestClient(create_app(), base_url="http://localhost")
total = 0
with client.stream("GET", "/api/threads/{thread}/logs", params={params}) as response:
    assert response.status_code == 200, response.status_code
    for chunk in response.iter_bytes():
        total += len(chunk)
assert total > 0
"""


def peak_mb(body: str, env: dict[str, str]) -> tuple[float, float]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", CHILD.format(body=body)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - start
    return int(result.stderr.strip().splitlines()[-1]) / 1024, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--keep", help="write the file here and keep it")
    args = parser.parse_args()
    directory = args.keep or tempfile.mkdtemp(prefix="obs-memory-")
    os.environ["EDITORIAL_AI_LOG_DIR"] = directory
    env = dict(os.environ)
    try:
        started = time.perf_counter()
        path, runs = write_thread(args.gb)
        size_mb = path.stat().st_size / 1e6
        print(
            "thread file: %.0f MB, %d node runs (written in %.1f s)"
            % (size_mb, runs, time.perf_counter() - started)
        )
        cli = "from editorial_ai.observability.cli import main\nimport os\n"
        cases = {
            "import only": "import editorial_ai.observability",
            "CLI runs": cli + "sys.stdout = open(os.devnull, 'w'); main(['runs'])",
            "CLI show --json": cli
            + "sys.stdout = open(os.devnull, 'w'); main(['show', %r, '--json'])"
            % THREAD,
            "CLI show --json --io": cli
            + "sys.stdout = open(os.devnull, 'w'); main(['show', %r, '--json', '--io'])"
            % THREAD,
            "API /logs?include_io=false": API_GET.format(
                thread=THREAD, params="{'include_io': 'false'}"
            ),
            "API /logs (snapshots)": API_GET.format(thread=THREAD, params="{}"),
            "API /summary": API_GET.replace("/logs", "/summary").format(
                thread=THREAD, params="{}"
            ),
        }
        print("%-28s %12s %10s" % ("reader (child process)", "peak RSS", "time"))
        for name, body in cases.items():
            mb, seconds = peak_mb(body, env)
            print("%-28s %9.0f MB %8.1f s" % (name, mb, seconds))
        print(
            "own peak (writer):            %.0f MB"
            % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        )
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
