"""Per-campaign dialing: pick leads, caller IDs and the originate for each dial.

:class:`CampaignRuntime` keeps what one running campaign needs between ticks
(its pacer and settings, compliance rules and packs, recent outcomes, DID
rotation, call rate budget). :func:`place_dials` claims leads, passes them
through the compliance gate and sends the originates of the allowed ones for
one campaign on one switch. No originate is sent without an allowed verdict.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dialer_common import db
from dialer_common.compliance import (
    AbandonmentStatus,
    CampaignRules,
    ComplianceGate,
    LeadInfo,
    PackSet,
    Verdict,
)
from dialer_common.errors import DialerError, ValidationError
from dialer_common.phone import mask
from orchestrator import store
from orchestrator.agents import StateTransition
from orchestrator.calls import LOST_CAUSE, Attempt, CallEnd, CallTracker
from orchestrator.originate import (
    DEFAULT_DIAL_STRING_TEMPLATE,
    OriginateRequest,
    build_dial_string,
    originate_command,
)
from orchestrator.pacing_state import CampaignStats, PacingLogGate, outcome_kind, settings_from_campaign
from orchestrator.predictive import PacingSettingError, PacingSettings, PredictivePacer
from orchestrator.screening import blocked_disposition, effective_settings, progressive_reason

log = logging.getLogger(__name__)

# Calls per second when the campaign has no trunk row to say otherwise.
DEFAULT_CALLS_PER_SECOND = 10
DEFAULT_MAX_CHANNELS = 100
# Claims per switch and tick while the compliance gate blocks some of the claimed leads.
MAX_CLAIM_ROUNDS = 3


@dataclass
class CampaignRuntime:
    """State of one running campaign kept between ticks."""

    campaign: store.Campaign
    settings: PacingSettings
    pacer: PredictivePacer = field(default_factory=PredictivePacer)
    stats: CampaignStats = field(default_factory=CampaignStats)
    log_gate: PacingLogGate = field(default_factory=PacingLogGate)
    # Dialable leads at the last refresh; None until the first count.
    leads_remaining: int | None = None
    dids: list[str] = field(default_factory=list)
    next_did: int = 0
    # Call rate budget: dials allowed now, refilled at calls_per_second.
    tokens: float = 0.0
    refilled_s: float = 0.0
    dry: bool = False
    problem: str | None = None
    # Compliance: the campaign's rules and its tenant's packs; no dial is placed while either is None.
    rules: CampaignRules | None = None
    packs: PackSet | None = None
    # Why the campaign runs progressive whatever its mode (abandonment at its limit), or None.
    forced_progressive: str | None = None

    @classmethod
    def start(cls, campaign: store.Campaign) -> CampaignRuntime:
        """Return the runtime of a campaign this orchestrator starts driving.

        Raises PacingSettingError when the row's pacing settings are out of range.
        """
        runtime = cls(campaign=campaign, settings=settings_from_campaign(campaign))
        runtime.stats.keep_s = max(runtime.stats.keep_s, float(campaign.short_window_s))
        runtime.tokens = float(runtime.calls_per_second)
        runtime.refilled_s = time.monotonic()
        return runtime

    def update(self, campaign: store.Campaign) -> None:
        """Take a re-read campaign row; the pacer keeps what it learned, the settings follow the row.

        Settings out of range are logged and the previous ones kept, so a bad
        row never stops a running campaign.
        """
        try:
            settings = settings_from_campaign(campaign)
        except (PacingSettingError, ValueError) as error:
            log.error("campaign.invalid_pacing_settings campaign_id=%s error=%s", campaign.id, error)
            settings = self.settings
        if settings != self.settings:
            log.info(
                "campaign.pacing_settings_changed campaign_id=%s dial_mode=%s target=%.4f",
                campaign.id, settings.mode.value, settings.abandonment_target,
            )
        self.settings = settings
        self.stats.keep_s = max(self.stats.keep_s, float(campaign.short_window_s))
        self.campaign = campaign

    def update_compliance(self, rules: CampaignRules, packs: PackSet, status: AbandonmentStatus | None) -> None:
        """Take re-read compliance rules, packs and abandonment status; log a change of forced mode."""
        self.rules = rules
        self.packs = packs
        reason = progressive_reason(self.settings, status)
        if reason and not self.forced_progressive:
            log.warning("campaign.forced_progressive campaign_id=%s reason=%s", self.campaign.id, reason)
        elif self.forced_progressive and not reason:
            log.info("campaign.forced_progressive_ended campaign_id=%s dial_mode=%s",
                     self.campaign.id, self.settings.mode.value)
        self.forced_progressive = reason

    @property
    def pacing_settings(self) -> PacingSettings:
        """The settings the pacer runs with: the campaign's, progressive while forced."""
        return effective_settings(self.settings, self.forced_progressive)

    def observe_end(self, end: CallEnd, now_s: float) -> None:
        """Count an ended attempt and feed its durations to the pacer."""
        attempt = end.attempt
        self.stats.record(now_s, end.outcome)
        kind = outcome_kind(end.outcome)
        if kind in ("live", "machine") and attempt.answered_s is not None and attempt.sent_s:
            self.pacer.observe_answer_delay(attempt.answered_s - attempt.sent_s)
        elif kind == "failed" and attempt.sent_s and end.outcome != "rejected" and end.hangup_cause != LOST_CAUSE:
            self.pacer.observe_failure_delay(now_s - attempt.sent_s)
        if end.bridged_at is not None and end.ended_at >= end.bridged_at:
            self.pacer.observe_talk_time((end.ended_at - end.bridged_at).total_seconds())
        if kind == "live" and end.greeting_end_ms and end.answered_at is not None:
            greeting_s = end.greeting_end_ms / 1000.0 - end.answered_at.timestamp()
            if greeting_s >= 0:
                self.pacer.observe_greeting_time(greeting_s)

    def observe_agent(self, transition: StateTransition) -> None:
        """Feed an agent's wrap-up (mod_callcenter state Idle, then Waiting) to the pacer."""
        if transition.old_state == "Idle" and transition.new_state == "Waiting":
            self.pacer.observe_wrap_up_time(transition.seconds)

    @property
    def calls_per_second(self) -> int:
        return self.campaign.calls_per_second or DEFAULT_CALLS_PER_SECOND

    @property
    def max_channels(self) -> int:
        return self.campaign.max_channels or DEFAULT_MAX_CHANNELS

    def rate_budget(self, now_s: float) -> int:
        """Return how many dials the call rate limit allows now."""
        rate = self.calls_per_second
        self.tokens = min(float(rate), self.tokens + (now_s - self.refilled_s) * rate)
        self.refilled_s = now_s
        return int(self.tokens)

    def spend(self, dials: int) -> None:
        self.tokens -= dials

    def pick_did(self) -> str | None:
        """Return the next caller ID in round-robin order."""
        if not self.dids:
            return None
        did = self.dids[self.next_did % len(self.dids)]
        self.next_did += 1
        return did


