"""Rule packs: versioned TOML files of calling windows, caps and registries.

A pack states one body of rules as data that a tenant can review. Each
file has ``id``, ``version``, ``title``, ``country`` (ISO 3166 alpha-2),
``purposes`` (``telemarketing``, ``collections``) and optionally:

- ``timezones``: IANA zones of the country, used when a lead's own zone
  cannot be resolved;
- ``states``: US state codes the pack is limited to, and
  ``area_code_presumption = true`` when an in-state area code is presumed
  to reach an in-state resident;
- ``[[windows]]`` with ``days`` (``mon-fri``, ``sat``, ``mon,wed``),
  ``start`` and ``end`` (``HH:MM``, local time of the called party, the end
  excluded);
- ``closed_days`` (``["sun"]``), ``holiday_calendar`` (``CO``, ``US-AL``:
  a country and subdivision of the ``holidays`` package) and
  ``closed_dates`` (``["2026-12-24"]``);
- ``[[caps]]`` with ``scope`` (``number``, ``debt``), ``limit`` and
  ``window`` (``24h``, ``7d``);
- ``[[registries]]`` with ``name``, ``covers`` (purposes),
  ``effective_after_days`` and ``max_age_days``.

A pack that fails validation raises :class:`PackError` with its file, line
and reason. :class:`PackSet.reload` swaps packs only when every file loads,
so the previous packs stay in force after a bad edit.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field, replace
from pathlib import Path

import holidays

from dialer_common.errors import ValidationError

log = logging.getLogger(__name__)

PACKS_DIR = Path(__file__).resolve().parent / "packs"
PURPOSES = ("telemarketing", "collections")
CAP_SCOPES = ("number", "debt")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$|^24:00$")
_DURATION = re.compile(r"^([1-9][0-9]{0,3})([hd])$")
_PACK_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class PackError(ValidationError):
    """A rule pack is invalid; the message names the file, line and reason."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}:{line}" if line else source
        super().__init__(f"invalid rule pack {where}: {reason}")


@dataclass(frozen=True)
class Window:
    """Allowed local hours on a set of weekdays; ``start`` and ``end`` are minutes after midnight."""

    weekdays: frozenset[int]
    start: int
    end: int


@dataclass(frozen=True)
class Cap:
    """At most ``limit`` dials per ``scope`` value in any sliding ``window_s`` seconds."""

    scope: str
    limit: int
    window_s: int


@dataclass(frozen=True)
class Registry:
    """A do-not-call registry a pack honours."""

    name: str
    covers: frozenset[str]
    effective_after_days: int = 0
    max_age_days: int | None = None


@dataclass(frozen=True)
class Pack:
    """One loaded rule pack."""

    id: str
    version: str
    title: str
    country: str
    purposes: frozenset[str]
    timezones: tuple[str, ...] = ()
    states: frozenset[str] = frozenset()
    area_code_presumption: bool = False
    windows: tuple[Window, ...] = ()
    closed_weekdays: frozenset[int] = frozenset()
    holiday_calendar: str | None = None
    closed_dates: frozenset[dt.date] = frozenset()
    caps: tuple[Cap, ...] = ()
    registries: tuple[Registry, ...] = ()
    source: str = ""
    # Holiday lookups per year, filled on first use; excluded from equality.
    _holiday_years: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        """The pack id and version as stored with a blocked dial, e.g. ``us-fl@2026.1``."""
        return f"{self.id}@{self.version}"

    def is_closed_date(self, day: dt.date) -> bool:
        """Tell whether no call is allowed on local date ``day`` (closed weekday, holiday, date)."""
        if day.weekday() in self.closed_weekdays or day in self.closed_dates:
            return True
        if self.holiday_calendar is None:
            return False
        calendar = self._holiday_years.get(day.year)
        if calendar is None:
            calendar = frozenset(_holiday_calendar(self.holiday_calendar, day.year))
            self._holiday_years[day.year] = calendar
        return day in calendar

    def allows_minute(self, weekday: int, minute: int) -> bool:
        """Tell whether a local weekday and minute of the day fall in one of the windows.

        A pack without windows restricts days only, so every minute is allowed.
        """
        if not self.windows:
            return True
        return any(weekday in w.weekdays and w.start <= minute < w.end for w in self.windows)


def _holiday_calendar(name: str, year: int) -> dict:
    country, _sep, subdivision = name.partition("-")
    return holidays.country_holidays(country, subdiv=subdivision or None, years=year)


