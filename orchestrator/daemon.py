"""The orchestrator daemon: switches, events, campaigns and live counters.

Greenlets, each with its own database connection:

- the event loop applies switch events in stream order, in batches, and
  ends attempts whose events stopped (the sweep);
- the dial loop builds each driven campaign's PacingState, asks its pacer
  for dials, stores the decisions that changed in ``pacing_log``, passes the
  claimed leads through the compliance gate and sends the allowed originates;
- the refresh loop re-reads running campaigns, DIDs and agents, re-reads the
  pacing settings, compliance rules, packs, abandonment status and lead
  counts, and provisions mod_callcenter on the switches for the campaigns
  this orchestrator drives;
- the lease loop renews this orchestrator's campaign leases every second and
  takes the leases of running campaigns nobody holds;
- the flush loop writes changed agents and this orchestrator's contribution
  to the Redis counters.

Several orchestrators may run against the same switches. Each campaign is
driven by the holder of its lease (orchestrator.lease); the others follow
its agents and keep the events of its calls, so whoever takes the lease over
adopts the calls in flight without losing or re-dialing one.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import os
import socket
import time
from dataclasses import dataclass

import gevent
import gevent.event
import gevent.queue
import psycopg2
import redis

from dialer_common import db
from dialer_common.compliance import (
    CampaignRules,
    ComplianceGate,
    PackSet,
    PgDncLookup,
    PgEvidence,
    RedisFrequencyCaps,
    abandonment_status,
    load_campaign_rules,
    tenant_packs,
)
from dialer_common.compliance.gate import DEFAULT_RETRY_DELAYS_S
from dialer_common.config import Config
from dialer_common.errors import ValidationError
from dialer_common.live import CampaignCounters, LiveCounters
from dialer_common.phone import mask
from orchestrator import store
from orchestrator.agents import AgentBoard, AgentInfo
from orchestrator.calls import LOST_CAUSE, Attempt, CallEnd, CallTracker, StateChange
from orchestrator.campaigns import CampaignRuntime, check_campaign, choose_dids, note_lead_supply, place_dials
from orchestrator.esl_client import EslClient, EslError
from orchestrator.lease import DEFAULT_RENEW_S, LeaseManager
from orchestrator.pacing_state import OUTCOME_WINDOW_S, build_pacing_state, split_dials
from orchestrator.predictive import AbandonmentCounts, PacingMode, PacingSettingError
from orchestrator.provision import provision_campaign

log = logging.getLogger(__name__)

EVENTS = (
    "CHANNEL_CREATE", "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA", "CHANNEL_ANSWER", "CHANNEL_BRIDGE",
    "CHANNEL_UNBRIDGE", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "BACKGROUND_JOB", "HEARTBEAT",
    "CUSTOM", "callcenter::info",
)
DIAL_TICK_S = 0.2
REFRESH_S = 3.0
FLUSH_S = 0.25
SWEEP_S = 5.0
# Counters are rewritten at least this often even when unchanged, so the hash keeps its TTL.
COUNTERS_REFRESH_S = 5.0
# Attempts on a disconnected switch are ended as failed after this long, unless it reconnects.
SWITCH_LOST_GRACE_S = 60.0
# Attempts left open by an earlier run are ended after this long, in seconds.
STALE_ATTEMPT_S = 4 * 3600
EVENT_BATCH = 500
SHUTDOWN_WAIT_S = 2.0
# How often the rolling 30-day abandonment counts are re-read, in seconds.
ROLLING_REFRESH_S = 60.0


def default_orchestrator_id() -> str:
    """Return ``<hostname>-<pid>``, unique among the orchestrators of one deployment."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class TakeOver:
    """Queued to the event loop when this orchestrator starts driving a campaign."""

    runtime: CampaignRuntime
    attempts: list[Attempt]


@dataclass(frozen=True)
class EndMissing:
    """Queued to the event loop: adopted attempts whose channel the switch no longer has."""

    switch_name: str
    attempt_ids: list[str]


