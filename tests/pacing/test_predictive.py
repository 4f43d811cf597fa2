import pytest

from orchestrator.predictive import (
    AbandonmentCounts,
    AgentActivity,
    AgentPhase,
    LogNormalFit,
    OutcomeCounts,
    PacingMode,
    PacingSettings,
    PacingState,
    PredictivePacer,
    _conditional_done,
    _conditional_done_table,
    expected_excess,
)

SETTINGS = PacingSettings()
# About 30 minutes of a 25-agent campaign at a 20 % live-answer rate.
OUTCOMES = OutcomeCounts(live=400, machine=500, failed=200, no_answer=900)


def talking(since: float, count: int) -> list[AgentActivity]:
    return [AgentActivity(AgentPhase.TALKING, since)] * count


def state(**fields) -> PacingState:
    values = {"now": 1000.0, "settings": SETTINGS, "agents_logged_in": 25, "agents_available": 0}
    values.update(fields)
    return PacingState(**values)


def test_zero_agents_logged_in_places_nothing():
    decision = PredictivePacer().decide(state(agents_logged_in=0, outcomes=OUTCOMES))

    assert decision.dials == 0
    assert decision.reason == "no agents logged in"


def test_all_busy_none_about_free_places_nothing():
    # Ten seconds into their calls, no agent can plausibly be free within the horizon.
    busy = talking(990.0, 25)

    decision = PredictivePacer().decide(state(busy_agents=busy, outcomes=OUTCOMES))

    assert decision.dials == 0
    assert decision.agents_expected_free < 0.5


def test_first_tick_without_answers_dials_cautiously():
    decision = PredictivePacer().decide(state(now=0.0, agents_available=25, outcomes=OutcomeCounts()))

    assert decision.dials >= 25  # never below progressive
    assert decision.dials <= 40  # the prior live rate is high, so little overdial
    assert decision.live_rate > 0.5


def test_no_live_answers_yet_does_not_divide_by_zero():
    outcomes = OutcomeCounts(live=0, machine=30, failed=10, no_answer=60)

    decision = PredictivePacer().decide(
        state(
            agents_available=5,
            busy_agents=talking(900.0, 20),
            ringing_started_at=[995.0] * 10,
            outcomes=outcomes,
        )
    )

    assert decision.dials >= 0
    assert 0.0 < decision.live_rate < 0.1


def test_more_free_agents_more_dials():
    pacer = PredictivePacer()
    few = pacer.decide(state(agents_available=2, busy_agents=talking(900.0, 23), outcomes=OUTCOMES))
    many = pacer.decide(state(agents_available=10, busy_agents=talking(900.0, 15), outcomes=OUTCOMES))

    assert many.dials > few.dials
    assert few.dials >= 2


def test_long_calls_count_as_soon_free():
    pacer = PredictivePacer()
    for _ in range(200):
        pacer.observe_talk_time(120.0)
        pacer.observe_wrap_up_time(15.0)
    just_started = pacer.decide(state(busy_agents=talking(995.0, 25), outcomes=OUTCOMES))
    in_wrap_up = [AgentActivity(AgentPhase.WRAP_UP, 990.0)] * 25
    ending = pacer.decide(state(busy_agents=in_wrap_up, outcomes=OUTCOMES))

    assert ending.agents_expected_free > 20
    assert ending.dials > just_started.dials


def test_old_ringing_calls_count_less():
    pacer = PredictivePacer()
    base = {"agents_available": 5, "busy_agents": talking(900.0, 20), "outcomes": OUTCOMES}
    young = pacer.decide(state(ringing_started_at=[999.0] * 10, **base))
    old = pacer.decide(state(ringing_started_at=[982.0] * 10, **base))

    assert young.live_calls_expected > old.live_calls_expected
    assert old.dials > young.dials


def test_agents_logging_out_reduce_dials():
    pacer = PredictivePacer()
    full = pacer.decide(state(agents_available=5, busy_agents=talking(900.0, 20), outcomes=OUTCOMES))
    fewer = pacer.decide(
        state(agents_logged_in=10, agents_available=2, busy_agents=talking(900.0, 8), outcomes=OUTCOMES)
    )

    assert fewer.dials < full.dials