def choose_dids(rows: list[dict], trunk_id: int | None) -> list[str]:
    """Return the DIDs a campaign sends as caller ID: its trunk's, else every enabled DID of the tenant."""
    own = [row["number"] for row in rows if trunk_id is not None and row["trunk_id"] == trunk_id]
    return own or [row["number"] for row in rows]


def check_campaign(runtime: CampaignRuntime) -> str | None:
    """Return why a campaign cannot dial (no trunk, no DID, a value an originate cannot carry), or None."""
    campaign = runtime.campaign
    if campaign.trunk_id is None:
        return "the campaign has no enabled trunk; assign one"
    if not runtime.dids:
        return "the tenant has no enabled DID for caller ID; add one"
    try:
        request = build_request(campaign, str(uuid.uuid4()), 0, "+10000000000", runtime.dids[0])
        originate_command(request)
    except ValidationError as error:
        return str(error)
    return None


def build_request(
    campaign: store.Campaign, attempt_id: str, lead_id: int, phone_e164: str, did: str
) -> OriginateRequest:
    """Return the originate request of one dial."""
    dial_string = build_dial_string(
        campaign.dial_string_template or DEFAULT_DIAL_STRING_TEMPLATE, campaign.gateway or "", phone_e164
    )
    return OriginateRequest(
        attempt_id=attempt_id,
        tenant_id=campaign.tenant_id,
        campaign_id=campaign.id,
        lead_id=lead_id,
        trunk_id=campaign.trunk_id,
        queue_name=campaign.queue_name,
        dial_string=dial_string,
        caller_id_e164=did,
        caller_id_name=campaign.caller_id_name,
        ring_timeout_s=campaign.ring_timeout_s,
        machine_action=campaign.machine_action,
        voicemail_file=campaign.voicemail_file,
        safe_harbor_file=campaign.safe_harbor_file,
    )


@dataclass(frozen=True)
class PendingDial:
    """A dial the gate allowed, with its attempt row stored and its originate not yet sent."""

    attempt: Attempt
    command: str
    verdict: Verdict


def place_dials(
    conn, client, tracker: CallTracker, runtime: CampaignRuntime, switch_name: str, count: int,
    gate: ComplianceGate,
) -> int:
    """Claim leads, pass them through the compliance gate and send up to ``count`` originates on one switch.

    Returns how many originates were sent. Blocked leads are not counted,
    so the claim is repeated (at most ``MAX_CLAIM_ROUNDS`` times) while the
    gate blocks some and more leads are dialable.
    """
    sent = 0
    for _ in range(MAX_CLAIM_ROUNDS):
        pending, claimed = claim_and_screen(conn, runtime, switch_name, count - sent, gate)
        sent += send_originates(conn, client, tracker, runtime, switch_name, pending, gate)
        if sent >= count or len(pending) == claimed:
            break
    return sent


