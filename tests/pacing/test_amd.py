"""Live people hung up on as answering machines count against the abandonment budget."""

import math

import pytest

from bench.pacing.sim import Simulation, Workload
from orchestrator.predictive import (
    AbandonmentCounts,
    AgentActivity,
    AgentPhase,
    OutcomeCounts,
    PacingMode,
    PacingSettingError,
    PacingSettings,
    PacingState,
    PredictivePacer,
)

OUTCOMES = OutcomeCounts(live=400, machine=500, failed=200, no_answer=900)
BUSY = [AgentActivity(AgentPhase.TALKING, 900.0)] * 20


def state(rolling: AbandonmentCounts) -> PacingState:
    return PacingState(
        now=1000.0,
        settings=PacingSettings(),
        agents_logged_in=25,
        agents_available=5,
        busy_agents=BUSY,
        outcomes=OUTCOMES,
        rolling_30_days=rolling,
    )


def test_early_hangups_count_as_abandoned():
    window = AbandonmentCounts(abandoned=10, live=1000, machine_early_hangups=20)

    corrected = PredictivePacer().with_hidden_abandonments(window)

    assert corrected.abandoned == 30
    assert corrected.live == 1020
    assert corrected.machine_early_hangups == 20


def test_floor_applies_without_hangups():
    window = AbandonmentCounts(abandoned=10, live=990)

    corrected = PredictivePacer(amd_false_machine_rate=0.01).with_hidden_abandonments(window)

    # 1 % of the true 1000 live answers were hung up on: 10 hidden.
    assert corrected.abandoned == 20
    assert corrected.live == 1000


def test_more_hangups_than_floor_wins():
    window = AbandonmentCounts(abandoned=10, live=990, machine_early_hangups=30)

    corrected = PredictivePacer(amd_false_machine_rate=0.01).with_hidden_abandonments(window)

    assert corrected.abandoned == 40
    assert corrected.live == 1020


def test_no_signal_keeps_window_unchanged():
    window = AbandonmentCounts(abandoned=10, live=1000)

    assert PredictivePacer().with_hidden_abandonments(window) is window


def test_hidden_abandonments_trigger_fallback():
    # 2 % observed is within the target, but 20 hidden abandonments make
    # the true rate 3.9 %, past protection's 2.7 % fallback.
    pacer_plain = PredictivePacer()
    pacer_hidden = PredictivePacer()
    plain = pacer_plain.decide(state(AbandonmentCounts(abandoned=20, live=1000)))
    hidden = pacer_hidden.decide(state(AbandonmentCounts(abandoned=20, live=1000, machine_early_hangups=20)))

    assert plain.mode == PacingMode.PREDICTIVE
    assert hidden.mode == PacingMode.PROGRESSIVE
    assert hidden.dials == 5
    assert "30-day abandonment 3.92%" in hidden.reason
    assert plain.dials > hidden.dials


def test_hidden_abandonments_shrink_budget():
    # 1.2 % observed leaves the model its full target; adding 10 hidden
    # abandonments (2.2 % true) cuts the target and so the dials.
    plain = PredictivePacer().decide(state(AbandonmentCounts(abandoned=12, live=1000)))
    hidden = PredictivePacer().decide(
        state(AbandonmentCounts(abandoned=12, live=1000, machine_early_hangups=10))
    )

    assert hidden.mode == PacingMode.PREDICTIVE
    assert hidden.dials < plain.dials


def test_hangups_appear_in_record():
    decision = PredictivePacer().decide(
        state(AbandonmentCounts(abandoned=5, live=1000, machine_early_hangups=3))
    )

    record = decision.to_record()

    assert record["rolling_30_days"] == {"abandoned": 5, "live": 1000, "machine_early_hangups": 3}


@pytest.mark.parametrize("rate", [-0.01, 0.03, 0.5, math.nan, True, "0.01"])
def test_invalid_false_machine_rate_rejected(rate):
    with pytest.raises(PacingSettingError) as caught:
        PredictivePacer(amd_false_machine_rate=rate)

    assert caught.value.setting == "amd_false_machine_rate"
    assert "up to but not including 0.03" in str(caught.value)


def test_misclassified_hour_stays_under_ceiling():
    # Two simulated hours with 2 % of live people hung up on as machines.
    workload = Workload(agents=25, live_rate=0.2, amd_false_machine_rate=0.02, shift_s=7200.0)
    simulation = Simulation(workload, PredictivePacer(), PacingSettings(), seed=5)

    day = simulation.run_days(1)[0]

    assert day.machine_early_hangups > 5
    assert day.live > 600
    assert day.abandoned / day.live <= 0.03
    assert day.observed_abandoned / day.observed_live < 0.015
