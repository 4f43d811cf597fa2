"""Fixtures for compliance tests: the shipped packs and a Redis cap store under the session prefix."""

from __future__ import annotations

import pytest

from dialer_common.compliance.caps import RedisFrequencyCaps
from dialer_common.compliance.packs import PackSet


@pytest.fixture(scope="session")
def packs() -> PackSet:
    return PackSet.load()


@pytest.fixture
def caps(redis_client, config) -> RedisFrequencyCaps:
    return RedisFrequencyCaps(redis_client, config.redis_prefix)


@pytest.fixture
def app(config, redis_client):
    """The web app, whose factory registers the compliance blueprint."""
    from web import create_app
    from web.db import close_pool

    application = create_app(config, {"TESTING": True})
    yield application
    close_pool(application)


@pytest.fixture
def client(app):
    from tests.web.conftest import client_from

    return client_from(app)


@pytest.fixture
def auth_headers(client, tenant) -> dict:
    response = client.post("/api/auth/login", json={"email": tenant["email"], "password": tenant["password"]})
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}
