"""The web tier: JSON API, CDR ingest, metrics, dashboard and WebSocket.

``create_app`` builds one Flask app around one Config. gunicorn runs it as
``gunicorn -k gthread --threads 64 -w 2 -b 127.0.0.1:8080 'web:create_app()'``.
"""

from __future__ import annotations

import logging

from flask import Flask

from dialer_common.config import Config
from web import db, errors, i18n, metrics, ws
from web.api.views import bp as api_bp
from web.auth import limits, tokens
from web.auth.views import bp as auth_bp
from web.cdr.views import bp as cdr_bp
from web.compliance import bp as compliance_bp
from web.dashboard import bp as dashboard_bp
from web.pacing import bp as pacing_bp

log = logging.getLogger(__name__)

# PostgreSQL connections per worker. The demo runs 64 threads, but up to 32
# of them hold /ws sockets, which read through the live reader's own
# connection; a request that finds every pooled connection busy waits 5 s.
DB_POOL_SIZE = 32


def create_app(config: Config | None = None, test_config: dict | None = None) -> Flask:
    """Build the app from ``config`` (default: ``Config.from_env()``)."""
    config = config if config is not None else Config.from_env()
    _log_to_gunicorn(config)
    tokens.check_secrets(config)
    app = Flask(__name__)
    app.config["DIALER"] = config
    # A recorded CDR is 5-14 KB; 1 MB leaves room and stops abuse.
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.json.ensure_ascii = False
    if test_config:
        app.config.update(test_config)

    db.init_app(app, max_connections=DB_POOL_SIZE)
    db.init_redis(app)
    i18n.init_app(app)
    limits.init_app(app)
    errors.register(app)
    metrics.init_app(app)
    _register_blueprints(app)
    return app


def _log_to_gunicorn(config: Config) -> None:
    """Send the app's log records to gunicorn's error log (``--error-logfile``) when gunicorn runs the app.

    Without a handler on the root logger Python prints only warnings and
    errors, to stderr, and without a timestamp. gunicorn's handlers add the
    time, process id and level, and are reopened on SIGUSR1 for log rotation.
    Outside gunicorn (tests, scripts) the root logger is left alone.
    """
    gunicorn_handlers = logging.getLogger("gunicorn.error").handlers
    root = logging.getLogger()
    if not gunicorn_handlers or root.handlers:
        return
    for handler in gunicorn_handlers:
        root.addHandler(handler)
    root.setLevel(config.log_level)


def _register_blueprints(app: Flask) -> None:
    app.register_blueprint(auth_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(cdr_bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(pacing_bp)
    app.register_blueprint(compliance_bp)
    ws.register(app)
