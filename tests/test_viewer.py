"""The web viewer in a real headless Chromium, served by a real uvicorn.

docs/viewer-thread.png is made by
``pytest tests/test_viewer.py --viewer-screenshot docs/viewer-thread.png``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright

from editorial_ai.observability import append_node_log
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

    def __init__(self, page: Page) -> None:
        self.page = page
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


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    """A fresh browser context and page, sized like a laptop screen."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield Watched(context.new_page())
    finally:
        context.close()


def test_thread_page_shows_runs_and_state_as_text(
    watched: Watched, log_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """List -> thread -> one bar per run -> snapshot on click; the XSS never runs."""
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
        row.click()

        bars = page.locator(".run-bar")
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

        plan = next(run for run in api_runs if run["node_name"] == "plan")
        page.locator(".run-bar[data-index='%d']" % plan["index"]).click()
        # Pretty-printed JSON: the payload as a JSON string, shown as text.
        as_json = json.dumps(XSS)
        expect(page.locator("#input-state")).to_contain_text(as_json, timeout=WAIT_MS)
        expect(page.locator("#run-title")).to_have_text("plan · run %d" % plan["index"])
        assert len([url for url in watched.requests if "/runs/" in url]) == 1

        page.locator(".run-bar[data-status=error]").click()
        expect(page.locator("#run-error-line")).to_contain_text(
            "PublishRefused: the CMS refused " + XSS, timeout=WAIT_MS
        )
        expect(page.locator("#input-state")).to_contain_text(as_json)

        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.locator("img").count() == 0
        assert watched.dialogs == []
        assert watched.errors == []

        picture = tmp_path / "viewer-thread.png"
        page.screenshot(path=str(picture), full_page=True)
        keep = request.config.getoption("--viewer-screenshot")
        if keep:
            shutil.copyfile(picture, keep)


def test_running_thread_refreshes_itself(watched: Watched, log_dir: Path) -> None:
    """A thread waiting on an interrupt is re-read until new runs show up."""
    append_node_log(make_log("live", node_name="draft", start_ms=0))
    append_node_log(make_log("live", node_name="approval", status="interrupted"))
    page = watched.page
    with running_server(create_app(log_dir)) as base:
        page.goto(base + "/#thread=live")
        expect(page.locator(".run-bar")).to_have_count(2, timeout=WAIT_MS)
        append_node_log(make_log("live", node_name="approval", start_ms=500))
        expect(page.locator(".run-bar")).to_have_count(3, timeout=WAIT_MS)
        expect(page.locator("#thread-summary .badge")).to_have_text("completed")
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
        rows.first.click()
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
