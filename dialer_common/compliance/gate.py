"""The compliance gate: one decision per dial, with the rule that blocked it.

``ComplianceGate.check`` runs the checks from cheapest to the one that
writes: the pure calling-window check in every candidate zone, then the
do-not-call lists, then the atomic reservation against the frequency caps,
the attempts per lead and the retry delay. Only an allowed verdict carries a
cap reservation, and the caller gives it back with ``release`` when the
originate is not sent. Every blocked verdict goes to the evidence sink.
``check_batch`` gives the same verdicts for many leads of one campaign with
one DNC query and one Redis call.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Protocol

from dialer_common.compliance import hours
from dialer_common.compliance.caps import CapRequest, FrequencyCaps, Reservation
from dialer_common.compliance.dnc import DncLookup, blocking_entry
from dialer_common.compliance.location import Location, resolve
from dialer_common.compliance.packs import PURPOSES, Pack, PackSet
from dialer_common.errors import ValidationError
from dialer_common.phone import mask

log = logging.getLogger(__name__)

# Seconds before a lead may be dialed again after each attempt outcome; a
# campaign's retry_delays_s overrides any of them.
DEFAULT_RETRY_DELAYS_S = {
    "busy": 10 * 60,
    "no_answer": 60 * 60,
    "machine": 4 * 3600,
    "failed": 30 * 60,
    "rejected": 30 * 60,
}


@dataclass(frozen=True)
class LeadInfo:
    """The lead fields the gate reads; ``debt_key`` identifies the debt of a collection lead."""

    lead_id: int
    phone_e164: str
    state_code: str | None = None
    postal_code: str | None = None
    timezone: str | None = None
    debt_key: str | None = None

    @classmethod
    def from_row(cls, row: dict) -> LeadInfo:
        """Build from a ``leads`` row: the debt key is ``extra.debt_id``, else ``external_id``."""
        extra = row.get("extra") or {}
        debt = extra.get("debt_id") or row.get("external_id")
        return cls(
            row["id"],
            row["phone_e164"],
            row.get("state_code"),
            row.get("postal_code"),
            row.get("timezone"),
            str(debt) if debt else None,
        )


@dataclass(frozen=True)
class CampaignRules:
    """A campaign's compliance settings, as stored in its ``compliance_*`` columns."""

    tenant_id: int
    campaign_id: int
    purpose: str = "telemarketing"
    pack_ids: tuple[str, ...] = ("us-federal",)
    max_attempts: int = 3
    retry_delays_s: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.purpose not in PURPOSES:
            raise ValidationError(f"invalid compliance purpose {self.purpose!r}: expected one of {PURPOSES}")

    @classmethod
    def from_row(cls, row: dict) -> CampaignRules:
        """Build from a ``campaigns`` row with the columns of migration 0005."""
        return cls(
            row["tenant_id"],
            row["id"],
            row["compliance_purpose"],
            tuple(row["compliance_packs"]),
            row["max_attempts"],
            dict(row.get("retry_delays_s") or {}),
        )

    def retry_delay_s(self, outcome: str) -> int:
        """Return the seconds to wait after an attempt ended with ``outcome`` (0 for none)."""
        return int(self.retry_delays_s.get(outcome, DEFAULT_RETRY_DELAYS_S.get(outcome, 0)))


@dataclass(frozen=True)
class Verdict:
    """The gate's decision: ``rule`` and ``reason`` name what blocked the dial, ``retry_at`` when to retry."""

    allowed: bool
    rule: str | None
    reason: str
    retry_at: dt.datetime | None
    pack_version: str = ""
    zones: tuple[str, ...] = ()
    reservation: Reservation | None = None


