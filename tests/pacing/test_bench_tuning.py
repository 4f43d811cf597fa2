"""Parameter choice and seed merging of the pacing benchmark."""

from bench.pacing.__main__ import aggregate, choose_parameters
from bench.pacing.report import goal_lines


def row(kind, parameter, seed, occupancy, abandonment, cell="25@20%"):
    return {
        "cell": cell,
        "kind": kind,
        "parameter": parameter,
        "seed": seed,
        "days": 3,
        "cpu_s": 1.0,
        "occupancy_talk": occupancy,
        "occupancy_talk_wrap": occupancy + 0.1,
        "abandonment_30d_max": abandonment,
        "abandonment_worst_day": abandonment + 0.005,
        "given_up_before_15s": 0,
    }


def test_choice_skips_parameter_over_limit_on_one_seed():
    rows = [
        row("fixed", 1.1, 1, 0.70, 0.010),
        row("fixed", 1.1, 2, 0.71, 0.012),
        row("fixed", 1.3, 1, 0.80, 0.020),
        row("fixed", 1.3, 2, 0.81, 0.028),  # over the 2.7 % tuning limit
    ]

    assert choose_parameters(rows) == {("25@20%", "fixed"): 1.1}


def test_choice_is_none_when_nothing_legal():
    rows = [row("oracle", 1.0, 1, 0.8, 0.04), row("oracle", 2.0, 1, 0.8, 0.05)]

    assert choose_parameters(rows) == {("25@20%", "oracle"): None}


def test_aggregate_keeps_worst_seed_abandonment():
    rows = [row("predictive", None, 1, 0.80, 0.021), row("predictive", None, 2, 0.82, 0.026)]

    merged = aggregate(rows)["25@20%"]["predictive"]

    assert merged["occupancy_talk"] == 0.81
    assert merged["abandonment_30d_max"] == 0.026
    assert merged["abandonment_worst_day"] == 0.031
    assert merged["seeds"] == 2


def test_goals_flag_oracle_gap_and_illegal_product():
    table = aggregate(
        [
            row("predictive", None, 1, 0.780, 0.031),
            row("oracle", 1.0, 1, 0.800, 0.024),
            row("adaptive", None, 1, 0.600, 0.025),
        ]
    )

    line = goal_lines(table)[-1]

    assert line.startswith("| 25@20% | no (3.10%) | -2.0 | no (allowed -1) |")
    assert line.endswith("| +18.0 | 2.50% | no |")
