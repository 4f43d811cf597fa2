"""Outbound calling compliance: one gate every dial passes, with evidence.

Modules:

- ``packs``: rule packs (``packs/*.toml``), their validation and tenant overrides
- ``location``: a lead's country, state and candidate time zones
- ``hours``: calling windows in local time (pure)
- ``caps``: frequency caps and retry delays in Redis (one Lua script)
- ``dnc``: do-not-call lists in PostgreSQL, and the scrub for lead import
- ``gate``: :class:`ComplianceGate`, the one decision per dial
- ``evidence``: blocked-dial records and the FTC abandonment rate
- ``report``: the per-campaign compliance report
- ``settings``: a campaign's packs and purpose, a tenant's overrides
"""

from dialer_common.compliance.caps import CapRequest, FrequencyCaps, RedisFrequencyCaps, Reservation
from dialer_common.compliance.dnc import DncLookup, PgDncLookup, add_numbers, blocked_for_import
from dialer_common.compliance.evidence import AbandonmentStatus, PgEvidence, abandonment_status
from dialer_common.compliance.gate import CampaignRules, ComplianceGate, LeadInfo, Verdict
from dialer_common.compliance.packs import Pack, PackError, PackSet
from dialer_common.compliance.settings import load_campaign_rules, tenant_packs

__all__ = [
    "AbandonmentStatus",
    "CampaignRules",
    "CapRequest",
    "ComplianceGate",
    "DncLookup",
    "FrequencyCaps",
    "LeadInfo",
    "Pack",
    "PackError",
    "PackSet",
    "PgDncLookup",
    "PgEvidence",
    "RedisFrequencyCaps",
    "Reservation",
    "Verdict",
    "abandonment_status",
    "add_numbers",
    "blocked_for_import",
    "load_campaign_rules",
    "tenant_packs",
]
