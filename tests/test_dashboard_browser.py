"""The dashboard in a real browser (Debian's chromium driven by playwright): pages
render, and a running job's progress bar moves without the page reloading.

Skips when chromium or playwright is missing, except in CI, where it must run
(``.ci/run`` installs chromium). ``make screenshots`` saves the screenshots of
the main pages, taken here, into ``docs/images`` (``DASHBOARD_SCREENSHOTS``).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

import jobmill
import screenshot_jobs as shots
from dashboard_jobs import GATES, DashboardFailJob, DashboardSteppedJob
from jobmill.cron import add_cron_job
from jobmill.dashboard import create_app
from jobmill.store import Store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser test: {reason}")
    pytest.skip(reason)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is missing (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def server(sqlite_configured: Store) -> Iterator[str]:
    """The dashboard served by uvicorn on a free loopback port; yields its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the dashboard to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture
def stepped_job(sqlite_configured: Store) -> Iterator[str]:
    """A running job that reports 25 % and then waits at ``GATES`` (one per step)."""
    for gate in GATES:
        gate.clear()
    job_id = DashboardSteppedJob.later()
    worker = threading.Thread(target=DashboardSteppedJob.execute_from_database, args=(job_id,))
    worker.start()
    try:
        wait_for(lambda: jobmill.get(job_id).progress == 25, "the job's first progress")
        yield job_id
    finally:
        for gate in GATES:
            gate.set()
        worker.join(timeout=30)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_progress_updates_live_without_reloading(
    browser: Any, server: str, stepped_job: str
) -> None:
    from playwright.sync_api import expect

    with pytest.raises(jobmill.JobFailed):
        DashboardFailJob.now(text="<b>shown escaped</b>")
    page = browser.new_page()
    page.goto(f"{server}/")
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator(".chart svg")).to_be_visible()
    page.goto(f"{server}/failed")
    expect(page.locator(".error-cell")).to_contain_text("<b>shown escaped</b>")

    page.goto(f"{server}/jobs")
    expect(page.locator("table.jobs tbody tr")).to_have_count(2)
    page.get_by_label("Id prefix").fill(stepped_job[:-3])  # filters as you type
    expect(page.locator("table.jobs tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(rf"/jobs\?.*q={stepped_job[:-3]}"))  # bookmarkable
    row_bar = page.locator("table.jobs [role=progressbar]")
    expect(row_bar).to_have_attribute("aria-valuenow", "25")
    page.evaluate("window.loadedOnce = true")
    GATES[0].set()  # the list refreshes itself while it shows a running job
    expect(row_bar).to_have_attribute("aria-valuenow", "50", timeout=10_000)
    assert page.evaluate("window.loadedOnce") is True, "the list page reloaded"

    page.goto(f"{server}/jobs/{stepped_job}")
    bar = page.locator("#job-live [role=progressbar]")
    expect(bar).to_have_attribute("aria-valuenow", "50")
    page.evaluate("window.loadedOnce = true")
    GATES[1].set()
    expect(bar).to_have_attribute("aria-valuenow", "75", timeout=10_000)
    expect(page.locator("#job-live .progress-message")).to_have_text("step 3 of 4")
    assert page.evaluate("window.loadedOnce") is True, "the job page reloaded"

    GATES[2].set()  # the job completes; the page reloads once to show the result
    expect(page.locator("#job-live .status")).to_have_text("completed", timeout=10_000)
    expect(page.locator("pre.json").nth(1)).to_contain_text('"steps": 4')
    page.close()


def test_every_page_loads_without_a_failed_request_or_console_error(
    browser: Any, server: str
) -> None:
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    for path in ("/", "/jobs", "/failed", "/scheduled", "/cron", "/workers"):
        page.goto(f"{server}{path}")
        page.wait_for_load_state("networkidle")
    page.close()
    assert problems == []


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where the screenshots go: ``DASHBOARD_SCREENSHOTS`` (docs/images), else a temp dir."""
    target = Path(os.environ.get("DASHBOARD_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


@pytest.fixture
def busy_queue(sqlite_configured: Store) -> Iterator[str]:
    """Completed, failed, pending, scheduled and running jobs and a cron entry;
    yields the running job's id."""
    for customer in range(1, 7):
        shots.SendInvoiceJob.now(customer_id=customer)
    for path in ("team.jpg", "office.jpg", "launch.jpg"):
        shots.ResizeImageJob.now(path=path)
    for account in ("acme", "globex"):
        with pytest.raises(jobmill.JobFailed):
            shots.SyncCrmAccountJob.now(account=account)
    shots.SendInvoiceJob.later(customer_id=7)
    shots.ResizeImageJob.set(delay=3600).later(path="banner.jpg", width=2400)
    add_cron_job(
        name="weekly-report",
        job=shots.WeeklyReportJob,
        expression="0 7 * * MON",
        timezone="Europe/Berlin",
    )
    shots.IMPORT_GATE.clear()
    job_id = shots.ImportContactsJob.later(file="contacts.csv")
    runner = threading.Thread(target=shots.ImportContactsJob.execute_from_database, args=(job_id,))
    runner.start()
    try:
        wait_for(lambda: jobmill.get(job_id).progress == 40, "the import's progress")
        yield job_id
    finally:
        shots.IMPORT_GATE.set()
        runner.join(timeout=30)


def test_screenshots_of_the_main_pages(
    browser: Any, server: str, busy_queue: str, screenshot_dir: Path
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    pages = {
        "overview": ("/", "Overview"),
        "jobs": ("/jobs", "Jobs"),
        "job": (f"/jobs/{busy_queue}", "ImportContactsJob"),
        "failed": ("/failed", "Failed"),
        "cron": ("/cron", "Cron"),
    }
    for name, (path, heading) in pages.items():
        page.goto(f"{server}{path}")
        page.wait_for_load_state("networkidle")
        expect(page.locator("h1")).to_contain_text(heading)
        shot = screenshot_dir / f"dashboard-{name}.png"
        page.screenshot(path=str(shot))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page.close()
