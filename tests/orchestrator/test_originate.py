import re

import pytest

from dialer_common.errors import ValidationError
from orchestrator.originate import (
    OriginateRequest,
    build_dial_string,
    build_originate,
    originate_command,
    quote_value,
)
from tests.orchestrator.recordings import recorded_originate

RECORDED_WITH_QUOTES = [
    "originate_answer_hangup",
    "originate_answer_hangup_ignore_early_media",
    "originate_busy",
    "originate_no_answer",
    "originate_unavailable",
    "originate_unreachable",
    "callcenter_flow",
    "callcenter_no_agent",
]


def split_recorded(line: str) -> tuple[list[tuple[str, str]], str, str]:
    """Split a recorded originate line into unquoted variables, dial string and destination."""
    match = re.fullmatch(r"originate \{(.*)\}(\S+) (.+)", line)
    assert match, line
    variables = []
    for part in re.findall(r"(?:[^,']|'[^']*')+", match.group(1)):
        name, _, value = part.partition("=")
        variables.append((name, value.strip("'")))
    return variables, match.group(2), match.group(3)


@pytest.mark.parametrize("name", RECORDED_WITH_QUOTES)
def test_build_originate_matches_recording(name):
    line, _ = recorded_originate(name)
    variables, dial_string, destination = split_recorded(line)

    assert build_originate(variables, dial_string, destination) == line


def test_build_originate_quotes_unquoted_recording():
    line, _ = recorded_originate("originate_unquoted_space")
    assert "origination_caller_id_name=Peña Test," in line
    variables = [("origination_caller_id_name", "Peña Test"), ("dialer_lead_id", 50)]

    built = build_originate(variables, "sofia/external/15550108@127.0.0.1:5090", "&park()")

    assert "origination_caller_id_name='Peña Test'," in built


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Peña Test", "'Peña Test'"), ("a,b", "'a,b'"), ("plain", "plain"), (25, "25")],
)
def test_quote_value(value, expected):
    assert quote_value("x", value) == expected


@pytest.mark.parametrize("value", ["O'Brien", "a}b", "line\nbreak", "cr\rx"])
def test_quote_value_rejects_unsendable(value):
    with pytest.raises(ValidationError, match="origination_caller_id_name"):
        quote_value("origination_caller_id_name", value)


def test_build_originate_rejects_bad_name():
    with pytest.raises(ValidationError, match="'bad name'"):
        build_originate([("bad name", "1")], "sofia/gateway/gw/+1", "&park()")


def test_dial_string_templates():
    assert build_dial_string("", "carrier_a", "+13055550100") == "sofia/gateway/carrier_a/+13055550100"
    assert (
        build_dial_string("sofia/external/{digits}@10.0.0.5:5060", "", "+13055550100")
        == "sofia/external/13055550100@10.0.0.5:5060"
    )


def test_dial_string_rejects_unknown_placeholder():
    with pytest.raises(ValidationError, match=r"\{phone\}"):
        build_dial_string("sofia/gateway/{gateway}/{phone}", "gw", "+13055550100")


def test_dial_string_rejects_space():
    with pytest.raises(ValidationError, match="spaces"):
        build_dial_string("sofia/gateway/{gateway}/{number}", "my gw", "+13055550100")


def test_originate_command_layout():
    request = OriginateRequest(
        attempt_id="c5518e2a-63c5-4c8e-9993-7bc8ab8f2573",
        tenant_id=3,
        campaign_id=7,
        lead_id=42,
        trunk_id=2,
        queue_name="campaign-7@default",
        dial_string="sofia/gateway/carrier_a/+13055550100",
        caller_id_e164="+13055550150",
        caller_id_name="Peña Cobranzas",
        ring_timeout_s=25,
        machine_action="hangup",
    )

    command = originate_command(request)

    assert command == (
        "originate {origination_uuid=c5518e2a-63c5-4c8e-9993-7bc8ab8f2573,"
        "origination_caller_id_number=13055550150,origination_caller_id_name='Peña Cobranzas',"
        "originate_timeout=25,ignore_early_media=true,dialer_tenant_id=3,dialer_campaign_id=7,"
        "dialer_lead_id=42,dialer_attempt_id=c5518e2a-63c5-4c8e-9993-7bc8ab8f2573,"
        "dialer_queue=campaign-7@default,dialer_machine_action=hangup,dialer_trunk_id=2,"
        "dialer_did=+13055550150,"
        "cc_export_vars='dialer_tenant_id,dialer_campaign_id,dialer_lead_id,dialer_attempt_id'}"
        "sofia/gateway/carrier_a/+13055550100 dialer XML dialer"
    )
