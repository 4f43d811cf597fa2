"""Login rate limits (flask-limiter, counters in Redis).

Two limits apply to ``POST /api/auth/login``: one per client IP and one per
email address, each ``LOGIN_RATE_LIMIT`` (default 10/minute). Counters live
in Redis under ``Config.redis_prefix``, so every gunicorn worker shares them.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from web.json_body import try_parse_json

DEFAULT_LOGIN_LIMIT = "10/minute"

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def login_limit() -> str:
    return current_app.config.get("LOGIN_RATE_LIMIT", DEFAULT_LOGIN_LIMIT)


def login_email_key() -> str:
    """Key the per-email limit on the lower-cased email of the JSON body."""
    body = try_parse_json()
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str):
        return "email:"
    return "email:" + email.strip().lower()


def init_app(app: Flask) -> None:
    """Point the limiter at Redis and install it on ``app``."""
    config = app.config["DIALER"]
    app.config.setdefault("RATELIMIT_STORAGE_URI", config.redis_url)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", f"{config.redis_prefix}ratelimit")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # NOTE: when Redis is down the limiter lets requests through (and logs
    # the error) rather than locking every user out.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)
