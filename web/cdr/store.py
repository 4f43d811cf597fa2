"""Store one decoded CDR leg in the cdr table, idempotently."""

from __future__ import annotations

import json
import logging

import psycopg2.extras

from web.cdr.fields import cdr_columns
from web.cdr.parse import CdrError, decode_body

log = logging.getLogger(__name__)

COLUMNS = (
    "tenant_id", "call_uuid", "leg", "started_at", "attempt_id", "campaign_id", "lead_id", "switchname",
    "direction", "caller_id_number", "destination_number", "answered_at", "ended_at", "answered", "billsec",
    "duration", "pdd_ms", "hangup_cause", "sip_status", "amd_result", "live", "abandoned",
    "safe_harbor_played", "safe_harbor_at", "agent_name", "trunk", "did", "raw",
)
# (call_uuid, leg, started_at) is unique, and started_at is the same in every
# retry of one CDR, so a repeated post inserts nothing.
INSERT_SQL = (
    f"INSERT INTO cdr ({', '.join(COLUMNS)}) VALUES ({', '.join(f'%({name})s' for name in COLUMNS)})"
    " ON CONFLICT DO NOTHING RETURNING id"
)


class TenantCache:
    """Tenant ids known to exist; tenants are created rarely and never reused."""

    def __init__(self) -> None:
        self._known: set[int] = set()

    def exists(self, cur, tenant_id: int) -> bool:
        if tenant_id in self._known:
            return True
        cur.execute("SELECT 1 FROM tenants WHERE id = %s", (tenant_id,))
        if cur.fetchone() is None:
            return False
        self._known.add(tenant_id)
        return True


_tenants = TenantCache()


def parse_cdr(body: bytes, content_type: str = "", call_uuid_hint: str | None = None) -> dict:
    """Decode a posted body into the cdr row, ``raw`` included; raise CdrError when it is unusable."""
    document = decode_body(body, content_type)
    row = cdr_columns(document, call_uuid_hint)
    row["raw"] = psycopg2.extras.Json(document, dumps=_dumps)
    return row


# NOTE: one commit per CDR. bench/cdr_ingest.py measured 120-900 CDR/s per
# connection on a shared 2-core machine, bound by the WAL flush of each
# commit and the 11 KB jsonb insert. Batching concurrent posts into one
# transaction, answering each after that commit, is the next step to 2,000/s.
def insert_cdr(conn, row: dict) -> bool:
    """Insert ``row`` and commit; return False when the leg was already stored.

    Raises CdrError for an unknown tenant. Database errors propagate and
    leave nothing stored.
    """
    with conn.cursor() as cur:
        if not _tenants.exists(cur, row["tenant_id"]):
            conn.rollback()
            raise CdrError("unknown_tenant", f"CDR names unknown tenant dialer_tenant_id={row['tenant_id']}: "
                                             "check the campaign's tenant", row["call_uuid"])
        cur.execute(INSERT_SQL, row)
        inserted = cur.fetchone() is not None
    conn.commit()
    return inserted


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
