"""Read-side benchmarks: a thread of 10,000 node runs."""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic_core

from editorial_ai.observability import NodeRunLog, TokenUsage, read_node_logs
from editorial_ai.observability.storage import encode_line, thread_log_path

RUNS = 10_000


def _write_thread(thread_id: str) -> str:
    path = thread_log_path(thread_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with open(path, "wb") as handle:
        for index in range(RUNS):
            began = start + timedelta(milliseconds=index)
            handle.write(
                encode_line(
                    NodeRunLog(
                        thread_id=thread_id,
                        node_name="node%d" % (index % 12),
                        status="success",
                        started_at=began,
                        ended_at=began + timedelta(microseconds=800),
                        token_usage=[
                            TokenUsage(
                                prompt_tokens=120,
                                completion_tokens=30,
                                model_name="gpt-4o-mini",
                            )
                        ],
                        input_state={"topic": "AI", "draft": "d" * 400, "n": index},
                        output_state={"draft": "e" * 200},
                        step=index,
                        checkpoint_ns="node:%d" % index,
                    )
                )
            )
    return str(path)


def _median_ms(fn: Any, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1e6


def bench_read_side(directory: str) -> dict[str, Any]:
    thread_id = "read-bench"
    path = _write_thread(thread_id)
    with open(path, "rb") as handle:
        data = handle.read()
    lines = data.splitlines()
    result: dict[str, Any] = {"runs": RUNS, "file_bytes": len(data)}
    # Interleaved, with paired ratios: this machine's speed drifts by 2x
    # between minutes, so the two are compared within each pair.
    # from_json's string cache makes its time depend on what ran before
    # (46 to 115 ms here): the parse without it is measured too.
    bare, raw, ours, ratios, raw_ratios = [], [], [], [], []
    for _ in range(9):
        bare.append(_median_ms(lambda: [pydantic_core.from_json(x) for x in lines], 1))
        raw.append(
            _median_ms(
                lambda: [
                    pydantic_core.from_json(x, cache_strings=False) for x in lines
                ],
                1,
            )
        )
        ours.append(_median_ms(lambda: read_node_logs(thread_id), 1))
        ratios.append(ours[-1] / bare[-1])
        raw_ratios.append(ours[-1] / raw[-1])
    result["bare_parse_ms"] = statistics.median(bare)
    result["bare_parse_no_cache_ms"] = statistics.median(raw)
    result["read_node_logs_ms"] = statistics.median(ours)
    result["read_ratio"] = statistics.median(ratios)
    result["read_ratio_no_cache"] = statistics.median(raw_ratios)
    try:
        from fastapi.testclient import TestClient

        from editorial_ai.observability import reader
        from editorial_ai.observability.api import create_app
    except ImportError:
        result["api"] = "skipped: the server extra is not installed"
        return result
    client = TestClient(create_app(directory), base_url="http://localhost")
    api: dict[str, float] = {}
    routes = (
        "logs?include_io=false&limit=50",
        "logs?include_io=false",
        "logs",
        "summary",
    )
    for route in routes:
        url = "/api/threads/%s/%s" % (thread_id, route)
        if client.get(url).status_code != 200:
            raise SystemExit("the API refused %s" % url)
        reader._indexes.clear()
        api[route + " first"] = _median_ms(
            lambda url=url: (reader._indexes.clear(), client.get(url)), repeat=3
        )
        client.get(url)
        extra = read_node_logs(thread_id)[-1].model_copy(
            update={"started_at": datetime(2027, 1, 1, tzinfo=UTC)}
        )

        def append_and_get(url: str = url, extra: Any = extra) -> None:
            with open(path, "ab") as handle:
                handle.write(encode_line(extra))
            client.get(url)

        api[route + " after +1 line"] = _median_ms(append_and_get, repeat=5)
    result["api_ms"] = api
    os.unlink(path)
    return result


def print_read_side(result: dict[str, Any]) -> None:
    print("read side: %d runs, %.1f MB" % (result["runs"], result["file_bytes"] / 1e6))
    print(
        "  bare parse (pydantic_core.from_json per line): %7.1f ms"
        % result["bare_parse_ms"]
    )
    print(
        "  bare parse, cache_strings=False:               %7.1f ms"
        % result["bare_parse_no_cache_ms"]
    )
    print(
        "  read_node_logs:                                %7.1f ms  (%.2fx bare, "
        "%.2fx without the string cache)"
        % (
            result["read_node_logs_ms"],
            result["read_ratio"],
            result["read_ratio_no_cache"],
        )
    )
    for route, ms in result.get("api_ms", {}).items():
        print("  GET %-34s %7.1f ms" % (route, ms))
