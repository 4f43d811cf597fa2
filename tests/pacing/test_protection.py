from orchestrator.predictive import AbandonmentCounts
from orchestrator.protection import AutoProtection

TARGET = 0.025
CALM = AbandonmentCounts(abandoned=5, live=600)
ROLLING = AbandonmentCounts(abandoned=150, live=10000)


def test_calm_window_keeps_full_multiplier():
    protection = AutoProtection()

    decision = protection.update(0.0, CALM, ROLLING, TARGET)

    assert decision.multiplier == 1.0
    assert not decision.throttled
    assert "within the 2.50% target" in decision.reason


def test_lowers_fast_raises_slowly():
    protection = AutoProtection()
    protection.update(0.0, CALM, ROLLING, TARGET)

    # Eight abandoned calls in 40 s push the window well over the target.
    abandoned = 30
    for second in range(1, 41):
        if second % 5 == 0:
            abandoned += 1
        decision = protection.update(float(second), AbandonmentCounts(abandoned, 600), ROLLING, TARGET)
    lowered = decision.multiplier

    assert lowered < 0.3
    assert decision.throttled
    assert "over the 2.50% target" in decision.reason

    for second in range(41, 41 + 120):
        decision = protection.update(float(second), CALM, ROLLING, TARGET)

    assert lowered < decision.multiplier < lowered + 0.25
    assert "raising the multiplier" in decision.reason

    for second in range(161, 161 + 600):
        decision = protection.update(float(second), CALM, ROLLING, TARGET)

    assert decision.multiplier == 1.0
    assert not decision.throttled


def test_old_abandonments_leaving_window_do_not_lower():
    protection = AutoProtection()
    protection.update(0.0, AbandonmentCounts(30, 600), ROLLING, TARGET)

    decision = protection.update(1.0, AbandonmentCounts(29, 590), ROLLING, TARGET)

    assert decision.multiplier == 1.0


def test_falls_back_near_ftc_ceiling():
    protection = AutoProtection()

    near = protection.update(0.0, CALM, AbandonmentCounts(27, 1000), TARGET)
    still = protection.update(1.0, CALM, AbandonmentCounts(26, 1000), TARGET)
    recovered = protection.update(2.0, CALM, AbandonmentCounts(24, 1000), TARGET)

    assert near.fallback
    assert near.throttled
    assert "near the 3% FTC limit" in near.reason
    assert still.fallback
    assert not recovered.fallback


def test_no_fallback_on_few_live_answers():
    protection = AutoProtection()

    decision = protection.update(0.0, CALM, AbandonmentCounts(1, 20), TARGET)

    assert not decision.fallback