class EvidenceSink(Protocol):
    """Store of blocked dials."""

    def record_many(
        self, blocked: list[tuple[LeadInfo, Verdict]], campaign: CampaignRules, now: dt.datetime
    ) -> None: ...


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ComplianceGate:
    """Decide whether one lead may be dialed now."""

    def __init__(
        self,
        packs: PackSet,
        caps: FrequencyCaps,
        dnc: DncLookup,
        clock=_utc_now,
        evidence: EvidenceSink | None = None,
    ) -> None:
        self.packs = packs
        self.caps = caps
        self.dnc = dnc
        self.clock = clock
        self.evidence = evidence

    def check(self, lead: LeadInfo, campaign: CampaignRules, now: dt.datetime | None = None) -> Verdict:
        """Decide on one dial at ``now`` (aware; default: the clock) and reserve its caps if allowed."""
        now = now or self.clock()
        location, packs = self.locate(lead, campaign)
        verdict = self.check_hours(location, packs, now)
        if verdict is None:
            verdict = self._dnc_verdict(self.dnc.find(campaign.tenant_id, lead.phone_e164), campaign, now)
        if verdict is None:
            requests = cap_requests(lead, campaign, packs)
            reservation = self.caps.reserve(campaign.tenant_id, lead.lead_id, requests, now)
            verdict = _reservation_verdict(reservation, location.zones)
        if not verdict.allowed:
            self._record([(lead, verdict)], campaign, now)
        return verdict

    def check_batch(
        self, leads: list[LeadInfo], campaign: CampaignRules, now: dt.datetime | None = None
    ) -> list[Verdict]:
        """Decide on many dials of one campaign, in order, with one DNC query and one Redis round trip.

        Gives the same verdicts as calling :meth:`check` on each lead in turn.
        """
        now = now or self.clock()
        verdicts: list[Verdict | None] = [None] * len(leads)
        open_leads = []
        for index, lead in enumerate(leads):
            location, packs = self.locate(lead, campaign)
            verdicts[index] = self.check_hours(location, packs, now)
            if verdicts[index] is None:
                open_leads.append((index, lead, location, packs))

        listings = (
            self.dnc.find_many(campaign.tenant_id, [lead.phone_e164 for _, lead, _, _ in open_leads])
            if open_leads
            else {}
        )
        to_reserve = []
        for index, lead, location, packs in open_leads:
            verdicts[index] = self._dnc_verdict(listings.get(lead.phone_e164, []), campaign, now)
            if verdicts[index] is None:
                to_reserve.append((index, lead, location, packs))

        requests = [
            (campaign.tenant_id, lead.lead_id, cap_requests(lead, campaign, packs))
            for _, lead, _, packs in to_reserve
        ]
        reservations = self.caps.reserve_many(requests, now) if requests else []
        for (index, _lead, location, _packs), reservation in zip(to_reserve, reservations, strict=True):
            verdicts[index] = _reservation_verdict(reservation, location.zones)

        blocked = [(lead, v) for lead, v in zip(leads, verdicts, strict=True) if not v.allowed]
        self._record(blocked, campaign, now)
        return verdicts

    def _record(
        self, blocked: list[tuple[LeadInfo, Verdict]], campaign: CampaignRules, now: dt.datetime
    ) -> None:
        for lead, verdict in blocked:
            log.info(
                "compliance.blocked tenant_id=%s campaign_id=%s lead_id=%s phone=%s rule=%s",
                campaign.tenant_id,
                campaign.campaign_id,
                lead.lead_id,
                mask(lead.phone_e164),
                verdict.rule,
            )
        if self.evidence is not None and blocked:
            self.evidence.record_many(blocked, campaign, now)

    def locate(self, lead: LeadInfo, campaign: CampaignRules) -> tuple[Location, tuple[Pack, ...]]:
        """Resolve the lead's location and the campaign packs that apply to it."""
        location = resolve(lead.phone_e164, lead.state_code, lead.postal_code, lead.timezone)
        packs = tuple(
            pack
            for pack in map(self.packs.get, campaign.pack_ids)
            if _applies(pack, location, campaign.purpose)
        )
        if not location.zones:
            fallback = tuple(dict.fromkeys(zone for pack in packs for zone in pack.timezones))
            location = Location(
                location.country,
                location.state,
                location.area_code_state,
                fallback,
                "pack_timezones" if fallback else "none",
            )
        return location, packs

    def check_hours(self, location: Location, packs: tuple[Pack, ...], now: dt.datetime) -> Verdict | None:
        """Return a blocked verdict when the windows are closed at ``now``, else None (pure)."""
        if not packs:
            return Verdict(
                False,
                "packs:none",
                f"no rule pack of the campaign applies to country "
                f"{location.country or 'unknown'}; add a pack for it",
                None,
            )
        if not location.zones:
            return Verdict(
                False,
                "location:unknown",
                "no time zone could be found for the lead; add its postal code, state or time zone",
                None,
            )
        block = hours.first_block(packs, location.zones, now)
        if block is None:
            return None
        retry_at = hours.next_open(packs, location.zones, now)
        return Verdict(False, block.rule, block.reason, retry_at, block.pack.label, location.zones)

    def _dnc_verdict(self, entries: list, campaign: CampaignRules, now: dt.datetime) -> Verdict | None:
        entry = blocking_entry(entries, campaign.purpose, self.packs, now) if entries else None
        if entry is None:
            return None
        if entry.registry:
            return Verdict(
                False,
                f"dnc:{entry.registry}",
                f"the number is in the {entry.registry} registry since {entry.effective_at:%Y-%m-%d}",
                None,
            )
        return Verdict(
            False,
            "dnc:internal",
            "the number is in the tenant's do-not-call list" + (f" ({entry.reason})" if entry.reason else ""),
            None,
        )

    def release(self, verdict: Verdict) -> None:
        """Give back the caps an allowed verdict reserved, when its originate is not sent."""
        if verdict.reservation is not None:
            self.caps.release(verdict.reservation)


