"""Attempt state: follow channel events of the calls the orchestrator placed.

:class:`CallTracker` is pure. It is fed events in stream order and returns
the changes to store; the daemon writes them to PostgreSQL. A channel is
ours when its ``Unique-ID`` is the id of an attempt we placed (the originate
presets ``origination_uuid`` to the attempt id). Events of other channels,
including the agent legs that carry our exported variables, are ignored.
"""

from __future__ import annotations

import logging
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
            attempt = self._adopt(event)
            if attempt is None:
                return []
        attempt.last_event_s = now_s
        attempt.channel_seen = True
        return self._on_channel(attempt, event)

    def _on_channel(self, attempt: Attempt, event) -> list[Change]:
        name = event.name
        at = event_time(event)
        if name in ("CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA") and attempt.state == "pending":
            attempt.state = "ringing"
            return [StateChange(attempt, "ringing", at)]
        if name == "CHANNEL_ANSWER" and attempt.state in ("pending", "ringing"):
            attempt.state = "answered"
            attempt.answered_at = at
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
        )

    def _on_job(self, event, now_s: float) -> list[Change]:
        attempt_id = self.attempts_by_job.get(event.get("Job-UUID") or "")
        attempt = self.attempts.get(attempt_id or "")
        if attempt is None:
            # The job of an attempt that already ended (its hangup came first) or not ours.
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
        if event.subclass != "callcenter::info" or event.get("CC-Action") != "bridge-agent-start":
            return
        attempt = self.attempts.get(event.get("CC-Member-Session-UUID") or "")
        if attempt is not None:
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