# Adopted calls are checked against the switch's channel list this long after
# a takeover. The list is read from the core database, which lags the events,
# so only an attempt sent at least RECONCILE_MIN_AGE_S ago counts as gone.
RECONCILE_DELAY_S = 3.0
RECONCILE_MIN_AGE_S = 15.0


def channel_uuids(show_channels_json: str) -> set[str] | None:
    """Return the channel UUIDs in a ``show channels as json`` reply, or None if it is not one."""
    try:
        listing = json.loads(show_channels_json)
    except ValueError:
        return None
    if not isinstance(listing, dict) or "row_count" not in listing:
        return None
    return {row.get("uuid") for row in listing.get("rows", []) if isinstance(row, dict)}


class Orchestrator:
    """Runs every greenlet of the daemon until :meth:`stop`."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.orchestrator_id = config.orchestrator_id or default_orchestrator_id()
        self.tracker = CallTracker(owned_campaigns=set())
        self.board = AgentBoard()
        self.events: gevent.queue.Queue = gevent.queue.Queue()
        self.clients = {
            switch.name: EslClient(
                switch, EVENTS, on_event=self._event_callback(switch.name),
                on_connect=self._on_connect, on_disconnect=self._on_disconnect,
            )
            for switch in config.switches
        }
        self.default_switch = config.switches[0].name if config.switches else ""
        # Campaigns this orchestrator drives (holds the lease of and has taken over).
        self.campaigns: dict[int, CampaignRuntime] = {}
        # Every running campaign with its DIDs and agents, as the last refresh read them.
        self.running: dict[int, store.Campaign] = {}
        self.running_dids: dict[int, list[dict]] = {}
        self.running_agents: dict[int, list[dict]] = {}
        self._rolling_read_s: dict[int, float] = {}
        self.down_since: dict[str, float] = {name: time.monotonic() for name in self.clients}
        # (switch, campaign_id) pairs whose queue and agents are on the switch.
        self.provisioned: set[tuple[str, int]] = set()
        self.provisioned_agents: set[tuple[str, str]] = set()
        self._provisioning: set[tuple[str, int]] = set()
        self.redis = redis.Redis.from_url(config.redis_url)
        self.live = LiveCounters(self.redis, config.redis_prefix)
        self.leases = LeaseManager(self.redis, config.redis_prefix, self.orchestrator_id)
        # Compliance: shipped packs read once, caps shared by every orchestrator through Redis.
        self.shipped_packs = PackSet.load()
        self.caps = RedisFrequencyCaps(self.redis, config.redis_prefix)
        # Set by the dial loop: DNC lookups and evidence rows go through its second connection.
        self._gate_backends: tuple[PgDncLookup, PgEvidence] | None = None
        # Last compliance rules read per campaign, kept after a campaign is dropped for its calls still up.
        self._rules: dict[int, CampaignRules] = {}
        self._last_counters: dict[int, tuple[CampaignCounters, float]] = {}
        self.stopping = gevent.event.Event()
        self._greenlets: list[gevent.Greenlet] = []

    # -- switch callbacks (run in the client's greenlets) ---------------------

    def _event_callback(self, switch_name: str):
        def on_event(event) -> None:
            self.events.put((switch_name, event))
        return on_event

    def _on_connect(self, client: EslClient) -> None:
        name = client.address.name
        self.down_since.pop(name, None)
        log.info("switch.up switch=%s", name)

    def _on_disconnect(self, client: EslClient, reason: str) -> None:
        name = client.address.name
        self.down_since[name] = time.monotonic()
        self.provisioned = {pair for pair in self.provisioned if pair[0] != name}
        self.provisioned_agents = {pair for pair in self.provisioned_agents if pair[0] != name}
        log.warning("switch.down switch=%s reason=%s", name, reason)

    # -- lifecycle --------------------------------------------------------------

    def run(self) -> None:
        """Start the switches and loops; return after :meth:`stop` once they are closed."""
        log.info("orchestrator.start orchestrator_id=%s switches=%s", self.orchestrator_id, ",".join(self.clients))
        if self.config.compliance_clock_offset_s:
            log.warning("compliance.clock_offset offset_s=%d: calling windows follow a shifted clock",
                        self.config.compliance_clock_offset_s)
        self._end_stale_attempts()
        for client in self.clients.values():
            client.start()
        loops = (self._event_loop, self._dial_loop, self._refresh_loop, self._lease_loop, self._flush_loop)
        for loop in loops:
            self._greenlets.append(gevent.spawn(self._guarded, loop))
        self.stopping.wait()
        self._shutdown()

    def stop(self) -> None:
        """Ask the daemon to stop: no new dials, then a brief wait for events, then close."""
        if not self.stopping.is_set():
            log.info("orchestrator.stopping calls_in_flight=%d", len(self.tracker.attempts))
            self.stopping.set()

    def _shutdown(self) -> None:
        deadline = time.monotonic() + SHUTDOWN_WAIT_S
        while not self.events.empty() and time.monotonic() < deadline:
            gevent.sleep(0.05)
        gevent.killall(self._greenlets, timeout=SHUTDOWN_WAIT_S)
        conn = db.connect(self.config.database_url)
        try:
            self._flush_once(conn)
        finally:
            conn.close()
        for client in self.clients.values():
            client.stop()
        for campaign_id in list(self.campaigns):
            self._drop_campaign(campaign_id, "orchestrator stopping")
        self.leases.release_all()
        self.redis.close()
        log.info("orchestrator.stopped calls_in_flight=%d", len(self.tracker.attempts))

    def _guarded(self, loop) -> None:
        """Run a loop; restart it after an unexpected error so one bad tick never stops the daemon."""
        while not self.stopping.is_set():
            conn = None
            try:
                conn = db.connect(self.config.database_url)
                loop(conn)
            except gevent.GreenletExit:
                raise
            except Exception:
                log.exception("loop.failed loop=%s", loop.__name__)
                self.stopping.wait(1.0)
            finally:
                if conn is not None:
                    conn.close()

    def _end_stale_attempts(self) -> None:
        conn = db.connect(self.config.database_url)
        try:
            with db.transaction(conn) as cur:
                ended = store.end_stale_attempts(cur, STALE_ATTEMPT_S)
        finally:
            conn.close()
        if ended:
            log.warning("attempts.stale_ended count=%d", ended)

    # -- events -------------------------------------------------------------------

    def _event_loop(self, conn) -> None:
        next_sweep = time.monotonic() + SWEEP_S
        while True:
            batch = []
            try:
                batch.append(self.events.get(timeout=0.5))
                while len(batch) < EVENT_BATCH:
                    batch.append(self.events.get_nowait())
            except gevent.queue.Empty:
                pass
            changes = self._apply_events(batch)
            now_s = time.monotonic()
            if now_s >= next_sweep:
                changes += self.tracker.sweep(now_s, self.down_since, SWITCH_LOST_GRACE_S)
                next_sweep = now_s + SWEEP_S
            if changes:
                self._store_changes(conn, changes)

    def _apply_events(self, batch) -> list:
        changes: list = []
        now_s = time.monotonic()
        for item in batch:
            if isinstance(item, TakeOver):
                changes += self._take_over(item, now_s)
                continue
            if isinstance(item, EndMissing):
                changes += self._end_missing(item)
                continue
            switch_name, event = item
            try:
                if event.subclass == "callcenter::info":
                    self.board.handle(switch_name, event)
                changes += self.tracker.handle(event, now_s)
            except Exception:
                log.exception(
                    "event.failed switch=%s event=%s call_uuid=%s job_uuid=%s",
                    switch_name, event.name, event.uuid, event.get("Job-UUID"),
                )
        for transition in self.board.take_transitions():
            runtime = self.campaigns.get(transition.campaign_id)
            if runtime is not None:
                runtime.observe_agent(transition)
        return changes

    def _take_over(self, item: TakeOver, now_s: float) -> list:
        """Start driving a campaign in event order: events queued before this item were kept for replay."""
        campaign = item.runtime.campaign
        if not self.leases.holds(campaign.id):
            log.warning("campaign.takeover_abandoned campaign_id=%s reason=lease lost", campaign.id)
            return []
        self.campaigns[campaign.id] = item.runtime
        changes = self.tracker.take_over(campaign.id, item.attempts, now_s)
        if item.attempts:
            gevent.spawn(self._reconcile_adopted, [attempt.id for attempt in item.attempts])
        log.info(
            "campaign.taken_over campaign_id=%s tenant_id=%s orchestrator_id=%s calls_adopted=%d events_replayed=%d",
            campaign.id, campaign.tenant_id, self.orchestrator_id, len(item.attempts), len(changes),
        )
        return changes

    def _reconcile_adopted(self, attempt_ids: list[str]) -> None:
        """End adopted calls the switch no longer has, e.g. left by an orchestrator that died.

        A call that ended while no orchestrator followed its switch would
        otherwise count as a line out until the silence sweep, hours later,
        and keep the campaign from dialing.
        """
        gevent.sleep(RECONCILE_DELAY_S)
        by_switch: dict[str, list[str]] = {}
        now_s = time.monotonic()
        for attempt_id in attempt_ids:
            attempt = self.tracker.attempts.get(attempt_id)
            if attempt is not None and now_s - attempt.sent_s >= RECONCILE_MIN_AGE_S:
                by_switch.setdefault(attempt.switch_name, []).append(attempt_id)
        for switch_name, ids in by_switch.items():
            client = self.clients.get(switch_name)
            if client is None or not client.connected:
                continue
            try:
                uuids = channel_uuids(client.api("show channels as json"))
            except EslError as error:
                log.warning("reconcile.failed switch=%s error=%s", switch_name, error)
                continue
            if uuids is None:
                log.warning("reconcile.unreadable switch=%s: the channel list is not JSON", switch_name)
                continue
            missing = [attempt_id for attempt_id in ids if attempt_id not in uuids]
            if missing:
                self.events.put(EndMissing(switch_name, missing))

    def _end_missing(self, item: EndMissing) -> list:
        changes = []
        for attempt_id in item.attempt_ids:
            end = self.tracker.fail(attempt_id, LOST_CAUSE)
            if end is not None:
                changes.append(end)
        if changes:
            log.warning("reconcile.ended switch=%s attempts=%d: adopted calls the switch no longer has",
                        item.switch_name, len(changes))
        return changes

    def _store_changes(self, conn, changes: list) -> None:
        ends: list[tuple[CallEnd, int]] = []
        try:
            with db.transaction(conn) as cur:
                for change in changes:
                    if isinstance(change, StateChange):
                        store.apply_state_change(cur, change)
                        continue
                    delay_s = self._retry_delay_s(change)
                    if store.apply_call_end(cur, change, delay_s):
                        ends.append((change, delay_s))
        except psycopg2.Error as error:
            # TODO: keep the batch and retry it; today a database outage loses these updates.
            log.error("attempts.store_failed changes=%d error=%s", len(changes), error)
            raise
        self._set_retry_delays(ends)
        now_s = time.monotonic()
        for change in changes:
            if isinstance(change, CallEnd):
                self._log_end(change)
                runtime = self.campaigns.get(change.attempt.campaign_id)
                if runtime is not None:
                    runtime.observe_end(change, now_s)

    def _retry_delay_s(self, end: CallEnd) -> int:
        """Return the seconds before the lead may be dialed again, from its campaign's compliance rules."""
        rules = self._rules.get(end.attempt.campaign_id)
        if rules is not None:
            return rules.retry_delay_s(end.outcome)
        return int(DEFAULT_RETRY_DELAYS_S.get(end.outcome, 0))

    def _set_retry_delays(self, ends: list[tuple[CallEnd, int]]) -> None:
        """Store each ended attempt's retry delay in Redis, where the gate checks it on every dial."""
        for end, delay_s in ends:
            attempt = end.attempt
            try:
                self.caps.set_retry_delay(attempt.tenant_id, attempt.lead_id, delay_s)
            except redis.RedisError as error:
                # The lead's next_attempt_at in PostgreSQL still holds it back.
                log.warning(
                    "compliance.retry_delay_failed call_uuid=%s lead_id=%s delay_s=%d error=%s",
                    attempt.id, attempt.lead_id, delay_s, error,
                )

    @staticmethod
    def _log_end(end: CallEnd) -> None:
        log.info(
            "call.ended call_uuid=%s campaign_id=%s outcome=%s cause=%s number=%s",
            end.attempt.id, end.attempt.campaign_id, end.outcome, end.hangup_cause, mask(end.attempt.phone_e164),
        )

    # -- dialing ------------------------------------------------------------------

    def _dial_loop(self, conn) -> None:
        gate_conn = db.connect(self.config.database_url)
        try:
            self._gate_backends = (PgDncLookup(gate_conn), PgEvidence(gate_conn))
            while not self.stopping.is_set():
                self._dial_tick(conn)
                self.stopping.wait(DIAL_TICK_S)
        finally:
            self._gate_backends = None
            gate_conn.close()

    def _gate(self, runtime: CampaignRuntime) -> ComplianceGate | None:
        """Return a gate with the campaign's tenant packs, or None before the dial loop or the packs are ready."""
        if self._gate_backends is None or runtime.packs is None:
            return None
        dnc, evidence = self._gate_backends
        return ComplianceGate(runtime.packs, self.caps, dnc, clock=self._gate_clock, evidence=evidence)

    def _gate_clock(self) -> datetime.datetime:
        """Return the UTC time the compliance gate decides at: now, plus the configured offset."""
        now = datetime.datetime.now(datetime.UTC)
        return now + datetime.timedelta(seconds=self.config.compliance_clock_offset_s)

    def _dial_tick(self, conn) -> None:
        trunk_calls: dict[int | None, int] = {}
        per_campaign: dict[int, list[Attempt]] = {}
        for attempt in self.tracker.attempts.values():
            trunk_calls[attempt.trunk_id] = trunk_calls.get(attempt.trunk_id, 0) + 1
            per_campaign.setdefault(attempt.campaign_id, []).append(attempt)
        for runtime in list(self.campaigns.values()):
            if self.stopping.is_set():
                return
            campaign = runtime.campaign
            if runtime.problem or not self.leases.holds(campaign.id):
                continue
            switches = [
                name for name, client in self.clients.items()
                if client.connected and (name, campaign.id) in self.provisioned
            ]
            if not switches:
                continue
            sent = self._dial_campaign(conn, runtime, switches, per_campaign.get(campaign.id, []), trunk_calls)
            trunk_calls[campaign.trunk_id] = trunk_calls.get(campaign.trunk_id, 0) + sent

    def _dial_campaign(self, conn, runtime: CampaignRuntime, switches: list[str], attempts, trunk_calls) -> int:
        """Decide one campaign's dials for this tick, log the decision if it changed, and place them."""
        campaign = runtime.campaign
        now_s = time.monotonic()
        state = build_pacing_state(
            now_s, runtime.pacing_settings, self.board.campaign_agents(campaign.id), attempts,
            runtime.stats, runtime.leads_remaining,
        )
        decision = runtime.pacer.decide(state)
        if runtime.forced_progressive and decision.mode == PacingMode.PROGRESSIVE:
            decision = dataclasses.replace(decision, reason=runtime.forced_progressive)
        if runtime.log_gate.should_write(decision, now_s):
            self._store_decision(conn, runtime, decision)
        free_lines = runtime.max_channels - trunk_calls.get(campaign.trunk_id, 0)
        dials = min(decision.dials, free_lines, runtime.rate_budget(now_s))
        gate = self._gate(runtime)
        if dials <= 0 or gate is None or runtime.rules is None:
            return 0
        capacities = {name: self.board.available(campaign.id, name) for name in switches}
        sent = 0
        for switch_name, count in split_dials(dials, capacities).items():
            placed = place_dials(conn, self.clients[switch_name], self.tracker, runtime, switch_name, count, gate)
            sent += placed
            if placed:
                log.info(
                    "dial.placed campaign_id=%s switch=%s dials=%d mode=%s dial_level=%.2f available=%d lines_out=%d",
                    campaign.id, switch_name, placed, decision.mode.value, decision.dial_level,
                    state.agents_available, state.lines_out,
                )
        runtime.spend(sent)
        if runtime.leads_remaining is not None:
            runtime.leads_remaining = max(0, runtime.leads_remaining - sent)
        return sent

    def _store_decision(self, conn, runtime: CampaignRuntime, decision) -> None:
        campaign = runtime.campaign
        record = decision.to_record()
        record["orchestrator_id"] = self.orchestrator_id
        with db.transaction(conn) as cur:
            store.insert_pacing_log(cur, campaign.tenant_id, campaign.id, record)
        log.info(
            "pacing.decision campaign_id=%s mode=%s dial_level=%.3f multiplier=%.3f throttled=%s dials=%d reason=%s",
            campaign.id, decision.mode.value, decision.dial_level, decision.multiplier, decision.throttled,
            decision.dials, decision.reason,
        )

    # -- campaigns and agents -------------------------------------------------------

    def _refresh_loop(self, conn) -> None:
        while not self.stopping.is_set():
            self._refresh(conn)
            self.stopping.wait(REFRESH_S)

    def _refresh(self, conn) -> None:
        with db.transaction(conn) as cur:
            rows = store.load_running_campaigns(cur)
            dids = {tenant_id: store.load_dids(cur, tenant_id) for tenant_id in {row.tenant_id for row in rows}}
            agents = {row.id: store.load_agents(cur, row.tenant_id, row.id) for row in rows}
        self.running = {row.id: row for row in rows}
        self.running_dids = {row.id: dids[row.tenant_id] for row in rows}
        self.running_agents = agents
        for campaign_id in set(self.campaigns) - set(self.running):
            self._drop_campaign(campaign_id, "campaign no longer running")
            self.leases.release(campaign_id)
        packs: dict[int, PackSet] = {}
        for row in rows:
            self._register_agents(row, agents[row.id])
            runtime = self.campaigns.get(row.id)
            if runtime is not None:
                runtime.update(row)
                self._refresh_campaign(runtime)
                self._refresh_compliance(conn, runtime, packs)
                self._refresh_counts(conn, runtime)

    def _refresh_compliance(self, conn, runtime: CampaignRuntime, packs: dict[int, PackSet]) -> None:
        """Re-read a campaign's compliance rules, its tenant's packs (once per pass) and its abandonment rate.

        A campaign whose rules cannot be read keeps the last ones read; one
        that never had them does not dial.
        """
        campaign = runtime.campaign
        try:
            with conn:
                if campaign.tenant_id not in packs:
                    packs[campaign.tenant_id] = tenant_packs(conn, campaign.tenant_id, self.shipped_packs)
                rules = load_campaign_rules(conn, campaign.tenant_id, campaign.id)
                status = abandonment_status(conn, campaign.tenant_id, campaign.id)
        except ValidationError as error:
            log.error("compliance.rules_invalid campaign_id=%s tenant_id=%s error=%s",
                      campaign.id, campaign.tenant_id, error)
            return
        runtime.update_compliance(rules, packs[campaign.tenant_id], status)
        self._rules[campaign.id] = rules

    def _register_agents(self, row: store.Campaign, agent_rows: list[dict]) -> None:
        """Put a running campaign's agents on the board, driven or not, so a takeover starts from their state."""
        for agent_row in agent_rows:
            self.board.register(AgentInfo(
                name=agent_row["name"], tenant_id=row.tenant_id, campaign_id=row.id,
                switch_name=self._agent_switch(agent_row), status=agent_row["status"], state=agent_row["state"],
            ))

    def _agent_switch(self, agent_row: dict) -> str:
        return agent_row["switch_name"] if agent_row["switch_name"] in self.clients else self.default_switch

    def _refresh_counts(self, conn, runtime: CampaignRuntime) -> None:
        """Re-read the dialable leads, and the 30-day abandonment counts once a minute."""
        campaign = runtime.campaign
        now_s = time.monotonic()
        with db.transaction(conn) as cur:
            runtime.leads_remaining = store.count_dialable_leads(
                cur, campaign.tenant_id, campaign.id, campaign.max_attempts
            )
            if now_s - self._rolling_read_s.get(campaign.id, 0.0) >= ROLLING_REFRESH_S:
                abandoned, live = store.load_abandonment_30_days(cur, campaign.tenant_id, campaign.id)
                runtime.stats.set_rolling(AbandonmentCounts(abandoned=abandoned, live=live))
                self._rolling_read_s[campaign.id] = now_s
        note_lead_supply(runtime, runtime.leads_remaining > 0)

    def _refresh_campaign(self, runtime: CampaignRuntime) -> None:
        row = runtime.campaign
        runtime.dids = choose_dids(self.running_dids.get(row.id, []), row.trunk_id)
        problem = check_campaign(runtime)
        if problem != runtime.problem and problem:
            log.error("campaign.cannot_dial campaign_id=%s tenant_id=%s reason=%s", row.id, row.tenant_id, problem)
        runtime.problem = problem

        missing: dict[str, list[dict]] = {}
        for agent_row in self.running_agents.get(row.id, []):
            switch_name = self._agent_switch(agent_row)
            if (switch_name, agent_row["name"]) not in self.provisioned_agents:
                missing.setdefault(switch_name, []).append(agent_row)
        for switch_name, client in self.clients.items():
            key = (switch_name, row.id)
            if client.connected and key not in self._provisioning and (
                missing.get(switch_name) or key not in self.provisioned
            ):
                self._provisioning.add(key)
                gevent.spawn(self._provision, client, row, missing.get(switch_name, []))

    # -- leases ------------------------------------------------------------------------

    def _lease_loop(self, conn) -> None:
        while not self.stopping.is_set():
            self._lease_tick(conn)
            self.stopping.wait(DEFAULT_RENEW_S)

    def _lease_tick(self, conn) -> None:
        """Renew the held leases, drop the lost ones, and take free leases of running campaigns."""
        for campaign_id in self.leases.held_campaigns():
            if not self.leases.renew(campaign_id):
                self._drop_campaign(campaign_id, "lease lost")
        for campaign_id, row in list(self.running.items()):
            if self.stopping.is_set():
                return
            if campaign_id in self.campaigns or self.leases.holds(campaign_id):
                continue
            try:
                taken = self.leases.acquire(campaign_id)
            except redis.RedisError as error:
                log.warning("lease.acquire_failed campaign_id=%s error=%s", campaign_id, error)
                return
            if taken:
                self._start_campaign(conn, row)

    def _start_campaign(self, conn, row: store.Campaign) -> None:
        """Load what a newly leased campaign needs and queue its takeover to the event loop."""
        try:
            runtime = CampaignRuntime.start(row)
        except (PacingSettingError, ValueError) as error:
            log.error("campaign.invalid_pacing_settings campaign_id=%s tenant_id=%s error=%s", row.id, row.tenant_id, error)
            self.leases.release(row.id)
            return
        now_s = time.monotonic()
        with db.transaction(conn) as cur:
            in_flight = store.load_in_flight_attempts(cur, row.tenant_id, row.id)
            recent = store.load_recent_outcomes(cur, row.tenant_id, row.id, max(OUTCOME_WINDOW_S, row.short_window_s))
            abandoned, live = store.load_abandonment_30_days(cur, row.tenant_id, row.id)
        runtime.stats.seed((now_s - item["age_s"], item["outcome"]) for item in recent)
        runtime.stats.set_rolling(AbandonmentCounts(abandoned=abandoned, live=live))
        self._rolling_read_s[row.id] = now_s
        attempts = [self._attempt_from_row(row, item, now_s) for item in in_flight]
        log.info(
            "lease.acquired campaign_id=%s tenant_id=%s orchestrator_id=%s dial_mode=%s calls_in_flight=%d",
            row.id, row.tenant_id, self.orchestrator_id, row.dial_mode, len(attempts),
        )
        self._refresh_campaign(runtime)
        self._refresh_compliance(conn, runtime, {})
        self.events.put(TakeOver(runtime, attempts))

    def _attempt_from_row(self, campaign: store.Campaign, row: dict, now_s: float) -> Attempt:
        # NOTE: a holder killed between inserting an attempt and sending its
        # originate leaves a pending row with no channel; the sweep ends it as
        # failed only after the ring timeout plus PENDING_GRACE_S.
        sent_s = now_s - float(row["age_s"])
        return Attempt(
            id=row["id"], tenant_id=campaign.tenant_id, campaign_id=campaign.id, lead_id=row["lead_id"],
            switch_name=row["switch_name"] or self.default_switch, phone_e164=row["phone_e164"],
            job_uuid=row["job_uuid"], trunk_id=row["trunk_id"], ring_timeout_s=campaign.ring_timeout_s,
            state=row["state"], channel_seen=row["state"] != "pending", answered_at=row["answered_at"],
            bridged_at=row["bridged_at"], agent_name=row["agent_name"], sent_s=sent_s, last_event_s=now_s,
        )

    def _drop_campaign(self, campaign_id: int, reason: str) -> None:
        """Stop dialing a campaign at once; its calls already tracked are followed until they end."""
        runtime = self.campaigns.pop(campaign_id, None)
        self.tracker.give_up(campaign_id)
        self.provisioned = {pair for pair in self.provisioned if pair[1] != campaign_id}
        self._last_counters.pop(campaign_id, None)
        if runtime is None:
            return
        log.warning("campaign.stopped_dialing campaign_id=%s orchestrator_id=%s reason=%s",
                    campaign_id, self.orchestrator_id, reason)
        try:
            self.live.withdraw(runtime.campaign.tenant_id, campaign_id, self.orchestrator_id)
        except redis.RedisError as error:
            log.warning("counters.withdraw_failed campaign_id=%s error=%s", campaign_id, error)

    def _provision(self, client: EslClient, campaign: store.Campaign, agent_rows: list[dict]) -> None:
        key = (client.address.name, campaign.id)
        try:
            provision_campaign(client, self.board, client.address.name, campaign.queue_name, agent_rows)
            self.provisioned.add(key)
            self.provisioned_agents.update((client.address.name, row["name"]) for row in agent_rows)
        finally:
            self._provisioning.discard(key)

    # -- flushing -------------------------------------------------------------------

    def _flush_loop(self, conn) -> None:
        while not self.stopping.is_set():
            self._flush_once(conn)
            self.stopping.wait(FLUSH_S)

    def _flush_once(self, conn) -> None:
        dirty = [agent for agent in self.board.take_dirty() if agent.campaign_id in self.campaigns]
        if dirty:
            with db.transaction(conn) as cur:
                store.write_agents(cur, dirty)
            for agent in dirty:
                self.live.publish_agent(agent.tenant_id, agent.campaign_id, agent.name, agent.status, agent.state)
        self._write_counters()

    def _write_counters(self) -> None:
        per_campaign: dict[int, dict[str, int]] = {}
        for (campaign_id, _switch), per_state in self.tracker.counts().items():
            totals = per_campaign.setdefault(campaign_id, {"dialing": 0, "ringing": 0, "talking": 0})
            totals["dialing"] += per_state["pending"]
            totals["ringing"] += per_state["ringing"] + per_state["answered"]
            totals["talking"] += per_state["bridged"]
        agent_counts = self.board.campaign_counts()
        now_s = time.monotonic()
        for campaign_id, runtime in list(self.campaigns.items()):
            totals = per_campaign.get(campaign_id, {})
            available, logged_in = agent_counts.get(campaign_id, (0, 0))
            counters = CampaignCounters(
                dialing=totals.get("dialing", 0), ringing=totals.get("ringing", 0),
                talking=totals.get("talking", 0), agents_available=available, agents_logged_in=logged_in,
            )
            last = self._last_counters.get(campaign_id)
            if last and last[0] == counters and now_s - last[1] < COUNTERS_REFRESH_S:
                continue
            self.live.contribute(runtime.campaign.tenant_id, campaign_id, self.orchestrator_id, counters)
            self._last_counters[campaign_id] = (counters, now_s)
