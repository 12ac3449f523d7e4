"""Across-threads figures on a generated history of about 1 GB, measured.

Generates (or takes) the history of ``benchmarks/history.py``: 10,000
threads, 100,000 node runs, about 200,000 LLM calls. Then, in one run, side
by side:

* ``stats --since 7d`` cold: a new ``editorial-ai-obs`` process, with
  ``--no-cache`` (DuckDB reads every file) and with its cache filled by an
  earlier command (it lists the files and reads none); against the same
  figures computed by streaming the files in plain Python (the library's own
  line parser, ``NodeRunHead``, and ``pricing.cost_of_usage``), also in a new
  process. Runs interleaved.
* warm, in one process that keeps its engine: the same question again (no
  file changed: the folders are listed, nothing is read), and a new question
  each time (another node: the queries run); the streaming baseline has no
  memory, so its warm run reads everything again.
* ``GET /api/stats?since=7d&node=...`` warm, through a real uvicorn server.
* peak RSS of each process.

The page cache is warm in every case (the files were just written or read):
"cold" is a process that has read nothing yet. Numbers are medians; ratios
against the baseline are what to compare across machines.

    python benchmarks/analytics.py                     # generate, measure, delete
    python benchmarks/analytics.py --history DIR       # an existing history
    python benchmarks/analytics.py --screenshot docs/stats-page.png
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = str(HERE.parent / "src")

STREAMING = r"""
import math, os, sys, time, resource
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pydantic import ValidationError
from editorial_ai.observability.models import NodeRunHead
from editorial_ai.observability.pricing import cost_of_usage, load_price_table

folder, repeats = sys.argv[1], int(sys.argv[2])
def once():
    since = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=7)
    table = load_price_table()
    durations = defaultdict(list)
    errors = defaultdict(int)
    tokens = defaultdict(lambda: [0, 0, 0, 0])
    priced = defaultdict(list)
    unpriced = defaultdict(int)
    threads = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".jsonl"):
            continue
        with open(os.path.join(folder, name), "rb") as handle:
            for line in handle:
                try:
                    run = NodeRunHead.model_validate_json(line)
                except ValidationError:
                    continue
                if run.started_at < since:
                    continue
                node = run.node_name
                durations[node].append(run.duration_ms)
                errors[node] += run.status == "error"
                cost = 0.0
                for usage in run.token_usage:
                    figures = tokens[node]
                    figures[0] += usage.prompt_tokens
                    figures[1] += usage.completion_tokens
                    figures[2] += usage.cached_tokens
                    figures[3] += usage.reasoning_tokens
                    value = cost_of_usage(usage, table)
                    if value is None:
                        unpriced[node] += 1
                    else:
                        priced[node].append(value)
                        cost += value
                first, last, total = threads.get(
                    run.thread_id, (run.started_at, run.ended_at, 0.0))
                threads[run.thread_id] = (
                    min(first, run.started_at), max(last, run.ended_at), total + cost)
    result = {}
    for node, values in durations.items():
        values.sort()
        def q(p):
            x = p * (len(values) - 1)
            lo = math.floor(x)
            hi = min(lo + 1, len(values) - 1)
            return values[lo] + (values[hi] - values[lo]) * (x - lo)
        result[node] = (len(values), errors[node], q(0.5), q(0.95), values[-1],
                        math.fsum(priced[node]))
    costliest = sorted(threads.items(), key=lambda item: -item[1][2])[:10]
    return result, costliest
for _ in range(repeats):
    began = time.perf_counter()
    result, _ = once()
    print(time.perf_counter() - began, flush=True)
