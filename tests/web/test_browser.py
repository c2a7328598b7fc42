"""The web view in a real browser: Debian's Chromium driven by Playwright against a live uvicorn server.

Skips with a reason when Playwright for Python or /usr/bin/chromium is missing (never downloads a browser).
Screenshots go to $HUNTBRIEF_TEST_ARTIFACTS when set, else to pytest's temporary folder.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found (apt-get install chromium)", allow_module_level=True)

import uvicorn  # noqa: E402

from huntbrief.adapters.brief_rows import brief_id  # noqa: E402
from huntbrief.adapters.store import SqlStore  # noqa: E402
from huntbrief.app.web import LOOPBACK_HOSTS, create_app  # noqa: E402
from tests.web.sample import SPL, XSS_TITLE  # noqa: E402

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def server(web_store: SqlStore) -> Iterator[str]:
    """`huntbrief serve`'s app on a free 127.0.0.1 port, in a thread; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(web_store, allowed_hosts=LOOPBACK_HOSTS)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("HUNTBRIEF_TEST_ARTIFACTS") or tmp_path_factory.mktemp("artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object, server: str) -> Iterator[object]:
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    opened = context.new_page()
    opened.problems = []  # CSP violations, script errors and dialogs seen on the page
    opened.on("console", lambda m: m.type == "error" and opened.problems.append(m.text))
    opened.on("pageerror", lambda e: opened.problems.append(str(e)))
    opened.on("dialog", lambda d: (opened.problems.append(f"dialog: {d.message}"), d.dismiss()))
    yield opened
    context.close()


def levels(page: object) -> list[str]:
    return page.locator("tr.brief-row").evaluate_all("rows => rows.map(r => r.dataset.level)")  # type: ignore[attr-defined, no-any-return]


def test_analyst_flow_filter_open_copy_search(page: object, artifacts: Path) -> None:
    p = page
    p.goto("/")  # type: ignore[attr-defined]
    assert levels(p) == ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "HIGH"]
    p.select_option("#severity", "HIGH")  # type: ignore[attr-defined]
    p.click("#apply")  # type: ignore[attr-defined]
    p.wait_for_url("**/?severity=HIGH*")  # type: ignore[attr-defined]
    assert levels(p) == ["HIGH", "HIGH"]
    p.click("a.brief-link >> nth=0")  # type: ignore[attr-defined]
    p.wait_for_url(f"**/briefs/{brief_id('k-phish')}")  # type: ignore[attr-defined]
    assert "Phishing wave" in p.inner_text("#brief-title")  # type: ignore[attr-defined]
    button = p.locator('#hunts button[data-copy^="q-"]').first  # type: ignore[attr-defined]
    button.click()
    sync_api.expect(button).to_have_text("Copied ✓")
    assert p.evaluate("navigator.clipboard.readText()") == SPL  # type: ignore[attr-defined]
    p.screenshot(path=str(artifacts / "brief.png"), full_page=True)  # type: ignore[attr-defined]
    p.click("nav >> text=IOC search")  # type: ignore[attr-defined]
    p.fill("#ioc-q", "hxxp://update.badcdn[.]net/payload.exe")  # type: ignore[attr-defined]
    p.click("#ioc-search")  # type: ignore[attr-defined]
    p.wait_for_url("**/iocs?q=*")  # type: ignore[attr-defined]
    hits = p.locator(".ioc-hits a.brief-link")  # type: ignore[attr-defined]
    sync_api.expect(hits).to_have_count(1)
    assert hits.get_attribute("href") == f"/briefs/{brief_id('k-ransom')}"
    p.screenshot(path=str(artifacts / "ioc-search.png"), full_page=True)  # type: ignore[attr-defined]
    assert p.problems == []  # type: ignore[attr-defined]
    assert (artifacts / "brief.png").stat().st_size > 10_000


def test_script_in_a_title_renders_as_text(page: object, artifacts: Path) -> None:
    p = page
    p.goto(f"/briefs/{brief_id('k-xss')}")  # type: ignore[attr-defined]
    assert XSS_TITLE in p.inner_text("#brief-title")  # type: ignore[attr-defined]
    assert p.title().startswith(XSS_TITLE)  # type: ignore[attr-defined]
    assert p.locator("script").count() == 1 and p.locator("img").count() == 0  # type: ignore[attr-defined]
    assert p.locator('a[href^="javascript:"]').count() == 0  # type: ignore[attr-defined]
    p.goto("/?q=pwned")  # type: ignore[attr-defined]
    assert XSS_TITLE in p.inner_text("a.brief-link")  # type: ignore[attr-defined]
    p.screenshot(path=str(artifacts / "xss-title.png"))  # type: ignore[attr-defined]
    assert p.problems == []  # type: ignore[attr-defined]


def test_heatmap_and_sources_load_cleanly(page: object) -> None:
    p = page
    p.goto("/heatmap?end=2026-11-30&days=30")  # type: ignore[attr-defined]
    assert p.locator("td.heat-5").count() >= 1  # type: ignore[attr-defined]
    p.goto("/sources")  # type: ignore[attr-defined]
    assert "75%" in p.inner_text("table.sources")  # type: ignore[attr-defined]
    assert p.problems == []  # type: ignore[attr-defined]
