"""Build the ``originate`` command the orchestrator sends with ``bgapi``.

FreeSWITCH splits the originate arguments on spaces and the ``{...}`` block on
commas, so a value with a space or a comma is wrapped in single quotes
(``origination_caller_id_name='Peña Test'``). An unquoted space makes the
switch fail the job with ``-ERR DESTINATION_OUT_OF_ORDER`` and no channel at
all (recorded from FreeSWITCH 1.10.12). Quotes cannot be escaped there, so a
value containing a single quote, a ``}`` or a line break is rejected.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

from dialer_common.errors import ValidationError

DEFAULT_DIAL_STRING_TEMPLATE = "sofia/gateway/{gateway}/{number}"
# The dialplan extension, dialplan type and context that run the answer script.
DIALER_DESTINATION = "dialer XML dialer"
# Variables mod_callcenter copies from the customer leg to the agent leg.
EXPORTED_VARIABLES = ("dialer_tenant_id", "dialer_campaign_id", "dialer_lead_id", "dialer_attempt_id")
# Placeholders a trunk's dial string template may use.
TEMPLATE_FIELDS = ("gateway", "number", "digits")

_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FORBIDDEN_IN_VALUE = ("'", "}", "\n", "\r")
_NEEDS_QUOTES = (" ", ",", "\t")


def quote_value(name: str, value: object) -> str:
    """Format one channel variable value for an originate ``{...}`` block."""
    text = str(value)
    for forbidden in _FORBIDDEN_IN_VALUE:
        if forbidden in text:
            raise ValidationError(
                f"invalid value {text!r} for channel variable {name}: it contains {forbidden!r}, "
                "which an originate command cannot carry; remove single quotes, '}' and line breaks"
            )
    if any(char in text for char in _NEEDS_QUOTES):
        return f"'{text}'"
    return text


def format_variables(variables: Sequence[tuple[str, object]]) -> str:
    """Format ``(name, value)`` pairs as ``{a=1,b='x y'}``, skipping empty values."""
    parts = []
    for name, value in variables:
        if not _VARIABLE_NAME.match(name):
            raise ValidationError(
                f"invalid channel variable name {name!r}: use letters, digits and underscores"
            )
        if value is None or value == "":
            continue
        parts.append(f"{name}={quote_value(name, value)}")
    return "{" + ",".join(parts) + "}"


def build_dial_string(template: str, gateway: str, number_e164: str) -> str:
    """Fill a trunk's dial string template.

    ``{number}`` is the E.164 number with its ``+``, ``{digits}`` the same
    number without it, ``{gateway}`` the trunk's gateway name.
    """
    template = template or DEFAULT_DIAL_STRING_TEMPLATE
    for _, field_name, _, _ in string.Formatter().parse(template):
        if field_name is not None and field_name not in TEMPLATE_FIELDS:
            raise ValidationError(
                f"invalid dial string template {template!r}: unknown placeholder {{{field_name}}}; "
                "use {gateway}, {number} (E.164 with '+') or {digits}"
            )
    dial_string = template.format(gateway=gateway, number=number_e164, digits=number_e164.lstrip("+"))
    if any(char in dial_string for char in (" ", "\t", "\n", "\r", "'", "}")):
        raise ValidationError(
            f"invalid dial string {dial_string!r} from template {template!r}: "
            "it must not contain spaces, quotes, '}' or line breaks"
        )
    return dial_string


@dataclass(frozen=True)
class OriginateRequest:
    """What one dial needs; ids are the database ids of the rows involved."""

    attempt_id: str
    tenant_id: int
    campaign_id: int
    lead_id: int
    trunk_id: int | None
    queue_name: str
    dial_string: str
    caller_id_e164: str
    caller_id_name: str
    ring_timeout_s: int
    machine_action: str
    voicemail_file: str = ""
    safe_harbor_file: str = ""


def originate_variables(request: OriginateRequest) -> list[tuple[str, object]]:
    """Return the channel variables of a dial, in the order the architecture document lists them."""
    return [
        ("origination_uuid", request.attempt_id),
        ("origination_caller_id_number", request.caller_id_e164.lstrip("+")),
        ("origination_caller_id_name", request.caller_id_name),
        ("originate_timeout", request.ring_timeout_s),
        ("ignore_early_media", "true"),
        ("dialer_tenant_id", request.tenant_id),
        ("dialer_campaign_id", request.campaign_id),
        ("dialer_lead_id", request.lead_id),
        ("dialer_attempt_id", request.attempt_id),
        ("dialer_queue", request.queue_name),
        ("dialer_machine_action", request.machine_action),
        ("dialer_voicemail_file", request.voicemail_file),
        ("dialer_safe_harbor_file", request.safe_harbor_file),
        ("dialer_trunk_id", request.trunk_id),
        ("dialer_did", request.caller_id_e164),
        ("cc_export_vars", ",".join(EXPORTED_VARIABLES)),
    ]


def build_originate(
    variables: Sequence[tuple[str, object]], dial_string: str, destination: str = DIALER_DESTINATION
) -> str:
    """Return ``originate {vars}<dial string> <destination>`` as one line, ready for ``bgapi``."""
    return f"originate {format_variables(variables)}{dial_string} {destination}"


def originate_command(request: OriginateRequest) -> str:
    """Return the originate command line for one dial."""
    return build_originate(originate_variables(request), request.dial_string)
