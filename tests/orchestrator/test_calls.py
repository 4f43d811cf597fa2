"""Feed recorded FreeSWITCH events through the attempt state machine."""

import pytest

from orchestrator.calls import Attempt, CallEnd, CallTracker, StateChange
from orchestrator.outcomes import answered_outcome, lead_disposition, unanswered_outcome
from tests.orchestrator.recordings import recorded_events, recorded_originate


def attempt_for(name: str, switch: str = "media1") -> Attempt:
    """Build the attempt the recorded originate stands for."""
    line, job_uuid = recorded_originate(name)
    attempt_id = line.split("origination_uuid=", 1)[1].split(",", 1)[0]
    return Attempt(
        id=attempt_id, tenant_id=1, campaign_id=7, lead_id=42, switch_name=switch,
        phone_e164="+15550100", job_uuid=job_uuid, ring_timeout_s=20,
    )


def replay(name: str) -> tuple[CallTracker, list]:
    tracker = CallTracker()
    tracker.add(attempt_for(name))
    changes = []
    for position, event in enumerate(recorded_events(name)):
        changes += tracker.handle(event, now_s=float(position))
    return tracker, changes


def summary(changes) -> list[str]:
    return [change.state if isinstance(change, StateChange) else f"end:{change.outcome}" for change in changes]


def test_answer_hangup_without_script_vars():
    tracker, changes = replay("originate_answer_hangup")

    assert summary(changes) == ["ringing", "answered", "end:abandoned"]
    end = changes[-1]
    assert end.hangup_cause == "NORMAL_CLEARING"
    assert end.sip_status == 200
    assert end.billsec == 3
    assert end.answered_at is not None
    assert tracker.attempts == {}


def test_busy_job_after_hangup_is_ignored():
    tracker, changes = replay("originate_busy")

    assert summary(changes) == ["end:busy"]
    assert changes[0].hangup_cause == "USER_BUSY"
    assert changes[0].sip_status == 486
    assert changes[0].billsec == 0
    assert tracker.attempts_by_job == {}


@pytest.mark.parametrize(
    ("name", "expected", "cause"),
    [
        ("originate_no_answer", ["ringing", "end:no_answer"], "NO_ANSWER"),
        ("originate_unavailable", ["end:failed"], "NORMAL_TEMPORARY_FAILURE"),
        ("originate_unreachable", ["end:failed"], "NORMAL_TEMPORARY_FAILURE"),
        ("originate_unreachable_silent", ["end:no_answer"], "NO_ANSWER"),
        ("originate_unquoted_space", ["end:rejected"], "DESTINATION_OUT_OF_ORDER"),
        ("originate_answer_hangup_ignore_early_media", ["ringing", "answered", "end:abandoned"],
         "NORMAL_CLEARING"),
        ("originate_answer_hangup_json", ["ringing", "answered", "end:abandoned"], "NORMAL_CLEARING"),
    ],
)
def test_recorded_call_outcomes(name, expected, cause):
    tracker, changes = replay(name)

    assert summary(changes) == expected
    assert changes[-1].hangup_cause == cause
    assert tracker.attempts == {}


def test_callcenter_flow_bridges_member_leg_only():
    tracker, changes = replay("callcenter_flow")

    assert summary(changes) == ["ringing", "answered", "bridged", "end:live_bridged"]
    end = changes[-1]
    assert end.agent_name == "1001@default"
    assert end.bridged_at is not None
    assert end.attempt.id == "09dba730-ebc2-4f80-8c91-b273d5e36b77"


def test_events_of_other_channels_are_ignored():
    tracker = CallTracker()
    changes = []
    for event in recorded_events("callcenter_flow"):
        changes += tracker.handle(event)
    assert changes == []


def test_job_error_before_hangup_waits_for_hangup():
    tracker, changes = replay("originate_no_answer")
    end = changes[-1]
    assert isinstance(end, CallEnd)
    assert end.sip_status is None


def test_sweep_ends_attempts_of_lost_switch():
    tracker = CallTracker()
    lost = attempt_for("originate_busy", switch="media1")
    lost.sent_s = 100.0
    tracker.add(lost)
    tracker.add(Attempt(id="other", tenant_id=1, campaign_id=7, lead_id=5, switch_name="media2",
                        phone_e164="+15550101", sent_s=100.0))

    assert tracker.sweep(now_s=105.0, switches_down_since={"media1": 100.0}, grace_s=30.0) == []
    ended = tracker.sweep(now_s=131.0, switches_down_since={"media1": 100.0}, grace_s=30.0)

    assert [end.outcome for end in ended] == ["failed"]
    assert list(tracker.attempts) == ["other"]


