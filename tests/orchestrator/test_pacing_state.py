"""Build PacingState from agents and attempts; stats windows; the pacing log gate."""

from dataclasses import replace
from decimal import Decimal

import pytest

from orchestrator.agents import AgentInfo
from orchestrator.calls import Attempt
from orchestrator.pacing_state import (
    CampaignStats,
    PacingLogGate,
    build_pacing_state,
    settings_from_campaign,
    split_dials,
)
from orchestrator.predictive import (
    AbandonmentCounts,
    AgentPhase,
    PacingMode,
    PacingSettingError,
    PacingSettings,
    PredictivePacer,
)
from orchestrator.store import Campaign

SETTINGS = PacingSettings(mode=PacingMode.PREDICTIVE)


def agent(name: str, status: str = "Available", state: str = "Waiting", since: float = 0.0) -> AgentInfo:
    return AgentInfo(
        name=name,
        tenant_id=1,
        campaign_id=7,
        switch_name="sim1",
        status=status,
        state=state,
        state_since_s=since,
    )


def attempt(state: str, sent_s: float = 0.0, queued: bool = False) -> Attempt:
    return Attempt(
        id=f"a-{state}-{sent_s}-{queued}",
        tenant_id=1,
        campaign_id=7,
        lead_id=1,
        switch_name="sim1",
        phone_e164="+15550100",
        state=state,
        sent_s=sent_s,
        queued=queued,
    )


def campaign_row(**changes) -> Campaign:
    row = Campaign(
        id=7,
        tenant_id=1,
        name="c",
        dial_mode="predictive",
        queue_name="q@default",
        caller_id_name="",
        ring_timeout_s=25,
        machine_action="hangup",
        voicemail_file="",
        safe_harbor_file="",
        max_attempts=3,
        trunk_id=1,
        dial_string_template=None,
        gateway="gw",
        max_channels=None,
        calls_per_second=None,
    )
    return replace(row, **changes)


def test_state_counts_agents_and_calls():
    agents = [
        agent("a1"),
        agent("a2", state="In a queue call", since=90.0),
        agent("a3", state="Idle", since=97.0),
        agent("a4", status="On Break"),
        agent("a5", status="Logged Out"),
    ]
    attempts = [
        attempt("pending"),
        attempt("ringing", sent_s=95.0),
        attempt("answered"),
        attempt("answered", queued=True),
        attempt("bridged"),
    ]

    state = build_pacing_state(100.0, SETTINGS, agents, attempts, CampaignStats(), leads_remaining=40)

    assert state.agents_logged_in == 3
    assert state.agents_available == 1
    assert [(busy.phase, busy.phase_started_at) for busy in state.busy_agents] == [
        (AgentPhase.TALKING, 90.0),
        (AgentPhase.WRAP_UP, 97.0),
    ]
    assert state.dials_in_flight == 1
    assert state.ringing_started_at == (95.0,)
    assert state.calls_in_amd == 1
    assert state.calls_waiting == 1
    assert state.leads_remaining == 40


def test_zero_agents_ready_gives_zero_dials():
    agents = [agent("a1", state="In a queue call"), agent("a2", status="On Break")]

    state = build_pacing_state(10.0, SETTINGS, agents, [], CampaignStats())

    assert state.agents_available == 0
    assert PredictivePacer().decide(state).dials == 0


def test_logged_out_agents_give_zero_dials():
    state = build_pacing_state(10.0, SETTINGS, [agent("a1", status="Logged Out")], [], CampaignStats())

    decision = PredictivePacer().decide(state)

    assert decision.dials == 0
    assert decision.dial_level == 0.0


def test_dry_lead_list_gives_zero_dials():
    state = build_pacing_state(
        10.0, SETTINGS, [agent("a1"), agent("a2")], [], CampaignStats(), leads_remaining=0
    )

    decision = PredictivePacer().decide(state)

    assert decision.dials == 0
    assert decision.reason == "no leads left to dial"


def test_first_tick_before_any_answer_dials():
    stats = CampaignStats()
    state = build_pacing_state(10.0, SETTINGS, [agent("a1"), agent("a2")], [], stats)

    assert state.outcomes.total == 0
    assert state.short_window.rate is None
    assert PredictivePacer().decide(state).dials >= 2


