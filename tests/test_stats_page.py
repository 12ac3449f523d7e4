"""The stats page in a real headless Chromium, against the real API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from editorial_ai.observability.api import create_app

from ._history import write_history
from ._server import running_server
from .test_viewer import WAIT_MS, Watched, browser, watched  # noqa: F401 (the fixtures)


def _by_day(rows: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    """What a chart should hold: per key, per day, the value (or None)."""
    days = sorted({row["day"] for row in rows})
    keys = sorted({row[key] if row[key] is not None else "(no model name)"
                   for row in rows})  # fmt: skip
    lines = {name: [None] * len(days) for name in keys}
    for row in rows:
        name = row[key] if row[key] is not None else "(no model name)"
        lines[name][days.index(row["day"])] = row[value]
    return {"days": days, "keys": keys, "lines": lines}


def test_stats_page_charts_show_the_api_numbers(
    watched: Watched,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    """Three labelled charts and the tables hold the very numbers of /api/stats,
    over two folders, under the strict CSP (no script errors)."""
    first, second = tmp_path / "w1", tmp_path / "w2"
    write_history(first, second)
    page = watched.page
    with running_server(create_app([first, second])) as base:
        with httpx.Client(base_url=base, trust_env=False) as web:
            report = web.get("/api/stats", params={"since": "30d"}).json()
        assert report["nodes"] and report["models_by_day"]
        page.goto(base + "/#stats")
        view = page.locator("[data-testid=stats-view]")
        # The first view (7d) is drawn before the form asks for another: a
        # view superseded while loading is dropped, not counted.
        expect(view).to_have_attribute("data-loaded", "1", timeout=WAIT_MS)
        page.select_option("[data-testid=stats-since]", "30d")
        page.click("#stats-form button[type=submit]")
        expect(view).to_have_attribute("data-loaded", "2", timeout=WAIT_MS)

        charts = {
            "chart-model-cost": ("Cost per day, by model (USD)",
                                 _by_day(report["models_by_day"], "model_name",
                                         "cost_usd")),
            "chart-node-cost": ("Cost per day, by node (USD)",
                                _by_day(report["node_days"], "node_name",
                                        "cost_usd")),
            "chart-node-p95": ("p95 duration per day, by node (ms)",
                               _by_day(report["node_days"], "node_name", "p95_ms")),
        }  # fmt: skip
        for testid, (title, expected) in charts.items():
            chart = page.locator("[data-testid=%s]" % testid)
            expect(chart.locator("canvas")).to_have_count(1)
            expect(chart.locator(".u-title")).to_have_text(title)
            labels = chart.locator(".u-legend .u-label").all_text_contents()
            assert labels == ["day", *expected["keys"]]
            drawn = chart.evaluate("holder => holder.uplot.data")
            assert drawn[0] == [
                page.evaluate("d => Date.parse(d + 'T00:00:00Z') / 1000", day)
                for day in expected["days"]
            ]
            for series, key in zip(drawn[1:], expected["keys"], strict=True):
                assert series == expected["lines"][key], (testid, key)

        rows = page.locator("[data-testid=stats-node-row]")
        expect(rows).to_have_count(len(report["nodes"]))
        for row, node in zip(rows.all(), report["nodes"], strict=True):
            cells = row.locator("td").all_text_contents()
            assert cells[0] == node["node_name"]
            assert cells[1] == format(node["runs"], ",")
            cost = node["cost_usd"]
            assert cells[8] == format(node["cached_tokens"], ",")
            assert cells[9] == format(node["cache_creation_tokens"], ",")
            assert cells[10] == format(node["reasoning_tokens"], ",")
            assert cells[11] == ("?" if cost is None else "$%.4f" % cost)
        totals = page.locator("[data-testid=stats-total]").all_text_contents()
        assert totals[0] == format(report["totals"]["node_runs"], ",")
        assert totals[1] == format(report["totals"]["threads"], ",")
        unknown = report["totals"]["unreported_calls"]
        # (the total itself holds a count past 2**53, which JavaScript rounds)
        assert unknown and totals[5].endswith(" + %d calls unknown" % unknown)
        assert totals[6:9] == [
            format(report["totals"][name], ",")
            for name in ("cached_tokens", "cache_creation_tokens", "reasoning_tokens")
        ]

        threads = page.locator("[data-testid=stats-thread-row]")
        expect(threads).to_have_count(
            len(report["costliest_threads"]) + len(report["slowest_threads"])
        )
        threads.first.locator("a").click()
        expect(page.locator("#thread-view")).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#thread-title")).to_have_text(
            report["costliest_threads"][0]["thread_id"], timeout=WAIT_MS
        )
        expect(view).to_be_hidden()
    assert watched.errors == []
    assert all(url.startswith(base) for url in watched.requests)
