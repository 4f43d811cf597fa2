"""Store decoded CDR legs in the cdr table, idempotently.

``insert_cdr`` stores one leg per transaction (the file loader);
``dialer_common.cdr.committer`` stores the legs of concurrent posts in batches with
the same columns and conflict rule.
"""

from __future__ import annotations

import logging

import orjson

from dialer_common.cdr.fields import cdr_columns
from dialer_common.cdr.parse import CdrError, body_text, decode_json_bytes, decode_text

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
        return tenant_id not in self.unknown(cur, {tenant_id})

    def unknown(self, cur, tenant_ids: set[int]) -> set[int]:
        """Return the ids in ``tenant_ids`` that name no tenant, with one query for the uncached ones."""
        missing = tenant_ids - self._known
        if not missing:
            return set()
        cur.execute("SELECT id FROM tenants WHERE id = ANY(%s)", (list(missing),))
        found = {row["id"] if isinstance(row, dict) else row[0] for row in cur.fetchall()}
        self._known |= found
        return missing - found


def unknown_tenant_error(row: dict) -> CdrError:
    return CdrError("unknown_tenant", f"CDR names unknown tenant dialer_tenant_id={row['tenant_id']}: "
                                      "check the campaign's tenant", row["call_uuid"])


_tenants = TenantCache()


def parse_cdr(body: bytes, content_type: str = "", call_uuid_hint: str | None = None) -> dict:
    """Decode a posted body into the cdr row, ``raw`` included; raise CdrError when it is unusable.

    ``raw`` is the CDR as UTF-8 JSON bytes: a plain JSON body is kept as
    posted (without surrounding white space), and a form body is stored
    decoded, because its percent-encoding carries no evidence and makes the
    text about twice as long. It stays bytes so that a COPY batch is built
    without decoding and encoding 11 KB per CDR again.
    """
    data = body.strip()
    if "x-www-form-urlencoded" in content_type or data.startswith(b"cdr="):
        text = body_text(data)
        document = decode_text(text, content_type)
        raw = orjson.dumps(document)
    else:
        document = decode_json_bytes(data)
        raw = data
    row = cdr_columns(document, call_uuid_hint)
    row["raw"] = raw
    return row


def sql_params(row: dict) -> dict:
    """``row`` with ``raw`` as text, for psycopg2 parameters (bytes would go in as bytea)."""
    return dict(row, raw=row["raw"].decode("utf-8"))


# One commit per CDR: bench/cdr_ingest.py measured 120-900 CDR/s per
# connection on a shared 2-core machine, bound by the WAL flush of each
# commit. The web tier stores through dialer_common.cdr.committer instead.
def insert_cdr(conn, row: dict) -> bool:
    """Insert ``row`` and commit; return False when the leg was already stored.

    Raises CdrError for an unknown tenant. Database errors propagate and
    leave nothing stored.
    """
    with conn.cursor() as cur:
        if not _tenants.exists(cur, row["tenant_id"]):
            conn.rollback()
            raise unknown_tenant_error(row)
        cur.execute(INSERT_SQL, sql_params(row))
        inserted = cur.fetchone() is not None
    conn.commit()
    return inserted