def test_progressive_never_dials_more_than_free_agents():
    settings = replace(SETTINGS, mode=PacingMode.PROGRESSIVE)
    agents = [agent("a1"), agent("a2"), agent("a3")]

    state = build_pacing_state(10.0, settings, agents, [attempt("ringing", 9.0)], CampaignStats())

    assert PredictivePacer().decide(state).dials == 2


def test_preview_never_dials():
    settings = replace(SETTINGS, mode=PacingMode.PREVIEW)

    state = build_pacing_state(10.0, settings, [agent("a1")], [], CampaignStats())

    assert PredictivePacer().decide(state).dials == 0


def test_stats_windows_follow_the_clock():
    stats = CampaignStats()
    stats.seed([(0.0, "machine"), (100.0, "abandoned")])
    stats.record(1000.0, "live_bridged")
    stats.record(1001.0, "busy")
    stats.record(1002.0, "no_answer")
    stats.record(1003.0, "ended-strangely")

    outcomes = stats.outcome_counts(1800.5)
    assert (outcomes.live, outcomes.machine, outcomes.failed, outcomes.no_answer) == (2, 0, 1, 1)
    assert stats.short_window(1010.0, 60.0) == AbandonmentCounts(abandoned=0, live=1)
    assert stats.short_window(1010.0, 1000.0) == AbandonmentCounts(abandoned=1, live=2)


def test_rolling_counts_add_answers_since_read():
    stats = CampaignStats()
    stats.set_rolling(AbandonmentCounts(abandoned=3, live=100))
    stats.record(5.0, "abandoned")
    stats.record(6.0, "live_bridged")
    stats.record(7.0, "machine")

    assert stats.rolling_30_days() == AbandonmentCounts(abandoned=4, live=102)
    stats.set_rolling(AbandonmentCounts(abandoned=4, live=102))
    assert stats.rolling_30_days() == AbandonmentCounts(abandoned=4, live=102)


def test_settings_from_campaign_row():
    row = campaign_row(abandon_target_pct=Decimal("2.00"), max_dial_level=Decimal("3.5"), short_window_s=600)

    settings = settings_from_campaign(row)

    assert settings.mode == PacingMode.PREDICTIVE
    assert settings.abandonment_target == pytest.approx(0.02)
    assert settings.max_dial_level == 3.5
    assert settings.ring_timeout_s == 25.0
    assert settings.short_window_s == 600.0


def test_settings_out_of_range_names_setting():
    with pytest.raises(PacingSettingError, match="min_dial_level"):
        settings_from_campaign(campaign_row(min_dial_level=Decimal("4"), max_dial_level=Decimal("2")))


def decision_at(level: float, multiplier: float = 1.0, throttled: bool = False, mode=PacingMode.PREDICTIVE):
    state = build_pacing_state(0.0, SETTINGS, [agent("a1")], [], CampaignStats())
    decision = PredictivePacer().decide(state)
    return replace(decision, dial_level=level, multiplier=multiplier, throttled=throttled, mode=mode)


def test_log_gate_writes_changes_and_heartbeat():
    gate = PacingLogGate()

    assert gate.should_write(decision_at(1.0), 0.0)
    assert not gate.should_write(decision_at(1.02), 1.0)
    assert not gate.should_write(decision_at(1.5), 2.0)
    assert gate.should_write(decision_at(1.5), 6.0)
    assert gate.should_write(decision_at(1.5, multiplier=0.85, throttled=True), 6.5)
    assert gate.should_write(
        decision_at(1.5, multiplier=0.85, throttled=True, mode=PacingMode.PROGRESSIVE), 6.6
    )
    assert not gate.should_write(
        decision_at(1.5, multiplier=0.85, throttled=True, mode=PacingMode.PROGRESSIVE), 60
    )
    assert gate.should_write(
        decision_at(1.5, multiplier=0.85, throttled=True, mode=PacingMode.PROGRESSIVE), 66.7
    )


@pytest.mark.parametrize(
    ("dials", "capacities", "expected"),
    [
        (5, {"sim1": 3, "sim2": 2}, {"sim1": 3, "sim2": 2}),
        (3, {"sim1": 0, "sim2": 4}, {"sim2": 3}),
        (3, {"sim1": 0, "sim2": 0}, {"sim1": 2, "sim2": 1}),
        (0, {"sim1": 3}, {}),
        (4, {}, {}),
    ],
)
def test_split_dials(dials, capacities, expected):
    assert split_dials(dials, capacities) == expected
