"""Calling windows in the called party's local time (pure: no I/O, no clock).

A dial at instant ``now`` is allowed when, in every candidate zone, the
local date is not closed by any pack and the local minute is inside a
window of every pack. Local times come from converting the UTC instant to
each zone, so a daylight saving transition can never open a window early:
the local clock of a real instant is always the one people read.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dialer_common.compliance.packs import DAY_NAMES, Pack

# How far ahead ``next_open`` looks for a window; long enough to cross a
# weekend and a holiday of each calendar.
SEARCH_DAYS = 14


@functools.lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """Return the cached ZoneInfo of ``name``."""
    return ZoneInfo(name)


@dataclass(frozen=True)
class HoursBlock:
    """Why a dial is outside the hours: the pack, the zone and the local time read there."""

    pack: Pack
    zone: str
    local: dt.datetime
    closed_day: bool

    @property
    def rule(self) -> str:
        return f"{self.pack.id}:{'closed_day' if self.closed_day else 'hours'}"

    @property
    def reason(self) -> str:
        local = self.local.strftime("%Y-%m-%d %H:%M")
        day = DAY_NAMES[self.local.weekday()]
        if self.closed_day:
            return f"{self.pack.title}: no calls on {day} {local[:10]} in {self.zone}"
        windows = (
            ", ".join(
                _format_window(w.start, w.end)
                for w in self.pack.windows
                if self.local.weekday() in w.weekdays
            )
            or "none"
        )
        return f"{self.pack.title}: local time {day} {local} in {self.zone} is outside {windows}"


def _format_window(start: int, end: int) -> str:
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def first_block(packs: tuple[Pack, ...], zones: tuple[str, ...], now: dt.datetime) -> HoursBlock | None:
    """Return the first pack and zone whose window is closed at ``now`` (timezone-aware), or None."""
    for name in zones:
        local = now.astimezone(zone(name))
        day = local.date()
        weekday = local.weekday()
        minute = local.hour * 60 + local.minute
        for pack in packs:
            if pack.is_closed_date(day):
                return HoursBlock(pack, name, local, closed_day=True)
            if not pack.allows_minute(weekday, minute):
                return HoursBlock(pack, name, local, closed_day=False)
    return None


def next_open(packs: tuple[Pack, ...], zones: tuple[str, ...], now: dt.datetime) -> dt.datetime | None:
    """Return the first instant after ``now`` when every pack is open in every zone, or None.

    The windows open only at a window start (or at midnight for a pack
    without windows) in one of the zones, so those instants are the only
    candidates; each one is checked with :func:`first_block`. Returns None
    when nothing opens within SEARCH_DAYS days.
    """
    candidates = set()
    for name in zones:
        tz = zone(name)
        today = now.astimezone(tz).date()
        for offset in range(SEARCH_DAYS + 1):
            day = today + dt.timedelta(days=offset)
            for pack in packs:
                starts = {w.start for w in pack.windows} or {0}
                for start in starts:
                    local = dt.datetime(day.year, day.month, day.day, start // 60, start % 60, tzinfo=tz)
                    # A start inside a spring-forward gap maps to an instant
                    # after the gap; first_block checks it like any other.
                    instant = local.astimezone(dt.UTC)
                    if instant > now:
                        candidates.add(instant)
    for instant in sorted(candidates):
        if first_block(packs, zones, instant) is None:
            return instant
    return None
