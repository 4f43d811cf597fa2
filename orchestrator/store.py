"""PostgreSQL reads and writes of the orchestrator.

Every statement that touches one tenant's rows is filtered by ``tenant_id``.
Two daemon-wide statements read across tenants on purpose: the running
campaigns and the stale attempts of an earlier run. The functions take a
cursor, so the caller decides the transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

import psycopg2.extras

from orchestrator.calls import Attempt, CallEnd, StateChange
from orchestrator.outcomes import lead_disposition

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Campaign:
    """A running campaign with its enabled trunk (trunk fields are None without one)."""

    id: int
    tenant_id: int
    name: str
    dial_mode: str
    queue_name: str
    caller_id_name: str
    ring_timeout_s: int
    machine_action: str
    voicemail_file: str
    safe_harbor_file: str
    max_attempts: int
    trunk_id: int | None
    dial_string_template: str | None
    gateway: str | None
    max_channels: int | None
    calls_per_second: int | None
    # Pacing settings; percentages and levels as the campaigns table keeps them.
    abandon_target_pct: Decimal = Decimal("2.5")
    max_lines_per_agent: Decimal = Decimal("5")
    min_dial_level: Decimal = Decimal("1")
    max_dial_level: Decimal = Decimal("5")
    short_window_s: int = 900


_CAMPAIGNS_SQL = """
SELECT c.id, c.tenant_id, c.name, c.dial_mode, c.queue_name, c.caller_id_name, c.ring_timeout_s,
       c.machine_action, c.voicemail_file, c.safe_harbor_file, c.max_attempts,
       c.abandon_target_pct, c.max_lines_per_agent, c.min_dial_level, c.max_dial_level, c.short_window_s,
       t.id AS trunk_id, t.dial_string_template, t.gateway, t.max_channels, t.calls_per_second
  FROM campaigns c
  LEFT JOIN trunks t ON t.id = c.trunk_id AND t.tenant_id = c.tenant_id AND t.enabled
 WHERE c.status = 'running'
 ORDER BY c.tenant_id, c.id
"""


def load_running_campaigns(cur) -> list[Campaign]:
    """Return every running campaign of every tenant."""
    cur.execute(_CAMPAIGNS_SQL)
    return [Campaign(**row) for row in cur.fetchall()]


def load_dids(cur, tenant_id: int) -> list[dict]:
    """Return a tenant's enabled DIDs as ``{number, trunk_id}`` rows, oldest first."""
    cur.execute(
        "SELECT number, trunk_id FROM dids WHERE tenant_id = %s AND enabled ORDER BY id", (tenant_id,)
    )
    return cur.fetchall()


def load_agents(cur, tenant_id: int, campaign_id: int) -> list[dict]:
    """Return the agents assigned to a campaign."""
    cur.execute(
        "SELECT name, agent_type, contact, status, state, switch_name FROM agents"
        " WHERE tenant_id = %s AND campaign_id = %s ORDER BY id",
        (tenant_id, campaign_id),
    )
    return cur.fetchall()


# A CTE runs the locking SELECT exactly once. Written as ``id IN (SELECT ... LIMIT n)``
# the planner may run the subquery again per row and claim more than n leads.
_CLAIM_SQL = """
WITH picked AS (
    SELECT id, status FROM leads
     WHERE tenant_id = %(tenant_id)s AND campaign_id = %(campaign_id)s
       AND status IN ('new', 'retry')
       AND (next_attempt_at IS NULL OR next_attempt_at <= now())
       AND attempts_count < %(max_attempts)s
     ORDER BY next_attempt_at NULLS FIRST, id
     LIMIT %(limit)s
     FOR UPDATE SKIP LOCKED
)
UPDATE leads l SET status = 'dialing', updated_at = now()
  FROM picked
 WHERE l.id = picked.id AND l.tenant_id = %(tenant_id)s
RETURNING l.id, l.phone_e164, l.state_code, l.postal_code, l.timezone, l.external_id, l.extra,
          picked.status AS previous_status
"""


def claim_leads(cur, tenant_id: int, campaign_id: int, max_attempts: int, limit: int) -> list[dict]:
    """Mark up to ``limit`` dialable leads as dialing and return them.

    Each row has the columns the compliance gate reads (``LeadInfo.from_row``)
    and ``previous_status``, the status before the claim.

    ``SKIP LOCKED`` lets several orchestrators claim from one campaign
    without waiting for each other or claiming a lead twice.
    """
    if limit <= 0:
        return []
    params = {"tenant_id": tenant_id, "campaign_id": campaign_id, "max_attempts": max_attempts, "limit": limit}
    cur.execute(_CLAIM_SQL, params)
    return cur.fetchall()


def release_lead(cur, tenant_id: int, lead_id: int) -> None:
    """Return a claimed lead that was not dialled to the dialable leads."""
    cur.execute(
        "UPDATE leads SET status = 'retry', updated_at = now()"
        " WHERE tenant_id = %s AND id = %s AND status = 'dialing'",
        (tenant_id, lead_id),
    )


