"""Calling windows in local time: property tests against a brute-force check per zone.

The brute force works in the opposite direction from the gate: it lists
every local wall-clock minute inside the window on the days around the
instant, converts each to UTC (both folds, dropping times that do not exist
because of a spring-forward gap), and checks whether the instant is one
of them.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import timezone as phone_timezone

from dialer_common.compliance.gate import CampaignRules, ComplianceGate, LeadInfo
from dialer_common.compliance.packs import PackSet

UTC = dt.UTC
ZIP3_CSV = Path(__file__).resolve().parents[2] / "dialer_common" / "compliance" / "zip3.csv"

# Area code -> whether Florida's pack applies to it by the in-state presumption.
AREA_CODES = {
    "305": True,
    "850": True,
    "205": False,
    "405": False,
    "928": False,
    "808": False,
    "787": False,
    "907": False,
    "212": False,
    "213": False,
    "312": False,
    "303": False,
    "605": False,
    "701": False,
    "915": False,
    "270": False,
    "423": False,
    "812": False,
    "906": False,
    "541": False,
    "208": False,
    "800": False,
}

PACKS = PackSet.load()


@functools.cache
def zip3_rows() -> dict[str, tuple[str, tuple[str, ...]]]:
    rows = {}
    with open(ZIP3_CSV, encoding="utf-8") as handle:
        for row in csv.DictReader(line for line in handle if not line.startswith("#")):
            for prefix in range(int(row["first"]), int(row["last"]) + 1):
                rows[f"{prefix:03d}"] = (row["state"], tuple(row["zones"].split("|")))
    return rows


def expected_zones(phone: str, postal: str | None) -> tuple[str | None, tuple[str, ...]]:
    """Return the postal code's state and zones, else (None, the number's zones)."""
    if postal and postal[:3] in zip3_rows():
        return zip3_rows()[postal[:3]]
    zones = phone_timezone.time_zones_for_number(phonenumbers.parse(phone))
    return None, tuple(zone for zone in zones if zone != "Etc/Unknown")


@functools.lru_cache(maxsize=4096)
def allowed_instants(zone: str, day: dt.date, start: int, end: int, closed: frozenset[dt.date]) -> frozenset:
    """Every UTC minute whose local reading in ``zone`` is on ``day`` inside [start, end)."""
    tz = ZoneInfo(zone)
    if day in closed:
        return frozenset()
    instants = set()
    for minute in range(start, end):
        naive = dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60)
        for fold in (0, 1):
            instant = naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)
            if instant.astimezone(tz).replace(tzinfo=None) == naive:
                instants.add(instant)
    return frozenset(instants)


def brute_allowed(zone: str, now: dt.datetime, start: int, end: int, closed=frozenset()) -> bool:
    minute = now.replace(second=0, microsecond=0)
    day = now.date()
    return any(
        minute in allowed_instants(zone, day + dt.timedelta(days=offset), start, end, closed)
        for offset in (-1, 0, 1)
    )


def _transitions() -> list[dt.datetime]:
    """UTC instants of the 2026-2027 DST changes in the zones the numbers resolve to."""
    instants = []
    for zone in (
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "America/Anchorage",
        "America/Adak",
        "America/Boise",
    ):
        tz = ZoneInfo(zone)
        hour = dt.datetime(2026, 1, 1, tzinfo=UTC)
        previous = hour.astimezone(tz).utcoffset()
        while hour.year < 2028:
            offset = hour.astimezone(tz).utcoffset()
            if offset != previous:
                instants.append(hour)
                previous = offset
            hour += dt.timedelta(hours=1)
    return instants


TRANSITIONS = _transitions()

phones = st.builds(
    lambda area, exchange, line: f"+1{area}{exchange}{line:04d}",
    st.sampled_from(sorted(AREA_CODES)),
    st.integers(200, 999),
    st.integers(0, 9999),
)
postals = st.one_of(st.none(), st.integers(0, 99999).map(lambda n: f"{n:05d}"))
instants = st.one_of(
    st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2027, 12, 31)).map(lambda t: t.replace(tzinfo=UTC)),
    st.builds(
        lambda base, minutes: base + dt.timedelta(minutes=minutes),
        st.sampled_from(TRANSITIONS),
        st.integers(-26 * 60, 26 * 60),
    ),
)


class NoDnc:
    def find(self, tenant_id, phone):
        return []


def gate() -> ComplianceGate:
    return ComplianceGate(PACKS, caps=None, dnc=NoDnc())


@settings(max_examples=400, deadline=None, derandomize=True)
@given(phone=phones, postal=postals, now=instants)
def test_hours_match_brute_force_federal_and_florida(phone, postal, now):
    campaign = CampaignRules(1, 1, pack_ids=("us-federal", "us-fl"))
    location, packs = gate().locate(LeadInfo(1, phone, postal_code=postal), campaign)
    verdict = gate().check_hours(location, packs, now)

    state, zones = expected_zones(phone, postal)
    florida = state == "FL" or AREA_CODES[phone[2:5]]
    end = 20 * 60 if florida else 21 * 60
    expected = all(brute_allowed(zone, now, 8 * 60, end) for zone in zones)

    assert set(location.zones) == set(zones)
    assert (verdict is None) == expected, (phone, postal, now, zones, verdict)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(exchange=st.integers(200, 999), postal=st.sampled_from([None, "35203", "36104"]), now=instants)
def test_alabama_never_allowed_on_sunday_or_holiday(exchange, postal, now):
    campaign = CampaignRules(1, 1, pack_ids=("us-federal", "us-al"))
    location, packs = gate().locate(LeadInfo(1, f"+1205{exchange}0100", postal_code=postal), campaign)
    verdict = gate().check_hours(location, packs, now)

    local = now.astimezone(ZoneInfo("America/Chicago"))
    closed = local.weekday() == 6 or local.date() in holidays.country_holidays(
        "US", subdiv="AL", years=local.year
    )
    expected = not closed and brute_allowed("America/Chicago", now, 8 * 60, 21 * 60)
    assert (verdict is None) == expected, (now, verdict)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(phone=phones, postal=postals, now=instants)
def test_retry_at_is_open_and_not_early(phone, postal, now):
    campaign = CampaignRules(1, 1, pack_ids=("us-federal", "us-fl"))
    location, packs = gate().locate(LeadInfo(1, phone, postal_code=postal), campaign)
    verdict = gate().check_hours(location, packs, now)
    if verdict is None or verdict.retry_at is None:
        return
    assert verdict.retry_at > now
    assert gate().check_hours(location, packs, verdict.retry_at) is None
    one_minute_before = verdict.retry_at - dt.timedelta(minutes=1)
    if one_minute_before > now:
        assert gate().check_hours(location, packs, one_minute_before) is not None


def _check(phone, now, postal=None, packs=("us-federal",), state=None):
    campaign = CampaignRules(1, 1, pack_ids=packs)
    location, applicable = gate().locate(LeadInfo(1, phone, postal_code=postal, state_code=state), campaign)
    return gate().check_hours(location, applicable, now)


def test_spring_forward_does_not_open_early():
    # 2026-03-08: New York jumps from 02:00 EST to 03:00 EDT. 08:00 EDT is 12:00 UTC.
    assert _check("+12125550123", dt.datetime(2026, 3, 8, 11, 59, tzinfo=UTC)) is not None
    assert _check("+12125550123", dt.datetime(2026, 3, 8, 12, 0, tzinfo=UTC)) is None


def test_fall_back_does_not_open_early():
    # 2026-11-01: New York falls back to EST. 08:00 EST is 13:00 UTC.
    assert _check("+12125550123", dt.datetime(2026, 11, 1, 12, 30, tzinfo=UTC)) is not None
    assert _check("+12125550123", dt.datetime(2026, 11, 1, 13, 0, tzinfo=UTC)) is None


def test_arizona_stays_on_standard_time():
    # Phoenix is UTC-7 all year: 08:00 local is 15:00 UTC in July and January.
    for month in (1, 7):
        assert (
            _check("+16025550123", dt.datetime(2026, month, 15, 14, 59, tzinfo=UTC), postal="85004")
            is not None
        )
        assert _check("+16025550123", dt.datetime(2026, month, 15, 15, 0, tzinfo=UTC), postal="85004") is None


def test_navajo_nation_prefix_waits_for_both_zones():
    # ZIP 860xx includes the Navajo Nation (Mountain time with DST). In July
    # Denver is UTC-6, so 20:59 Phoenix (03:59 UTC) is 21:59 there.
    assert _check("+19285550123", dt.datetime(2026, 7, 16, 3, 30, tzinfo=UTC), postal="86001") is not None
    assert _check("+19285550123", dt.datetime(2026, 7, 16, 2, 30, tzinfo=UTC), postal="86001") is None


def test_hawaii_and_puerto_rico_without_dst():
    assert _check("+18085550123", dt.datetime(2026, 7, 1, 17, 59, tzinfo=UTC), postal="96813") is not None
    assert _check("+18085550123", dt.datetime(2026, 7, 1, 18, 0, tzinfo=UTC), postal="96813") is None
    assert _check("+17875550123", dt.datetime(2026, 1, 5, 11, 59, tzinfo=UTC), postal="00901") is not None
    assert _check("+17875550123", dt.datetime(2026, 1, 5, 12, 0, tzinfo=UTC), postal="00901") is None


def test_postal_code_beats_area_code():
    # A New York number whose owner lives in Los Angeles: 08:30 in New York is 05:30 there.
    now = dt.datetime(2026, 6, 1, 12, 30, tzinfo=UTC)
    assert _check("+12125550123", now) is None
    assert _check("+12125550123", now, postal="90012").rule == "us-federal:hours"


def test_florida_area_code_presumption_applies_out_of_state():
    # 20:30 in New York: federal allows, Florida's pack applies to a 305 number even with a Georgia address.
    now = dt.datetime(2026, 6, 2, 0, 30, tzinfo=UTC)
    verdict = _check("+13055550123", now, postal="30301", packs=("us-federal", "us-fl"))
    assert verdict.rule == "us-fl:hours"
    assert _check("+14045550123", now, postal="30301", packs=("us-federal", "us-fl")) is None


def test_colombia_saturday_and_holiday():
    packs = ("co-ley-2300",)
    # Saturday 2026-12-05: 08:00-15:00 Bogota (UTC-5).
    assert _check("+573012345678", dt.datetime(2026, 12, 5, 19, 59, tzinfo=UTC), packs=packs) is None
    assert (
        _check("+573012345678", dt.datetime(2026, 12, 5, 20, 0, tzinfo=UTC), packs=packs).rule
        == "co-ley-2300:hours"
    )
    # Tuesday 2026-12-08 is the Immaculate Conception holiday.
    assert (
        _check("+573012345678", dt.datetime(2026, 12, 8, 15, 0, tzinfo=UTC), packs=packs).rule
        == "co-ley-2300:closed_day"
    )


def test_no_pack_for_country_blocks():
    verdict = _check("+573012345678", dt.datetime(2026, 12, 4, 15, 0, tzinfo=UTC), packs=("us-federal",))
    assert verdict.rule == "packs:none"
