"""A campaign's compliance settings and a tenant's pack overrides in PostgreSQL."""

from __future__ import annotations

import json
import logging

from dialer_common import db
from dialer_common.compliance.gate import DEFAULT_RETRY_DELAYS_S, CampaignRules
from dialer_common.compliance.packs import PURPOSES, PackError, PackSet, parse_pack
from dialer_common.errors import ValidationError

log = logging.getLogger(__name__)


def load_campaign_rules(conn, tenant_id: int, campaign_id: int) -> CampaignRules:
    """Read a campaign's purpose, packs, attempts and retry delays; raises ValidationError if not found."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, tenant_id, max_attempts, compliance_purpose, compliance_packs, retry_delays_s"
            "  FROM campaigns WHERE tenant_id = %s AND id = %s",
            (tenant_id, campaign_id),
        )
        row = cur.fetchone()
    if row is None:
        raise ValidationError(f"campaign {campaign_id} not found for tenant {tenant_id}")
    return CampaignRules.from_row(row)


def save_campaign_rules(
    conn,
    tenant_id: int,
    campaign_id: int,
    purpose: str,
    pack_ids: list[str],
    retry_delays_s: dict,
    packs: PackSet,
) -> None:
    """Store a campaign's purpose, packs and retry delays after checking each value."""
    if purpose not in PURPOSES:
        raise ValidationError(f"invalid purpose {purpose!r}: expected one of {', '.join(PURPOSES)}")
    if not pack_ids:
        raise ValidationError("the campaign needs at least one rule pack, e.g. us-federal")
    for pack_id in pack_ids:
        packs.get(pack_id)
    for outcome, seconds in retry_delays_s.items():
        if outcome not in DEFAULT_RETRY_DELAYS_S or not isinstance(seconds, int) or seconds < 0:
            raise ValidationError(
                f"invalid retry delay {outcome!r}={seconds!r}: expected an outcome of "
                f"{', '.join(DEFAULT_RETRY_DELAYS_S)} and whole seconds, 0 or more"
            )
    with db.transaction(conn) as cur:
        cur.execute(
            "UPDATE campaigns SET compliance_purpose = %s, compliance_packs = %s, retry_delays_s = %s::jsonb,"
            " updated_at = now() WHERE tenant_id = %s AND id = %s",
            (purpose, list(pack_ids), json.dumps(retry_delays_s), tenant_id, campaign_id),
        )
        if cur.rowcount == 0:
            raise ValidationError(f"campaign {campaign_id} not found for tenant {tenant_id}")
    log.info(
        "compliance.campaign_saved tenant_id=%s campaign_id=%s purpose=%s packs=%s",
        tenant_id,
        campaign_id,
        purpose,
        ",".join(pack_ids),
    )


def save_override(conn, tenant_id: int, body: str, packs: PackSet) -> str:
    """Validate a tenant's override (TOML) against the shipped pack and store it; return the pack id.

    Raises PackError when the text is invalid or widens the pack; nothing
    is stored then, so the previous override stays in force.
    """
    override = parse_pack(body, "override")
    packs.with_override(override)
    with db.transaction(conn) as cur:
        cur.execute(
            "INSERT INTO compliance_pack_overrides (tenant_id, pack_id, body) VALUES (%s, %s, %s)"
            " ON CONFLICT (tenant_id, pack_id) DO UPDATE SET body = EXCLUDED.body, updated_at = now()",
            (tenant_id, override.id, body),
        )
    log.info("compliance.override_saved tenant_id=%s pack_id=%s", tenant_id, override.id)
    return override.id


def tenant_packs(conn, tenant_id: int, packs: PackSet) -> PackSet:
    """Return ``packs`` with the tenant's stored overrides applied.

    An override that no longer fits the shipped pack (after a pack update)
    is skipped with an error log, so the shipped pack stays in force.
    """
    with conn.cursor() as cur:
        cur.execute("SELECT pack_id, body FROM compliance_pack_overrides WHERE tenant_id = %s", (tenant_id,))
        rows = cur.fetchall()
    for row in rows:
        try:
            packs = packs.with_override(parse_pack(row["body"], f"override of {row['pack_id']}"))
        except (PackError, ValidationError) as error:
            log.error(
                "compliance.override_skipped tenant_id=%s pack_id=%s error=%s",
                tenant_id,
                row["pack_id"],
                error,
            )
    return packs