def test_sweep_ends_attempt_that_never_started():
    tracker = CallTracker()
    tracker.add(Attempt(id="a", tenant_id=1, campaign_id=7, lead_id=5, switch_name="m",
                        phone_e164="+15550101", ring_timeout_s=20, sent_s=0.0))
    assert tracker.sweep(now_s=79.0, switches_down_since={}, grace_s=30.0) == []
    assert len(tracker.sweep(now_s=81.0, switches_down_since={}, grace_s=30.0)) == 1


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        ("USER_BUSY", "busy"),
        ("NO_ANSWER", "no_answer"),
        ("NORMAL_TEMPORARY_FAILURE", "failed"),
        ("DESTINATION_OUT_OF_ORDER", "failed"),
        ("CALL_REJECTED", "failed"),
        ("NO_ROUTE_DESTINATION", "failed"),
        ("UNALLOCATED_NUMBER", "failed"),
        ("RECOVERY_ON_TIMER_EXPIRE", "no_answer"),
        ("PROGRESS_TIMEOUT", "no_answer"),
        ("GATEWAY_DOWN", "failed"),
        (None, "failed"),
    ],
)
def test_unanswered_outcome(cause, expected):
    assert unanswered_outcome(cause) == expected


def test_answered_outcome_rules():
    assert answered_outcome(bridged=True, amd_result="person", live=True, abandoned=False) == "live_bridged"
    assert answered_outcome(bridged=True, amd_result="person", live=True, abandoned=True) == "abandoned"
    assert answered_outcome(bridged=False, amd_result="machine", live=False, abandoned=False) == "machine"
    assert answered_outcome(bridged=False, amd_result="unknown", live=True, abandoned=None) == "abandoned"


def test_lead_disposition():
    assert lead_disposition("live_bridged", "NORMAL_CLEARING").status == "done"
    assert lead_disposition("failed", "UNALLOCATED_NUMBER").status == "failed"
    busy = lead_disposition("busy", "USER_BUSY")
    assert (busy.status, busy.retry_delay_s) == ("retry", 600)
    assert lead_disposition("machine", "NORMAL_CLEARING").retry_delay_s == 4 * 3600
    assert lead_disposition("no_answer", "NO_ANSWER").retry_delay_s == 3600



class _WithAttemptId:
    """A recorded channel event plus ``variable_dialer_attempt_id``, which the originate sets.

    The recordings predate that variable; every other header is the recorded one.
    """

    def __init__(self, event) -> None:
        self._event = event

    def __getattr__(self, name):
        return getattr(self._event, name)

    def get(self, name, *default):
        if name == "variable_dialer_attempt_id" and self._event.name.startswith("CHANNEL_"):
            return self._event.uuid
        return self._event.get(name, *default)


def events_with_attempt_id(name: str) -> tuple[list, int]:
    events = [_WithAttemptId(event) for event in recorded_events(name)]
    campaign_id = next(int(e.get("variable_dialer_campaign_id")) for e in events if e.get("variable_dialer_campaign_id"))
    return events, campaign_id


def test_unowned_events_replayed_on_take_over():
    name = "originate_answer_hangup"
    events, campaign_id = events_with_attempt_id(name)
    tracker = CallTracker(owned_campaigns=set())
    for position, event in enumerate(events):
        assert tracker.handle(event, now_s=float(position)) == []
    assert len(tracker.unowned_events) == 5

    attempt = attempt_for(name)
    attempt.campaign_id = campaign_id
    changes = tracker.take_over(campaign_id, [attempt], now_s=100.0)

    assert summary(changes) == ["ringing", "answered", "end:abandoned"]
    assert tracker.attempts == {}
    assert len(tracker.unowned_events) == 0
    assert campaign_id in tracker.owned_campaigns


def test_give_up_stops_adopting_hangups():
    events, campaign_id = events_with_attempt_id("originate_answer_hangup")
    tracker = CallTracker(owned_campaigns={campaign_id})
    tracker.give_up(campaign_id)

    changes = []
    for position, event in enumerate(events):
        changes += tracker.handle(event, now_s=float(position))

    assert changes == []
    assert campaign_id not in tracker.owned_campaigns
    assert len(tracker.unowned_events) == 5

