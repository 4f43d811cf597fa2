import pytest

from dialer_common.errors import ValidationError
from orchestrator.pacing import DialState, PreviewPacer, ProgressivePacer, pacer_for, progressive_dials


@pytest.mark.parametrize(
    ("available", "in_flight", "max_lines", "expected"),
    [
        (3, 0, 100, 3),
        (3, 1, 100, 2),
        (3, 3, 100, 0),
        (2, 5, 100, 0),
        (10, 0, 4, 4),
        (0, 0, 100, 0),
        (5, 0, 0, 0),
        (5, 0, -3, 0),
    ],
)
def test_progressive_dials_table(available, in_flight, max_lines, expected):
    assert progressive_dials(available, in_flight, max_lines) == expected


def test_progressive_never_exceeds_available():
    for available in range(6):
        for in_flight in range(6):
            dials = progressive_dials(available, in_flight, 100)
            assert dials + in_flight <= max(available, in_flight)


def test_pacer_for_modes():
    state = DialState(campaign_id=1, available_agents=4, dials_in_flight=1, max_lines=10)
    assert isinstance(pacer_for("progressive"), ProgressivePacer)
    assert pacer_for("progressive").dials_to_place(state) == 3
    assert isinstance(pacer_for("preview"), PreviewPacer)
    assert pacer_for("preview").dials_to_place(state) == 0


def test_pacer_for_unknown_mode_names_value():
    with pytest.raises(ValidationError, match="'turbo'"):
        pacer_for("turbo")
