"""Rows of the audit_log table: who did what, in which tenant."""

from __future__ import annotations

import psycopg2.extras


def record(cur, action: str, tenant_id: int | None, user_id: int | None,
           target: str = "", details: dict | None = None) -> None:
    """Insert one audit row with ``cur``; the caller commits."""
    cur.execute(
        "INSERT INTO audit_log (tenant_id, user_id, action, target, details)"
        " VALUES (%s, %s, %s, %s, %s)",
        (tenant_id, user_id, action, target, psycopg2.extras.Json(details or {})),
    )
