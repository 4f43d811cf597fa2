"""PostgreSQL access: connections, transactions and migrations."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import psycopg2.extras

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


def connect(database_url: str, **kwargs) -> "psycopg2.extensions.connection":
    """Open a connection whose cursors return rows as dicts."""
    conn = psycopg2.connect(database_url, cursor_factory=psycopg2.extras.RealDictCursor, **kwargs)
    return conn


@contextlib.contextmanager
def transaction(conn) -> Iterator["psycopg2.extensions.cursor"]:
    """Yield a cursor inside a transaction: commit on success, roll back on error."""
    with conn:
        with conn.cursor() as cur:
            yield cur


def apply_migrations(database_url: str) -> list[str]:
    """Apply the pending migrations in ``sql/`` with yoyo; return their ids."""
    from yoyo import get_backend, read_migrations

    backend = get_backend(database_url)
    migrations = read_migrations(str(SQL_DIR))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    applied = [migration.id for migration in pending]
    if applied:
        log.info("migrations.applied ids=%s", ",".join(applied))
    return applied
