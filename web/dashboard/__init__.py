"""The supervisors' dashboard: ``/login`` and ``/`` (server-rendered pages).

The pages carry no data: their JavaScript logs in through ``/api/auth``
and reads live figures from ``/ws``. Every visible string is rendered here
in the page's locale, and the JavaScript reads its strings from a JSON block
in the page, so the catalogs in ``web/translations`` cover the whole UI.

The page locale comes from ``?lang=`` (which is also stored in the
``lang`` cookie for a year), then that cookie, then
``Config.default_locale`` (Spanish unless configured otherwise).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, make_response, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _

from web.i18n import LOCALE_COOKIE, SUPPORTED_LOCALES
from web.live import ABANDONMENT_ALERT_PCT

bp = Blueprint(
    "dashboard",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/dashboard/static",
)

LOCALE_COOKIE_MAX_AGE_S = 365 * 86400


@bp.get("/")
def dashboard() -> Response:
    return _render_page("dashboard.html", _dashboard_strings)


@bp.get("/login")
def login() -> Response:
    return _render_page("login.html", _login_strings)


def page_locale() -> str:
    """Pick the page's locale from ``?lang=``, the ``lang`` cookie, then the default."""
    for candidate in (request.args.get("lang", ""), request.cookies.get(LOCALE_COOKIE, "")):
        if candidate in SUPPORTED_LOCALES:
            return candidate
    return current_app.config["DIALER"].default_locale


def _render_page(template: str, strings) -> Response:
    locale = page_locale()
    with force_locale(locale):
        body = render_template(
            template,
            locale=locale,
            other_locale="en" if locale == "es" else "es",
            strings=strings(),
        )
    return page_response(body, locale)


# Pages load only their own scripts and styles and open no other origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'"
)


def page_response(body: str, locale: str) -> Response:
    """Wrap a rendered page with the dashboard's headers, and keep a ``?lang=`` choice in a cookie."""
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    if request.args.get("lang") in SUPPORTED_LOCALES:
        response.set_cookie(
            LOCALE_COOKIE, locale, max_age=LOCALE_COOKIE_MAX_AGE_S, samesite="Lax",
            secure=current_app.config["DIALER"].cookie_secure,
        )
    return response


def common_strings() -> dict:
    """Return the client-side messages every page's script needs."""
    return {
        "networkError": _("The server cannot be reached: check the connection and try again."),
        "sessionExpired": _("Your session has expired: log in again."),
    }


def _login_strings() -> dict:
    return {
        **common_strings(),
        "loggingIn": _("Logging in…"),
        "loginFailed": _("Login failed: check the email and password."),
    }


def _dashboard_strings() -> dict:
    return {
        **common_strings(),
        "alertThresholdPct": ABANDONMENT_ALERT_PCT,
        "statusConnected": _("Connected"),
        "statusConnecting": _("Connecting…"),
        "statusReconnecting": _("Reconnecting in {seconds} s…"),
        "statusDisconnected": _("Disconnected"),
        "alertOverThreshold": _("Abandonment above {threshold}: {campaigns}"),
        "noCampaigns": _("This tenant has no campaigns yet."),
        "noLiveAnswers": _("no live answers yet"),
        "campaignStatus": {
            "draft": _("Draft"),
            "running": _("Running"),
            "paused": _("Paused"),
            "stopped": _("Stopped"),
            "finished": _("Finished"),
        },
    }
