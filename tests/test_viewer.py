"""The web viewer in a real headless Chromium, served by a real uvicorn.

Every behaviour is checked at a laptop size (1440x900) and a phone size
(390x844). The README's pictures are made by
``pytest tests/test_viewer.py --viewer-screenshots docs``.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    Dialog,
    Locator,
    Page,
    expect,
    sync_playwright,
)

from editorial_ai.observability import TokenUsage, append_node_log
from editorial_ai.observability.api import create_app

from ._graphs import RUNS, XSS, run_editorial_thread
from ._proc import require
from ._server import running_server
from .conftest import make_log

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
THREAD_ID = "newsroom/한국어 <i>run</i>"
"""A slash (reached only through ?thread_id=), unicode and markup."""
WAIT_MS = 15_000
SIZES = {"laptop": (1440, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium: missing fails in CI, skips elsewhere."""
    require(
        os.access(CHROMIUM, os.X_OK),
        "Debian's chromium at %s (apt-get install chromium)" % CHROMIUM,
    )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


class Watched:
    """A page with its dialogs, script errors and requests recorded."""

    def __init__(self, page: Page, size: str) -> None:
        self.page = page
        self.size = size
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []

        def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "console",
            lambda message: (
                self.errors.append(message.text) if message.type == "error" else None
            ),
        )
        page.on("request", lambda request: self.requests.append(request.url))

    def no_sideways_scroll(self) -> None:
        """The page is never wider than the window."""
        width = self.page.evaluate(
            "[document.documentElement.scrollWidth,"
            " document.documentElement.clientWidth]"
        )
        assert width[0] <= width[1], "page scrolls sideways at %s: %s" % (
            self.size,
            width,
        )

    def in_view(self, selector: str) -> None:
        """The element's top is inside the window."""
        box = self.page.locator(selector).bounding_box()
        assert box is not None
        height = self.page.viewport_size["height"]  # type: ignore[index]
        assert 0 <= box["y"] < height, (selector, box, height)

    def hash_params(self) -> dict[str, str]:
        """The URL's fragment, read as the page's router reads it."""
        fragment = self.page.evaluate("location.hash.slice(1)")
        found: dict[str, str] = self.page.evaluate(
            "Object.fromEntries(new URLSearchParams(%s))" % json.dumps(fragment)
        )
        return found


