"""Decision table for fs_scripts.dialer_decision."""

import pytest

from fs_scripts.dialer_decision import (
    SAFE_HARBOR_DEADLINE_MS,
    Decision,
    abandonment_variables,
    decide_after_answer,
    remaining_wait_ms,
)

MACHINE_HANGUP = {"dialer_machine_action": "hangup"}


@pytest.mark.parametrize(
    ("variables", "amd_result"),
    [
        ({"amd_result": "HUMAN", "amd_cause": "HUMAN"}, "person"),
        ({"amd_result": "human"}, "person"),
        ({"amd_result": "Human"}, "person"),
        ({"amd_result": "MACHINE", "amd_cause": "LONGGREETING"}, "machine"),
        ({"amd_result": "machine"}, "machine"),
        ({"amd_result": "NOTSURE", "amd_cause": "TOOLONG"}, "unknown"),
        ({"amd_result": "notsure"}, "unknown"),
        ({"amd_result": "HUMANOID"}, "unknown"),
        ({"amd_result": " HUMAN"}, "unknown"),
        ({"amd_result": ""}, "unknown"),
        ({"amd_result": None}, "unknown"),
        ({"avmd_detect": "TRUE"}, "machine"),
        ({"avmd_detect": "true"}, "machine"),
        ({"avmd_detect": "FALSE"}, "unknown"),
        ({"avmd_detect": "yes"}, "unknown"),
        ({"amd_status": "person"}, "person"),
        ({"amd_status": "PERSON"}, "person"),
        ({"amd_status": "machine"}, "machine"),
        ({"amd_status": "Machine"}, "machine"),
        ({"amd_status": "fax"}, "unknown"),
        ({}, "unknown"),
        ({"amd_result": "HUMAN", "avmd_detect": "TRUE"}, "unknown"),
        ({"amd_status": "person", "amd_result": "MACHINE"}, "unknown"),
        ({"amd_result": "NOTSURE", "avmd_detect": "TRUE"}, "machine"),
        ({"amd_result": "HUMAN", "avmd_detect": "FALSE"}, "person"),
        ({"amd_result": "MACHINE", "amd_status": "machine", "avmd_detect": "TRUE"}, "machine"),
    ],
)
def test_decision_amd_tokens(variables, amd_result):
    decision = decide_after_answer({**variables, **MACHINE_HANGUP})

    assert decision.amd_result == amd_result
    if amd_result == "machine":
        assert decision.action == "hangup"
        assert decision.live is False
    else:
        assert decision.action == "queue"
        assert decision.live is True


def test_decision_reason_names_tokens():
    decision = decide_after_answer({"amd_result": "MACHINE", "amd_cause": "LONGGREETING", **MACHINE_HANGUP})

    assert decision == Decision("machine", "hangup", False, "amd_result=MACHINE amd_cause=LONGGREETING")


def test_decision_absent_result_reason():
    assert decide_after_answer({}).reason == "no AMD result"


def test_decision_conflict_reason():
    decision = decide_after_answer({"amd_result": "HUMAN", "avmd_detect": "TRUE"})

    assert "conflicting" in decision.reason
    assert "avmd_detect=TRUE" in decision.reason


def test_machine_voicemail_drop():
    decision = decide_after_answer(
        {"amd_status": "machine", "dialer_machine_action": "voicemail_drop", "dialer_voicemail_file": "/v.wav"}
    )

    assert decision.action == "voicemail_drop"
    assert decision.live is False


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({}, "dialer_machine_action missing"),
        ({"dialer_machine_action": ""}, "dialer_machine_action missing"),
        ({"dialer_machine_action": "transfer"}, "dialer_machine_action='transfer' invalid"),
        ({"dialer_machine_action": "voicemail_drop"}, "without dialer_voicemail_file"),
        ({"dialer_machine_action": "voicemail_drop", "dialer_voicemail_file": ""}, "without dialer_voicemail_file"),
    ],
)
def test_machine_action_fallback_hangup(variables, fragment):
    decision = decide_after_answer({"amd_result": "MACHINE", **variables})

    assert decision.action == "hangup"
    assert fragment in decision.reason


def test_machine_action_case_insensitive():
    decision = decide_after_answer({"amd_result": "MACHINE", "dialer_machine_action": "HANGUP"})

    assert decision.action == "hangup"
    assert "invalid" not in decision.reason


def test_abandonment_bridged_in_time():
    result = abandonment_variables(10_000, 10_000 + SAFE_HARBOR_DEADLINE_MS, None)

    assert result == {
        "dialer_greeting_end_ms": "10000",
        "dialer_bridged_ms": "12000",
        "dialer_abandoned": "false",
    }


def test_abandonment_bridged_late():
    result = abandonment_variables(10_000, 12_001, None)

    assert result["dialer_abandoned"] == "true"


def test_abandonment_safe_harbor_counts():
    result = abandonment_variables(10_000, None, 11_900)

    assert result["dialer_abandoned"] == "true"
    assert result["dialer_safe_harbor_ms"] == "11900"
    assert "dialer_bridged_ms" not in result


def test_abandonment_never_bridged():
    assert abandonment_variables(10_000, None, None)["dialer_abandoned"] == "true"


def test_abandonment_rejects_time_before_greeting():
    with pytest.raises(ValueError, match="bridged_ms=9999"):
        abandonment_variables(10_000, 9_999, None)


def test_remaining_wait_clamped():
    assert remaining_wait_ms(10_000, 10_500) == 1500
    assert remaining_wait_ms(10_000, 13_000) == 0
