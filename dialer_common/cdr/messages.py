"""Responses of a CDR endpoint: status codes and the translatable messages.

The web tier's ``POST /api/cdr`` and the CDR receiver give the same responses.
Messages are English source strings for gettext; the web tier translates
them with its catalog, the receiver with dialer_common/locale.
"""

from __future__ import annotations

import re

from dialer_common.phone import N_

_UUID_SHAPE = re.compile(r"[0-9A-Fa-f-]{1,64}")

# Basic-auth realm in the 401's WWW-Authenticate header.
REALM = "dialer-cdr"
# Seconds FreeSWITCH should wait before retrying when the database is down;
# mod_json_cdr itself waits its own `delay` setting and ignores the header.
RETRY_AFTER_S = "5"
# Seconds a request waits for its batch's commit before the 503 response.
# mod_json_cdr has no request timeout, so the call's thread on the media
# node waits this long too.
COMMIT_WAIT_S = 5.0

UNAUTHORIZED = N_(
    "Wrong CDR user or password: set the cred parameter of mod_json_cdr to the "
    "DIALER_CDR_USER:DIALER_CDR_PASSWORD pair."
)
DATABASE_UNAVAILABLE = N_("The database is unavailable: retry later.")
DATABASE_ERROR = N_("Internal server error: try again later.")
INGEST_BUSY = N_("Too many CDRs are waiting for the database: retry later.")

# CdrError.reason -> message.
REJECTED = {
    "empty_body": N_("The CDR body is empty."),
    "malformed": N_("The CDR body is malformed or truncated."),
    "missing_variables": N_("The CDR has no variables object."),
    "missing_variable": N_("The CDR lacks a required variable."),
    "invalid_variable": N_("A CDR variable has an invalid value."),
    "unknown_tenant": N_("The CDR names a tenant that does not exist."),
}


def rejected_status(reason: str) -> int:
    """HTTP status of a CdrError: 400 when the body cannot be read, 422 when a value is wrong."""
    return 400 if reason in ("empty_body", "malformed") else 422


def unavailable_message(code: str) -> str:
    """Message of a 503 with ``code`` ``database_unavailable``, ``ingest_busy`` or ``database_error``."""
    return {"database_error": DATABASE_ERROR, "ingest_busy": INGEST_BUSY}.get(code, DATABASE_UNAVAILABLE)


def loggable(value: str | None) -> str:
    """Return ``value`` for a log line: as is when it is uuid-shaped, else its repr() (at most 64 characters).

    The call uuid of a rejected post comes from the client, so a value with a
    newline could otherwise forge log lines.
    """
    if not value:
        return ""
    if _UUID_SHAPE.fullmatch(value):
        return value
    return repr(value[:64])
