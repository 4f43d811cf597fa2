import math

import pytest

from dialer_common.errors import ValidationError
from orchestrator.predictive import PacingMode, PacingSettingError, PacingSettings


def test_defaults_are_valid():
    PacingSettings().validate()


@pytest.mark.parametrize(
    ("setting", "value", "allowed"),
    [
        ("abandonment_target", 0.031, "0.001 to 0.03"),
        ("abandonment_target", 0.0, "0.001 to 0.03"),
        ("abandonment_target", math.nan, "0.001 to 0.03"),
        ("max_lines_per_agent", 0.5, "from 1 to 10"),
        ("max_lines_per_agent", 11, "from 1 to 10"),
        ("min_dial_level", 0.9, "from 1 to 10"),
        ("max_dial_level", 10.5, "from 1 to 10"),
        ("ring_timeout_s", 14.9, "at least 15 s"),
        ("ring_timeout_s", "20", "from 15 to 120"),
        ("short_window_s", 30, "from 60 to 3600"),
        ("mode", "turbo", "'predictive'"),
    ],
)
def test_out_of_range_setting_is_named(setting, value, allowed):
    settings = PacingSettings(**{setting: value})

    with pytest.raises(ValidationError) as caught:
        settings.validate()

    message = str(caught.value)
    assert f"{setting}={value!r}" in message
    assert allowed in message
    assert isinstance(caught.value, PacingSettingError)
    assert caught.value.setting == setting


def test_min_dial_level_above_max_rejected():
    settings = PacingSettings(min_dial_level=3.0, max_dial_level=2.0)

    with pytest.raises(PacingSettingError, match="no greater than max_dial_level=2.0"):
        settings.validate()


def test_boundaries_accepted():
    PacingSettings(abandonment_target=0.03, ring_timeout_s=15, min_dial_level=1, max_dial_level=1).validate()
    PacingSettings(mode=PacingMode.PREVIEW, max_lines_per_agent=10, short_window_s=3600).validate()
