"""Fixtures for the web tier: the real app on the session's database and Redis."""

from __future__ import annotations

import itertools
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import free_port
from web import create_app
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
