"""``stats``, ``sql``, ``prune`` and several ``--log-dir`` through a real
subprocess; ``GET /api/stats`` through the app."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from editorial_ai.observability import NodeRunLog, PipelineRunSummary
from editorial_ai.observability.analytics.retention import MIN_IDLE, prune_threads
from editorial_ai.observability.api import create_app
from editorial_ai.observability.storage import SUFFIX

from ._history import records, write_history
from ._proc import SRC
from .test_cli import pipeline, run_cli


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own analytics cache (the CLI uses one by default)."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("EDITORIAL_AI_ANALYTICS_CACHE", str(folder))
    return folder


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, Path]:
    """The two folders of tests/_history.py."""
    first, second = tmp_path / "worker-1", tmp_path / "worker-2"
    write_history(first, second)
    return first, second


def test_stats_table_of_a_real_graph(log_dir: Path) -> None:
    """A graph's runs, then ``stats --since 7d``: its nodes, tokens and cost."""
    pipeline("t-ok")
    pipeline("t-bad", fail=True)
    done = run_cli("stats", "--since", "7d", log_dir=log_dir)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("4 node runs in 2 threads since ")
    assert "1 errors (25.0%)" in lines[0]
    node_rows = {
        line.split()[0]: line for line in lines if line[:6] in ("write ", "check ")
    }
    assert set(node_rows) == {"write", "check"}
    assert "1 (50.0%)" in node_rows["check"]
    assert "2,400" in node_rows["write"]  # 2 calls of 1,200 prompt tokens
    assert "COSTLIEST THREADS" in done.stdout and "t-bad" in done.stdout


