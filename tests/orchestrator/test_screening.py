"""What blocked verdicts do to leads, and when abandonment forces progressive dialing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dialer_common.compliance import AbandonmentStatus, Verdict
from orchestrator import store
from orchestrator.campaigns import CampaignRuntime
from orchestrator.predictive import PacingMode
from orchestrator.screening import NO_RETRY_HOLD, blocked_disposition, progressive_reason

NOW = dt.datetime(2031, 3, 12, 15, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=4)


def blocked(rule: str, retry_at: dt.datetime | None) -> Verdict:
    return Verdict(False, rule, "blocked", retry_at)


@pytest.mark.parametrize(
    ("rule", "retry_at", "previous", "status", "next_at"),
    [
        ("dnc:internal", None, "new", "dnc", None),
        ("dnc:us-national-dnc", None, "retry", "dnc", None),
        ("campaign:max_attempts", None, "retry", "exhausted", None),
        ("us-federal:hours", LATER, "new", "new", LATER),
        ("co-ley-2300:cap_number", LATER, "retry", "retry", LATER),
        ("retry_delay", LATER, "retry", "retry", LATER),
        ("location:unknown", None, "new", "new", NOW + NO_RETRY_HOLD),
        ("packs:none", None, "retry", "retry", NOW + NO_RETRY_HOLD),
    ],
)
def test_blocked_disposition_by_rule(rule, retry_at, previous, status, next_at):
    hold = blocked_disposition(blocked(rule, retry_at), previous, NOW)

    assert hold.status == status
    assert hold.next_attempt_at == next_at


def status(abandoned: int, live: int) -> AbandonmentStatus:
    next_rate = 100.0 * (abandoned + 1) / (live + 1)
    rate = round(100.0 * abandoned / live, 2) if live else None
    return AbandonmentStatus(live, abandoned, rate, NOW, NOW, next_rate > 3.0)


def runtime(mode: str) -> CampaignRuntime:
    campaign = store.Campaign(
        id=4, tenant_id=1, name="c", dial_mode=mode, queue_name="q@default", caller_id_name="n",
        ring_timeout_s=30, machine_action="hangup", voicemail_file="", safe_harbor_file="", max_attempts=3,
        trunk_id=1, dial_string_template=None, gateway="gw", max_channels=10, calls_per_second=5,
        abandon_target_pct=Decimal("2.5"),
    )
    return CampaignRuntime.start(campaign)


def test_predictive_forced_progressive_at_limit():
    running = runtime("predictive")

    running.update_compliance(None, None, status(abandoned=3, live=100))

    assert running.settings.mode == PacingMode.PREDICTIVE
    assert running.pacing_settings.mode == PacingMode.PROGRESSIVE
    assert "3.00 %" in running.forced_progressive


def test_predictive_kept_below_limit():
    running = runtime("predictive")

    running.update_compliance(None, None, status(abandoned=2, live=100))

    assert running.forced_progressive is None
    assert running.pacing_settings.mode == PacingMode.PREDICTIVE


def test_forced_progressive_ends_when_rate_falls():
    running = runtime("predictive")
    running.update_compliance(None, None, status(abandoned=3, live=100))

    running.update_compliance(None, None, status(abandoned=3, live=200))

    assert running.forced_progressive is None
    assert running.pacing_settings.mode == PacingMode.PREDICTIVE


def test_preview_not_forced():
    settings = runtime("preview").settings

    assert progressive_reason(settings, status(abandoned=5, live=10)) is None
