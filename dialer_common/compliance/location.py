"""The called party's location: country, US state and candidate time zones.

Signals, best first: the lead's US ZIP code (its first three digits, looked
up in ``zip3.csv``), then the lead's state, then the number's exchange or
area code (phonenumbers' time zone metadata). After those come the lead's
stored ``timezone`` and the zones a rule pack lists for the country. The number is always used
for the country and for the state its area code belongs to, because
Florida and Oklahoma presume an in-state area code reaches a resident.

Every signal may give several zones; the gate then dials only while the
window is open in all of them.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from phonenumbers import NumberParseException, geocoder
from phonenumbers import timezone as phone_timezone

ZIP3_FILE = Path(__file__).resolve().parent / "zip3.csv"

# NANP regions that are US states or territories under US federal rules.
US_REGIONS = frozenset({"US", "PR", "VI", "GU", "AS", "MP"})

STATE_NAMES = {
    "Alabama": "AL",
    "Alaska": "AK",
    "Arizona": "AZ",
    "Arkansas": "AR",
    "California": "CA",
    "Colorado": "CO",
    "Connecticut": "CT",
    "Delaware": "DE",
    "Florida": "FL",
    "Georgia": "GA",
    "Hawaii": "HI",
    "Idaho": "ID",
    "Illinois": "IL",
    "Indiana": "IN",
    "Iowa": "IA",
    "Kansas": "KS",
    "Kentucky": "KY",
    "Louisiana": "LA",
    "Maine": "ME",
    "Maryland": "MD",
    "Massachusetts": "MA",
    "Michigan": "MI",
    "Minnesota": "MN",
    "Mississippi": "MS",
    "Missouri": "MO",
    "Montana": "MT",
    "Nebraska": "NE",
    "Nevada": "NV",
    "New Hampshire": "NH",
    "New Jersey": "NJ",
    "New Mexico": "NM",
    "New York": "NY",
    "North Carolina": "NC",
    "North Dakota": "ND",
    "Ohio": "OH",
    "Oklahoma": "OK",
    "Oregon": "OR",
    "Pennsylvania": "PA",
    "Rhode Island": "RI",
    "South Carolina": "SC",
    "South Dakota": "SD",
    "Tennessee": "TN",
    "Texas": "TX",
    "Utah": "UT",
    "Vermont": "VT",
    "Virginia": "VA",
    "Washington": "WA",
    "West Virginia": "WV",
    "Wisconsin": "WI",
    "Wyoming": "WY",
    "Washington D.C.": "DC",
    "District of Columbia": "DC",
    "Puerto Rico": "PR",
}


@dataclass(frozen=True)
class ZipEntry:
    state: str
    zones: tuple[str, ...]


def load_zip3(path: Path = ZIP3_FILE) -> dict[str, ZipEntry]:
    """Load the ZIP3 table into a dict from 3-digit prefix to state and zones."""
    table: dict[str, ZipEntry] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        for row in rows:
            entry = ZipEntry(row["state"], tuple(row["zones"].split("|")))
            for prefix in range(int(row["first"]), int(row["last"]) + 1):
                table[f"{prefix:03d}"] = entry
    return table


ZIP3 = load_zip3()


def _state_zones() -> dict[str, tuple[str, ...]]:
    zones: dict[str, list[str]] = {}
    for entry in ZIP3.values():
        known = zones.setdefault(entry.state, [])
        known.extend(zone for zone in entry.zones if zone not in known)
    return {state: tuple(names) for state, names in zones.items()}


# Every zone any ZIP code of the state is in.
STATE_ZONES = _state_zones()


@dataclass(frozen=True)
class PhoneInfo:
    """A number's region, zones and area-code state, from the number alone."""

    region: str | None
    zones: tuple[str, ...]
    area_code_state: str | None


def phone_info(e164: str) -> PhoneInfo:
    """Look up a number's region, zones and (NANP) area-code state.

    A North American number is cached by its first 7 digits (1, area code,
    exchange), because phonenumbers' time zone prefixes for country code 1
    are at most 7 digits long. Other numbers are cached whole.
    """
    if len(e164) == 12 and e164.startswith("+1"):
        prefix = e164[:8]
        info = _NANP_CACHE.get(prefix)
        if info is None:
            if len(_NANP_CACHE) >= MAX_NANP_PREFIXES:
                _NANP_CACHE.clear()
            info = _NANP_CACHE[prefix] = _lookup(e164)
        return info
    return _number_info(e164)


# NANP has under 1,000 x 800 area code and exchange pairs.
MAX_NANP_PREFIXES = 800_000
_NANP_CACHE: dict[str, PhoneInfo] = {}


@functools.lru_cache(maxsize=262_144)
def _number_info(e164: str) -> PhoneInfo:
    return _lookup(e164)


def _lookup(e164: str) -> PhoneInfo:
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return PhoneInfo(None, (), None)
    region = phonenumbers.region_code_for_number(number)
    zones = tuple(z for z in phone_timezone.time_zones_for_number(number) if z != "Etc/Unknown")
    area_code_state = None
    if number.country_code == 1:
        description = geocoder.description_for_number(number, "en")
        area_code_state = _state_of_description(description)
    return PhoneInfo(region, zones, area_code_state)


def _state_of_description(description: str) -> str | None:
    if description in STATE_NAMES:
        return STATE_NAMES[description]
    _city, _sep, tail = description.rpartition(", ")
    if len(tail) == 2 and tail.isupper():
        return tail
    return None


@dataclass(frozen=True)
class Location:
    """A lead's resolved country, state and zones; ``signal`` names the source of the zones."""

    country: str | None
    state: str | None
    area_code_state: str | None
    zones: tuple[str, ...]
    signal: str


# Whole ZIP codes that belong to another state or territory than their
# prefix: 96799 (Pago Pago, American Samoa, UTC-11) shares the prefix 967 with
# Hawaii (UTC-10). Keeping it out of 967 keeps Hawaii's state zones to Honolulu.
ZIP5_EXCEPTIONS = {"96799": ZipEntry("AS", ("Pacific/Pago_Pago",))}


def zip3_entry(postal_code: str | None) -> ZipEntry | None:
    """Return the table entry of a US ZIP code (``33101`` or ``33101-1234``), or None."""
    if not postal_code:
        return None
    text = postal_code.strip()
    if len(text) < 5 or not text[:5].isdigit():
        return None
    return ZIP5_EXCEPTIONS.get(text[:5]) or ZIP3.get(text[:3])


def resolve(
    phone_e164: str,
    state_code: str | None = None,
    postal_code: str | None = None,
    lead_timezone: str | None = None,
) -> Location:
    """Resolve a lead's country, state and candidate zones from the best signal it has."""
    info = phone_info(phone_e164)
    country = "US" if info.region in US_REGIONS else info.region
    state = state_code.upper() if state_code else None

    if country == "US":
        entry = zip3_entry(postal_code)
        if entry is not None:
            return Location(country, entry.state, info.area_code_state, entry.zones, "postal_code")
        if state in STATE_ZONES:
            return Location(country, state, info.area_code_state, STATE_ZONES[state], "state")
    if info.zones:
        return Location(country, state or info.area_code_state, info.area_code_state, info.zones, "phone")
    if lead_timezone:
        return Location(country, state, info.area_code_state, (lead_timezone,), "lead_timezone")
    return Location(country, state, info.area_code_state, (), "none")
