"""Demo data: the 'demo' tenant with users, a trunk, DIDs, a campaign and agents.

:func:`seed` is idempotent: running it again updates the same rows (and puts
the campaign back to running) instead of adding new ones. An existing
user's password changes only when a password is given.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher

from dialer_common import db
from dialer_common.phone import N_, TranslatableValidationError

log = logging.getLogger(__name__)

TENANT_SLUG = "demo"
TENANT_NAME = "Demo"
DEFAULT_ADMIN_EMAIL = "admin@demo.example"
SUPERVISOR_EMAIL = "supervisor@demo.example"
TRUNK_NAME = "carrier-demo"
GATEWAY = "carrier_demo"
# Caller IDs from the fictional 555-01XX range, Miami area code.
DIDS = tuple(f"+1305555015{digit}" for digit in range(5))
CAMPAIGN_NAME = "Cobranza Demo"
EMAIL_IN_OTHER_TENANT = N_("user {email} already exists in another tenant; choose another email with --email")

AGENT_NAMES = (
    "Ana Peña",
    "José Núñez",
    "María Ibáñez",
    "Luis Muñoz",
    "Sofía Gómez",
    "Jorge Pérez",
    "Lucía Martín",
    "Andrés Ortiz",
)


@dataclass
class SeedResult:
    """Ids and credentials of the seeded tenant; a password is None when an existing one was kept."""

    tenant_id: int
    campaign_id: int
    admin_email: str
    admin_password: str | None
    supervisor_email: str
    supervisor_password: str | None


def generate_password() -> str:
    """Return a random password of 16 URL-safe characters."""
    return secrets.token_urlsafe(12)


def upsert_user(
    cur, tenant_id: int, email: str, password: str | None, role: str, full_name: str
) -> str | None:
    """Create a user or update its role and name; return the password set, or None if kept.

    A new user without ``password`` gets a generated one.
    """
    cur.execute("SELECT id, tenant_id FROM users WHERE lower(email) = lower(%s)", (email,))
    existing = cur.fetchone()
    if existing is not None and existing["tenant_id"] != tenant_id:
        raise TranslatableValidationError(EMAIL_IN_OTHER_TENANT, email=email)
    if existing is None:
        password = password or generate_password()
        cur.execute(
            "INSERT INTO users (tenant_id, email, password_hash, full_name, role)"
            " VALUES (%s, %s, %s, %s, %s)",
            (tenant_id, email, PasswordHasher().hash(password), full_name, role),
        )
        return password

    cur.execute(
        "UPDATE users SET role = %s, full_name = %s, active = true WHERE id = %s",
        (role, full_name, existing["id"]),
    )
    if password:
        cur.execute(
            "UPDATE users SET password_hash = %s WHERE id = %s",
            (PasswordHasher().hash(password), existing["id"]),
        )
    return password


def _upsert_tenant(cur) -> int:
    cur.execute(
        "INSERT INTO tenants (slug, name) VALUES (%s, %s)"
        " ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name RETURNING id",
        (TENANT_SLUG, TENANT_NAME),
    )
    return cur.fetchone()["id"]


def _upsert_trunk_and_dids(cur, tenant_id: int) -> int:
    cur.execute(
        "INSERT INTO trunks (tenant_id, name, gateway) VALUES (%s, %s, %s)"
        " ON CONFLICT (tenant_id, name) DO UPDATE SET gateway = EXCLUDED.gateway, enabled = true"
        " RETURNING id",
        (tenant_id, TRUNK_NAME, GATEWAY),
    )
    trunk_id = cur.fetchone()["id"]
    for number in DIDS:
        cur.execute(
            "INSERT INTO dids (tenant_id, number, trunk_id, state_code) VALUES (%s, %s, %s, 'FL')"
            " ON CONFLICT (tenant_id, number) DO UPDATE SET trunk_id = EXCLUDED.trunk_id, enabled = true",
            (tenant_id, number, trunk_id),
        )
    return trunk_id


def _upsert_campaign(cur, tenant_id: int, trunk_id: int) -> int:
    # queue_name needs the campaign id, so a new row gets a placeholder first.
    cur.execute(
        "INSERT INTO campaigns (tenant_id, name, status, dial_mode, trunk_id, queue_name, caller_id_name)"
        " VALUES (%s, %s, 'running', 'progressive', %s, '', %s)"
        " ON CONFLICT (tenant_id, name) DO UPDATE SET status = 'running', dial_mode = 'progressive',"
        " trunk_id = EXCLUDED.trunk_id, updated_at = now()"
        " RETURNING id",
        (tenant_id, CAMPAIGN_NAME, trunk_id, CAMPAIGN_NAME),
    )
    campaign_id = cur.fetchone()["id"]
    cur.execute(
        "UPDATE campaigns SET queue_name = %s WHERE id = %s", (f"campaign-{campaign_id}@default", campaign_id)
    )
    return campaign_id


def _upsert_agents(cur, tenant_id: int, campaign_id: int) -> None:
    for index, display_name in enumerate(AGENT_NAMES, start=1):
        cur.execute(
            "INSERT INTO agents (tenant_id, campaign_id, name, display_name, agent_type, status, state)"
            " VALUES (%s, %s, %s, %s, 'uuid-standby', 'Available', 'Waiting')"
            " ON CONFLICT (tenant_id, name) DO UPDATE SET campaign_id = EXCLUDED.campaign_id,"
            " display_name = EXCLUDED.display_name, agent_type = 'uuid-standby', status = 'Available',"
            " updated_at = now()",
            (tenant_id, campaign_id, f"{1000 + index}@default", display_name),
        )


def seed(conn, email: str | None = None, password: str | None = None) -> SeedResult:
    """Create or update the demo tenant in one transaction and return its ids and new passwords."""
    admin_email = email or DEFAULT_ADMIN_EMAIL
    with db.transaction(conn) as cur:
        tenant_id = _upsert_tenant(cur)
        admin_password = upsert_user(cur, tenant_id, admin_email, password, "admin", "Administrador Demo")
        supervisor_password = upsert_user(
            cur, tenant_id, SUPERVISOR_EMAIL, None, "supervisor", "Supervisora Demo"
        )
        trunk_id = _upsert_trunk_and_dids(cur, tenant_id)
        campaign_id = _upsert_campaign(cur, tenant_id, trunk_id)
        _upsert_agents(cur, tenant_id, campaign_id)
    log.info("demo.seeded tenant_id=%s campaign_id=%s", tenant_id, campaign_id)
    return SeedResult(
        tenant_id, campaign_id, admin_email, admin_password, SUPERVISOR_EMAIL, supervisor_password
    )


def calling_hours_offset_s(now: datetime.datetime | None = None) -> int:
    """Return the seconds that move ``now`` to 19:00 UTC of the latest weekday that is no US federal holiday.

    At 19:00 UTC every US zone from Hawaii (09:00) to New York (14:00) is
    inside the federal 08:00-21:00 window, so the demo and the end-to-end
    tests dial at any hour when the compliance gate's clock is shifted by this
    (``DIALER_COMPLIANCE_CLOCK_OFFSET_S``). Production never sets it.
    """
    import holidays

    now = now or datetime.datetime.now(datetime.UTC)
    us_holidays = holidays.country_holidays("US")
    day = now.date()
    while day.weekday() >= 5 or day in us_holidays:
        day -= datetime.timedelta(days=1)
    target = datetime.datetime.combine(day, datetime.time(19, 0), tzinfo=datetime.UTC)
    return int((target - now).total_seconds())


# Messages of scripts/demo.sh. ``dialer demo messages`` translates them once at
# start into shell variables DEMO_MSG_<NAME>.
SCRIPT_MESSAGES = {
    "clock_shift": N_("Demo: calling windows follow a clock shifted by {seconds} s (19:00 UTC of a weekday)."),
    "no_campaign": N_("demo seed did not print campaign_id=<id>; see the output above"),
    "web_not_ready": N_("The web tier did not respond to /health within 20 s; see {log}/web.log"),
    "receiver_not_ready": N_("The CDR receiver did not respond to /health within 20 s; see "
                             "{log}/cdr_receiver.log"),
    "dashboard": N_("Dashboard: {dashboard_url}"),
    "cdrs": N_("CDRs:      {cdr_url} (the CDR receiver)"),
    "logs": N_("Logs:      {log}/{{web,cdr_receiver,switchsim,orchestrator}}.log"),
    "press_ctrl_c": N_("Press Ctrl-C to stop the demo."),
    "stopping": N_("Stopping the demo..."),
    "stopped": N_("Demo stopped."),
    "exited": N_("A demo process exited on its own; see the logs in {log}"),
}
