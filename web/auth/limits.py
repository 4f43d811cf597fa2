"""Login rate limits (flask-limiter, counters in Redis).

Two limits apply to ``POST /api/auth/login``: failed logins per email
address (``LOGIN_RATE_LIMIT``, default 10/minute, so guessing one user's
password is slow) and every login attempt per client IP
(``LOGIN_IP_RATE_LIMIT``, default 100/minute, high because a whole office
can share one IP behind a proxy). Counters live in Redis under
``Config.redis_prefix``, so every gunicorn worker shares them.

The client IP is the TCP peer's address unless ``Config.trusted_proxies``
says how many reverse proxies in front of the app append to
X-Forwarded-For; then werkzeug's ProxyFix takes the address that many hops
back. Trusting the header without a proxy would let any client pick its IP.
"""

from __future__ import annotations

from flask import Flask, Response, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from web.json_body import try_parse_json

DEFAULT_LOGIN_LIMIT = "10/minute"
DEFAULT_LOGIN_IP_LIMIT = "100/minute"

limiter = Limiter(key_func=get_remote_address, default_limits=[])


def login_limit() -> str:
    """Return the limit of failed logins per email address."""
    return current_app.config.get("LOGIN_RATE_LIMIT", DEFAULT_LOGIN_LIMIT)


def login_ip_limit() -> str:
    """Return the limit of login attempts per client IP."""
    return current_app.config.get("LOGIN_IP_RATE_LIMIT", DEFAULT_LOGIN_IP_LIMIT)


def is_failed_login(response: Response) -> bool:
    """Tell whether a login response counts against the email's limit (wrong credentials)."""
    return response.status_code == 401


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
    if config.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.trusted_proxies)
    app.config.setdefault("RATELIMIT_STORAGE_URI", config.redis_url)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", f"{config.redis_prefix}ratelimit")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # NOTE: when Redis is down the limiter lets requests through (and logs
    # the error) rather than locking every user out.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    # Registered before the limiter's own hook, so it runs after it (Flask
    # runs after_request functions in reverse order).
    app.after_request(_drop_retry_after)
    limiter.init_app(app)


def _drop_retry_after(response: Response) -> Response:
    # flask-limiter adds Retry-After to every response of a limited route
    # once headers are on, which tells a client that just succeeded to wait.
    # Error responses keep theirs (429 from the limiter, 503 from CDR ingest).
    if response.status_code < 400:
        response.headers.pop("Retry-After", None)
    return response