class _Locator:
    """Find the line of a key in a TOML text, for error messages."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def key(self, key: str, table: str | None = None, index: int = 0) -> int | None:
        start = 0
        if table is not None:
            headers = [n for n, line in enumerate(self.lines) if line.strip() == f"[[{table}]]"]
            if index >= len(headers):
                return None
            start = headers[index] + 1
        for number in range(start, len(self.lines)):
            stripped = self.lines[number].strip()
            if table is not None and stripped.startswith("["):
                break
            if re.match(rf"^{re.escape(key)}\s*=", stripped):
                return number + 1
        return None


def parse_pack(text: str, source: str) -> Pack:
    """Parse and validate one pack's TOML ``text``; ``source`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        raise PackError(
            source, int(match.group(1)) if match else None, f"TOML syntax error: {error}"
        ) from None
    return _PackReader(data, source, _Locator(text)).read()


class _PackReader:
    """Validate the parsed TOML of one pack, raising PackError at the first problem."""

    def __init__(self, data: dict, source: str, locator: _Locator) -> None:
        self.data = data
        self.source = source
        self.locator = locator

    def fail(self, reason: str, key: str, table: str | None = None, index: int = 0) -> PackError:
        return PackError(self.source, self.locator.key(key, table, index), reason)

    def read(self) -> Pack:
        known = {
            "id",
            "version",
            "title",
            "country",
            "purposes",
            "timezones",
            "states",
            "area_code_presumption",
            "windows",
            "closed_days",
            "holiday_calendar",
            "closed_dates",
            "caps",
            "registries",
        }
        for key in self.data:
            if key not in known:
                raise self.fail(f"unknown key {key!r}; expected one of {sorted(known)}", key)
        pack_id = self._text("id")
        if not _PACK_ID.match(pack_id):
            raise self.fail(f"invalid id {pack_id!r}: use lowercase letters, digits and '-'", "id")
        country = self._text("country")
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise self.fail(
                f"invalid country {country!r}: expected an ISO 3166 code such as US or CO", "country"
            )
        windows = self._windows()
        return Pack(
            id=pack_id,
            version=self._text("version"),
            title=self._text("title"),
            country=country,
            purposes=self._purposes("purposes", self.data.get("purposes")),
            timezones=self._timezones(),
            states=self._states(),
            area_code_presumption=bool(self.data.get("area_code_presumption", False)),
            windows=windows,
            closed_weekdays=self._closed_days(),
            holiday_calendar=self._holiday_calendar(),
            closed_dates=self._closed_dates(),
            caps=self._caps(),
            registries=self._registries(),
            source=self.source,
        )

    def _text(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"missing or empty {key!r}: expected a text value", key)
        return value.strip()

    def _purposes(self, key: str, value, table: str | None = None, index: int = 0) -> frozenset[str]:
        if not isinstance(value, list) or not value or any(v not in PURPOSES for v in value):
            raise self.fail(f"invalid {key} {value!r}: expected a list of {PURPOSES}", key, table, index)
        return frozenset(value)

    def _timezones(self) -> tuple[str, ...]:
        zones = self.data.get("timezones", [])
        if not isinstance(zones, list):
            raise self.fail(f"invalid timezones {zones!r}: expected a list of IANA names", "timezones")
        for zone in zones:
            try:
                check_zone(str(zone))
            except ValidationError:
                raise self.fail(
                    f"unknown time zone {zone!r}: expected an IANA name such as America/Bogota", "timezones"
                ) from None
        return tuple(zones)

    def _states(self) -> frozenset[str]:
        states = self.data.get("states", [])
        if not isinstance(states, list) or any(not re.fullmatch(r"[A-Z]{2}", str(s)) for s in states):
            raise self.fail(f'invalid states {states!r}: expected two-letter codes such as ["FL"]', "states")
        return frozenset(states)

    def _windows(self) -> tuple[Window, ...]:
        windows = []
        for index, item in enumerate(self.data.get("windows", [])):
            weekdays = self._days(item.get("days"), "days", "windows", index)
            start = self._minute(item.get("start"), "start", index)
            end = self._minute(item.get("end"), "end", index)
            if start >= end:
                raise self.fail(
                    f"inverted window {item['start']}-{item['end']}: start must be before end "
                    "(a window cannot cross midnight)",
                    "start",
                    "windows",
                    index,
                )
            window = Window(weekdays, start, end)
            for other_index, other in enumerate(windows):
                if window.weekdays & other.weekdays and window.start < other.end and other.start < window.end:
                    raise self.fail(
                        f"window {index + 1} overlaps window {other_index + 1} on the same days; "
                        "merge them into one window",
                        "days",
                        "windows",
                        index,
                    )
            windows.append(window)
        return tuple(windows)

    def _days(self, value, key: str, table: str | None, index: int = 0) -> frozenset[int]:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f'invalid {key} {value!r}: expected e.g. "mon-fri" or "sat"', key, table, index)
        weekdays: set[int] = set()
        for part in value.replace(" ", "").split(","):
            first, _sep, last = part.partition("-")
            last = last or first
            if first not in DAY_NAMES or last not in DAY_NAMES:
                raise self.fail(
                    f"invalid {key} {value!r}: day names are {', '.join(DAY_NAMES)}", key, table, index
                )
            lo, hi = DAY_NAMES.index(first), DAY_NAMES.index(last)
            if lo > hi:
                raise self.fail(
                    f"invalid {key} {value!r}: write the range from Monday on, e.g. mon-fri",
                    key,
                    table,
                    index,
                )
            weekdays.update(range(lo, hi + 1))
        return frozenset(weekdays)

    def _minute(self, value, key: str, index: int) -> int:
        if not isinstance(value, str) or not _TIME.match(value):
            raise self.fail(
                f"invalid {key} time {value!r}: expected HH:MM from 00:00 to 24:00", key, "windows", index
            )
        hours, minutes = value.split(":")
        return int(hours) * 60 + int(minutes)

    def _closed_days(self) -> frozenset[int]:
        days = self.data.get("closed_days", [])
        if not isinstance(days, list) or any(day not in DAY_NAMES for day in days):
            raise self.fail(
                f"invalid closed_days {days!r}: day names are {', '.join(DAY_NAMES)}", "closed_days"
            )
        return frozenset(DAY_NAMES.index(day) for day in days)

    def _holiday_calendar(self) -> str | None:
        name = self.data.get("holiday_calendar")
        if name is None:
            return None
        try:
            _holiday_calendar(str(name), dt.date.today().year)
        except NotImplementedError as error:
            raise self.fail(
                f"unknown holiday_calendar {name!r}: {error}; use a country code such as CO or "
                "a country and subdivision such as US-AL",
                "holiday_calendar",
            ) from None
        return str(name)

    def _closed_dates(self) -> frozenset[dt.date]:
        dates = []
        for value in self.data.get("closed_dates", []):
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                dates.append(value)
                continue
            try:
                dates.append(dt.date.fromisoformat(str(value)))
            except ValueError:
                raise self.fail(
                    f"invalid date {value!r} in closed_dates: expected YYYY-MM-DD", "closed_dates"
                ) from None
        return frozenset(dates)

    def _caps(self) -> tuple[Cap, ...]:
        caps = []
        for index, item in enumerate(self.data.get("caps", [])):
            scope = item.get("scope")
            if scope not in CAP_SCOPES:
                raise self.fail(
                    f"invalid cap scope {scope!r}: expected one of {CAP_SCOPES}", "scope", "caps", index
                )
            limit = item.get("limit")
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
                raise self.fail(
                    f"invalid cap limit {limit!r}: expected a whole number of calls, 1 or more",
                    "limit",
                    "caps",
                    index,
                )
            caps.append(Cap(scope, limit, self._duration(item.get("window"), "caps", index)))
        return tuple(caps)

    def _duration(self, value, table: str, index: int) -> int:
        match = _DURATION.match(str(value))
        if not match:
            raise self.fail(
                f"invalid window {value!r}: expected hours or days such as 24h or 7d", "window", table, index
            )
        return int(match.group(1)) * (3600 if match.group(2) == "h" else 86400)

    def _registries(self) -> tuple[Registry, ...]:
        registries = []
        for index, item in enumerate(self.data.get("registries", [])):
            name = item.get("name")
            if not isinstance(name, str) or not _PACK_ID.match(name):
                raise self.fail(
                    f"invalid registry name {name!r}: use lowercase letters, digits and '-'",
                    "name",
                    "registries",
                    index,
                )
            numbers = {}
            for key in ("effective_after_days", "max_age_days"):
                number = item.get(key, 0 if key == "effective_after_days" else None)
                if number is not None and (not isinstance(number, int) or number < 0):
                    raise self.fail(
                        f"invalid {key} {number!r}: expected a whole number of days", key, "registries", index
                    )
                numbers[key] = number
            covers = self._purposes("covers", item.get("covers"), "registries", index)
            registries.append(
                Registry(name, covers, numbers["effective_after_days"], numbers["max_age_days"])
            )
        return tuple(registries)


