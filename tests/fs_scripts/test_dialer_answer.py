"""mod_python3 handler paths, run against the fake ``freeswitch`` module."""

import importlib
import json
import types
from pathlib import Path

from fs_scripts.dialer_decision import SAFE_HARBOR_DEADLINE_MS
from tests.fs_scripts.fake_freeswitch import Bridge, Cancel, Session

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "freeswitch"

CAMPAIGN_VARIABLES = {
    "dialer_queue": "campaign_7@default",
    "dialer_machine_action": "hangup",
    "dialer_voicemail_file": "/var/lib/dialer/vm_7.wav",
    "dialer_safe_harbor_file": "/var/lib/dialer/safe_harbor_7.wav",
    "dialer_campaign_id": "7",
}


def make_session(callcenter=None, **variables):
    return Session(variables={**CAMPAIGN_VARIABLES, **variables}, callcenter=callcenter)


def test_person_bridged_in_time(dialer_answer):
    session = make_session(Bridge(after_ms=300), amd_result="HUMAN", amd_cause="HUMAN")

    dialer_answer.handler(session, "")

    greeting_end_ms = int(session.variables["dialer_greeting_end_ms"])
    bridged_ms = int(session.variables["dialer_bridged_ms"])
    assert session.variables["dialer_amd_result"] == "person"
    assert session.variables["dialer_decision"] == "queue"
    assert session.variables["dialer_live"] == "true"
    assert session.variables["dialer_abandoned"] == "false"
    assert session.variables["dialer_agent"] == "1001@default"
    assert bridged_ms - greeting_end_ms >= 300
    assert "dialer_safe_harbor_ms" not in session.variables
    assert session.recorded("execute")[0][1:3] == ("callcenter", "campaign_7@default")
    assert session.recorded("streamFile") == []
    assert session.recorded("hangup") == []


def test_person_agent_name_on_member(dialer_answer):
    session = make_session(Bridge(after_ms=10), amd_result="HUMAN", cc_agent="1002@default")

    dialer_answer.handler(session, "")

    assert session.variables["dialer_agent"] == "1002@default"


def test_person_no_agent_safe_harbor(dialer_answer):
    session = make_session(Cancel(after_ms=10_000), amd_result="HUMAN")

    dialer_answer.handler(session, "")

    greeting_end_ms = int(session.variables["dialer_greeting_end_ms"])
    safe_harbor_ms = int(session.variables["dialer_safe_harbor_ms"])
    assert session.variables["cc_cause"] == "cancel"
    assert session.variables["cc_cancel_reason"] == "BREAK_OUT"
    assert session.variables["dialer_abandoned"] == "true"
    assert "dialer_bridged_ms" not in session.variables
    assert "dialer_agent" not in session.variables
    assert 0 <= safe_harbor_ms - greeting_end_ms <= SAFE_HARBOR_DEADLINE_MS
    assert session.recorded("streamFile")[0][1] == "/var/lib/dialer/safe_harbor_7.wav"
    assert session.recorded("hangup")[0][1] == "NORMAL_CLEARING"


def test_person_queue_timeout_safe_harbor(dialer_answer):
    session = make_session(Cancel(after_ms=200, reason="TIMEOUT"), amd_result="NOTSURE")

    dialer_answer.handler(session, "")

    assert session.variables["cc_cancel_reason"] == "TIMEOUT"
    assert session.variables["dialer_amd_result"] == "unknown"
    assert session.variables["dialer_abandoned"] == "true"
    assert "dialer_safe_harbor_ms" in session.variables
    assert len(session.recorded("streamFile")) == 1


def test_safe_harbor_variables_before_playback(dialer_answer):
    session = make_session(Cancel(after_ms=50), amd_result="HUMAN")

    dialer_answer.handler(session, "")

    kinds = [(call[0], call[1]) for call in session.calls if call[0] in ("setVariable", "streamFile")]
    assert kinds.index(("setVariable", "dialer_abandoned")) < kinds.index(("streamFile", kinds[-1][1]))
    assert kinds.index(("setVariable", "dialer_safe_harbor_ms")) < kinds.index(("streamFile", kinds[-1][1]))


def test_callee_hangs_up_in_queue(dialer_answer):
    session = make_session(Cancel(after_ms=100, callee_hangs_up=True), amd_result="HUMAN")

    dialer_answer.handler(session, "")

    assert session.variables["dialer_abandoned"] == "true"
    assert "dialer_safe_harbor_ms" not in session.variables
    assert session.recorded("streamFile") == []
    assert session.recorded("hangup") == []


