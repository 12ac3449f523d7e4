"""Server memory: the peak RSS of a real server for the worst API requests.

Run: python benchmarks/server_memory.py [--mb 282] [--src DIR] [--as-limit-gb 4]

Writes two threads (``big``: about ``--mb`` MB of node runs carrying a 100 KB
state each; ``mid``: 999 runs of 130 KB, just under the old streaming
threshold; ``--state items``, the default, makes those states lists of many
small values, ``--state text`` one long string), then for each request below
starts ``serve()`` in a fresh child process (under an address-space limit of
``--as-limit-gb``, so a runaway request fails instead of swapping the
machine), sends the request(s), reads every answer to the end, and reports
the child's peak resident memory (``VmHWM``), the statuses and the bytes
received, and whether the server was still answering afterwards.

``--src`` runs the server from another source tree (a checkout of an older
commit, say), which is how the "before" column of docs/performance.md is
measured: ``git worktree add /tmp/before <commit>`` then
``--src /tmp/before/src``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from workloads import synthetic_line

HERE = Path(__file__).resolve().parents[1] / "src"

SERVER = """
import resource, sys
limit = int(sys.argv[3])
if limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from editorial_ai.observability.api import serve
serve(log_dir=sys.argv[1], port=int(sys.argv[2]))
"""

REQUESTS: list[tuple[str, str, int]] = [
    ("idle (GET /api/threads)", "/api/threads", 1),
    (
        "big thread, limit=10^9, snapshots",
        "/api/thread/logs?thread_id=big&limit=1000000000",
        1,
    ),
    ("big thread, no limit (streamed)", "/api/thread/logs?thread_id=big", 1),
    ("mid thread (999 runs), no limit, x8", "/api/thread/logs?thread_id=mid", 8),
    (
        "mid thread, limit=10^9, x8",
        "/api/thread/logs?thread_id=mid&limit=1000000000",
        8,
    ),
]


def make_state(shape: str, state_bytes: int, run: int) -> dict[str, object]:
    if shape == "text":
        return {"document": "b" * state_bytes, "round": run}
    # Many small values, as real states hold (messages, search hits, notes):
    # their Python objects weigh many times their JSON.
    return {
        "round": run,
        "notes": [{"id": i, "text": "note"} for i in range(state_bytes // 26)],
    }


def write_thread(
    path: Path, thread_id: str, runs: int, state_bytes: int, shape: str
) -> int:
    written = 0
    with open(path, "wb") as handle:
        for run in range(runs):
            line = synthetic_line(thread_id, run, make_state(shape, state_bytes, run))
            handle.write(line)
            written += len(line)
    return written


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def peak_rss_mb(pid: int) -> float:
    try:
        text = Path("/proc/%d/status" % pid).read_text()
    except OSError:
        return float("nan")
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def get(port: int, path: str, timeout: float = 600) -> tuple[int | str, int]:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        connection.request("GET", path)
        response = connection.getresponse()
        size = 0
        while chunk := response.read(1 << 20):
            size += len(chunk)
        connection.close()
        return response.status, size
    except (OSError, http.client.HTTPException) as exc:
        return type(exc).__name__, 0


def measure(
    src: Path, log_dir: Path, path: str, copies: int, as_limit: int, timeout: float
) -> dict[str, object]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(src))
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(log_dir), str(port), str(as_limit)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while get(port, "/api/threads", timeout=5)[0] != 200:
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        idle = peak_rss_mb(child.pid)
        # Sampled while the requests run: a server killed by its limit has no
        # /proc entry left to read afterwards.
        seen = [idle]
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.wait(0.02):
                value = peak_rss_mb(child.pid)
                if value == value:  # not NaN
                    seen.append(value)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        results: list[tuple[int | str, int]] = []
        threads = [
            threading.Thread(target=lambda: results.append(get(port, path, timeout)))
            for _ in range(copies)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sampling.set()
        sampler.join()
        final = peak_rss_mb(child.pid)
        peak = max(seen + ([final] if final == final else []))
        alive = child.poll() is None and get(port, "/api/threads", 30)[0] == 200
        child.kill()  # a server stuck at its limit ignores SIGTERM
        return {
            "idle_mb": idle,
            "peak_mb": peak,
            "statuses": sorted({str(status) for status, _ in results}),
            "bytes": max(size for _, size in results),
            "alive": alive,
        }
    finally:
        child.kill()
        child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=282.0)
    parser.add_argument("--src", type=Path, default=HERE)
    parser.add_argument("--as-limit-gb", type=float, default=4.0)
    parser.add_argument("--only", type=int, nargs="*", help="these requests (0-4)")
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=300,
        help="seconds to wait for an answer (a server stuck at its limit)",
    )
    parser.add_argument(
        "--state",
        choices=["text", "items"],
        default="items",
        help="snapshots of one long string, or of many small values (default)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="server-memory-"))
    try:
        big = write_thread(
            work / "big.jsonl", "big", int(args.mb * 1e6 / 100_500), 100_000, args.state
        )
        mid = write_thread(work / "mid.jsonl", "mid", 999, 130_000, args.state)
        print(
            "server from %s; %s states; big.jsonl %.0f MB, mid.jsonl %.0f MB; "
            "RLIMIT_AS %.1f GB"
            % (args.src, args.state, big / 1e6, mid / 1e6, args.as_limit_gb)
        )
        print("| request | peak RSS (MB) | statuses | bytes sent | alive after |")
        print("|---|---|---|---|---|")
        for number, (label, path, copies) in enumerate(REQUESTS):
            if args.only and number not in args.only:
                continue
            found = measure(
                args.src,
                work,
                path,
                copies,
                int(args.as_limit_gb * (1 << 30)),
                args.request_timeout,
            )
            print(
                "| %s | %.0f (idle %.0f) | %s | %d | %s |"
                % (
                    label,
                    found["peak_mb"],
                    found["idle_mb"],
                    ", ".join(found["statuses"]),  # type: ignore[arg-type]
                    found["bytes"],
                    "yes" if found["alive"] else "no",
                ),
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
