"""The web app in a real headless browser: Debian's Chromium (/usr/bin/chromium), driven by
Playwright. `make browser` (and .ci/run) installs Chromium when it is missing; where it truly
cannot be installed these tests skip, loudly."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "docs" / "images"
NO_BROWSER = (f"!!! BROWSER TESTS SKIPPED: {CHROMIUM} is missing and could not be installed here. "
              "Install it with `make browser` (apt-get install -y chromium chromium-driver) !!!")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def chromium_browser():
    if not os.access(CHROMIUM, os.X_OK):
        print("\n" + NO_BROWSER, file=sys.stderr)
        pytest.skip(NO_BROWSER)
    pytest.importorskip("playwright", reason="!!! BROWSER TESTS SKIPPED: Playwright is not installed (make setup-dev installs it) !!!")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS + ["--lang=en-GB"])  # dates as 31/03/2030
        yield browser
        browser.close()


@pytest.fixture
def app_page(chromium_browser):
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB",
                                           timezone_id="Europe/London", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture
def app_server(tmp_path):
    """`carepath app` on a free port, its data in a fresh folder: (base URL, data folder)."""
    data = tmp_path / "app_data"
    proc = subprocess.Popen([sys.executable, "-m", "carepath", "app", "--port", "0", "--data", str(data), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    url, said = None, []
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        line = proc.stdout.readline()
        if not line:
            break
        said.append(line)
        m = re.search(r"open (http://127\.0\.0\.1:\d+)/", line)
        if m:
            url = m.group(1)
            break
    if url is None:
        proc.kill()
        pytest.fail("carepath app did not start: " + "".join(said))
    while time.monotonic() - t0 < 60:
        try:
            urllib.request.urlopen(url + "/", timeout=5).read()
            break
        except OSError:
            time.sleep(0.2)
    yield url, data
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