print("rss", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
print("runs", sum(r[0] for r in result.values()), flush=True)
"""

WARM = r"""
import sys, time, resource, statistics
from editorial_ai.observability.analytics.engine import open_engine
from editorial_ai.observability.analytics.stats import StatsFilter, compute_stats
from editorial_ai.observability.analytics.window import parse_moment

folder, repeats = sys.argv[1], int(sys.argv[2])
began = time.perf_counter()
engine = open_engine([folder])
report = compute_stats(engine, StatsFilter(since=parse_moment("7d")))
print("first", time.perf_counter() - began)
same, fresh, refresh = [], [], []
nodes = [node.node_name for node in report.nodes]
for i in range(repeats):
    began = time.perf_counter()
    compute_stats(engine, StatsFilter(since=parse_moment("7d")))
    same.append(time.perf_counter() - began)
    began = time.perf_counter()
    compute_stats(engine, StatsFilter(
        since=parse_moment("7d"), node=nodes[i % len(nodes)],
        until=parse_moment("%dh" % (i + 1))))
    fresh.append(time.perf_counter() - began)
    began = time.perf_counter()
    engine.refresh()
    refresh.append(time.perf_counter() - began)
print("same", statistics.median(same))
print("fresh", statistics.median(fresh))
print("refresh", statistics.median(refresh))
print("rss", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

SERVER = r"""
import sys, time, resource, statistics, threading
import httpx
sys.path.insert(0, sys.argv[3])
from tests._server import running_server
from editorial_ai.observability.api import create_app

folder, repeats = sys.argv[1], int(sys.argv[2])
screenshot = sys.argv[4] if len(sys.argv) > 4 else ""
with running_server(create_app(folder)) as base:
    with httpx.Client(base_url=base, trust_env=False, timeout=600) as web:
        began = time.perf_counter()
        first = web.get("/api/stats", params={"since": "7d"})
        assert first.status_code == 200, first.text
        print("first", time.perf_counter() - began)
        nodes = [node["node_name"] for node in first.json()["nodes"]]
        same, fresh = [], []
        for i in range(repeats):
            params = {"since": "7d", "node": "draft"}
            began = time.perf_counter()
            assert web.get("/api/stats", params=params).status_code == 200
            same.append(time.perf_counter() - began)
            params = {"since": "7d", "node": nodes[i % len(nodes)],
                      "until": "%dh" % (i + 1)}
            began = time.perf_counter()
            assert web.get("/api/stats", params=params).status_code == 200
            fresh.append(time.perf_counter() - began)
        print("same", statistics.median(same))
        print("fresh", statistics.median(fresh))
    if screenshot:
        from playwright.sync_api import sync_playwright
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/#stats")
            page.wait_for_selector(
                "[data-testid=stats-view][data-loaded]", timeout=120000)
            page.screenshot(path=screenshot, full_page=False)
            browser.close()
print("rss", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _timed(command: list[str], code: str | None = None) -> tuple[float, int, str]:
    """Wall time and peak RSS of one child process (``wait4``)."""
    env = dict(os.environ, PYTHONPATH=SRC)
    full = [sys.executable, "-c", code, *command] if code else command
    began = time.perf_counter()
    process = subprocess.Popen(full, stdout=subprocess.PIPE, env=env, text=True)
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (full[:3], status, out[-800:]))
    return elapsed, usage.ru_maxrss, out


def _values(out: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                found[parts[0]] = float(parts[1])
            except ValueError:
                continue
    return found


def measure(history: Path, repeats: int, screenshot: str) -> dict[str, Any]:
    cli = [str(Path(sys.executable).with_name("editorial-ai-obs"))]
    if not Path(cli[0]).exists():
        cli = [sys.executable, "-m", "editorial_ai.observability"]
    engine_cold: list[float] = []
    engine_rss: list[int] = []
    cached_cold: list[float] = []
    cached_rss: list[int] = []
    os.environ["EDITORIAL_AI_ANALYTICS_CACHE"] = tempfile.mkdtemp(prefix="cache-")
    _timed([*cli, "stats", "--log-dir", str(history)])  # fills the cache
    python_cold: list[float] = []
    python_warm: list[float] = []
    python_rss: list[int] = []
    table = ""
    for _ in range(repeats):  # interleaved
        stats = [*cli, "stats", "--since", "7d", "--log-dir", str(history)]
        elapsed, rss, out = _timed([*stats, "--no-cache"])
        engine_cold.append(elapsed)
        engine_rss.append(rss)
        elapsed, rss, table = _timed(stats)
        cached_cold.append(elapsed)
        cached_rss.append(rss)
        elapsed, rss, out = _timed([str(history), "2"], STREAMING)
        python_cold.append(elapsed)
        lines = [float(x) for x in out.splitlines()[:2]]
        python_warm.append(lines[1])
        python_rss.append(rss)
    _, warm_rss, out = _timed([str(history), "5"], WARM)
    warm = _values(out)
    args = [str(history), "5", str(HERE.parent)] + ([screenshot] if screenshot else [])
    _, server_rss, out = _timed(args, SERVER)
    server = _values(out)
    return {
        "stats_cold_s": statistics.median(engine_cold),
        "stats_cold_rss_mib": max(engine_rss) / 1024,
        "stats_cold_cached_s": statistics.median(cached_cold),
        "stats_cold_cached_rss_mib": max(cached_rss) / 1024,
        "python_cold_s": statistics.median(python_cold),
        "python_warm_s": statistics.median(python_warm),
        "python_rss_mib": max(python_rss) / 1024,
        "engine_first_in_process_s": warm["first"],
        "stats_warm_same_s": warm["same"],
        "stats_warm_new_filter_s": warm["fresh"],
        "refresh_nothing_changed_s": warm["refresh"],
        "engine_rss_mib": warm_rss / 1024,
        "api_first_s": server["first"],
        "api_warm_same_filter_s": server["same"],
        "api_warm_new_filter_s": server["fresh"],
        "server_rss_mib": server_rss / 1024,
        "repeats": repeats,
        "stats_table": table,
    }


def report(figures: dict[str, Any], counts: dict[str, Any]) -> str:
    rows = [
        ("stats --since 7d, cold, --no-cache (reads 1 GB)", figures["stats_cold_s"],
         figures["python_cold_s"], "≤ 3 s", figures["stats_cold_rss_mib"],
         figures["python_rss_mib"]),
        ("stats --since 7d, cold process, cache filled", figures["stats_cold_cached_s"],
         figures["python_cold_s"], "≤ 3 s", figures["stats_cold_cached_rss_mib"],
         None),
        ("stats, warm: same question", figures["stats_warm_same_s"],
         figures["python_warm_s"], "≤ 0.3 s", figures["engine_rss_mib"], None),
        ("stats, warm: a new filter", figures["stats_warm_new_filter_s"],
         figures["python_warm_s"], "≤ 0.3 s", None, None),
        ("GET /api/stats?node=…, warm, same filter", figures["api_warm_same_filter_s"],
         figures["python_warm_s"], "≤ 0.5 s", figures["server_rss_mib"], None),
        ("GET /api/stats, warm, a new filter each time",
         figures["api_warm_new_filter_s"], figures["python_warm_s"], "≤ 0.5 s",
         None, None),
    ]  # fmt: skip
    lines = [
        "history: %(threads)s threads, %(node_runs)s node runs, %(llm_calls)s LLM "
        "calls, %(bytes)s bytes" % counts,
        "",
        "| measure | engine (s) | streaming Python (s) | Python ÷ engine | target "
        "| engine peak RSS (MiB) | streaming peak RSS (MiB) |",
        "|---|---:|---:|---:|---|---:|---:|",
    ]
    for name, engine, python, target, rss, python_rss in rows:
        lines.append(
            "| %s | %.3f | %.2f | %.1f | %s | %s | %s |"
            % (name, engine, python, python / engine, target,
               "%.0f" % rss if rss else "", "%.0f" % python_rss if python_rss else "")
        )  # fmt: skip
    lines.append("")
    lines.append(
        "engine: first question in a server process %.2f s; a refresh that finds "
        "nothing changed (listing %s files) %.3f s; API first request %.2f s"
        % (figures["engine_first_in_process_s"], counts["threads"],
           figures["refresh_nothing_changed_s"], figures["api_first_s"])
    )  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", help="an existing history folder (kept)")
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--screenshot", default="", help="save the stats page here")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from history import write_history

    scratch = None
    if args.history:
        history = Path(args.history)
        files = list(history.glob("*.jsonl"))
        counts = {"threads": len(files), "node_runs": "?", "llm_calls": "?",
                  "bytes": sum(f.stat().st_size for f in files)}  # fmt: skip
        counts_file = history / "counts.json"
        if counts_file.exists():
            counts = json.loads(counts_file.read_text())
    else:
        scratch = Path(tempfile.mkdtemp(prefix="analytics-bench-"))
        history = scratch / "history"
        counts = write_history(str(history), args.threads)
    try:
        figures = measure(history, args.repeats, args.screenshot)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    print(figures.pop("stats_table"))
    print(report(figures, counts))
    if args.json:
        Path(args.json).write_text(json.dumps({**figures, **counts}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
