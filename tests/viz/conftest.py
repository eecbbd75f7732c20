"""Fixtures for tests/viz: a real headless Chromium driven by selenium, for the pages' browser tests.

The browser is Debian's /usr/bin/chromium with /usr/bin/chromedriver, named explicitly so that
selenium never tries to download a driver (the test machines have no network). Where any of the
three is missing the browser tests skip, saying what is missing, except on CI (CI=true), which
must install them (apt-get install chromium chromium-driver; pip install selenium) and so fails.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def _missing() -> list[str]:
    missing = []
    if importlib.util.find_spec("selenium") is None:
        missing.append("the selenium package (pip install selenium)")
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            missing.append(f"{path} (apt-get install {package})")
    return missing


class Browser:
    """A thin wrapper: open a file, read the console, evaluate a script."""

    def __init__(self, driver: Any):
        self.driver = driver

    def open(self, path: Path) -> None:
        """Load `path` from file:// and wait for the page script to finish (body[data-ready])."""
        from selenium.webdriver.support.ui import WebDriverWait

        self.console()  # drain entries left by an earlier page
        self.driver.get(Path(path).resolve().as_uri())
        WebDriverWait(self.driver, 20).until(
            lambda d: d.execute_script("return document.readyState === 'complete' && document.body.dataset.ready"))

    def console(self) -> list[dict[str, Any]]:
        """The browser console entries since the last call (level, message)."""
        return self.driver.get_log("browser")

    def severe(self) -> list[dict[str, Any]]:
        return [e for e in self.console() if e.get("level") == "SEVERE"]

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    missing = _missing()
    if missing:
        reason = "browser tests need " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: CI must install them)")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield Browser(driver)
    finally:
        driver.quit()
