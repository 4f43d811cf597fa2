"""Attempt state: follow channel events of the calls the orchestrator placed.

:class:`CallTracker` is pure. It is fed events in stream order and returns
the changes to store; the daemon writes them to PostgreSQL. A channel is
ours when its ``Unique-ID`` is the id of an attempt we placed (the originate
presets ``origination_uuid`` to the attempt id). Events of other channels,
including the agent legs that carry our exported variables, are ignored.

With several orchestrators on one switch each receives every event. When
``owned_campaigns`` is set, the tracker adopts unknown channels only of the
campaigns in it, and keeps the recent events of other campaigns' attempts so
that the orchestrator taking a campaign over can replay the ones it missed.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from orchestrator.outcomes import answered_outcome, unanswered_outcome

log = logging.getLogger(__name__)

# Outcome and pseudo cause of an attempt whose events stopped coming.
LOST_CAUSE = "DIALER_EVENTS_LOST"
# An attempt with no channel event this long after its originate was sent is
# ended as failed (added to the campaign's ring timeout), in seconds.
PENDING_GRACE_S = 60.0
# A call with no event for this long is ended as failed, in seconds.
MAX_SILENT_CALL_S = 4 * 3600.0
# Events of campaigns another orchestrator drives are kept this long (seconds)
# and up to this many, for replay on takeover. A takeover happens within
# seconds of the holder's death, so a minute covers it with room to spare.
UNOWNED_EVENTS_KEEP_S = 60.0
UNOWNED_EVENTS_MAX = 20_000

_ACTIVE_STATES = ("pending", "ringing", "answered", "bridged")


@dataclass
class Attempt:
    """One dial the orchestrator placed and has not seen end."""

    id: str
    tenant_id: int
    campaign_id: int
    lead_id: int
    switch_name: str
    phone_e164: str
    job_uuid: str | None = None
    trunk_id: int | None = None
    ring_timeout_s: int = 30
    state: str = "pending"
    channel_seen: bool = False
    answered_at: datetime | None = None
    bridged_at: datetime | None = None
    agent_name: str | None = None
    job_cause: str | None = None
    sent_s: float = 0.0
    last_event_s: float = 0.0
    # When CHANNEL_ANSWER arrived, on the loop's clock.
    answered_s: float | None = None
    # True once mod_callcenter put the answered call in the queue (member-queue-start).
    queued: bool = False


@dataclass(frozen=True)
class StateChange:
    """An attempt moved to ``ringing``, ``answered`` or ``bridged`` at ``at``."""

    attempt: Attempt
    state: str
    at: datetime


@dataclass(frozen=True)
class CallEnd:
    """An attempt ended; every column the attempts row keeps about the end."""

    attempt: Attempt
    outcome: str
    ended_at: datetime
    hangup_cause: str | None = None
    sip_status: int | None = None
    billsec: int = 0
    amd_result: str | None = None
    live: bool | None = None
    abandoned: bool | None = None
    safe_harbor_played: bool = False
    agent_name: str | None = None
    answered_at: datetime | None = None
    bridged_at: datetime | None = None
    # Epoch ms when the person's greeting ended (``dialer_greeting_end_ms``), if the script set it.
    greeting_end_ms: int | None = None


Change = StateChange | CallEnd


def event_time(event, fallback: datetime | None = None) -> datetime:
    """Return ``Event-Date-Timestamp`` (microseconds since the epoch) as an aware UTC datetime."""
    raw = event.get("Event-Date-Timestamp")
    if raw and raw.isdigit() and raw != "0":
        return datetime.fromtimestamp(int(raw) / 1_000_000, tz=UTC)
    return fallback or datetime.now(tz=UTC)


def _int_or_none(text: str | None) -> int | None:
    if text is None or not text.strip().lstrip("-").isdigit():
        return None
    return int(text)


def _bool_or_none(text: str | None) -> bool | None:
    if text is None or text == "":
        return None
    return text.lower() == "true"


@dataclass
class CallTracker:
    """In-memory state of the attempts in flight, keyed by attempt id (= channel UUID)."""

    attempts: dict[str, Attempt] = field(default_factory=dict)
    attempts_by_job: dict[str, str] = field(default_factory=dict)
    # Campaigns this orchestrator drives; None adopts the channels of every campaign.
    owned_campaigns: set[int] | None = None
    # (arrived at, campaign id, event) of attempts of campaigns not owned, oldest first;
    # the campaign id is None for a job error, which names no campaign.
    unowned_events: deque = field(default_factory=lambda: deque(maxlen=UNOWNED_EVENTS_MAX))

    def add(self, attempt: Attempt) -> None:
        """Start tracking an attempt before its originate is sent."""
        self.attempts[attempt.id] = attempt
        if attempt.job_uuid:
            self.attempts_by_job[attempt.job_uuid] = attempt.id

    def forget(self, attempt_id: str) -> Attempt | None:
        """Stop tracking an attempt; return it if it was tracked."""
        attempt = self.attempts.pop(attempt_id, None)
        if attempt is not None and attempt.job_uuid:
            self.attempts_by_job.pop(attempt.job_uuid, None)
        return attempt

    def handle(self, event, now_s: float = 0.0) -> list[Change]:
        """Apply one event; return the attempt changes it causes, in order."""
        name = event.name
        if name == "BACKGROUND_JOB":
            return self._on_job(event, now_s)
        if name == "CUSTOM":
            self._on_callcenter(event)
            return []
        if not name.startswith("CHANNEL_"):
            return []
        attempt = self.attempts.get(event.uuid or "")
        if attempt is None:
            if self._keep_unowned(event, now_s):
                return []
            attempt = self._adopt(event)
            if attempt is None:
                return []
        attempt.last_event_s = now_s
        attempt.channel_seen = True
        return self._on_channel(attempt, event, now_s)

    def _keep_unowned(self, event, now_s: float) -> bool:
        """Keep an event of another orchestrator's attempt for a later takeover; return True if kept."""
        if self.owned_campaigns is None or event.get("variable_dialer_attempt_id") != event.uuid:
            return False
        campaign_id = _int_or_none(event.get("variable_dialer_campaign_id"))
        if campaign_id is None or campaign_id in self.owned_campaigns:
            return False
        while self.unowned_events and self.unowned_events[0][0] < now_s - UNOWNED_EVENTS_KEEP_S:
            self.unowned_events.popleft()
        self.unowned_events.append((now_s, campaign_id, event))
        return True

    def take_over(self, campaign_id: int, attempts: list[Attempt], now_s: float) -> list[Change]:
        """Start driving a campaign: track its attempts in flight, then replay the events kept for it.

        Returns the changes the replayed events cause, e.g. the ends of calls
        that hung up while no orchestrator drove the campaign.
        """
        if self.owned_campaigns is not None:
            self.owned_campaigns.add(campaign_id)
        for attempt in attempts:
            if attempt.id not in self.attempts:
                self.add(attempt)
        kept = [
            event for _, owner, event in self.unowned_events
            if owner == campaign_id or (owner is None and event.get("Job-UUID") in self.attempts_by_job)
        ]
        self.unowned_events = deque(
            (item for item in self.unowned_events if item[1] != campaign_id), maxlen=UNOWNED_EVENTS_MAX
        )
        changes: list[Change] = []
        for event in kept:
            changes += self.handle(event, now_s)
        return changes

    def give_up(self, campaign_id: int) -> None:
        """Stop adopting a campaign's channels; the attempts already tracked are followed until they end."""
        if self.owned_campaigns is not None:
            self.owned_campaigns.discard(campaign_id)

    def _on_channel(self, attempt: Attempt, event, now_s: float) -> list[Change]:
        name = event.name
        at = event_time(event)
        if name in ("CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA") and attempt.state == "pending":
            attempt.state = "ringing"
            return [StateChange(attempt, "ringing", at)]
        if name == "CHANNEL_ANSWER" and attempt.state in ("pending", "ringing"):
            attempt.state = "answered"
            attempt.answered_at = at
            attempt.answered_s = now_s
            return [StateChange(attempt, "answered", at)]
        if name == "CHANNEL_BRIDGE" and attempt.state != "bridged":
            attempt.state = "bridged"
            attempt.bridged_at = at
            return [StateChange(attempt, "bridged", at)]
        if name == "CHANNEL_HANGUP_COMPLETE":
            return [self._end_from_hangup(attempt, event, at)]
        return []

    @staticmethod
    def _adopt(event) -> Attempt | None:
        """Rebuild the attempt of a hangup the orchestrator placed before it restarted."""
        if event.name != "CHANNEL_HANGUP_COMPLETE" or event.get("variable_dialer_attempt_id") != event.uuid:
            return None
        ids = [_int_or_none(event.get(f"variable_dialer_{name}_id")) for name in ("tenant", "campaign", "lead")]
        if None in ids:
            return None
        tenant_id, campaign_id, lead_id = ids
        return Attempt(
            id=event.uuid, tenant_id=tenant_id, campaign_id=campaign_id, lead_id=lead_id,
            switch_name="", phone_e164=event.get("Caller-Destination-Number") or "",
        )

    def _end_from_hangup(self, attempt: Attempt, event, at: datetime) -> CallEnd:
        self.forget(attempt.id)
        cause = event.get("Hangup-Cause") or attempt.job_cause
        billsec = _int_or_none(event.get("variable_billsec")) or 0
        answered_us = _int_or_none(event.get("Caller-Channel-Answered-Time")) or 0
        answered = attempt.answered_at is not None or billsec > 0 or answered_us > 0
        if attempt.answered_at is None and answered_us > 0:
            attempt.answered_at = datetime.fromtimestamp(answered_us / 1_000_000, tz=UTC)
        amd_result = event.get("variable_dialer_amd_result")
        live = _bool_or_none(event.get("variable_dialer_live"))
        abandoned = _bool_or_none(event.get("variable_dialer_abandoned"))
        agent_name = event.get("variable_dialer_agent") or attempt.agent_name
        bridged = attempt.bridged_at is not None or bool(event.get("variable_dialer_bridged_ms"))
        if answered:
            outcome = answered_outcome(bridged=bridged, amd_result=amd_result, live=live, abandoned=abandoned)
        else:
            outcome = unanswered_outcome(cause)
        return CallEnd(
            attempt=attempt,
            outcome=outcome,
            ended_at=at,
            hangup_cause=cause,
            sip_status=_int_or_none(event.get("variable_sip_term_status")),
            billsec=billsec,
            amd_result=amd_result,
            live=live,
            abandoned=abandoned,
            safe_harbor_played=bool(event.get("variable_dialer_safe_harbor_ms")),
            agent_name=agent_name,
            answered_at=attempt.answered_at,
            bridged_at=attempt.bridged_at,
            greeting_end_ms=_int_or_none(event.get("variable_dialer_greeting_end_ms")),
        )

    def _on_job(self, event, now_s: float) -> list[Change]:
        attempt_id = self.attempts_by_job.get(event.get("Job-UUID") or "")
        attempt = self.attempts.get(attempt_id or "")
        if attempt is None:
            # The job of an attempt that already ended (its hangup came first) or not ours.
            # A job error names no campaign, so it is kept for any takeover to match by Job-UUID.
            if self.owned_campaigns is not None and (event.body or "").lstrip().startswith("-ERR"):
                self.unowned_events.append((now_s, None, event))
            return []
        attempt.last_event_s = now_s
        body = (event.body or "").strip()
        if not body.startswith("-ERR"):
            return []
        attempt.job_cause = body[len("-ERR") :].strip() or "UNKNOWN"
        if attempt.channel_seen:
            # CHANNEL_HANGUP_COMPLETE follows with the details; it ends the attempt.
            return []
        # No channel ever existed: the switch refused the originate itself.
        self.forget(attempt.id)
        return [CallEnd(attempt, "rejected", event_time(event), hangup_cause=attempt.job_cause)]

    def _on_callcenter(self, event) -> None:
        if event.subclass != "callcenter::info":
            return
        action = event.get("CC-Action")
        attempt = self.attempts.get(event.get("CC-Member-Session-UUID") or "")
        if attempt is None:
            return
        if action == "member-queue-start":
            attempt.queued = True
        elif action == "bridge-agent-start":
            attempt.agent_name = event.get("CC-Agent")

    def fail(self, attempt_id: str, cause: str, outcome: str = "failed") -> CallEnd | None:
        """End an attempt whose originate could not be sent (the switch was unreachable or refused it)."""
        attempt = self.forget(attempt_id)
        if attempt is None:
            return None
        return CallEnd(attempt, outcome, datetime.now(tz=UTC), hangup_cause=cause)

    def sweep(self, now_s: float, switches_down_since: dict[str, float], grace_s: float) -> list[CallEnd]:
        """End attempts whose events stopped: their switch is down longer than ``grace_s``, or they went silent."""
        ended = []
        for attempt in list(self.attempts.values()):
            down_since = switches_down_since.get(attempt.switch_name)
            silent_s = now_s - max(attempt.last_event_s, attempt.sent_s)
            lost = down_since is not None and now_s - down_since >= grace_s
            never_started = not attempt.channel_seen and silent_s >= attempt.ring_timeout_s + PENDING_GRACE_S
            if lost or never_started or silent_s >= MAX_SILENT_CALL_S:
                log.warning(
                    "attempt.lost attempt_id=%s campaign_id=%s switch=%s state=%s silent_s=%.0f",
                    attempt.id, attempt.campaign_id, attempt.switch_name, attempt.state, silent_s,
                )
                end = self.fail(attempt.id, LOST_CAUSE)
                if end is not None:
                    ended.append(end)
        return ended

    def counts(self) -> dict[tuple[int, str], dict[str, int]]:
        """Return ``{(campaign_id, switch): {state: count}}`` over the attempts in flight."""
        result: dict[tuple[int, str], dict[str, int]] = {}
        for attempt in self.attempts.values():
            per_state = result.setdefault(
                (attempt.campaign_id, attempt.switch_name), dict.fromkeys(_ACTIVE_STATES, 0)
            )
            per_state[attempt.state] += 1
        return result