def test_stats_prints_thread_ids_whole(log_dir: Path) -> None:
    """The costliest and slowest threads carry their whole id, however long,
    so an id from ``stats`` can be pasted into ``show``."""
    long_id = "editorial-" + "0123456789abcdef" * 4
    pipeline(long_id)
    done = run_cli("stats", "--since", "7d", log_dir=log_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(long_id + " ") == 2  # costliest, slowest
    assert run_cli("show", long_id, log_dir=log_dir).returncode == 0


def test_stats_json_is_the_api_object(history: tuple[Path, Path]) -> None:
    """``stats --json`` over two folders prints what ``/api/stats`` returns."""
    first, second = history
    done = run_cli(
        "stats", "--json", "--node", "draft", "--log-dir", str(first),
        "--log-dir", str(second),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    client = TestClient(create_app([first, second]), base_url="http://127.0.0.1")
    answered = client.get("/api/stats", params={"node": "draft"}).json()
    assert printed == answered
    assert [node["node_name"] for node in printed["nodes"]] == ["draft"]
    assert printed["totals"]["threads"] == 12


def test_log_dir_glob_reads_every_worker(history: tuple[Path, Path]) -> None:
    """A glob names both folders; the thread in both is one thread."""
    pattern = str(history[0].parent / "worker-*")
    done = run_cli("stats", "--json", "--log-dir", pattern)
    report = json.loads(done.stdout)
    assert report["totals"]["node_runs"] == len(records(history))
    assert len(report["folders"]) == 2


def test_runs_reads_several_folders_as_one(history: tuple[Path, Path]) -> None:
    """``runs`` over two folders: thread-00 once, summarised over both files."""
    first, second = history
    done = run_cli("runs", "--json", "--log-dir", str(first), "--log-dir", str(second))
    assert done.returncode == 0, done.stderr
    threads = json.loads(done.stdout)["threads"]
    ids = [thread["thread_id"] for thread in threads]
    assert len(ids) == len(set(ids)) == 12
    logs = [log for log in records(history) if log.thread_id == "thread-00"]
    merged = next(thread for thread in threads if thread["thread_id"] == "thread-00")
    expected = PipelineRunSummary.from_logs("thread-00", logs)
    assert merged["node_count"] == expected.node_count == len(logs) > 6
    assert merged["estimated_cost_usd"] == pytest.approx(
        expected.estimated_cost_usd, rel=1e-12
    )


def test_api_thread_routes_over_two_folders(history: tuple[Path, Path]) -> None:
    """The thread in both folders: all its runs, its summary, each run by index."""
    client = TestClient(create_app(list(history)), base_url="http://127.0.0.1")
    count = len([log for log in records(history) if log.thread_id == "thread-00"])
    logs = client.get("/api/thread/logs", params={"thread_id": "thread-00"}).json()
    assert logs["total_runs"] == count and len(logs["runs"]) == count
    starts = [datetime.fromisoformat(run["started_at"]) for run in logs["runs"]]
    assert starts == sorted(starts)
    publish = [run for run in logs["runs"] if run["node_name"] == "publish"]
    assert len(publish) == 1  # the run written by the second worker
    index = publish[0]["index"]
    run = client.get("/api/thread/runs/%d" % index, params={"thread_id": "thread-00"})
    assert run.json()["node_name"] == "publish"
    summary = client.get("/api/thread/summary", params={"thread_id": "thread-00"})
    assert summary.json()["node_count"] == count


def test_api_stats_rejects_a_bad_window(history: tuple[Path, Path]) -> None:
    """A malformed ``since`` is 400 with the accepted forms."""
    client = TestClient(create_app(list(history)), base_url="http://127.0.0.1")
    answer = client.get("/api/stats", params={"since": "last tuesday"})
    assert answer.status_code == 400
    assert "7d" in answer.json()["detail"]


def test_sql_over_the_views(history: tuple[Path, Path]) -> None:
    """``sql`` runs a query over node_runs and llm_calls; JSON and CSV too."""
    args = ["--log-dir", str(history[0]), "--log-dir", str(history[1])]
    query = (
        "SELECT node_name, count(*) AS runs FROM node_runs "
        "GROUP BY node_name ORDER BY node_name"
    )
    done = run_cli("sql", query, "--format", "json", *args)
    assert done.returncode == 0, done.stderr
    counts: dict[str, int] = {}
    for log in records(history):
        counts[log.node_name] = counts.get(log.node_name, 0) + 1
    assert json.loads(done.stdout) == [
        {"node_name": name, "runs": runs} for name, runs in sorted(counts.items())
    ]
    table = run_cli("sql", "SELECT count(*) AS calls FROM llm_calls", *args)
    calls = sum(len(log.token_usage) for log in records(history))
    assert table.stdout.splitlines() == ["calls", str(calls).rjust(5), "(1 row)"]
    csv_out = run_cli("sql", query, "--format", "csv", *args)
    assert csv_out.stdout.splitlines()[0] == "node_name,runs"


def test_sql_snapshots_only_when_asked(history: tuple[Path, Path]) -> None:
    """``input_state`` is no column unless ``--snapshots``."""
    query = "SELECT input_state FROM node_runs WHERE input_state IS NOT NULL LIMIT 1"
    without = run_cli("sql", query, "--log-dir", str(history[0]))
    assert without.returncode == 2
    assert "input_state" in without.stderr
    with_it = run_cli("sql", query, "--snapshots", "--format", "json",
                      "--log-dir", str(history[0]))  # fmt: skip
    assert with_it.returncode == 0, with_it.stderr
    assert "n" in json.loads(json.loads(with_it.stdout)[0]["input_state"])


def test_missing_duckdb_says_how_to_install(tmp_path: Path) -> None:
    """Without DuckDB, ``stats`` is one line naming the extra, exit 1."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['duckdb'] = None\n"
        "from editorial_ai.observability.cli import main\n"
        "sys.exit(main(['stats', '--log-dir', %r]))" % str(tmp_path)
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=SRC),
        check=False,
    )
    assert done.returncode == 1
    assert 'pip install -e ".[analytics]"' in done.stderr
    assert 'pip install "editorial-ai-observability[analytics]"' in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def _old_thread(folder: Path, thread_id: str, days: int) -> Path:
    """A thread file whose one run ended ``days`` ago, last written then."""
    folder.mkdir(parents=True, exist_ok=True)
    ended = datetime.now(UTC) - timedelta(days=days)
    log = NodeRunLog(
        thread_id=thread_id,
        node_name="plan",
        status="success",
        started_at=ended - timedelta(seconds=1),
        ended_at=ended,
    )
    path = folder / (thread_id + SUFFIX)
    path.write_bytes(log.model_dump_json().encode() + b"\n")
    os.utime(path, (ended.timestamp(), ended.timestamp()))
    return path


def test_prune_is_a_dry_run_unless_told(tmp_path: Path) -> None:
    """``prune --older-than 30d`` lists; ``--delete`` removes; recent stays."""
    folder = tmp_path / "logs"
    old = _old_thread(folder, "old", 40)
    recent = _old_thread(folder, "recent", 3)
    dry = run_cli("prune", "--older-than", "30d", "--log-dir", str(folder))
    assert dry.returncode == 0, dry.stderr
    assert "would remove 1 thread file(s)" in dry.stdout
    assert old.exists() and recent.exists()
    done = run_cli("prune", "--older-than", "30d", "--delete", "--log-dir", str(folder))
    assert "removed 1 thread file(s)" in done.stdout
    assert not old.exists() and recent.exists()


def test_prune_never_touches_a_file_being_written(tmp_path: Path) -> None:
    """An unfinished last line, a fresh modification time, or a record newer
    than the cutoff keep a file."""
    folder = tmp_path / "logs"
    torn = _old_thread(folder, "torn", 40)
    with open(torn, "ab") as handle:
        handle.write(b'{"thread_id":"torn","node_na')
    stamp = time.time() - 40 * 86_400
    os.utime(torn, (stamp, stamp))
    fresh = _old_thread(folder, "fresh", 40)
    os.utime(fresh, None)  # written just now
    relabelled = _old_thread(folder, "relabelled", 40)
    with open(relabelled, "ab") as handle:
        handle.write(
            NodeRunLog(
                thread_id="relabelled",
                node_name="plan",
                status="success",
                started_at=datetime.now(UTC),
                ended_at=datetime.now(UTC),
            )
            .model_dump_json()
            .encode()
            + b"\n"
        )
    os.utime(relabelled, (stamp, stamp))
    result = prune_threads([folder], timedelta(days=30), delete=True)
    reasons = {Path(item.path).stem: item.reason for item in result.candidates}
    assert reasons == {"torn": "unfinished last line", "relabelled": "recent run"}
    assert result.kept_recent == 1
    assert torn.exists() and fresh.exists() and relabelled.exists()
    # Even an age of 0 spares what was written in the last MIN_IDLE.
    zero = prune_threads([folder], timedelta(0), delete=True)
    assert zero.kept_recent == 1 and fresh.exists()
    assert MIN_IDLE >= timedelta(minutes=10)


def test_cli_cache_is_used_and_kept_current(
    history: tuple[Path, Path], cache_dir: Path
) -> None:
    """A second ``stats`` reads the cache; an appended run is still counted;
    ``--no-cache`` gives the same figures; the cache file is private."""
    args = ["--json", "--log-dir", str(history[0])]
    first = json.loads(run_cli("stats", *args).stdout)
    (cached,) = cache_dir.iterdir()
    assert cached.stat().st_mode & 0o777 == 0o600
    again = json.loads(run_cli("stats", *args).stdout)
    assert again == first
    with open(history[0] / ("thread-04" + SUFFIX), "ab") as handle:
        handle.write(
            NodeRunLog(
                thread_id="thread-04",
                node_name="plan",
                status="success",
                started_at=datetime(2026, 11, 30, tzinfo=UTC),
                ended_at=datetime(2026, 11, 30, 0, 0, 1, tzinfo=UTC),
            )
            .model_dump_json()
            .encode()
            + b"\n"
        )
    after = json.loads(run_cli("stats", *args).stdout)
    assert after["totals"]["node_runs"] == first["totals"]["node_runs"] + 1
    fresh = json.loads(run_cli("stats", "--no-cache", *args).stdout)
    assert fresh == after


def test_sql_cannot_damage_the_cache(history: tuple[Path, Path]) -> None:
    """A ``DROP`` in ``sql`` fails (the cache is opened read-only for it) and
    the next command still has its tables."""
    args = ["--log-dir", str(history[0])]
    dropped = run_cli("sql", "DROP TABLE _runs", *args)
    assert dropped.returncode == 2
    assert "read-only" in dropped.stderr.lower()
    after = run_cli("sql", "SELECT count(*) AS runs FROM node_runs", *args)
    assert after.returncode == 0, after.stderr
    assert int(after.stdout.split()[1]) == len(records([history[0]]))


def test_app_over_a_glob(history: tuple[Path, Path]) -> None:
    """``create_app`` (and so ``serve``) given one glob reads every match."""
    pattern = str(history[0].parent / "worker-*")
    client = TestClient(create_app([pattern]), base_url="http://127.0.0.1")
    threads = client.get("/api/threads").json()["threads"]
    assert len(threads) == 12
    stats = client.get("/api/stats").json()
    assert stats["totals"]["node_runs"] == len(records(history))


def test_stats_table_shows_cache_reasoning_and_unknowns(
    history: tuple[Path, Path],
) -> None:
    """The table has cached, cache-write and reasoning tokens (hand sums), and a
    total that misses calls says so (``+ N calls unknown``)."""
    from ._history import per_node

    first, second = history
    done = run_cli("stats", "--log-dir", str(first), "--log-dir", str(second))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    logs = records(history)
    usages = [usage for log in logs for usage in log.token_usage]
    cached = sum(u.cached_tokens for u in usages)
    written = sum(u.cache_creation_tokens for u in usages)
    reasoning = sum(u.reasoning_tokens for u in usages)
    unreported = sum(not u.usage_reported for u in usages)
    assert (
        "(%s cached, %s cache write, %s reasoning)"
        % (format(cached, ","), format(written, ","), format(reasoning, ","))
        in lines[0]
    )
    assert "+ %d calls unknown" % unreported in lines[0]
    header = next(line for line in lines if line.startswith("NODE "))
    assert "CACHED  CACHE WRITE  REASONING" in header
    expected = per_node(logs)
    for line in lines:
        name = line.split(" ", 1)[0]
        if name in expected and line.startswith(name + " "):
            cells = line.split()
            figures = expected[name]
            assert format(figures["cache_creation_tokens"], ",") in cells, line
            if figures["unpriced_calls"] and figures["cost_usd"] is not None:
                assert "+ %d calls unknown" % figures["unpriced_calls"] in line