def hold_blocked_lead(cur, tenant_id: int, lead_id: int, status: str, next_attempt_at) -> None:
    """Take a claimed lead the compliance gate blocked out of ``dialing``, without counting a try."""
    cur.execute(
        "UPDATE leads SET status = %s, next_attempt_at = %s, updated_at = now()"
        " WHERE tenant_id = %s AND id = %s AND status = 'dialing'",
        (status, next_attempt_at, tenant_id, lead_id),
    )


def insert_attempt(cur, attempt: Attempt, trunk_id: int | None, did: str | None) -> None:
    """Insert an attempt row in state ``pending`` before its originate is sent."""
    cur.execute(
        "INSERT INTO attempts (id, tenant_id, campaign_id, lead_id, trunk_id, did, phone_e164,"
        " switch_name, job_uuid, state) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending')",
        (attempt.id, attempt.tenant_id, attempt.campaign_id, attempt.lead_id, trunk_id, did,
         attempt.phone_e164, attempt.switch_name, attempt.job_uuid),
    )


_STATE_COLUMNS = {"ringing": None, "answered": "answered_at", "bridged": "bridged_at"}


def apply_state_change(cur, change: StateChange) -> None:
    """Store an attempt's move to ringing, answered or bridged."""
    attempt = change.attempt
    column = _STATE_COLUMNS[change.state]
    moment = f", {column} = %(at)s" if column else ""
    agent = ", agent_name = COALESCE(%(agent)s, agent_name)" if change.state == "bridged" else ""
    cur.execute(
        f"UPDATE attempts SET state = %(state)s{moment}{agent}"
        " WHERE id = %(id)s AND tenant_id = %(tenant_id)s AND state <> 'ended'",
        {"state": change.state, "at": change.at, "agent": attempt.agent_name,
         "id": attempt.id, "tenant_id": attempt.tenant_id},
    )


_END_ATTEMPT_SQL = """
UPDATE attempts SET state = 'ended', outcome = %(outcome)s, ended_at = %(ended_at)s,
       answered_at = COALESCE(answered_at, %(answered_at)s), bridged_at = COALESCE(bridged_at, %(bridged_at)s),
       hangup_cause = %(hangup_cause)s, sip_status = %(sip_status)s, billsec = %(billsec)s,
       amd_result = %(amd_result)s, live = %(live)s, abandoned = %(abandoned)s,
       safe_harbor_played = %(safe_harbor_played)s, agent_name = COALESCE(%(agent_name)s, agent_name)
 WHERE id = %(id)s AND tenant_id = %(tenant_id)s AND state <> 'ended'
"""

# A lead someone set to dnc (or otherwise took away) while it was dialled keeps its status.
_UPDATE_LEAD_SQL = """
UPDATE leads l SET
       attempts_count = l.attempts_count + 1,
       last_attempt_at = %(ended_at)s,
       status = CASE
                  WHEN l.status <> 'dialing' THEN l.status
                  WHEN %(status)s = 'retry' AND l.attempts_count + 1 >= c.max_attempts THEN 'exhausted'
                  ELSE %(status)s
                END,
       next_attempt_at = CASE WHEN %(status)s = 'retry'
                              THEN now() + make_interval(secs => %(delay_s)s) END,
       updated_at = now()
  FROM campaigns c
 WHERE l.id = %(lead_id)s AND l.tenant_id = %(tenant_id)s
   AND c.id = l.campaign_id AND c.tenant_id = l.tenant_id
"""


def apply_call_end(cur, end: CallEnd, retry_delay_s: int | None = None) -> bool:
    """Store an attempt's end and update its lead; return False when the attempt had already ended.

    ``retry_delay_s`` replaces the default delay before a lead to retry is
    dialed again (the campaign's compliance retry delay for the outcome).
    """
    attempt = end.attempt
    cur.execute(
        _END_ATTEMPT_SQL,
        {"outcome": end.outcome, "ended_at": end.ended_at, "answered_at": end.answered_at,
         "bridged_at": end.bridged_at, "hangup_cause": end.hangup_cause, "sip_status": end.sip_status,
         "billsec": end.billsec, "amd_result": end.amd_result, "live": end.live,
         "abandoned": end.abandoned, "safe_harbor_played": end.safe_harbor_played,
         "agent_name": end.agent_name, "id": attempt.id, "tenant_id": attempt.tenant_id},
    )
    if cur.rowcount == 0:
        return False
    disposition = lead_disposition(end.outcome, end.hangup_cause)
    delay_s = disposition.retry_delay_s if retry_delay_s is None else retry_delay_s
    cur.execute(
        _UPDATE_LEAD_SQL,
        {"ended_at": end.ended_at, "status": disposition.status, "delay_s": delay_s,
         "lead_id": attempt.lead_id, "tenant_id": attempt.tenant_id},
    )
    return True


