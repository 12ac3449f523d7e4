"""Render a results JSON of ``run.py`` as the Markdown tables of the docs.

Run: python benchmarks/report.py benchmarks/results.json
"""

from __future__ import annotations

import json
import sys
from typing import Any


def render(results: dict[str, Any]) -> str:
    out = [
        "| workload | variant | µs/node | overhead µs/node | ratio to baseline "
        "| x naive overhead | x floor |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for workload, data in results["workloads"].items():
        naive = data["variants"]["naive wrapper"]["overhead_us"]
        floor = data["floor_us"]
        for name, row in data["variants"].items():
            over = row["overhead_us"]
            out.append(
                "| %s | %s | %.1f | %+.1f | %.3f | %s | %s |"
                % (
                    workload,
                    name,
                    row["us_per_node"],
                    over,
                    row["ratio"],
                    "%.2f" % (over / naive) if name != "baseline" else "",
                    "%.2f" % (over / floor) if name != "baseline" else "",
                )
            )
        out.append("| %s | *floor alone* | | %+.1f | | | |" % (workload, floor))
    read = results.get("read_side")
    if read:
        out += [
            "",
            "| read side (%d runs, %.1f MB) | ms |"
            % (read["runs"], read["file_bytes"] / 1e6),
            "|---|---:|",
            "| bare parse, `pydantic_core.from_json` per line | %.1f |"
            % read["bare_parse_ms"],
            "| bare parse, `cache_strings=False` | %.1f |"
            % read.get("bare_parse_no_cache_ms", float("nan")),
            "| `read_node_logs` (paired ratio to bare: %.2fx; to bare without "
            "the string cache: %.2fx) | %.1f |"
            % (
                read["read_ratio"],
                read.get("read_ratio_no_cache", float("nan")),
                read["read_node_logs_ms"],
            ),
        ]
        for route, ms in read.get("api_ms", {}).items():
            out.append("| `GET /api/threads/T/%s` | %.1f |" % (route, ms))
    return "\n".join(out)


if __name__ == "__main__":
    with open(sys.argv[1]) as handle:
        print(render(json.load(handle)))
