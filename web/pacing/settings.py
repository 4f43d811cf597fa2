"""Pacing settings as the API sends and receives them, checked by PacingSettings.

The API uses the campaigns table's column names and units: the abandonment
target is a percentage (``abandon_target_pct``, 2.5 means 2.5 %), while
:class:`dialer_common.pacing_settings.PacingSettings` takes a fraction. The
ranges themselves live only in ``dialer_common.pacing_settings``.
"""

from __future__ import annotations

from flask_babel import format_decimal, lazy_gettext
from flask_babel import gettext as _

from dialer_common.pacing_settings import (
    SETTING_RANGES,
    PacingMode,
    PacingSettingError,
    PacingSettings,
    RangeUnit,
)
from web import json_body
from web.errors import ApiError

# API field (campaigns column) -> PacingSettings attribute.
FIELD_TO_SETTING = {
    "dial_mode": "mode",
    "abandon_target_pct": "abandonment_target",
    "ring_timeout_s": "ring_timeout_s",
    "max_lines_per_agent": "max_lines_per_agent",
    "min_dial_level": "min_dial_level",
    "max_dial_level": "max_dial_level",
    "short_window_s": "short_window_s",
}
SETTING_TO_FIELD = {setting: field for field, setting in FIELD_TO_SETTING.items()}
PACING_COLUMNS = ", ".join(FIELD_TO_SETTING)
WHOLE_SECONDS_FIELDS = ("ring_timeout_s", "short_window_s")
# numeric(4, 2) columns: a third decimal would be rounded away on storage.
TWO_DECIMAL_FIELDS = ("abandon_target_pct", "max_lines_per_agent", "min_dial_level", "max_dial_level")

FIELD_LABELS = {
    "dial_mode": lazy_gettext("dial mode"),
    "abandon_target_pct": lazy_gettext("abandonment target"),
    "ring_timeout_s": lazy_gettext("ring timeout"),
    "max_lines_per_agent": lazy_gettext("maximum lines per agent"),
    "min_dial_level": lazy_gettext("minimum dial level"),
    "max_dial_level": lazy_gettext("maximum dial level"),
    "short_window_s": lazy_gettext("auto-protection window"),
}


def settings_json(row: dict) -> dict:
    """Convert a campaigns row (PACING_COLUMNS) into the API's settings object."""
    data = {"dial_mode": row["dial_mode"]}
    for field in TWO_DECIMAL_FIELDS:
        data[field] = float(row[field])
    for field in WHOLE_SECONDS_FIELDS:
        data[field] = int(row[field])
    return data


def merge_settings(current: dict, body: object) -> dict:
    """Apply the request body to ``current`` (API fields) and validate the result.

    Raises ApiError (400) naming the first invalid field, its value and the
    allowed range, translated to the request's locale.
    """
    if not isinstance(body, dict) or not body:
        raise ApiError("invalid_body", _('Send a JSON object such as {"min_dial_level": 1.5}.'))
    for field in sorted(body):
        if field not in FIELD_TO_SETTING:
            raise ApiError(
                "unknown_field",
                _("Unknown pacing setting %(name)s: use one of %(allowed)s.",
                  name=field, allowed=", ".join(FIELD_TO_SETTING)),
                field=field,
            )

    for field in body:
        json_body.field(body, field, "string" if field == "dial_mode" else "number")

    merged = {**current, **body}
    try:
        to_pacing_settings(merged).validate()
    except PacingSettingError as error:
        field = SETTING_TO_FIELD[error.setting]
        raise ApiError("invalid_setting", _invalid_message(field, body.get(field, merged[field]), error),
                       field=field) from None
    _check_precision(body)
    return merged


def to_pacing_settings(fields: dict) -> PacingSettings:
    """Build PacingSettings from API fields; the percentage becomes a fraction."""
    values = {FIELD_TO_SETTING[field]: value for field, value in fields.items()}
    target = values["abandonment_target"]
    if isinstance(target, int | float) and not isinstance(target, bool):
        # Rounding keeps 0.1 % equal to the 0.001 bound despite binary floats.
        values["abandonment_target"] = round(target / 100.0, 6)
    return PacingSettings(**values)


def _check_precision(body: dict) -> None:
    for field in WHOLE_SECONDS_FIELDS:
        if field in body and body[field] != int(body[field]):
            raise ApiError(
                "invalid_setting",
                _("Invalid %(label)s (%(field)s) %(value)s: use a whole number of seconds.",
                  label=FIELD_LABELS[field], field=field, value=_format_value(body[field])),
                field=field,
            )
    for field in TWO_DECIMAL_FIELDS:
        if field in body and body[field] != round(body[field], 2):
            raise ApiError(
                "invalid_setting",
                _("Invalid %(label)s (%(field)s) %(value)s: use at most 2 decimals.",
                  label=FIELD_LABELS[field], field=field, value=_format_value(body[field])),
                field=field,
            )


def _invalid_message(field: str, value: object, error: PacingSettingError) -> str:
    return _("Invalid %(label)s (%(field)s) %(value)s: use %(allowed)s.",
             label=FIELD_LABELS[field], field=field, value=_format_value(value),
             allowed=_allowed_phrase(error))


def _allowed_phrase(error: PacingSettingError) -> str:
    if error.choices:
        return _("one of %(choices)s", choices=", ".join(error.choices))
    if error.limit_setting is not None:
        return _("a number from %(low)s to the %(limit)s (%(high)s)",
                 low=_number(error.low), limit=FIELD_LABELS[SETTING_TO_FIELD[error.limit_setting]],
                 high=_number(error.high))
    return _range_phrase(error.setting, error.low, error.high, error.unit)


def field_hint(field: str) -> str:
    """Describe the allowed values of an API field in the current locale (for form hints)."""
    setting = FIELD_TO_SETTING[field]
    if setting == "mode":
        return _("one of %(choices)s", choices=", ".join(mode.value for mode in PacingMode))
    bounds = SETTING_RANGES[setting]
    return _range_phrase(setting, bounds.low, bounds.high, bounds.unit)


def field_bounds(field: str) -> tuple[float, float] | None:
    """Return the inclusive bounds of a numeric API field in its API unit, or None for dial_mode."""
    setting = FIELD_TO_SETTING[field]
    if setting == "mode":
        return None
    bounds = SETTING_RANGES[setting]
    scale = 100 if bounds.unit == RangeUnit.FRACTION else 1
    return round(bounds.low * scale, 6), round(bounds.high * scale, 6)


def _range_phrase(setting: str, low: float, high: float, unit: RangeUnit) -> str:
    if unit == RangeUnit.FRACTION:
        return _("a percentage from %(low)s to %(high)s (the FTC ceiling is 3 %%)",
                 low=_number(low * 100), high=_number(high * 100))
    if setting == "ring_timeout_s":
        return _("seconds from %(low)s to %(high)s (the FTC requires at least 15 s of ringing)",
                 low=_number(low), high=_number(high))
    if unit == RangeUnit.SECONDS:
        return _("seconds from %(low)s to %(high)s", low=_number(low), high=_number(high))
    return _("a number from %(low)s to %(high)s", low=_number(low), high=_number(high))


def _number(value: float) -> str:
    return format_decimal(round(value, 3))


def _format_value(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number(value)
    return repr(value)
