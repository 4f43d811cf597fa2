"""Derive the cdr table's columns from a decoded mod_json_cdr document. No I/O.

Facts used (FreeSWITCH 1.10.12 CDRs): ``variables`` values are strings, and
epochs come as ``*_epoch`` (s) and ``*_uepoch`` (µs), ``0`` when the event
never happened. ``callflow`` is a list with the newest caller profile first.
The agent leg of a mod_callcenter call has ``originator`` in its caller
profile, which is what makes it a B leg.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from dialer_common.cdr.parse import CdrError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Columns of type integer (the rest are bigint); a larger value would fail the
# whole INSERT batch it is part of, so it is rejected here with a clear error.
INT4_VARIABLES = frozenset({"billsec", "duration", "sip_term_status", "sip_invite_failure_status"})
INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1
# An integer variable: an optional minus sign and ASCII digits. The digit
# limit keeps int() cheap; the column range is checked after it.
_INTEGER = re.compile(r"-?[0-9]{1,30}")

# Start times outside these bounds are not a call's: a CDR from before the
# year 2000, or more than a day ahead of this server's clock, is rejected so it
# cannot sit in every report window.
EARLIEST_START = datetime(2000, 1, 1, tzinfo=UTC)
MAX_CLOCK_SKEW = timedelta(days=1)

# Channel variables the orchestrator sets on every originate (and exports to
# the agent leg with cc_export_vars); a CDR without a tenant cannot be stored.
REQUIRED_VARIABLES = ("dialer_tenant_id",)


def cdr_columns(document: dict, call_uuid_hint: str | None = None) -> dict:
    """Return the cdr row (without ``raw``) for ``document``; raise CdrError naming what is wrong."""
    variables = document.get("variables")
    call_uuid = _call_uuid(variables, document, call_uuid_hint)
    if not isinstance(variables, dict):
        raise CdrError("missing_variables", "CDR has no variables object: check mod_json_cdr", call_uuid)
    for name in REQUIRED_VARIABLES:
        if not variables.get(name):
            raise CdrError("missing_variable", f"CDR variable {name} is missing: originate with "
                                               f"{name}=<id> and export it with cc_export_vars", call_uuid)

    profile = _first_profile(document)
    started_at = _started_at(variables, document, call_uuid)
    if not EARLIEST_START <= started_at <= datetime.now(UTC) + MAX_CLOCK_SKEW:
        raise CdrError("invalid_variable", f"CDR start time {started_at.isoformat()} is not plausible: expected "
                                           "a time after 2000 and not ahead of this server's clock; check the "
                                           "media node's clock", call_uuid)
    billsec = _integer(variables, "billsec", call_uuid) or 0
    answer_epoch = _integer(variables, "answer_epoch", call_uuid) or 0
    safe_harbor_ms = _integer(variables, "dialer_safe_harbor_ms", call_uuid)

    def text(value, name: str) -> str | None:
        return _text(value, name, call_uuid)

    return {
        "tenant_id": _integer(variables, "dialer_tenant_id", call_uuid),
        "call_uuid": call_uuid,
        "leg": "b" if "originator" in profile else "a",
        "started_at": started_at,
        "attempt_id": _uuid_variable(variables, "dialer_attempt_id", call_uuid),
        "campaign_id": _integer(variables, "dialer_campaign_id", call_uuid),
        "lead_id": _integer(variables, "dialer_lead_id", call_uuid),
        "switchname": text(document.get("switchname"), "switchname"),
        "direction": text(variables.get("direction"), "direction"),
        "caller_id_number": text(
            variables.get("origination_caller_id_number") or profile.get("caller_id_number"), "caller_id_number"
        ),
        "destination_number": text(_destination_number(document, profile), "destination_number"),
        "answered_at": _epoch_time(variables, "answer", call_uuid),
        "ended_at": _epoch_time(variables, "end", call_uuid),
        # "Answered" is answer_epoch > 0 or billsec > 0; duration counts ringing too.
        "answered": answer_epoch > 0 or billsec > 0,
        "billsec": billsec,
        "duration": _integer(variables, "duration", call_uuid) or 0,
        "pdd_ms": _pdd_ms_checked(variables, call_uuid),
        "hangup_cause": text(variables.get("hangup_cause"), "hangup_cause"),
        "sip_status": _sip_status(variables, call_uuid),
        "amd_result": text(variables.get("dialer_amd_result"), "dialer_amd_result"),
        "live": _flag(variables, "dialer_live", call_uuid),
        "abandoned": _flag(variables, "dialer_abandoned", call_uuid),
        "safe_harbor_played": safe_harbor_ms is not None and safe_harbor_ms > 0,
        "safe_harbor_at": _from_ms(safe_harbor_ms, "dialer_safe_harbor_ms", call_uuid) if safe_harbor_ms
        else None,
        "agent_name": text(variables.get("dialer_agent"), "dialer_agent"),
        "trunk": text(variables.get("dialer_trunk_id"), "dialer_trunk_id"),
        "did": text(variables.get("dialer_did"), "dialer_did"),
    }


def _call_uuid(variables, document: dict, hint: str | None) -> str:
    candidates = []
    if isinstance(variables, dict):
        candidates.append(variables.get("uuid"))
    candidates.append(_first_profile(document).get("uuid"))
    candidates.append(hint)
    for candidate in candidates:
        if candidate:
            try:
                return str(uuid.UUID(candidate))
            except (ValueError, TypeError, AttributeError):
                raise CdrError("malformed", f"invalid channel uuid {candidate!r} in the CDR") from None
    raise CdrError("missing_variable", "CDR has no channel uuid (variables.uuid): check mod_json_cdr")


def _first_profile(document: dict) -> dict:
    callflow = document.get("callflow")
    if isinstance(callflow, dict):
        callflow = [callflow]
    if isinstance(callflow, list) and callflow and isinstance(callflow[0], dict):
        profile = callflow[0].get("caller_profile")
        if isinstance(profile, dict):
            return profile
    return {}


def _destination_number(document: dict, profile: dict) -> str | None:
    # The oldest caller profile (the last entry) contains the number dialled.
    callflow = document.get("callflow")
    if isinstance(callflow, list) and callflow and isinstance(callflow[-1], dict):
        oldest = callflow[-1].get("caller_profile")
        if isinstance(oldest, dict) and oldest.get("destination_number"):
            return oldest["destination_number"]
    return profile.get("destination_number")


def _started_at(variables: dict, document: dict, call_uuid: str) -> datetime:
    start_us = _integer(variables, "start_uepoch", call_uuid)
    if start_us:
        return _from_us(start_us, "start_uepoch", call_uuid)
    start_s = _integer(variables, "start_epoch", call_uuid)
    if start_s:
        return _from_s(start_s, "start_epoch", call_uuid)
    callflow = document.get("callflow")
    if isinstance(callflow, list) and callflow and isinstance(callflow[-1], dict):
        times = callflow[-1].get("times")
        created = str(times.get("created_time", "0")) if isinstance(times, dict) else "0"
        if created.isdigit() and int(created) > 0:
            return _from_us(int(created), "created_time", call_uuid)
    raise CdrError("missing_variable", "CDR has no start time (start_epoch or callflow times): "
                                       "check mod_json_cdr", call_uuid)


def pdd_ms(variables: dict) -> int | None:
    """Post-dial delay: the first progress, early media or answer minus the start, in ms.

    Uses the ``*_uepoch`` variables, else the ``progressmsec``,
    ``progress_mediamsec`` and ``answermsec`` offsets. None when none happened.
    """
    start = _safe_int(variables.get("start_uepoch"))
    if start:
        moments = [_safe_int(variables.get(f"{name}_uepoch")) for name in ("progress", "progress_media", "answer")]
        reached = [moment for moment in moments if moment and moment >= start]
        if reached:
            return (min(reached) - start) // 1000
    # NOTE: an offset of 0 ms cannot be distinguished from "never happened"
    # here, so without *_uepoch a PDD of 0 reads as None.
    offsets = [_safe_int(variables.get(name)) for name in ("progressmsec", "progress_mediamsec", "answermsec")]
    positive = [offset for offset in offsets if offset]
    return min(positive) if positive else None


def _pdd_ms_checked(variables: dict, call_uuid: str) -> int | None:
    """Return :func:`pdd_ms`, rejecting a delay the integer column cannot hold (the epochs are wrong)."""
    delay = pdd_ms(variables)
    if delay is not None and delay > INT4_MAX:
        raise CdrError("invalid_variable", f"CDR post-dial delay of {delay} ms is out of range: the progress, "
                                           "early media or answer epoch is wrong; check the media node's "
                                           "clock", call_uuid)
    return delay


def _sip_status(variables: dict, call_uuid: str) -> int | None:
    status = _integer(variables, "sip_term_status", call_uuid)
    if status is None:
        status = _integer(variables, "sip_invite_failure_status", call_uuid)
    return status


def _epoch_time(variables: dict, name: str, call_uuid: str) -> datetime | None:
    micros = _integer(variables, f"{name}_uepoch", call_uuid)
    if micros:
        return _from_us(micros, f"{name}_uepoch", call_uuid)
    seconds = _integer(variables, f"{name}_epoch", call_uuid)
    return _from_s(seconds, f"{name}_epoch", call_uuid) if seconds else None


def _flag(variables: dict, name: str, call_uuid: str) -> bool | None:
    value = variables.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise CdrError("invalid_variable", f"CDR variable {name}={value!r} is not a string: expected "
                                           "\"true\" or \"false\"", call_uuid)
    return value.lower() == "true"


def _integer(variables: dict, name: str, call_uuid: str) -> int | None:
    value = variables.get(name)
    if value is None or value == "":
        return None
    # int() would also take " 1", "1_000" and non-ASCII digits.
    if not isinstance(value, str) or not _INTEGER.fullmatch(value):
        raise CdrError("invalid_variable", f"CDR variable {name}={value!r} is not an integer: expected up to 30 "
                                           "ASCII digits with an optional minus sign", call_uuid)
    number = int(value)
    maximum = INT4_MAX if name in INT4_VARIABLES else INT8_MAX
    if not -maximum <= number <= maximum:
        raise CdrError("invalid_variable", f"CDR variable {name}={value!r} is out of range: expected at most "
                                           f"{maximum} in absolute value", call_uuid)
    return number


def _text(value, name: str, call_uuid: str) -> str | None:
    """Return ``value`` for a text column; mod_json_cdr sends strings, so anything else is malformed."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise CdrError("invalid_variable", f"CDR field {name}={value!r} is not a string: mod_json_cdr sends "
                                           "every variable as a string", call_uuid)
    if "\x00" in value:
        raise CdrError("invalid_variable", f"CDR field {name} contains a NUL character, which PostgreSQL "
                                           "cannot store in text", call_uuid)
    return value


def _safe_int(value) -> int | None:
    if not isinstance(value, str) or not _INTEGER.fullmatch(value):
        return None
    return int(value)


def _uuid_variable(variables: dict, name: str, call_uuid: str) -> str | None:
    value = variables.get(name)
    if not value:
        return None
    try:
        return str(uuid.UUID(value))
    except (TypeError, ValueError, AttributeError):
        raise CdrError("invalid_variable", f"CDR variable {name}={value!r} is not a UUID", call_uuid) from None


# Exact integer arithmetic: the batch insert matches its RETURNING rows to the
# requests by started_at, so the value must round-trip through PostgreSQL.
def _from_us(micros: int, name: str, call_uuid: str | None) -> datetime:
    try:
        return EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        raise CdrError("invalid_variable", f"CDR variable {name}={micros} is not a time between the years "
                                           "1 and 9999", call_uuid) from None


def _from_s(seconds: int, name: str, call_uuid: str | None) -> datetime:
    return _from_us(seconds * 1_000_000, name, call_uuid)


def _from_ms(millis: int, name: str, call_uuid: str | None) -> datetime:
    return _from_us(millis * 1000, name, call_uuid)
