"""Fixtures shared by the whole suite.

The suite runs against the private PostgreSQL and Redis that
``scripts/services.sh start`` runs (``make test`` starts them). Each pytest
session gets its own database, created from the migrations and dropped at the
end, and its own Redis key prefix, so parallel runs do not see each other.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import uuid
from pathlib import Path

import psycopg2
import pytest
import redis

from dialer_common import db
from dialer_common.config import Config

ROOT = Path(__file__).resolve().parent.parent

# The web tier refuses the public default JWT secrets unless this flag is set.
# Setting it here covers Config.from_env() below and every server a test starts
# with a copy of this environment (gunicorn, the e2e stack).
os.environ.setdefault("DIALER_ALLOW_DEV_SECRETS", "1")
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _admin_url(database_url: str) -> str:
    base, _, _ = database_url.rpartition("/")
    return f"{base}/postgres"


@pytest.fixture(scope="session")
def base_config() -> Config:
    return Config.from_env()


@pytest.fixture(scope="session")
def database_url(base_config: Config) -> str:
    """Create a fresh database for this session, migrated; drop it at the end."""
    name = f"dialer_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = psycopg2.connect(_admin_url(base_config.database_url))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = f"{base_config.database_url.rpartition('/')[0]}/{name}"
    db.apply_migrations(url)
    yield url
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


@pytest.fixture(scope="session")
def config(base_config: Config, database_url: str) -> Config:
    """The Config every test uses: its own database and Redis prefix."""
    return dataclasses.replace(
        base_config,
        database_url=database_url,
        redis_prefix=f"dialer-test-{os.getpid()}:",
    )


@pytest.fixture
def conn(config: Config):
    """A database connection, closed after the test."""
    connection = db.connect(config.database_url)
    yield connection
    connection.close()


@pytest.fixture
def redis_client(config: Config):
    """A Redis client; the test's keys under the session prefix are deleted after it."""
    client = redis.Redis.from_url(config.redis_url, decode_responses=True)
    yield client
    for key in client.scan_iter(f"{config.redis_prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def tenant(conn):
    """A new tenant with an admin user (password 'Secreto-123'), trunk, DID and campaign."""
    from argon2 import PasswordHasher

    slug = f"t-{uuid.uuid4().hex[:10]}"
    password_hash = PasswordHasher().hash("Secreto-123")
    with db.transaction(conn) as cur:
        cur.execute("INSERT INTO tenants (slug, name) VALUES (%s, %s) RETURNING id", (slug, f"Tenant {slug}"))
        tenant_id = cur.fetchone()["id"]
        cur.execute(
            "INSERT INTO users (tenant_id, email, password_hash, full_name, role)"
            " VALUES (%s, %s, %s, 'Admin Prueba', 'admin') RETURNING id",
            (tenant_id, f"admin@{slug}.example", password_hash),
        )
        user_id = cur.fetchone()["id"]
        cur.execute(
            "INSERT INTO trunks (tenant_id, name, gateway) VALUES (%s, 'carrier-a', 'carrier_a') RETURNING id",
            (tenant_id,),
        )
        trunk_id = cur.fetchone()["id"]
        cur.execute(
            "INSERT INTO dids (tenant_id, number, trunk_id) VALUES (%s, '+13055550150', %s)",
            (tenant_id, trunk_id),
        )
        cur.execute(
            "INSERT INTO campaigns (tenant_id, name, status, trunk_id, queue_name, caller_id_name)"
            " VALUES (%s, 'Cobranza Diciembre', 'draft', %s, %s, 'Peña Cobranzas') RETURNING id",
            (tenant_id, trunk_id, f"campaign-{slug}@default"),
        )
        campaign_id = cur.fetchone()["id"]
    return {
        "id": tenant_id,
        "slug": slug,
        "user_id": user_id,
        "email": f"admin@{slug}.example",
        "password": "Secreto-123",
        "trunk_id": trunk_id,
        "campaign_id": campaign_id,
    }
