"""An agent's disposition of a call attempt: POST /api/attempts/<id>/disposition.

``do_not_call`` puts the attempt's number on the tenant's internal do-not-call
list at once (the orchestrator checks the list at dial time) and marks the
lead ``dnc``. Every disposition is written to audit_log with the attempt id.
"""

from __future__ import annotations

import logging
import uuid

from flask import Response, g, jsonify
from flask_babel import gettext as _

from dialer_common import db
from dialer_common.compliance import dnc
from dialer_common.phone import mask
from web.auth import audit
from web.auth.rbac import require_role
from web.compliance.views import bp
from web.db import get_conn
from web.errors import ApiError
from web.json_body import field, json_object

log = logging.getLogger(__name__)

DISPOSITIONS = ("do_not_call", "callback", "sale", "not_interested", "wrong_number")
DNC_REASON = "agent disposition"
MAX_NOTE_CHARS = 1000


@bp.post("/api/attempts/<uuid:attempt_id>/disposition")
@require_role("admin", "supervisor", "agent")
def post_disposition(attempt_id: uuid.UUID) -> Response:
    data = json_object('{"disposition": "do_not_call", "note": "asked not to be called again"}')
    disposition = field(data, "disposition", "string")
    if disposition not in DISPOSITIONS:
        raise ApiError(
            "invalid_disposition",
            _(
                "Invalid disposition %(value)s: use one of %(accepted)s.",
                value=disposition,
                accepted=", ".join(DISPOSITIONS),
            ),
            field="disposition",
        )
    note = field(data, "note", "string", "")[:MAX_NOTE_CHARS]

    conn = get_conn()
    attempt = _find_attempt(conn, g.tenant_id, attempt_id)
    if attempt is None:
        raise ApiError("not_found", _("Call attempt %(id)s not found.", id=attempt_id), status=404)

    listed = disposition == "do_not_call"
    if listed:
        # add_numbers commits on its own, so the number is blocked even if the lead update below fails.
        dnc.add_numbers(conn, g.tenant_id, [attempt["phone_e164"]], DNC_REASON, g.claims["email"])
    _record(conn, attempt, disposition, note, listed)
    log.info(
        "attempt.disposition tenant_id=%s attempt_id=%s lead_id=%s disposition=%s phone=%s",
        g.tenant_id,
        attempt_id,
        attempt["lead_id"],
        disposition,
        mask(attempt["phone_e164"]),
    )
    return jsonify({"attempt_id": str(attempt_id), "disposition": disposition, "dnc_listed": listed})


def _find_attempt(conn, tenant_id: int, attempt_id: uuid.UUID) -> dict | None:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, campaign_id, lead_id, phone_e164 FROM attempts"
            " WHERE tenant_id = %s AND id = %s LIMIT 1",
            (tenant_id, str(attempt_id)),
        )
        return cur.fetchone()


def _record(conn, attempt: dict, disposition: str, note: str, listed: bool) -> None:
    """Mark the lead ``dnc`` when listed and write the audit row, in one transaction."""
    with db.transaction(conn) as cur:
        if listed:
            cur.execute(
                "UPDATE leads SET status = 'dnc', updated_at = now() WHERE tenant_id = %s AND id = %s",
                (g.tenant_id, attempt["lead_id"]),
            )
        audit.record(
            cur,
            "attempt.disposition",
            g.tenant_id,
            g.user_id,
            target=str(attempt["id"]),
            details={
                "disposition": disposition,
                "note": note,
                "lead_id": attempt["lead_id"],
                "campaign_id": attempt["campaign_id"],
            },
        )
