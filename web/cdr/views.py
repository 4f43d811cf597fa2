"""``POST /api/cdr``: the endpoint mod_json_cdr posts each call leg to.

FreeSWITCH posts from the call's own thread before it fires
CHANNEL_HANGUP_COMPLETE, so the handler only parses the body in the request
thread and hands the row to the worker's committer thread
(``dialer_common.cdr.committer``), which commits concurrent posts together. It returns
2xx only after the commit. Any other status makes FreeSWITCH retry
(``retries``) and then write the CDR to its err-log-dir, from which
``dialer cdr load`` picks it up.
"""

from __future__ import annotations

import hmac
import logging

import psycopg2
from flask import Blueprint, Response, current_app, jsonify, request

from dialer_common.cdr import messages
from dialer_common.cdr.committer import BatchFailed, CdrCommitter, QueueFull
from dialer_common.cdr.metrics import CDR_DUPLICATE, CDR_INGESTED, CDR_REJECTED
from dialer_common.cdr.parse import CdrError
from dialer_common.cdr.store import parse_cdr
from dialer_common.errors import first_line
from web.db import DatabaseUnavailable
from web.errors import error_response
from web.i18n import shared_gettext

log = logging.getLogger(__name__)

bp = Blueprint("cdr", __name__)

COMMITTER_KEY = "dialer.cdr_committer"


@bp.record_once
def _attach_committer(state) -> None:
    # The thread starts with the first CDR, so each gunicorn worker gets its own after the fork.
    state.app.extensions[COMMITTER_KEY] = CdrCommitter.for_database(state.app.config["DIALER"].database_url)


def get_committer(app) -> CdrCommitter:
    """Return the CDR committer of ``app`` (tests close it with ``close()``)."""
    return app.extensions[COMMITTER_KEY]


def _credentials_ok() -> bool:
    config = current_app.config["DIALER"]
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return False
    user_ok = hmac.compare_digest((auth.username or "").encode(), config.cdr_user.encode())
    password_ok = hmac.compare_digest((auth.password or "").encode(), config.cdr_password.encode())
    return user_ok and password_ok


def _rejected(error: CdrError) -> Response:
    status = messages.rejected_status(error.reason)
    CDR_REJECTED.labels(error.reason).inc()
    log.warning("cdr.rejected reason=%s call_uuid=%s detail=%s", error.reason,
                error.call_uuid or messages.loggable(request.args.get("uuid")), error)
    return error_response(status, error.reason, shared_gettext(messages.REJECTED[error.reason]),
                          detail=str(error))


def _unavailable(code: str, exc: Exception) -> Response:
    # Every 503 makes FreeSWITCH post the CDR again after its `delay`.
    CDR_REJECTED.labels(code).inc()
    detail = first_line(exc)
    log.error("cdr.not_stored code=%s call_uuid=%s error=%s", code, messages.loggable(request.args.get("uuid")),
              detail)
    return error_response(503, code, shared_gettext(messages.unavailable_message(code)), detail=detail,
                          headers={"Retry-After": messages.RETRY_AFTER_S})


@bp.post("/api/cdr")
def ingest() -> Response:
    if not _credentials_ok():
        CDR_REJECTED.labels("unauthorized").inc()
        log.warning("cdr.unauthorized call_uuid=%s ip=%s", messages.loggable(request.args.get("uuid")),
                    request.remote_addr)
        return error_response(401, "unauthorized", shared_gettext(messages.UNAUTHORIZED),
                              headers={"WWW-Authenticate": f'Basic realm="{messages.REALM}"'})

    try:
        row = parse_cdr(request.get_data(cache=False), request.content_type or "", request.args.get("uuid"))
        outcome = get_committer(current_app).submit(row).wait(messages.COMMIT_WAIT_S)
    except CdrError as error:
        return _rejected(error)
    except (DatabaseUnavailable, psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
        return _unavailable("database_unavailable", exc)
    except QueueFull as exc:
        return _unavailable("ingest_busy", exc)
    except TimeoutError as exc:
        # The commit did not finish in time: PostgreSQL is stuck or overloaded.
        return _unavailable("database_unavailable", exc)
    except BatchFailed as exc:
        return _unavailable("database_error", exc)

    inserted = outcome == "stored"
    if inserted:
        CDR_INGESTED.inc()
    else:
        CDR_DUPLICATE.inc()
    log.info("cdr.stored call_uuid=%s leg=%s tenant_id=%s duplicate=%s",
             row["call_uuid"], row["leg"], row["tenant_id"], not inserted)
    return jsonify({"status": "stored" if inserted else "duplicate", "call_uuid": row["call_uuid"],
                    "leg": row["leg"]})
