"""Server-rendered pacing pages and the strings their JavaScript reads.

Like the dashboard, the pages carry no tenant data: their JavaScript reads it
from the pacing API with the signed-in user's token. Templates and scripts
live in ``web/dashboard/templates`` and ``web/dashboard/static``.
"""

from __future__ import annotations

from flask import Response, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from dialer_common.pacing_settings import PacingMode
from web.dashboard import common_strings, page_locale, page_response
from web.pacing import settings as pacing_settings


def render(template: str, strings, campaign_id: int) -> Response:
    """Render a pacing page of ``campaign_id`` in the page locale, with the dashboard's headers."""
    locale = page_locale()
    with force_locale(locale):
        body = render_template(
            template,
            locale=locale,
            other_locale="en" if locale == "es" else "es",
            campaign_id=campaign_id,
            fields=_form_fields(),
            modes=_mode_labels(),
            strings=strings(),
            autoprotect_url=url_for("pacing.autoprotect_page", campaign_id=campaign_id),
            trend_url=url_for("pacing.trend_page", campaign_id=campaign_id),
        )
    return page_response(body, locale)


def _mode_labels() -> dict:
    return {
        PacingMode.PREVIEW.value: _("Preview"),
        PacingMode.PROGRESSIVE.value: _("Progressive"),
        PacingMode.PREDICTIVE.value: _("Predictive"),
    }


def _form_fields() -> list[dict]:
    """Describe the numeric inputs of the settings form: label, unit, bounds and hint."""
    units = {
        "abandon_target_pct": ("%", "0.01"),
        "ring_timeout_s": ("s", "1"),
        "short_window_s": ("s", "1"),
        "max_lines_per_agent": ("", "0.01"),
        "min_dial_level": ("", "0.01"),
        "max_dial_level": ("", "0.01"),
    }
    fields = []
    for name, (unit, step) in units.items():
        low, high = pacing_settings.field_bounds(name)
        fields.append({
            "name": name,
            "label": str(pacing_settings.FIELD_LABELS[name]).capitalize(),
            "unit": unit,
            "step": step,
            "min": low,
            "max": high,
            "hint": pacing_settings.field_hint(name),
        })
    return fields


def _common_strings() -> dict:
    return {**common_strings(), "modes": _mode_labels()}


def autoprotect_strings() -> dict:
    return {
        **_common_strings(),
        "noDecision": _("The orchestrator has not logged a pacing decision for this campaign yet."),
        "throttledYes": _("Yes: auto-protection is holding the dial level back"),
        "throttledNo": _("No"),
        "yes": _("Yes"),
        "no": _("No"),
        "outOfRange": _("Outside the allowed range: the server will reject this value."),
        "saving": _("Saving…"),
        "saved": _("Settings saved. The orchestrator applies them within a few seconds."),
        "readOnly": _("Your role can see these settings but not change them."),
        "chartLabel": _("Dial level of the last {count} decisions, from {start} to {end}"),
        "noHistory": _("No pacing decisions yet."),
    }


def trend_strings() -> dict:
    return {
        **_common_strings(),
        "quarterHourChart": _("Abandonment per 15 minutes, last {hours} h: {points} points, highest {max}"),
        "rollingChart": _("Rolling 30-day abandonment per day: {points} points, highest {max}"),
        "ceiling": _("FTC ceiling {value}"),
        "noLiveAnswers": _("no live answers"),
        "noData": _("No live answers in this period."),
    }
