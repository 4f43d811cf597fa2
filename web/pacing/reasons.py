"""Translate the pacer's decision reasons (English text in pacing_log.reason) for the pages.

The orchestrator stores each reason as one English sentence built from a
few fixed templates (orchestrator.predictive, orchestrator.protection,
orchestrator.screening). This module matches those templates and renders
them from the web catalog in the request's locale, with locale number
formats.

NOTE: a reason that matches no template is returned unchanged, in English;
add its template here when the orchestrator gains a new one.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import format_decimal, lazy_gettext
from flask_babel import gettext as _

FIXED_REASONS = {
    "preview mode": lazy_gettext("preview mode"),
    "progressive mode": lazy_gettext("progressive mode"),
    "no leads left to dial": lazy_gettext("no leads left to dial"),
    "no agents logged in": lazy_gettext("no agents logged in"),
}

_NUMBER = r"(?P<{}>\d+(?:\.\d+)?)"
_WINDOW = rf"{_NUMBER.format('minutes')}-minute abandonment {_NUMBER.format('rate')}% is"
_TARGET = rf"the {_NUMBER.format('target')}% target"


def _numbers(match: re.Match) -> dict[str, str]:
    values = match.groupdict()
    return {name: format_decimal(float(value)) for name, value in values.items() if value is not None}


def _over_lowered(values: dict) -> str:
    return _("%(minutes)s-minute abandonment %(rate)s %% is over the %(target)s %% target;"
             " lowered the multiplier to %(multiplier)s", **values)


def _over_holding(values: dict) -> str:
    return _("%(minutes)s-minute abandonment %(rate)s %% is over the %(target)s %% target;"
             " holding the multiplier at %(multiplier)s", **values)


def _under_raising(values: dict) -> str:
    return _("%(minutes)s-minute abandonment %(rate)s %% is under the %(target)s %% target;"
             " raising the multiplier to %(multiplier)s", **values)


def _near_holding(values: dict) -> str:
    return _("%(minutes)s-minute abandonment %(rate)s %% is near the %(target)s %% target;"
             " holding the multiplier at %(multiplier)s", **values)


def _within(values: dict) -> str:
    return _("%(minutes)s-minute abandonment %(rate)s %% is within the %(target)s %% target", **values)


def _fallback(values: dict) -> str:
    return _("30-day abandonment %(rate)s %% is near the 3 %% FTC limit; dialing progressive"
             " until it falls under the %(target)s %% target", **values)


def _compliance(values: dict) -> str:
    values.setdefault("rate", _("n/a"))
    return _("compliance: the 30-day abandonment rate is %(rate)s %% (%(abandoned)s of %(live)s"
             " live answers) and one more abandoned call would pass 3 %%, so the campaign runs progressive",
             **values)


PATTERNS: list[tuple[re.Pattern, Callable[[dict], str]]] = [
    (re.compile(rf"{_WINDOW} over {_TARGET}; lowered the multiplier to {_NUMBER.format('multiplier')}"),
     _over_lowered),
    (re.compile(rf"{_WINDOW} over {_TARGET}; holding the multiplier at {_NUMBER.format('multiplier')}"),
     _over_holding),
    (re.compile(rf"{_WINDOW} under {_TARGET}; raising the multiplier to {_NUMBER.format('multiplier')}"),
     _under_raising),
    (re.compile(rf"{_WINDOW} near {_TARGET}; holding the multiplier at {_NUMBER.format('multiplier')}"),
     _near_holding),
    (re.compile(rf"{_WINDOW} within {_TARGET}"), _within),
    (re.compile(rf"30-day abandonment {_NUMBER.format('rate')}% is near the 3% FTC limit; dialing progressive"
                rf" until it falls under {_TARGET}"), _fallback),
    (re.compile(r"compliance: the 30-day abandonment rate is (?:n/a|(?P<rate>\d+(?:\.\d+)?) %) \("
                r"(?P<abandoned>\d+) of (?P<live>\d+) live answers\) and one more abandoned call would"
                r" pass 3 %, so the campaign runs progressive"), _compliance),
]


def translate_reason(reason: str | None) -> str | None:
    """Return ``reason`` in the request's locale, or unchanged when no template matches."""
    if not reason:
        return reason
    if reason in FIXED_REASONS:
        return str(FIXED_REASONS[reason])
    for pattern, render in PATTERNS:
        match = pattern.fullmatch(reason)
        if match is not None:
            return render(_numbers(match))
    return reason
