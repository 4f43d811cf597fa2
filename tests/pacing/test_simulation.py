"""Short deterministic runs of the benchmark's simulation with the product's pacer."""

from bench.pacing.sim import Simulation, Workload
from orchestrator.predictive import PacingSettings, PredictivePacer

# One simulated hour keeps each run to about a second.
HOUR = 3600.0


def run(**fields):
    workload = Workload(shift_s=HOUR, **fields)
    simulation = Simulation(workload, PredictivePacer(), PacingSettings(), seed=3)
    return simulation.run_days(1)[0]


def test_predictive_hour_stays_under_target():
    day = run(agents=25, live_rate=0.2)

    assert day.live > 300
    assert day.abandoned / day.live <= 0.03
    assert day.given_up_early == 0
    assert day.talk_s / day.logged_in_s > 0.65  # well above progressive's ~0.57


def test_logout_to_zero_stays_under_ceiling():
    day = run(agents=10, live_rate=0.2, logout_window_s=(600.0, 1800.0))

    assert day.logged_in_s < 10 * HOUR
    assert day.abandoned / day.live <= 0.03
    assert day.given_up_early == 0


def test_drifting_answer_rate_stays_under_ceiling():
    day = run(agents=25, live_rate=0.3, live_rate_end=0.1)

    assert day.abandoned / day.live <= 0.03
    assert day.given_up_early == 0
