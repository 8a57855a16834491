"""Headless Chromium through Selenium and Debian's chromedriver (no browser download)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from app.settings import PROJECT_ROOT

__all__ = ["chromium_driver", "draw", "screenshot"]


def chromium_driver():  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or "/usr/bin/chromium"
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not Path(binary).exists() or not Path(driver_path).exists():
        return None
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={tempfile.mkdtemp(prefix='kdtcn-chromium-')}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


def draw(driver: Any, url: str) -> str:
    """Open an explanation page and wait until it has drawn or failed: its status state."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    state = (By.ID, "status")
    WebDriverWait(driver, 60).until(
        lambda d: d.find_element(*state).get_attribute("data-state") in {"drawn", "error"}
    )
    return str(driver.find_element(*state).get_attribute("data-state"))


def screenshot(driver: Any, name: str) -> None:
    """Save the page as var/screenshots/NAME (to look at after a run)."""
    shots = PROJECT_ROOT / "var" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(shots / name))