def write_agents(cur, agents) -> None:
    """Store the status, state and switch of many agents in one statement."""
    if not agents:
        return
    psycopg2.extras.execute_values(
        cur,
        "UPDATE agents a SET status = v.status, state = v.state, switch_name = v.switch_name,"
        " updated_at = now()"
        " FROM (VALUES %s) AS v(tenant_id, name, status, state, switch_name)"
        " WHERE a.tenant_id = v.tenant_id AND a.name = v.name",
        [(agent.tenant_id, agent.name, agent.status, agent.state, agent.switch_name) for agent in agents],
    )


def end_stale_attempts(cur, older_than_s: int) -> int:
    """End as failed the attempts left open by an earlier run, and free their leads; return how many."""
    cur.execute(
        "UPDATE attempts SET state = 'ended', outcome = 'failed', hangup_cause = 'DIALER_EVENTS_LOST',"
        " ended_at = now()"
        " WHERE state <> 'ended' AND created_at < now() - make_interval(secs => %s)"
        " RETURNING tenant_id, lead_id",
        (older_than_s,),
    )
    rows = cur.fetchall()
    for row in rows:
        release_lead(cur, row["tenant_id"], row["lead_id"])
    return len(rows)


def end_unsent_attempt(cur, attempt: Attempt) -> None:
    """End an attempt whose originate never reached the switch, and free its lead without counting a try."""
    cur.execute(
        "UPDATE attempts SET state = 'ended', outcome = 'failed', hangup_cause = 'ORIGINATE_NOT_SENT',"
        " ended_at = now() WHERE id = %s AND tenant_id = %s AND state <> 'ended'",
        (attempt.id, attempt.tenant_id),
    )
    release_lead(cur, attempt.tenant_id, attempt.lead_id)


def load_in_flight_attempts(cur, tenant_id: int, campaign_id: int) -> list[dict]:
    """Return a campaign's attempts that have not ended, with their age in seconds, oldest first."""
    cur.execute(
        "SELECT id::text AS id, lead_id, phone_e164, switch_name, job_uuid::text AS job_uuid, trunk_id, state,"
        " answered_at, bridged_at, agent_name, EXTRACT(EPOCH FROM now() - created_at)::float8 AS age_s"
        " FROM attempts WHERE tenant_id = %s AND campaign_id = %s AND state <> 'ended'"
        " ORDER BY created_at",
        (tenant_id, campaign_id),
    )
    return cur.fetchall()


def load_recent_outcomes(cur, tenant_id: int, campaign_id: int, window_s: float) -> list[dict]:
    """Return the outcomes of a campaign's attempts ended in the last ``window_s`` seconds, oldest first.

    Each row has ``outcome`` and ``age_s``, the seconds since the attempt ended.
    """
    cur.execute(
        "SELECT outcome, EXTRACT(EPOCH FROM now() - ended_at)::float8 AS age_s FROM attempts"
        " WHERE tenant_id = %s AND campaign_id = %s AND state = 'ended' AND outcome IS NOT NULL"
        " AND ended_at > now() - make_interval(secs => %s)"
        " AND created_at > now() - make_interval(secs => %s) - interval '1 day'"
        " ORDER BY ended_at",
        (tenant_id, campaign_id, window_s, window_s),
    )
    return cur.fetchall()


def load_abandonment_30_days(cur, tenant_id: int, campaign_id: int) -> tuple[int, int]:
    """Return ``(abandoned, live answers)`` of a campaign's attempts over the rolling 30 days.

    Live answers are the outcomes ``live_bridged`` and ``abandoned``; machine
    answers count in neither.
    """
    cur.execute(
        "SELECT count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned,"
        " count(*) FILTER (WHERE outcome IN ('live_bridged', 'abandoned')) AS live"
        " FROM attempts WHERE tenant_id = %s AND campaign_id = %s"
        " AND created_at > now() - interval '30 days'",
        (tenant_id, campaign_id),
    )
    row = cur.fetchone()
    return row["abandoned"], row["live"]


def count_dialable_leads(cur, tenant_id: int, campaign_id: int, max_attempts: int) -> int:
    """Return how many of a campaign's leads :func:`claim_leads` could claim now."""
    cur.execute(
        "SELECT count(*) AS dialable FROM leads WHERE tenant_id = %s AND campaign_id = %s"
        " AND status IN ('new', 'retry') AND (next_attempt_at IS NULL OR next_attempt_at <= now())"
        " AND attempts_count < %s",
        (tenant_id, campaign_id, max_attempts),
    )
    return cur.fetchone()["dialable"]


def insert_pacing_log(cur, tenant_id: int, campaign_id: int, record: dict) -> None:
    """Store one pacing decision; ``record`` is ``PacingDecision.to_record()`` plus any extra inputs."""
    inputs = {key: value for key, value in record.items() if key not in ("mode", "dial_level", "multiplier",
                                                                          "throttled", "reason")}
    cur.execute(
        "INSERT INTO pacing_log (tenant_id, campaign_id, mode, dial_level, multiplier, throttled, reason, inputs)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (tenant_id, campaign_id, record["mode"], min(record["dial_level"], 999.0), record["multiplier"],
         record["throttled"], record["reason"], psycopg2.extras.Json(inputs)),
    )
