"""What the compliance gate's verdicts mean for the orchestrator (pure).

Every claimed lead passes ``ComplianceGate.check_batch`` before its
originate is built. A blocked lead leaves ``dialing`` without an attempt
and without counting a try:

- a do-not-call listing (rule ``dnc:*``) sets the lead to ``dnc``;
- the campaign's attempts per lead (rule ``campaign:max_attempts``) sets
  it to ``exhausted``;
- any other block with a ``retry_at`` (closed window, frequency cap, retry
  delay) puts the lead back in its previous status, ``new`` or ``retry``,
  with ``next_attempt_at = retry_at``;
- a block without ``retry_at`` (no pack applies to the number's country,
  no time zone found, no window opens within the search horizon) puts the
  lead back for the next day. A lead fixed or a pack added by then lets it
  be dialed, and each day's check leaves one evidence row.

A campaign whose 30-day FTC abandonment rate would pass 3 % with one more
abandoned call runs progressive, whatever its configured mode.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from dialer_common.compliance import AbandonmentStatus, Verdict
from orchestrator.predictive import PacingMode, PacingSettings

# How long a lead blocked without a retry time waits before the gate checks it again.
NO_RETRY_HOLD = dt.timedelta(days=1)
# Modes that may abandon calls and so give way to progressive when the rate is at its limit.
_OVERDIALING_MODES = frozenset({PacingMode.PREDICTIVE})


@dataclass(frozen=True)
class BlockedLead:
    """The status and next dial time a blocked lead gets."""

    status: str
    next_attempt_at: dt.datetime | None


def blocked_disposition(verdict: Verdict, previous_status: str, now: dt.datetime) -> BlockedLead:
    """Return what happens to a claimed lead that ``verdict`` blocked at ``now``."""
    rule = verdict.rule or ""
    if rule.startswith("dnc:"):
        return BlockedLead("dnc", None)
    if rule == "campaign:max_attempts":
        return BlockedLead("exhausted", None)
    if verdict.retry_at is not None:
        return BlockedLead(previous_status, verdict.retry_at)
    return BlockedLead(previous_status, now + NO_RETRY_HOLD)


def progressive_reason(settings: PacingSettings, status: AbandonmentStatus | None) -> str | None:
    """Return why the campaign must run progressive now, or None when its own mode may run.

    Preview and progressive campaigns abandon no call, so only predictive
    campaigns are switched.
    """
    if status is None or not status.must_go_progressive or settings.mode not in _OVERDIALING_MODES:
        return None
    rate = "n/a" if status.rate_pct is None else f"{status.rate_pct:.2f} %"
    return (
        f"compliance: the 30-day abandonment rate is {rate} ({status.abandoned} of {status.live_answers}"
        " live answers) and one more abandoned call would pass 3 %, so the campaign runs progressive"
    )


def effective_settings(settings: PacingSettings, reason: str | None) -> PacingSettings:
    """Return the settings the pacer runs with: progressive while ``reason`` is set."""
    if reason is None:
        return settings
    return dataclasses.replace(settings, mode=PacingMode.PROGRESSIVE)
