"""Fixtures for the web tier: the real app on the session's database and Redis."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest
from werkzeug.serving import make_server

from tests.conftest import ROOT, free_port
from web import create_app
from web import ws as live_ws
from web.db import close_pool

_client_numbers = itertools.count(1)


@pytest.fixture
def app(config, redis_client):
    application = create_app(config, {"TESTING": True})
    yield application
    close_pool(application)


def client_from(app, address: str | None = None):
    """A test client with its own remote address, so login rate limits do not leak between tests."""
    if address is None:
        number = next(_client_numbers)
        address = f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"
    test_client = app.test_client()
    test_client.environ_base["REMOTE_ADDR"] = address
    return test_client


@pytest.fixture
def client(app):
    return client_from(app)


def login(client, email: str, password: str):
    """Post the login form and return the response."""
    return client.post("/api/auth/login", json={"email": email, "password": password})


@pytest.fixture
def token(client, tenant) -> str:
    """An access token of the tenant's admin."""
    response = login(client, tenant["email"], tenant["password"])
    assert response.status_code == 200, response.json
    return response.json["access_token"]


@pytest.fixture
def auth_headers(token) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def live_server(app):
    """The app served by werkzeug on 127.0.0.1 in a thread; yields its base URL."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=5)


def gunicorn_env(config, **extra: str) -> dict[str, str]:
    """Environment for a gunicorn child that serves the session's database and Redis prefix."""
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith("DIALER_") and key != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update({
        "PYTHONPATH": str(ROOT),
        "DIALER_DATABASE_URL": config.database_url,
        "DIALER_REDIS_URL": config.redis_url,
        "DIALER_REDIS_PREFIX": config.redis_prefix,
        "DIALER_ALLOW_DEV_SECRETS": "1",
    })
    env.update(extra)
    return env


@contextlib.contextmanager
def serve_app(config, name: str = "test-server"):
    """Serve a new app for ``config`` on 127.0.0.1 and a free port, in a thread; yield its http:// base URL."""
    app = create_app(config)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(timeout=5)
        app.extensions[live_ws.READER_KEY].close()
        close_pool(app)


@contextlib.contextmanager
def gunicorn_server(env: dict[str, str], *options: str, workers: int = 2, threads: int = 4):
    """Run ``gunicorn 'web:create_app()'`` on a free 127.0.0.1 port; yield its base URL.

    The server is stopped (TERM, then KILL after 10 s) when the block ends.
    """
    port = free_port()
    if not any(option.startswith(("--control-socket", "--no-control-socket")) for option in options):
        options = ("--no-control-socket", *options)
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"), "-k", "gthread",
        "-w", str(workers), "--threads", str(threads),
        "-b", f"127.0.0.1:{port}", *options, "web:create_app()",
    ]
    # A file, not a pipe, takes gunicorn's output, so a full pipe cannot block the server.
    output = tempfile.TemporaryFile()
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(base_url, process, output)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        output.close()


def _wait_for_health(base_url: str, process: subprocess.Popen, output, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output.seek(0)
            text = output.read().decode(errors="replace")
            raise AssertionError(f"gunicorn exited with {process.returncode}: {text[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"gunicorn did not answer {base_url}/health within {timeout_s} s")