def claim_and_screen(
    conn, runtime: CampaignRuntime, switch_name: str, count: int, gate: ComplianceGate
) -> tuple[list[PendingDial], int]:
    """Claim up to ``count`` leads, hold the ones the gate blocks, store attempts for the rest.

    Returns the allowed dials and how many leads were claimed. Runs in one
    transaction: when it fails, the claim is rolled back and the caps the
    gate reserved are given back.
    """
    campaign = runtime.campaign
    rules = runtime.rules
    if rules is None or runtime.packs is None or count <= 0:
        return [], 0
    pending: list[PendingDial] = []
    verdicts: list[Verdict] = []
    try:
        with db.transaction(conn) as cur:
            leads = store.claim_leads(cur, campaign.tenant_id, campaign.id, campaign.max_attempts, count)
            if leads:
                verdicts = gate.check_batch([LeadInfo.from_row(lead) for lead in leads], rules)
            now = datetime.now(UTC)
            for lead, verdict in zip(leads, verdicts, strict=True):
                if not verdict.allowed:
                    hold = blocked_disposition(verdict, lead["previous_status"], now)
                    store.hold_blocked_lead(cur, campaign.tenant_id, lead["id"], hold.status, hold.next_attempt_at)
                    continue
                dial = _prepare_dial(cur, runtime, switch_name, lead, verdict)
                if dial is None:
                    gate.release(verdict)
                else:
                    pending.append(dial)
    except Exception:
        for dial in pending:
            gate.release(dial.verdict)
        raise
    note_lead_supply(runtime, bool(leads))
    return pending, len(leads)


def _prepare_dial(cur, runtime: CampaignRuntime, switch_name: str, lead: dict, verdict: Verdict) -> PendingDial | None:
    """Build one allowed lead's originate and insert its attempt; None (lead released) if it cannot be built."""
    campaign = runtime.campaign
    did = runtime.pick_did()
    attempt = Attempt(
        id=str(uuid.uuid4()), tenant_id=campaign.tenant_id, campaign_id=campaign.id,
        lead_id=lead["id"], switch_name=switch_name, phone_e164=lead["phone_e164"],
        job_uuid=str(uuid.uuid4()), trunk_id=campaign.trunk_id,
        ring_timeout_s=campaign.ring_timeout_s, sent_s=time.monotonic(),
    )
    try:
        command = originate_command(build_request(campaign, attempt.id, lead["id"], lead["phone_e164"], did))
    except ValidationError as error:
        log.error("originate.invalid campaign_id=%s lead_id=%s error=%s", campaign.id, lead["id"], error)
        store.release_lead(cur, campaign.tenant_id, lead["id"])
        return None
    store.insert_attempt(cur, attempt, campaign.trunk_id, did)
    return PendingDial(attempt, command, verdict)


def send_originates(
    conn, client, tracker: CallTracker, runtime: CampaignRuntime, switch_name: str,
    pending: list[PendingDial], gate: ComplianceGate,
) -> int:
    """Send the allowed dials' originates; an unsent one ends its attempt and gives back its caps."""
    campaign = runtime.campaign
    sent = 0
    for dial in pending:
        attempt = dial.attempt
        tracker.add(attempt)
        try:
            client.bgapi(dial.command, job_uuid=attempt.job_uuid)
        except DialerError as error:
            log.warning(
                "originate.failed call_uuid=%s campaign_id=%s switch=%s error=%s",
                attempt.id, campaign.id, switch_name, error,
            )
            tracker.forget(attempt.id)
            gate.release(dial.verdict)
            with db.transaction(conn) as cur:
                store.end_unsent_attempt(cur, attempt)
            continue
        sent += 1
        log.debug(
            "originate.sent call_uuid=%s campaign_id=%s switch=%s number=%s",
            attempt.id, campaign.id, switch_name, mask(attempt.phone_e164),
        )
    return sent


def note_lead_supply(runtime: CampaignRuntime, got_leads: bool) -> None:
    """Log once when a campaign runs out of dialable leads, and once when it has some again."""
    if got_leads:
        if runtime.dry:
            log.info("campaign.leads_available campaign_id=%s", runtime.campaign.id)
        runtime.dry = False
    elif not runtime.dry:
        runtime.dry = True
        log.info("campaign.no_dialable_leads campaign_id=%s tenant_id=%s", runtime.campaign.id, runtime.campaign.tenant_id)