def _reservation_verdict(reservation: Reservation, zones: tuple[str, ...]) -> Verdict:
    if reservation.ok:
        return Verdict(True, None, "allowed", None, zones=zones, reservation=reservation)
    if reservation.retry_delay:
        return Verdict(
            False,
            "retry_delay",
            "the lead's retry delay after its last attempt has not passed",
            reservation.retry_at,
            zones=zones,
        )
    cap = reservation.blocked_by
    return Verdict(
        False,
        cap.rule,
        f"cap reached: {cap.limit} calls per {cap.scope} in {_format_window(cap.window_s)}",
        reservation.retry_at,
        zones=zones,
    )


def _applies(pack: Pack, location: Location, purpose: str) -> bool:
    if purpose not in pack.purposes or pack.country != location.country:
        return False
    if not pack.states:
        return True
    if location.state in pack.states:
        return True
    return pack.area_code_presumption and location.area_code_state in pack.states


def cap_requests(lead: LeadInfo, campaign: CampaignRules, packs: tuple[Pack, ...]) -> list[CapRequest]:
    """Build the caps to reserve: the packs' strictest limit per scope and window, plus attempts per lead."""
    strictest: dict[tuple[str, int], CapRequest] = {}
    for pack in packs:
        for cap in pack.caps:
            # NOTE: without a debt key the debt cap counts per number, which is
            # stricter than the rule when one person owes several debts.
            value = lead.debt_key if cap.scope == "debt" and lead.debt_key else lead.phone_e164
            scope = "debt" if cap.scope == "debt" and lead.debt_key else "number"
            request = CapRequest(scope, value, cap.limit, cap.window_s, f"{pack.id}:cap_{cap.scope}")
            known = strictest.get((scope, cap.window_s))
            if known is None or request.limit < known.limit:
                strictest[(scope, cap.window_s)] = request
    requests = list(strictest.values())
    requests.append(
        CapRequest(
            f"c{campaign.campaign_id}:lead",
            str(lead.lead_id),
            campaign.max_attempts,
            0,
            "campaign:max_attempts",
        )
    )
    return requests


def _format_window(seconds: int) -> str:
    if seconds == 0:
        return "the campaign"
    if seconds % 86400 == 0:
        return f"{seconds // 86400} d"
    return f"{seconds // 3600} h"
