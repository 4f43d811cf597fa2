"""The demo's compliance clock shift lands inside every US calling window."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from dialer_common.demo import calling_hours_offset_s

US_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
            "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico")


@pytest.mark.parametrize("hour", [0, 3, 7, 12, 19, 23])
@pytest.mark.parametrize("day", [1, 5, 6, 7, 25])  # Tue, Sat, Sun, Mon, Christmas Friday (Dec 2026)
def test_shifted_clock_inside_every_us_window(day, hour):
    now = datetime.datetime(2026, 12, day, hour, 17, tzinfo=datetime.UTC)
    shifted = now + datetime.timedelta(seconds=calling_hours_offset_s(now))

    assert shifted.weekday() < 5
    assert shifted.date() != datetime.date(2026, 12, 25)
    for zone in US_ZONES:
        local = shifted.astimezone(ZoneInfo(zone))
        assert 8 <= local.hour < 21, (zone, local)