@pytest.fixture(params=list(SIZES), ids=list(SIZES))
def watched(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Watched]:
    """A fresh browser context and page at one of the two sizes."""
    width, height = SIZES[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        yield Watched(context.new_page(), request.param)
    finally:
        context.close()


def keep_picture(
    watched: Watched, request: pytest.FixtureRequest, tmp_path: Path, name: str
) -> None:
    """Screenshot the page; with --viewer-screenshots, keep the laptop one."""
    picture = tmp_path / name
    watched.page.screenshot(path=str(picture), full_page=True)
    folder = request.config.getoption("--viewer-screenshots")
    if folder and watched.size == "laptop":
        shutil.copyfile(picture, Path(folder) / name)


def now_log(thread_id: str, node_name: str, offset_ms: float, **extra: Any) -> Any:
    """A record that started ``offset_ms`` after now (a thread being written)."""
    log = make_log(thread_id, node_name=node_name, **extra)
    start = datetime.now(UTC) + timedelta(milliseconds=offset_ms)
    return log.model_copy(
        update={"started_at": start, "ended_at": start + timedelta(milliseconds=10)}
    )


# -- a thread, its runs, one run ------------------------------------------------


def test_thread_page_shows_runs_and_state_as_text(
    watched: Watched, log_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """List -> thread -> one bar per run -> a click scrolls the run's detail into
    view and puts it in the URL; the XSS payload is only ever text."""
    run_editorial_thread(THREAD_ID, work_s=0.02)
    append_node_log(make_log("another-thread", node_name="plan"))
    page = watched.page
    with running_server(create_app(log_dir)) as base:
        with httpx.Client(base_url=base, trust_env=False) as web:
            api_runs = web.get(
                "/api/thread/logs",
                params={"thread_id": THREAD_ID, "include_io": "false"},
            ).json()["runs"]
        assert len(api_runs) == RUNS

        page.goto(base + "/")
        rows = page.locator("[data-testid=thread-row]")
        expect(rows).to_have_count(2, timeout=WAIT_MS)
        row = rows.filter(has_text=THREAD_ID)
        expect(row).to_have_count(1)
        expect(row.locator(".badge")).to_have_text("failed")
        expect(row.locator(".thread-id")).to_have_text(THREAD_ID)  # whole id
        watched.no_sideways_scroll()
        row.locator(".thread-id").click()

        bars = page.locator("[data-testid=run-bar]")
        expect(bars).to_have_count(len(api_runs), timeout=WAIT_MS)
        indexes = sorted(
            int(bar.get_attribute("data-index") or -1) for bar in bars.all()
        )
        assert indexes == sorted(run["index"] for run in api_runs)
        expect(page.locator("#thread-title")).to_have_text(THREAD_ID)
        assert page.locator("#thread-title i").count() == 0
        lanes = page.locator(".lane-track")
        expect(lanes).to_have_count(len({run["node_name"] for run in api_runs}))
        write_lane = page.locator(".lane").filter(has_text="write")
        expect(write_lane.locator(".run-bar")).to_have_count(2)
        expect(page.locator(".run-bar[data-status=error]")).to_have_count(1)
        expect(page.locator(".run-bar[data-status=interrupted]")).to_have_count(1)
        expect(page.locator("[data-testid=node-row]")).to_have_count(7)
        assert not [url for url in watched.requests if "/runs/" in url]
        watched.no_sideways_scroll()

        plan = next(run for run in api_runs if run["node_name"] == "plan")
        page.locator(".run-bar[data-index='%d']" % plan["index"]).click()
        # Pretty-printed JSON: the payload as a JSON string, shown as text.
        as_json = json.dumps(XSS)
        expect(page.locator("#input-state")).to_contain_text(as_json, timeout=WAIT_MS)
        expect(page.locator("#run-title")).to_have_text("plan · run %d" % plan["index"])
        assert len([url for url in watched.requests if "/runs/" in url]) == 1
        assert watched.hash_params() == {"thread": THREAD_ID, "run": str(plan["index"])}
        watched.in_view("[data-testid=run-detail]")

        page.locator(".run-bar[data-status=error]").click()
        expect(page.locator("#run-error-line")).to_contain_text(
            "PublishRefused: the CMS refused " + XSS, timeout=WAIT_MS
        )
        expect(page.locator("#input-state")).to_contain_text(as_json)
        watched.in_view("[data-testid=run-detail]")
        watched.no_sideways_scroll()

        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.locator("img").count() == 0
        assert watched.dialogs == []
        assert watched.errors == []


def test_a_link_to_a_run_opens_it(watched: Watched, log_dir: Path) -> None:
    """The URL of a run, opened in a new page, shows that run in view."""
    for number in range(12):
        append_node_log(make_log("linked", node_name="n%d" % number, start_ms=number))
    page = watched.page
    with running_server(create_app(log_dir)) as base:
        page.goto(base + "/#thread=linked&run=9")
        expect(page.locator("#run-title")).to_have_text("n9 · run 9", timeout=WAIT_MS)
        # 10 x 0.15 + 5 x 0.6 per 1M; no reasoning tokens, so no part named.
        expect(page.locator("[data-testid=run-cost]")).to_have_text("$0.00000450")
        expect(page.locator(".run-bar[data-index='9']")).to_have_class(
            re.compile(r"\bselected\b")
        )
        watched.in_view("[data-testid=run-detail]")
        page.go_back()  # back to about:blank, then forward: the same view
        page.go_forward()
        expect(page.locator("#run-title")).to_have_text("n9 · run 9", timeout=WAIT_MS)
    assert watched.errors == []


def test_run_detail_lists_each_llm_call_and_the_state_diff(
    watched: Watched, log_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A run's detail has one row per LLM call with its fields, and what the
    node added, changed and removed in the state."""
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    calls = [
        TokenUsage(
            prompt_tokens=1200,
            completion_tokens=300,
            cached_tokens=1000,
            cache_creation_tokens=0,
            model_name="gpt-4o",
            provider="openai",
            started_at=t0,
            ended_at=t0 + timedelta(milliseconds=840),
        ),
        TokenUsage(
            prompt_tokens=2000,
            completion_tokens=900,
            cache_creation_tokens=1500,
            reasoning_tokens=400,
            model_name="claude-sonnet-4-5",
            provider="anthropic",
            status="error",
            error_type="RateLimitError",
        ),
    ]
    append_node_log(
        make_log(
            "diffs",
            node_name="editor",
            tokens=None,
            token_usage=calls,
            input_state={"topic": "AI", "draft": "v1", "notes": ["a"], "stale": 1},
            output_state={"draft": "v2", "verdict": "ok", "stale": None},
        )
    )
    page = watched.page
    with running_server(create_app(log_dir)) as base:
        page.goto(base + "/#thread=diffs&run=0")
        rows = page.locator("[data-testid=llm-call-row]")
        expect(rows).to_have_count(2, timeout=WAIT_MS)

        def cells_of(row: Locator) -> dict[str | None, str]:
            tds = row.locator("td")
            expect(tds).to_have_count(12)
            return {
                tds.nth(i).get_attribute("data-label"): tds.nth(i).inner_text()
                for i in range(12)
            }

        cells = cells_of(rows.nth(0))
        assert cells["Model"].endswith("gpt-4o") and cells["Provider"].endswith(
            "openai"
        )
        assert cells["Duration"].endswith("840 ms")
        assert cells["Prompt"].endswith("1,200") and cells["Cached"].endswith("1,000")
        # gpt-4o: 200 x 2.5 + 1,000 cached x 1.25 + 300 x 10 per 1M.
        assert cells["Cost"].endswith("$0.00475"), cells["Cost"]
        assert cells["Reasoning $"].endswith("$0"), cells["Reasoning $"]
        second = rows.nth(1)
        expect(second).to_contain_text("anthropic")
        expect(second.locator(".badge")).to_have_text("error")
        expect(second).to_contain_text("1,500")  # cache write
        expect(second).to_contain_text("400")  # reasoning
        # claude-sonnet-4-5: 500 x 3 + 1,500 written x 3.75 + 900 x 15 per 1M,
        # of which the 400 reasoning tokens at the output rate: 400 x 15.
        cells = cells_of(second)
        assert cells["Cost"].endswith("$0.0206"), cells["Cost"]
        assert cells["Reasoning $"].endswith("$0.00600"), cells["Reasoning $"]
        expect(page.locator("[data-testid=run-cost]")).to_have_text(
            "$0.0254, of which reasoning $0.00600"
        )

        diff = page.locator("[data-testid=diff-row]")
        expect(diff).to_have_count(3)
        changes = {
            row.get_attribute("data-key"): row.get_attribute("data-change")
            for row in diff.all()
        }
        assert changes == {"draft": "changed", "verdict": "added", "stale": "removed"}
        changed = page.locator("[data-testid=diff-row][data-key=draft]")
        expect(changed.locator("pre.before")).to_have_text('"v1"')
        expect(changed.locator("pre.after")).to_have_text('"v2"')
        expect(page.locator("[data-testid=state-diff]")).to_contain_text(
            "2 other keys unchanged."
        )
        watched.no_sideways_scroll()
        page.locator("[data-testid=run-detail]").scroll_into_view_if_needed()
        keep_picture(watched, request, tmp_path, "viewer-run.png")
    assert watched.errors == []


def test_interrupt_and_resume_link_each_other(
    watched: Watched, log_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The interrupted run links to the run that answered it, which shows the
    interrupt it answered and the resume value."""
    run_editorial_thread(
        "newsroom-2026-03-01", topic="AI in local newsrooms", work_s=0.02
    )
    page = watched.page
    with running_server(create_app(log_dir)) as base:
        page.goto(base + "/#thread=newsroom-2026-03-01")
        interrupted = page.locator(".run-bar[data-status=interrupted]")
        expect(interrupted).to_have_count(1, timeout=WAIT_MS)
        keep_picture(watched, request, tmp_path, "viewer-thread.png")
        interrupted.click()
        answer = page.locator("[data-testid=interrupt-answer] a")
        expect(answer).to_contain_text("Answered by approval · run", timeout=WAIT_MS)
        expect(page.locator("#run-interrupt-value")).to_contain_text('"Publish?"')
        answer.click()
        resumed = page.locator("[data-testid=resumed-from] a")
        expect(resumed).to_contain_text("Answers the interrupt of approval · run")
        expect(page.locator("[data-testid=resume-value]")).to_contain_text(
            '"approved": true'
        )
        assert watched.hash_params()["run"] != interrupted.get_attribute("data-index")
        resumed.click()
        expect(page.locator("#run-title")).to_have_text(
            "approval · run %s" % interrupted.get_attribute("data-index")
        )
        watched.no_sideways_scroll()
    assert watched.errors == []


# -- refreshing -------------------------------------------------------------------


def test_waiting_thread_is_interrupted_and_not_polled(
    watched: Watched, log_dir: Path
) -> None:
    """A thread waiting at interrupt() says so and stops refreshing."""
    append_node_log(now_log("waiting", "draft", -50))
    append_node_log(now_log("waiting", "approval", 0, status="interrupted"))
    page = watched.page
    with running_server(create_app(log_dir)) as base:
        page.goto(base + "/")
        row = page.locator("[data-testid=thread-row]")
        expect(row.locator(".badge")).to_have_text("interrupted", timeout=WAIT_MS)
        row.locator(".thread-id").click()
        expect(page.locator("#thread-summary .badge")).to_have_text("interrupted")
        expect(page.locator("#thread-view")).to_have_attribute("data-refreshing", "no")
        expect(page.locator("#status-line")).to_contain_text("waiting for a human")
    assert watched.errors == []


def test_thread_being_written_refreshes_and_keeps_focus(
    watched: Watched, log_dir: Path
) -> None:
    """A thread written a moment ago is re-read until new runs show up; the
    focused bar keeps the focus through the refresh."""
    append_node_log(now_log("live", "draft", -100))
    append_node_log(now_log("live", "review", -50))
    page = watched.page
    with running_server(create_app(log_dir)) as base:
        page.goto(base + "/#thread=live")
        expect(page.locator(".run-bar")).to_have_count(2, timeout=WAIT_MS)
        expect(page.locator("#thread-view")).to_have_attribute("data-refreshing", "yes")
        page.locator(".run-bar[data-index='1']").focus()
        append_node_log(now_log("live", "publish", 0))
        expect(page.locator(".run-bar")).to_have_count(3, timeout=WAIT_MS)
        focused = page.evaluate("document.activeElement.dataset.index")
        assert focused == "1"
    assert watched.errors == []


def test_list_refresh_keeps_focus_and_shows_a_focus_ring(
    watched: Watched, log_dir: Path
) -> None:
    """The keyboard focus stays on its row through the list's refreshes, and a
    focused row has a visible ring."""
    for number in range(3):
        append_node_log(make_log("row-%d" % number))
    page = watched.page
    with running_server(create_app(log_dir)) as base:
        page.goto(base + "/")
        rows = page.locator("[data-testid=thread-row]")
        expect(rows).to_have_count(3, timeout=WAIT_MS)
        rows.nth(0).focus()
        page.keyboard.press("ArrowDown")
        target = rows.nth(1).get_attribute("data-thread-id")
        assert page.evaluate("document.activeElement.dataset.threadId") == target
        append_node_log(make_log("row-new"))  # the next refresh re-renders
        expect(rows).to_have_count(4, timeout=WAIT_MS)
        assert page.evaluate("document.activeElement.dataset.threadId") == target
        ring = page.evaluate(
            "(() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()"
        )
        assert ring[0] != "none" and ring[1] >= 2
    assert watched.errors == []


# -- the keyboard ---------------------------------------------------------------


def test_arrow_keys_walk_the_timeline_and_escape_closes(
    watched: Watched, log_dir: Path
) -> None:
    """Left/Right move along the runs in time order and open each; Escape
    closes the detail and gives the focus back to the bar."""
    for number, node in enumerate(["plan", "draft", "review", "publish"]):
        append_node_log(make_log("keys", node_name=node, start_ms=number * 20))
    page = watched.page
    with running_server(create_app(log_dir)) as base:
        page.goto(base + "/#thread=keys")
        expect(page.locator(".run-bar")).to_have_count(4, timeout=WAIT_MS)
        page.locator(".run-bar[data-index='0']").focus()
        page.keyboard.press("ArrowRight")
        expect(page.locator("#run-title")).to_have_text(
            "draft · run 1", timeout=WAIT_MS
        )
        assert page.evaluate("document.activeElement.dataset.index") == "1"
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        expect(page.locator("#run-title")).to_have_text("publish · run 3")
        page.keyboard.press("ArrowLeft")
        expect(page.locator("#run-title")).to_have_text("review · run 2")
        assert watched.hash_params() == {"thread": "keys", "run": "2"}
        page.keyboard.press("Escape")
        expect(page.locator("[data-testid=run-detail]")).to_be_hidden()
        assert watched.hash_params() == {"thread": "keys"}
        assert page.evaluate("document.activeElement.dataset.index") == "2"
    assert watched.errors == []


# -- the timeline's geometry ------------------------------------------------------


def test_bars_show_durations_and_never_cover_each_other(
    watched: Watched, log_dir: Path
) -> None:
    """Every bar has its duration on or beside it; no bar or label overlaps
    another, an interrupted run and its quick resume included, and each bar
    is the element under its own centre (it can be tapped)."""
    append_node_log(make_log("dense", node_name="draft", start_ms=0, duration_ms=900))
    append_node_log(
        make_log(
            "dense",
            node_name="approval",
            status="interrupted",
            start_ms=900,
            duration_ms=0.1,
        )
    )
    append_node_log(
        make_log("dense", node_name="approval", start_ms=901, duration_ms=0.1)
    )
    for number in range(6):
        append_node_log(
            make_log(
                "dense",
                node_name="tool",
                start_ms=910 + number * 2,
                duration_ms=1.5,
            )
        )
    page = watched.page
    with running_server(create_app(log_dir)) as base:
        page.goto(base + "/#thread=dense")
        bars = page.locator("[data-testid=run-bar]")
        expect(bars).to_have_count(9, timeout=WAIT_MS)
        geometry = page.evaluate(
            """() => [...document.querySelectorAll('.lane-track')].map((track) =>
                [...track.children].map((child) => {
                    const box = child.getBoundingClientRect();
                    return {bar: child.classList.contains('run-bar'),
                            left: box.left, right: box.right,
                            top: box.top, bottom: box.bottom,
                            labelled: child.querySelector('.bar-label') !== null,
                            index: child.dataset.index || null};
                }))"""
        )
        labels = page.locator("[data-testid=bar-duration]")
        expect(labels).to_have_count(9)
        for lane in geometry:
            for i, one in enumerate(lane):
                for other in lane[i + 1 :]:
                    apart = (
                        one["right"] <= other["left"] + 0.5
                        or other["right"] <= one["left"] + 0.5
                        or one["bottom"] <= other["top"] + 0.5
                        or other["bottom"] <= one["top"] + 0.5
                    )
                    assert apart, (watched.size, one, other)
            for one in lane:
                if not one["bar"]:
                    continue
                x = (one["left"] + one["right"]) / 2
                y = (one["top"] + one["bottom"]) / 2
                hit = page.evaluate(
                    "([x, y]) => document.elementFromPoint(x, y)"
                    ".closest('.run-bar')?.dataset.index",
                    [x, y],
                )
                assert hit == one["index"], (watched.size, one)
        ticks = page.evaluate(
            """() => [...document.querySelectorAll('.tick')].map((tick) => {
                const box = tick.getBoundingClientRect();
                return [box.left, box.right];
            })"""
        )
        for (_, right), (left, _) in itertools.pairwise(ticks):
            assert right <= left, ("tick labels overlap", watched.size, ticks)
        watched.no_sideways_scroll()
    assert watched.errors == []


def test_costs_have_digits_enough_to_tell_runs_apart(
    watched: Watched, log_dir: Path
) -> None:
    """Two threads costing $0.000360 and $0.000372 do not print the same."""
    append_node_log(make_log("cheap", tokens=(1200, 300)))  # gpt-4o-mini
    append_node_log(make_log("dearer", tokens=(1200, 320)))
    page = watched.page
    with running_server(create_app(log_dir)) as base:
        page.goto(base + "/")
        rows = page.locator("[data-testid=thread-row]")
        expect(rows).to_have_count(2, timeout=WAIT_MS)
        costs = {
            row.get_attribute("data-thread-id"): row.locator("td[data-label=Cost]")
            .inner_text()
            .split()[-1]
            for row in rows.all()
        }
        assert costs == {"cheap": "$0.000360", "dearer": "$0.000372"}
    assert watched.errors == []


# -- the list: search, filters, pages; comparing two threads --------------------


def test_list_is_searched_filtered_and_paged_by_the_server(
    watched: Watched, log_dir: Path
) -> None:
    """120 threads: 50 rows a page, the next page, a search and a status
    filter, each asked of the server."""
    for number in range(120):
        status = "error" if number % 10 == 0 else "success"
        thread_id = "%s-%03d" % ("news" if number % 2 else "sport", number)
        append_node_log(make_log(thread_id, node_name="publish", status=status))
    page = watched.page
    with running_server(create_app(log_dir)) as base:
        page.goto(base + "/")
        rows = page.locator("[data-testid=thread-row]")
        expect(rows).to_have_count(50, timeout=WAIT_MS)
        expect(page.locator("[data-testid=page-info]")).to_have_text("1\u201350 of 120")
        assert any("limit=50" in url for url in watched.requests)
        page.locator("[data-testid=page-next]").click()
        expect(page.locator("[data-testid=page-info]")).to_have_text(
            "51\u2013100 of 120"
        )
        page.locator("[data-testid=page-next]").click()
        expect(rows).to_have_count(20, timeout=WAIT_MS)
        expect(page.locator("[data-testid=page-next]")).to_be_disabled()

        page.locator("#filter-q").fill("news")
        expect(page.locator("[data-testid=page-info]")).to_have_text(
            "1\u201350 of 60", timeout=WAIT_MS
        )
        assert any("q=news" in url for url in watched.requests)
        page.locator("#filter-status").select_option("failed")
        expect(rows).to_have_count(0, timeout=WAIT_MS)  # failed ones are even
        page.locator("#filter-q").fill("sport")
        expect(rows).to_have_count(12, timeout=WAIT_MS)
        for text in rows.locator(".badge").all_inner_texts():
            assert text == "failed"
        assert watched.hash_params() == {"q": "sport", "status": "failed"}
        watched.no_sideways_scroll()

        page.locator("#filters-clear").click()
        expect(page.locator("[data-testid=page-info]")).to_have_text(
            "1\u201350 of 120", timeout=WAIT_MS
        )
        page.locator("#filter-since").fill("2026-03-02T00:00")  # after every run
        expect(rows).to_have_count(0, timeout=WAIT_MS)
        expect(page.locator("#list-empty")).to_have_text(
            "No thread matches these filters."
        )
        assert any("since=2026-03-0" in url for url in watched.requests)
        page.locator("#filter-since").fill("2026-02-28T00:00")
        page.locator("#filter-until").fill("2026-03-02T00:00")
        expect(page.locator("[data-testid=page-info]")).to_have_text(
            "1\u201350 of 120", timeout=WAIT_MS
        )
        page.locator("#filter-node").fill("draft")  # no thread ran a "draft"
        expect(rows).to_have_count(0, timeout=WAIT_MS)
    assert watched.errors == []


def test_two_threads_compared_side_by_side(
    watched: Watched, log_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Pick two threads, compare: per node, runs, duration, tokens, cost and
    status of each, with the difference."""
    for thread_id, review_runs, fail in (("before", 1, False), ("after", 3, True)):
        append_node_log(make_log(thread_id, node_name="draft", duration_ms=100))
        for attempt in range(review_runs):
            append_node_log(
                make_log(
                    thread_id,
                    node_name="review",
                    start_ms=200 + attempt * 100,
                    status="error"
                    if fail and attempt == review_runs - 1
                    else "success",
                )
            )
    page = watched.page
    with running_server(create_app(log_dir)) as base:
        page.goto(base + "/")
        picks = page.locator("[data-testid=compare-pick]")
        expect(picks).to_have_count(2, timeout=WAIT_MS)
        expect(page.locator("[data-testid=compare-button]")).to_be_disabled()
        page.locator("[data-testid=compare-pick][data-thread-id=before]").check()
        page.locator("[data-testid=compare-pick][data-thread-id=after]").check()
        keep_picture(watched, request, tmp_path, "viewer-list.png")
        page.locator("[data-testid=compare-button]").click()
        expect(page.locator("[data-testid=compare-view]")).to_be_visible(
            timeout=WAIT_MS
        )
        rows = page.locator("[data-testid=compare-row]")
        expect(rows).to_have_count(2, timeout=WAIT_MS)
        review = page.locator("[data-testid=compare-row][data-node=review]")

        def value(label: str) -> str:
            text = review.locator("td[data-label='%s']" % label).inner_text()
            return text.split()[-1]

        assert (value("Runs A"), value("Runs B"), value("Runs Δ")) == ("1", "3", "+2")
        assert value("Tokens A") == "15" and value("Tokens B") == "45"
        expect(review.locator("td[data-label='Status B'] .badge")).to_have_text("error")
        expect(review.locator("td[data-label='Status A'] .badge")).to_have_text(
            "success"
        )
        assert watched.hash_params() == {"compare": "before", "with": "after"}
        watched.no_sideways_scroll()
        keep_picture(watched, request, tmp_path, "viewer-compare.png")
    assert watched.errors == []


def test_page_asks_for_the_key_once(watched: Watched, log_dir: Path) -> None:
    """With an API key, the page asks for it, then lists threads with it."""
    append_node_log(make_log("keyed-thread"))
    page = watched.page
    with running_server(create_app(log_dir, api_key="k3y-for-test")) as base:
        page.goto(base + "/")
        expect(page.locator("#key-form")).to_be_visible(timeout=WAIT_MS)
        page.locator("#key-input").fill("k3y-for-test")
        page.locator("#key-form button").click()
        rows = page.locator("[data-testid=thread-row]")
        expect(rows).to_have_count(1, timeout=WAIT_MS)
        expect(page.locator("#key-form")).to_be_hidden()
        stored = page.evaluate("sessionStorage.getItem('editorial-ai-obs-api-key')")
        assert stored == "k3y-for-test"
        rows.first.locator(".thread-id").click()
        expect(page.locator(".run-bar")).to_have_count(1, timeout=WAIT_MS)
        expect(page.locator("#key-form")).to_be_hidden()
    assert watched.dialogs == []


def test_totals_missing_calls_say_so_on_the_page(
    watched: Watched, log_dir: Path
) -> None:
    """A call without usage shows as ``+ 1 call unknown`` on the list, the
    thread summary and the node table."""
    from editorial_ai.observability import TokenUsage

    append_node_log(
        make_log(
            "partial",
            node_name="write",
            tokens=None,
            token_usage=[
                TokenUsage(
                    prompt_tokens=2000, completion_tokens=306, model_name="gpt-4o-mini"
                ),
                TokenUsage(model_name="gpt-4o-mini", usage_reported=False),
            ],
        )
    )
    page = watched.page
    with running_server(create_app(log_dir)) as base:
        page.goto(base + "/")
        row = page.locator("[data-testid=thread-row]")
        expect(row).to_contain_text("2,306 + 1 call unknown", timeout=WAIT_MS)
        row.click()
        expect(page.locator("#thread-summary")).to_contain_text(
            "2,306 + 1 call unknown", timeout=WAIT_MS
        )
        expect(page.locator("[data-testid=node-row]")).to_contain_text(
            "2,306 + 1 call unknown"
        )
    assert watched.errors == []