def test_lower_answer_rate_raises_dials():
    pacer = PredictivePacer()
    base = {"agents_available": 5, "busy_agents": talking(900.0, 20)}
    at_30 = pacer.decide(
        state(outcomes=OutcomeCounts(live=600, machine=500, failed=200, no_answer=700), **base)
    )
    at_15 = pacer.decide(
        state(outcomes=OutcomeCounts(live=300, machine=500, failed=200, no_answer=1000), **base)
    )

    assert at_15.live_rate < at_30.live_rate
    assert at_15.dials > at_30.dials


def test_no_leads_places_nothing():
    decision = PredictivePacer().decide(state(agents_available=10, leads_remaining=0, outcomes=OUTCOMES))

    assert decision.dials == 0
    assert decision.reason == "no leads left to dial"


def test_few_leads_cap_dials():
    decision = PredictivePacer().decide(state(agents_available=10, leads_remaining=3, outcomes=OUTCOMES))

    assert decision.dials == 3


def test_preview_and_progressive_modes():
    pacer = PredictivePacer()
    preview = pacer.decide(state(settings=PacingSettings(mode=PacingMode.PREVIEW), agents_available=5))
    progressive = pacer.decide(
        state(
            settings=PacingSettings(mode=PacingMode.PROGRESSIVE),
            agents_available=5,
            ringing_started_at=[999.0],
        )
    )

    assert preview.dials == 0
    assert progressive.dials == 4


def test_max_lines_per_agent_caps_dials():
    settings = PacingSettings(max_lines_per_agent=1.2, max_dial_level=5.0)

    decision = PredictivePacer().decide(state(settings=settings, agents_available=25, outcomes=OUTCOMES))

    assert decision.dials == 30


def test_rolling_fallback_dials_progressive():
    rolling = AbandonmentCounts(abandoned=28, live=1000)

    decision = PredictivePacer().decide(
        state(agents_available=5, busy_agents=talking(900.0, 20), outcomes=OUTCOMES, rolling_30_days=rolling)
    )

    assert decision.mode == PacingMode.PROGRESSIVE
    assert decision.dials == 5
    assert decision.throttled
    assert "30-day abandonment 2.80%" in decision.reason


def test_decision_record_is_flat():
    decision = PredictivePacer().decide(state(agents_available=3, outcomes=OUTCOMES))

    record = decision.to_record()

    assert record["dials"] == decision.dials
    assert record["mode"] == "predictive"
    assert record["outcomes"] == {"live": 400, "machine": 500, "failed": 200, "no_answer": 900}
    assert "busy_agents" not in record


def test_expected_excess_matches_known_values():
    assert expected_excess(0.0, 1.0) == 0.3989422804014327
    assert expected_excess(-3.0, 0.0) == 0.0
    assert expected_excess(2.0, 0.0) == 2.0


def test_duration_table_matches_direct_formula():
    fit = LogNormalFit(mean_s=150.0, cv=1.0, prior_weight=20)

    table = _conditional_done_table(fit, 4000, 0.5, 12.5)

    for index in (0, 1, 7, 240, 1999, 3999):
        assert table[index] == pytest.approx(_conditional_done(fit, index * 0.5, 12.5), abs=1e-12)


def test_duration_tables_reused_until_fits_move():
    pacer = PredictivePacer()
    for index in range(2000):
        pacer.observe_talk_time(60.0 if index % 2 else 180.0)
    first = pacer._duration_tables(horizon=38.0, within=40.0)
    pacer.observe_talk_time(100.0)  # one sample among 2000 moves the fit by far less than the tolerance
    second = pacer._duration_tables(horizon=38.0, within=40.0)
    for _ in range(200):
        pacer.observe_talk_time(30.0)
    third = pacer._duration_tables(horizon=38.0, within=40.0)

    assert second[0] is first[0]
    assert third[0] is not first[0]
    assert third[0] != first[0]
    assert third[0][200] == pytest.approx(
        _conditional_done(pacer.talk_time, 100.0, 40.0 - pacer.wrap_up_time.mean)
    )