def load_pack_file(path: Path) -> Pack:
    """Load one pack file; raises PackError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PackError(str(path), None, f"cannot be read: {error}") from None
    return parse_pack(text, path.name)


def narrow(base: Pack, override: Pack) -> Pack:
    """Apply a tenant's ``override`` of ``base``, which may only make it stricter.

    The override must have the base's id. Its windows must each lie inside a
    base window on every one of their days, its caps must allow no more calls
    in no shorter a window, and it keeps every closed day and registry of the
    base (it may add more). Raises PackError naming the first widening.
    """
    where = override.source or f"override of {base.id}"
    if override.id != base.id:
        raise PackError(where, None, f"override id {override.id!r} does not match pack {base.id!r}")
    for index, window in enumerate(override.windows):
        for weekday in window.weekdays:
            inside = (
                any(
                    weekday in b.weekdays and b.start <= window.start and window.end <= b.end
                    for b in base.windows
                )
                or not base.windows
            )
            if not inside:
                raise PackError(
                    where,
                    None,
                    f"window {index + 1} on {DAY_NAMES[weekday]} is wider than "
                    f"pack {base.id}; an override may only narrow the calling hours",
                )
    if base.windows and not override.windows:
        raise PackError(
            where,
            None,
            f"the override removes every window of pack {base.id}; list the narrower windows instead",
        )
    for cap in base.caps:
        stricter = [
            c
            for c in override.caps
            if c.scope == cap.scope and c.limit <= cap.limit and c.window_s >= cap.window_s
        ]
        if not stricter:
            raise PackError(
                where,
                None,
                f"cap {cap.scope} {cap.limit} per {cap.window_s // 3600} h of pack "
                f"{base.id} is missing or wider in the override; keep it or make it stricter",
            )
    if not base.closed_weekdays <= override.closed_weekdays or not base.closed_dates <= override.closed_dates:
        raise PackError(where, None, f"the override reopens closed days of pack {base.id}")
    if base.holiday_calendar and override.holiday_calendar != base.holiday_calendar:
        raise PackError(
            where, None, f"the override drops holiday calendar {base.holiday_calendar} of {base.id}"
        )
    if {r.name for r in base.registries} - {r.name for r in override.registries}:
        raise PackError(where, None, f"the override drops a do-not-call registry of pack {base.id}")
    return replace(
        override,
        version=f"{base.version}+tenant.{override.version}",
        purposes=base.purposes,
        states=base.states,
        country=base.country,
        timezones=base.timezones,
        area_code_presumption=base.area_code_presumption,
    )


class PackSet:
    """The loaded packs by id; ``reload`` replaces them all or none."""

    def __init__(self, packs: dict[str, Pack] | None = None) -> None:
        self._packs: dict[str, Pack] = dict(packs or {})

    @classmethod
    def load(cls, directory: Path = PACKS_DIR) -> PackSet:
        """Load every ``*.toml`` pack in ``directory``; raises PackError on the first bad file."""
        return cls(_load_directory(directory))

    def reload(self, directory: Path = PACKS_DIR) -> None:
        """Replace the packs with the files in ``directory``; keep the current ones if any is invalid."""
        try:
            packs = _load_directory(directory)
        except PackError as error:
            log.error(
                "compliance.packs_rejected directory=%s error=%s kept=%d", directory, error, len(self._packs)
            )
            raise
        self._packs = packs
        log.info("compliance.packs_loaded directory=%s count=%d", directory, len(packs))

    def get(self, pack_id: str) -> Pack:
        try:
            return self._packs[pack_id]
        except KeyError:
            raise ValidationError(
                f"unknown rule pack {pack_id!r}; known packs: {', '.join(sorted(self._packs))}"
            ) from None

    def with_override(self, override: Pack) -> PackSet:
        """Return a copy of this set with ``override`` narrowing the pack of the same id."""
        packs = dict(self._packs)
        packs[override.id] = narrow(self.get(override.id), override)
        return PackSet(packs)

    def ids(self) -> list[str]:
        return sorted(self._packs)

    def __iter__(self):
        return iter(self._packs.values())

    def __len__(self) -> int:
        return len(self._packs)

    def registry(self, name: str) -> Registry | None:
        """Return the registry called ``name`` as the first pack declaring it has it."""
        for pack in self._packs.values():
            for registry in pack.registries:
                if registry.name == name:
                    return registry
        return None


def _load_directory(directory: Path) -> dict[str, Pack]:
    packs: dict[str, Pack] = {}
    for path in sorted(Path(directory).glob("*.toml")):
        pack = load_pack_file(path)
        if pack.id in packs:
            raise PackError(
                path.name, 1, f"duplicate pack id {pack.id!r}, already in {packs[pack.id].source}"
            )
        packs[pack.id] = pack
    if not packs:
        raise PackError(str(directory), None, "no *.toml rule pack found")
    return packs


def check_zone(name: str) -> str:
    """Return ``name`` if it is an IANA time zone; raise ValidationError otherwise."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"unknown time zone {name!r}: expected an IANA name such as America/New_York"
        ) from None
    return name
