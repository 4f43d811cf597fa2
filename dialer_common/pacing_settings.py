"""Per-campaign pacing settings and their allowed ranges.

Shared by the orchestrator (``orchestrator.predictive`` paces with them) and
the web tier (the pacing API validates with them), so each range is written
once, here. Pure: no I/O.

The FTC Telemarketing Sales Rule (16 CFR 310.4(b)(4)) fixes two limits:
at most 3 % of live answers abandoned per campaign over 30 days, and at least
15 s of ringing before the dialer gives up on an unanswered call.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from dialer_common.errors import ValidationError

FTC_ABANDONMENT_CEILING = 0.03
FTC_MIN_RING_TIMEOUT_S = 15.0


class PacingMode(enum.StrEnum):
    """Dialing mode of a campaign."""

    PREVIEW = "preview"  # agents dial by hand; the pacer places nothing
    PROGRESSIVE = "progressive"  # one dial per free agent
    PREDICTIVE = "predictive"


class RangeUnit(enum.StrEnum):
    """How a numeric setting is expressed, so a message can phrase its range."""

    FRACTION = "fraction"
    NUMBER = "number"
    SECONDS = "seconds"


@dataclass(frozen=True, slots=True)
class SettingRange:
    """Inclusive bounds of one numeric setting."""

    low: float
    high: float
    unit: RangeUnit
    allowed: str  # the English phrase for logs and the CLI


SETTING_RANGES: dict[str, SettingRange] = {
    "abandonment_target": SettingRange(
        0.001,
        FTC_ABANDONMENT_CEILING,
        RangeUnit.FRACTION,
        "a fraction from 0.001 to 0.03 (the FTC ceiling is 3 %), e.g. 0.025",
    ),
    "max_lines_per_agent": SettingRange(1.0, 10.0, RangeUnit.NUMBER, "a number from 1 to 10"),
    "min_dial_level": SettingRange(1.0, 10.0, RangeUnit.NUMBER, "a number from 1 to 10"),
    "max_dial_level": SettingRange(1.0, 10.0, RangeUnit.NUMBER, "a number from 1 to 10"),
    "ring_timeout_s": SettingRange(
        FTC_MIN_RING_TIMEOUT_S,
        120.0,
        RangeUnit.SECONDS,
        "seconds from 15 to 120 (the FTC requires at least 15 s of ringing)",
    ),
    "short_window_s": SettingRange(60.0, 3600.0, RangeUnit.SECONDS, "seconds from 60 to 3600"),
}


class PacingSettingError(ValidationError):
    """A pacing setting is out of range; carries the setting, value and allowed range.

    ``allowed`` is an English phrase. ``low`` and ``high`` are the inclusive
    bounds (None for ``mode``), ``unit`` is a RangeUnit (None for ``mode``)
    and ``choices`` lists the valid modes, so a caller can phrase the range in
    another language. When ``min_dial_level`` exceeds ``max_dial_level``,
    ``high`` is the max_dial_level value and ``limit_setting`` names it.
    """

    def __init__(
        self,
        setting: str,
        value: object,
        allowed: str,
        *,
        low: float | None = None,
        high: float | None = None,
        unit: RangeUnit | None = None,
        choices: tuple[str, ...] = (),
        limit_setting: str | None = None,
    ) -> None:
        super().__init__(f"invalid pacing setting {setting}={value!r}: expected {allowed}")
        self.setting = setting
        self.value = value
        self.allowed = allowed
        self.low = low
        self.high = high
        self.unit = unit
        self.choices = choices
        self.limit_setting = limit_setting


@dataclass(frozen=True)
class PacingSettings:
    """Per-campaign pacing settings.

    The dial level is (busy agents + lines out + live calls waiting) per
    logged-in agent, so a level of 1.0 is progressive dialing.
    """

    mode: PacingMode = PacingMode.PREDICTIVE
    # Fraction of live answers the pacer aims to abandon, at most the FTC 3 %.
    abandonment_target: float = 0.025
    max_lines_per_agent: float = 5.0
    min_dial_level: float = 1.0
    max_dial_level: float = 5.0
    ring_timeout_s: float = 20.0
    # Length of the window auto-protection watches, in seconds.
    short_window_s: float = 900.0

    def validate(self) -> None:
        """Raise PacingSettingError naming the first setting out of range."""
        if self.mode not in tuple(PacingMode):
            choices = tuple(mode.value for mode in PacingMode)
            allowed = ", ".join(repr(choice) for choice in choices)
            raise PacingSettingError("mode", self.mode, f"one of {allowed}", choices=choices)
        for setting in ("abandonment_target", "max_lines_per_agent", "min_dial_level", "max_dial_level"):
            _check_range(setting, getattr(self, setting))
        if self.min_dial_level > self.max_dial_level:
            raise PacingSettingError(
                "min_dial_level",
                self.min_dial_level,
                f"a number no greater than max_dial_level={self.max_dial_level!r}",
                low=SETTING_RANGES["min_dial_level"].low,
                high=self.max_dial_level,
                unit=RangeUnit.NUMBER,
                limit_setting="max_dial_level",
            )
        for setting in ("ring_timeout_s", "short_window_s"):
            _check_range(setting, getattr(self, setting))


def _check_range(setting: str, value: object) -> None:
    bounds = SETTING_RANGES[setting]
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if not is_number or math.isnan(value) or not bounds.low <= value <= bounds.high:
        raise PacingSettingError(
            setting, value, bounds.allowed, low=bounds.low, high=bounds.high, unit=bounds.unit
        )
