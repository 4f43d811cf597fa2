"""Fixtures for the dashboard's browser tests: a served app and headless Chromium."""

from __future__ import annotations

import dataclasses
import os

import pytest

from tests.web.conftest import serve_app

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW_SIZE = "1280,800"


def serve(config):
    """Serve the real app on 127.0.0.1 and a free port; yield its base URL."""
    return serve_app(config, "ui-test-server")


@pytest.fixture
def live_server(config):
    with serve(dataclasses.replace(config, ws_heartbeat_s=1.0)) as base_url:
        yield base_url


@pytest.fixture
def short_token_server(config):
    """A server whose access tokens expire 5 s after they are issued."""
    with serve(dataclasses.replace(config, ws_heartbeat_s=1.0, access_token_ttl_s=5)) as base_url:
        yield base_url


@pytest.fixture
def browser(tmp_path):
    """Headless Chromium at 1280x800 with a fresh profile, driven by the Debian chromedriver."""
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip(f"headless browser test needs {CHROMIUM} and {CHROMEDRIVER} (Debian chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        f"--window-size={WINDOW_SIZE}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
