"""Fixtures for the dashboard's browser tests: a served app and headless Chromium."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading

import pytest
from werkzeug.serving import make_server

from web import create_app
from web import ws as live_ws
from web.db import close_pool

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW_SIZE = "1280,800"


@contextlib.contextmanager
def serve(config):
    """Serve the real app on 127.0.0.1 and a free port; yield its base URL."""
    app = create_app(config)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=http.serve_forever, kwargs={"poll_interval": 0.05}, name="ui-test-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(timeout=5)
        app.extensions[live_ws.READER_KEY].close()
        close_pool(app)


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
