"""Configuration from environment variables.

This module is the only reader of ``os.environ`` in the project. Every
process builds one :class:`Config` at start and passes it down.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from dialer_common.errors import ConfigError


@dataclass(frozen=True)
class SwitchAddress:
    """One FreeSWITCH (or simulator) Event Socket endpoint."""

    name: str
    host: str
    port: int
    password: str


def parse_switches(text: str) -> tuple[SwitchAddress, ...]:
    """Parse ``name=host:port:password,...`` (name optional) into addresses."""
    switches = []
    for index, item in enumerate(filter(None, (part.strip() for part in text.split(",")))):
        name, _, address = item.rpartition("=")
        host, _, rest = address.partition(":")
        port_text, _, password = rest.partition(":")
        if not host or not port_text.isdigit() or not password:
            raise ConfigError(
                f"invalid switch address {item!r} in DIALER_ESL_SWITCHES: "
                "expected [name=]host:port:password, e.g. media1=127.0.0.1:8021:ClueCon"
            )
        switches.append(SwitchAddress(name or f"switch{index + 1}", host, int(port_text), password))
    return tuple(switches)


def _int(env: dict[str, str], key: str, default: int) -> int:
    value = env.get(key, str(default))
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"invalid {key}={value!r}: expected an integer") from None


def _positive_float(env: dict[str, str], key: str, default: float) -> float:
    value = env.get(key, str(default))
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if number <= 0:
        raise ConfigError(f"invalid {key}={value!r}: expected a number of seconds greater than 0")
    return number


MIN_CDR_PASSWORD_CHARS = 16
# Languages of every message a user reads; Spanish is the default.
LOCALES = ("es", "en")


@dataclass(frozen=True)
class Config:
    """Settings of every tier; defaults match `make demo`."""

    database_url: str = "postgresql://dialer:dialer@127.0.0.1:55432/dialer"
    redis_url: str = "redis://127.0.0.1:56379/0"
    # Prefix of every Redis key and channel, so several deployments (or test
    # runs) can share one Redis.
    redis_prefix: str = "dialer:"
    switches: tuple[SwitchAddress, ...] = field(
        default_factory=lambda: (SwitchAddress("sim1", "127.0.0.1", 8021, "ClueCon"),)
    )
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    # Where media nodes post CDRs: the CDR receiver (the simulator uses it;
    # a FreeSWITCH node sets it in freeswitch_conf/dialer_vars.xml).
    cdr_url: str = "http://127.0.0.1:8099/api/cdr"
    jwt_access_secret: str = "dev-access-secret-change-me-0123456789"
    jwt_refresh_secret: str = "dev-refresh-secret-change-me-0123456789"
    # The web tier refuses to start with the public default JWT secrets above
    # unless this is set (DIALER_ALLOW_DEV_SECRETS=1: the demo and the tests).
    allow_dev_secrets: bool = False
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 7 * 24 * 3600
    # HTTP basic-auth credentials that mod_json_cdr sends with each CDR.
    cdr_user: str = "cdr"
    cdr_password: str = "cdr-secret"
    # The CDR receiver (python -m cdr_receiver), where media nodes post CDRs.
    cdr_receiver_host: str = "127.0.0.1"
    cdr_receiver_port: int = 8099
    cdr_receiver_workers: int = 1
    default_locale: str = "es"
    cookie_secure: bool = False
    # Reverse proxies in front of the web tier that append to X-Forwarded-For;
    # 0 means the client IP is the TCP peer's and the header is ignored.
    trusted_proxies: int = 0
    # Seconds between ws.heartbeat messages on the dashboard's /ws socket.
    ws_heartbeat_s: float = 10.0
    # Open /ws sockets per web worker process. Each socket holds one gunicorn
    # thread for its whole life, so keep this well below --threads (half of
    # it, e.g. 16 of 32) to leave threads for API calls and CDR posts.
    ws_max_sockets: int = 16
    log_level: str = "INFO"
    # Folder where prometheus-client sums counters over gunicorn workers
    # (PROMETHEUS_MULTIPROC_DIR, the variable prometheus-client itself reads);
    # empty means each worker exports only its own counts.
    prometheus_multiproc_dir: str = ""
    # Id of this orchestrator in campaign leases and live counters; empty
    # means "<hostname>-<pid>". Two running orchestrators must not share one.
    orchestrator_id: str = ""
    sim_listen_host: str = "127.0.0.1"
    sim_listen_port: int = 8021
    sim_password: str = "ClueCon"
    sim_seed: int = 7
    # Wall-clock speed-up of simulated callees and agents (1.0 = real time).
    sim_speed: float = 1.0
    # Admin login that `dialer demo seed` creates; empty means generate one
    # and print it.
    demo_email: str = ""
    demo_password: str = ""
    # `dialer db retention`: day partitions of attempts and cdr older than
    # this many days are archived to gzip CSV files in the archive folder,
    # then dropped. Call records are evidence that must outlive the
    # database copy, so dropping without an archive needs --no-archive.
    retention_keep_days: int = 400
    retention_archive_dir: str = "var/archive"
    # Seconds added to the UTC clock the orchestrator's compliance gate reads,
    # so end-to-end tests can place the calling windows where they need them.
    # Keep 0 in production: any other value dials by a shifted local time.
    compliance_clock_offset_s: int = 0

    def cdr_password_ok(self) -> bool:
        """Tell whether ``cdr_password`` is fit for production: not the default, no placeholder, 16+ characters.

        Anyone who can post CDRs writes the call records the abandonment
        reports are computed from.
        """
        password = self.cdr_password
        return (password != Config.cdr_password and "change-me" not in password.lower()
                and len(password) >= MIN_CDR_PASSWORD_CHARS)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Config":
        """Build a Config from ``DIALER_*`` variables; unset ones keep defaults."""
        env = dict(os.environ if env is None else env)
        base = cls()
        values = {
            "database_url": env.get("DIALER_DATABASE_URL", base.database_url),
            "redis_url": env.get("DIALER_REDIS_URL", base.redis_url),
            "redis_prefix": env.get("DIALER_REDIS_PREFIX", base.redis_prefix),
            "web_host": env.get("DIALER_WEB_HOST", base.web_host),
            "web_port": _int(env, "DIALER_WEB_PORT", base.web_port),
            "cdr_url": env.get("DIALER_CDR_URL", base.cdr_url),
            "jwt_access_secret": env.get("DIALER_JWT_ACCESS_SECRET", base.jwt_access_secret),
            "jwt_refresh_secret": env.get("DIALER_JWT_REFRESH_SECRET", base.jwt_refresh_secret),
            "allow_dev_secrets": env.get("DIALER_ALLOW_DEV_SECRETS", "0") in ("1", "true", "yes"),
            "access_token_ttl_s": _int(env, "DIALER_ACCESS_TOKEN_TTL_S", base.access_token_ttl_s),
            "refresh_token_ttl_s": _int(env, "DIALER_REFRESH_TOKEN_TTL_S", base.refresh_token_ttl_s),
            "cdr_user": env.get("DIALER_CDR_USER", base.cdr_user),
            "cdr_password": env.get("DIALER_CDR_PASSWORD", base.cdr_password),
            "cdr_receiver_host": env.get("DIALER_CDR_RECEIVER_HOST", base.cdr_receiver_host),
            "cdr_receiver_port": _int(env, "DIALER_CDR_RECEIVER_PORT", base.cdr_receiver_port),
            "cdr_receiver_workers": _int(env, "DIALER_CDR_RECEIVER_WORKERS", base.cdr_receiver_workers),
            "default_locale": env.get("DIALER_DEFAULT_LOCALE", base.default_locale),
            "cookie_secure": env.get("DIALER_COOKIE_SECURE", "0") in ("1", "true", "yes"),
            "trusted_proxies": _int(env, "DIALER_TRUSTED_PROXIES", base.trusted_proxies),
            "ws_heartbeat_s": _positive_float(env, "DIALER_WS_HEARTBEAT_S", base.ws_heartbeat_s),
            "ws_max_sockets": _int(env, "DIALER_WS_MAX_SOCKETS", base.ws_max_sockets),
            "log_level": env.get("DIALER_LOG_LEVEL", base.log_level).upper(),
            "prometheus_multiproc_dir": env.get("PROMETHEUS_MULTIPROC_DIR", base.prometheus_multiproc_dir),
            "orchestrator_id": env.get("DIALER_ORCHESTRATOR_ID", base.orchestrator_id),
            "sim_listen_host": env.get("DIALER_SIM_HOST", base.sim_listen_host),
            "sim_listen_port": _int(env, "DIALER_SIM_PORT", base.sim_listen_port),
            "sim_password": env.get("DIALER_SIM_PASSWORD", base.sim_password),
            "sim_seed": _int(env, "DIALER_SIM_SEED", base.sim_seed),
            "sim_speed": float(env.get("DIALER_SIM_SPEED", base.sim_speed)),
            "demo_email": env.get("DEMO_EMAIL", base.demo_email),
            "demo_password": env.get("DEMO_PASSWORD", base.demo_password),
            "retention_keep_days": _int(env, "DIALER_RETENTION_KEEP_DAYS", base.retention_keep_days),
            "retention_archive_dir": env.get("DIALER_RETENTION_ARCHIVE_DIR", base.retention_archive_dir),
            "compliance_clock_offset_s": _int(
                env, "DIALER_COMPLIANCE_CLOCK_OFFSET_S", base.compliance_clock_offset_s
            ),
        }
        if "DIALER_ESL_SWITCHES" in env:
            values["switches"] = parse_switches(env["DIALER_ESL_SWITCHES"])
        if values["default_locale"] not in LOCALES:
            raise ConfigError(
                f"invalid DIALER_DEFAULT_LOCALE={values['default_locale']!r}: expected 'es' or 'en'"
            )
        return cls(**values)
