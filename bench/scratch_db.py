"""Scratch databases for benchmarks: created and migrated at the start, dropped at the end."""

from __future__ import annotations

import os
import uuid

import psycopg2

from dialer_common import db
from dialer_common.config import Config


def _admin_connection(config: Config):
    admin = psycopg2.connect(f"{config.database_url.rpartition('/')[0]}/postgres")
    admin.autocommit = True
    return admin


def create_database(config: Config, suffix: str = "") -> tuple[str, str]:
    """Create and migrate a database beside ``config``'s; return its name and URL."""
    name = f"dialer_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}{suffix}"
    admin = _admin_connection(config)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    url = f"{config.database_url.rpartition('/')[0]}/{name}"
    db.apply_migrations(url)
    return name, url


def drop_database(config: Config, name: str) -> None:
    """Drop a scratch database, ending the sessions still connected to it."""
    admin = _admin_connection(config)
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()