def test_machine_hangup(dialer_answer):
    session = make_session(amd_result="MACHINE", amd_cause="LONGGREETING")

    dialer_answer.handler(session, "")

    assert session.variables["dialer_amd_result"] == "machine"
    assert session.variables["dialer_decision"] == "hangup"
    assert session.variables["dialer_live"] == "false"
    assert session.variables["dialer_abandoned"] == "false"
    assert session.recorded("execute") == []
    assert session.recorded("streamFile") == []
    assert session.recorded("hangup")[0][1] == "NORMAL_CLEARING"


def test_machine_voicemail_drop(dialer_answer):
    session = make_session(avmd_detect="TRUE", dialer_machine_action="voicemail_drop")

    dialer_answer.handler(session, "")

    assert session.variables["dialer_decision"] == "voicemail_drop"
    assert session.recorded("streamFile")[0][1] == "/var/lib/dialer/vm_7.wav"
    assert session.recorded("hangup")[0][1] == "NORMAL_CLEARING"
    assert session.recorded("execute") == []


def test_amd_absent_goes_to_queue(dialer_answer):
    session = make_session(Bridge(after_ms=20))

    dialer_answer.handler(session, "")

    assert session.variables["dialer_amd_result"] == "unknown"
    assert session.variables["dialer_decision"] == "queue"
    assert session.variables["dialer_abandoned"] == "false"


def test_amd_garbage_goes_to_queue(dialer_answer):
    session = make_session(Bridge(after_ms=20), amd_result="TIMEOUT", amd_status="???")

    dialer_answer.handler(session, "")

    assert session.variables["dialer_live"] == "true"
    assert session.recorded("execute")[0][1] == "callcenter"


def test_queue_missing_plays_safe_harbor(dialer_answer, freeswitch):
    session = make_session(amd_result="HUMAN", dialer_queue=None)

    dialer_answer.handler(session, "")

    assert session.recorded("execute") == []
    assert session.variables["dialer_abandoned"] == "true"
    assert len(session.recorded("streamFile")) == 1
    assert any("answer.queue_missing" in line for _, line in freeswitch.console_lines)


def test_safe_harbor_file_missing(dialer_answer, freeswitch):
    session = make_session(Cancel(after_ms=20), amd_result="HUMAN", dialer_safe_harbor_file=None)

    dialer_answer.handler(session, "")

    assert session.variables["dialer_abandoned"] == "true"
    assert "dialer_safe_harbor_ms" not in session.variables
    assert session.recorded("hangup")[0][1] == "NORMAL_CLEARING"
    assert any(level == "ERR" and "safe_harbor_missing" in line for level, line in freeswitch.console_lines)


def test_handler_reload_keeps_no_state(dialer_answer):
    allowed = (types.ModuleType, types.FunctionType, type, str, int, tuple, type(None))
    state = {
        name: type(value).__name__
        for name, value in vars(dialer_answer).items()
        if not name.startswith("__") and not isinstance(value, allowed)
    }
    assert state == {}

    first = make_session(amd_result="MACHINE")
    dialer_answer.handler(first, "")
    reloaded = importlib.reload(dialer_answer)
    second = make_session(Bridge(after_ms=10), amd_result="HUMAN")
    reloaded.handler(second, "")

    assert first.variables["dialer_decision"] == "hangup"
    assert second.variables["dialer_decision"] == "queue"
    assert second.variables["dialer_abandoned"] == "false"


def test_fake_cancel_matches_recording(freeswitch):
    recorded = json.loads((FIXTURES / "callcenter_no_agent.python_vars.json").read_text(encoding="utf-8"))
    session = Session(callcenter=Cancel(after_ms=0, reason="NO_AGENT_TIMEOUT"))

    session.execute("callcenter", "ventas@default")

    for name in ("cc_side", "cc_cause", "cc_cancel_reason", "cc_queue", "cc_agent", "cc_queue_answered_epoch"):
        expected = recorded[name]["value"]
        assert session.getVariable(name) == expected, name
        assert type(session.getVariable(name)).__name__ == recorded[name]["type"], name
    for name in ("cc_queue_joined_epoch", "cc_queue_canceled_epoch", "cc_member_uuid"):
        assert isinstance(session.getVariable(name), str), name


def test_handler_failure_plays_safe_harbor(dialer_answer, freeswitch):
    session = make_session(Cancel(after_ms=20), amd_result="HUMAN")

    def broken_execute(app, data=""):
        raise RuntimeError("callcenter app missing")

    session.execute = broken_execute
    dialer_answer.handler(session, "")

    assert session.variables["dialer_abandoned"] == "true"
    assert "dialer_safe_harbor_ms" in session.variables
    assert session.recorded("streamFile")[0][1] == "/var/lib/dialer/safe_harbor_7.wav"
    assert session.recorded("hangup")[0][1] == "NORMAL_CLEARING"
    assert any(level == "ERR" and "answer.failed" in line for level, line in freeswitch.console_lines)
