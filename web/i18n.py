"""Translations with flask-babel: Spanish by default, English complete.

The locale comes from ``?lang=``, then the dashboard's ``lang`` cookie (the
language of the page the user is looking at), then the signed-in user's
``locale`` claim, then the Accept-Language header, then
``Config.default_locale``. The pages' JavaScript adds ``?lang=`` to every
API call, so API errors match the page. Catalogs
live in ``web/translations/<locale>/LC_MESSAGES/messages.po`` (source
strings in English) and are compiled with ``pybabel compile -d web/translations``.
"""

from __future__ import annotations

import functools
from gettext import NullTranslations

from flask import Flask, current_app, g, request
from flask_babel import Babel, get_locale
from flask_babel import gettext as _

from dialer_common.cli import load_translations
from dialer_common.config import LOCALES

SUPPORTED_LOCALES = LOCALES

babel = Babel()


# Cookie in which the dashboard pages store the locale chosen with ?lang=.
LOCALE_COOKIE = "lang"


def select_locale() -> str:
    """Pick the locale of the current request."""
    for requested in (request.args.get("lang", ""), request.cookies.get(LOCALE_COOKIE, "")):
        if requested in SUPPORTED_LOCALES:
            return requested
    claims = g.get("claims")
    if claims and claims.get("locale") in SUPPORTED_LOCALES:
        return claims["locale"]
    best = request.accept_languages.best_match(SUPPORTED_LOCALES)
    if best:
        return best
    return current_app.config["DIALER"].default_locale


def init_app(app: Flask) -> None:
    """Install flask-babel on ``app`` with the project's locale selector."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config["DIALER"].default_locale)
    babel.init_app(app, locale_selector=select_locale)


@functools.lru_cache(maxsize=len(SUPPORTED_LOCALES))
def _shared_catalog(locale: str) -> NullTranslations:
    return load_translations(locale)


def shared_gettext(message: str) -> str:
    """Translate a message of dialer_common (phone numbers, leads) to the request's locale.

    The web catalog wins; the CLI's catalog in dialer_common/locale covers
    the shared package's messages that the web catalog lacks.
    """
    translated = _(message)
    if translated != message:
        return translated
    return _shared_catalog(str(get_locale() or current_app.config["DIALER"].default_locale)).gettext(message)
