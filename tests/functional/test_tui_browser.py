"""`ocitree web` in a real browser: headless Chromium through Selenium and Debian's chromedriver.

Load the page, find with `/`, Delete, `y`, and the sample file has changed; and every
resource the page loaded came from the ocitree server (nothing leaves an air-gapped host).
Skipped with the command that installs the browser where there is none; failing under CI=true.
"""

from __future__ import annotations

import os
import time

import pytest

from tests.helpers.binaries import require_binary
from tests.helpers.tui_pilot import demo_copy, digest_of, stored

from .test_tui_web import web_server


def _require_selenium():
    try:
        import selenium  # noqa: F401
    except ImportError:
        reason = "selenium is not installed: pip install -e '.[test]'"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: tests needing it must run)")
        pytest.skip(reason)


@pytest.fixture
def browser():
    _require_selenium()
    chromium = require_binary("chromium", "chromium")
    chromedriver = require_binary("chromedriver", "chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = chromium
    # WebGL off: xterm.js then draws with its DOM renderer, whose text the test can read.
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-3d-apis",
                "--disable-webgl", "--window-size=1100,760", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield driver
    driver.quit()


def _screen(driver) -> str:
    return driver.execute_script("const r = document.querySelector('.xterm-rows'); return r ? r.innerText : '';") or ""


def _wait_for(condition, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"the browser never showed {what}")


def test_find_delete_confirm_in_a_browser_changes_the_sample_file(browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    path = demo_copy(tmp_path)
    digest = digest_of(path, "platform/base-images", "v2.4")
    with web_server([str(path)]) as (base, _):
        browser.get(base + "/")
        _wait_for(lambda: "platform/base-images" in _screen(browser), "the tree")
        browser.find_element(By.ID, "terminal").click()
        keys = ActionChains(browser)
        for key, what in (("/", "the find bar"), ("v2.4", "the typed text"), (Keys.ENTER, "the first match"),
                          (Keys.DELETE, "the confirmation")):
            before = _screen(browser)
            keys.send_keys(key).perform()
            _wait_for(lambda: _screen(browser) != before, what)
            time.sleep(0.3)  # let the app finish painting
        assert "Delete 10 artifacts" in _screen(browser)
        keys.send_keys("y").perform()
        _wait_for(lambda: digest not in stored(path)["platform/base-images"], "the deletion in the sample file")
        loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(base + "/") for url in loaded), loaded
    assert any(url.endswith(".ttf") for url in loaded)  # the font, from here
