"""The orchestrator daemon: switches, events, campaigns and live counters.

Greenlets, each with its own database connection:

- the event loop applies switch events in stream order, in batches, and
  ends attempts whose events stopped (the sweep);
- the dial loop asks each campaign's pacer for dials and sends originates;
- the refresh loop re-reads running campaigns, DIDs and agents and
  provisions mod_callcenter on the switches;
- the flush loop writes changed agents and the Redis counters.
"""

from __future__ import annotations

import logging
import time

import gevent
import gevent.event
import gevent.queue
import psycopg2
import redis

from dialer_common import db
from dialer_common.config import Config
from dialer_common.live import CampaignCounters, LiveCounters
from dialer_common.phone import mask
from orchestrator import store
from orchestrator.agents import AgentBoard, AgentInfo
from orchestrator.calls import CallEnd, CallTracker, StateChange
from orchestrator.campaigns import CampaignRuntime, check_campaign, choose_dids, place_dials
from orchestrator.esl_client import EslClient
from orchestrator.pacing import DialState
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


class Orchestrator:
    """Runs every greenlet of the daemon until :meth:`stop`."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.tracker = CallTracker()
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
        self.campaigns: dict[int, CampaignRuntime] = {}
        self.down_since: dict[str, float] = {name: time.monotonic() for name in self.clients}
        # (switch, campaign_id) pairs whose queue and agents are on the switch.
        self.provisioned: set[tuple[str, int]] = set()
        self.provisioned_agents: set[tuple[str, str]] = set()
        self._provisioning: set[tuple[str, int]] = set()
        self.redis = redis.Redis.from_url(config.redis_url)
        self.live = LiveCounters(self.redis, config.redis_prefix)
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
        log.info("orchestrator.start switches=%s", ",".join(self.clients))
        self._end_stale_attempts()
        for client in self.clients.values():
            client.start()
        for loop in (self._event_loop, self._dial_loop, self._refresh_loop, self._flush_loop):
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
        for switch_name, event in batch:
            try:
                if event.subclass == "callcenter::info":
                    self.board.handle(switch_name, event)
                changes += self.tracker.handle(event, now_s)
            except Exception:
                log.exception(
                    "event.failed switch=%s event=%s call_uuid=%s job_uuid=%s",
                    switch_name, event.name, event.uuid, event.get("Job-UUID"),
                )
        return changes

    def _store_changes(self, conn, changes: list) -> None:
        try:
            with db.transaction(conn) as cur:
                for change in changes:
                    if isinstance(change, StateChange):
                        store.apply_state_change(cur, change)
                    else:
                        store.apply_call_end(cur, change)
        except psycopg2.Error as error:
            # TODO: keep the batch and retry it; today a database outage loses these updates.
            log.error("attempts.store_failed changes=%d error=%s", len(changes), error)
            raise
        for change in changes:
            if isinstance(change, CallEnd):
                self._log_end(change)

    @staticmethod
    def _log_end(end: CallEnd) -> None:
        log.info(
            "call.ended call_uuid=%s campaign_id=%s outcome=%s cause=%s number=%s",
            end.attempt.id, end.attempt.campaign_id, end.outcome, end.hangup_cause, mask(end.attempt.phone_e164),
        )

    # -- dialing ------------------------------------------------------------------

    def _dial_loop(self, conn) -> None:
        while not self.stopping.is_set():
            self._dial_tick(conn)
            self.stopping.wait(DIAL_TICK_S)

    def _dial_tick(self, conn) -> None:
        counts = self.tracker.counts()
        trunk_calls: dict[int | None, int] = {}
        for attempt in self.tracker.attempts.values():
            trunk_calls[attempt.trunk_id] = trunk_calls.get(attempt.trunk_id, 0) + 1
        now_s = time.monotonic()
        for runtime in list(self.campaigns.values()):
            if runtime.problem:
                continue
            campaign = runtime.campaign
            for switch_name, client in self.clients.items():
                if self.stopping.is_set():
                    return
                if not client.connected or (switch_name, campaign.id) not in self.provisioned:
                    continue
                per_state = counts.get((campaign.id, switch_name), {})
                in_flight = per_state.get("pending", 0) + per_state.get("ringing", 0) + per_state.get("answered", 0)
                free_lines = runtime.max_channels - trunk_calls.get(campaign.trunk_id, 0)
                state = DialState(
                    campaign_id=campaign.id,
                    available_agents=self.board.available(campaign.id, switch_name),
                    dials_in_flight=in_flight,
                    max_lines=free_lines,
                    now_s=now_s,
                )
                dials = min(runtime.pacer.dials_to_place(state), runtime.rate_budget(now_s))
                if dials <= 0:
                    continue
                sent = place_dials(conn, client, self.tracker, runtime, switch_name, dials)
                runtime.spend(sent)
                trunk_calls[campaign.trunk_id] = trunk_calls.get(campaign.trunk_id, 0) + sent
                if sent:
                    log.info(
                        "dial.placed campaign_id=%s switch=%s dials=%d available=%d in_flight=%d",
                        campaign.id, switch_name, sent, state.available_agents, in_flight,
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
        running = {row.id for row in rows}
        for campaign_id in set(self.campaigns) - running:
            log.info("campaign.stopped_dialing campaign_id=%s", campaign_id)
            del self.campaigns[campaign_id]
        for row in rows:
            self._refresh_campaign(row, dids[row.tenant_id], agents[row.id])

    def _refresh_campaign(self, row: store.Campaign, did_rows: list[dict], agent_rows: list[dict]) -> None:
        runtime = self.campaigns.get(row.id)
        if runtime is None:
            runtime = self.campaigns[row.id] = CampaignRuntime.start(row)
            log.info("campaign.dialing campaign_id=%s tenant_id=%s dial_mode=%s", row.id, row.tenant_id, row.dial_mode)
        else:
            runtime.update(row)
        runtime.dids = choose_dids(did_rows, row.trunk_id)
        problem = check_campaign(runtime)
        if problem != runtime.problem and problem:
            log.error("campaign.cannot_dial campaign_id=%s tenant_id=%s reason=%s", row.id, row.tenant_id, problem)
        runtime.problem = problem

        missing: dict[str, list[dict]] = {}
        for agent_row in agent_rows:
            switch_name = agent_row["switch_name"] if agent_row["switch_name"] in self.clients else self.default_switch
            self.board.register(AgentInfo(
                name=agent_row["name"], tenant_id=row.tenant_id, campaign_id=row.id, switch_name=switch_name,
                status=agent_row["status"], state=agent_row["state"],
            ))
            if (switch_name, agent_row["name"]) not in self.provisioned_agents:
                missing.setdefault(switch_name, []).append(agent_row)
        for switch_name, client in self.clients.items():
            key = (switch_name, row.id)
            if client.connected and key not in self._provisioning and (
                missing.get(switch_name) or key not in self.provisioned
            ):
                self._provisioning.add(key)
                gevent.spawn(self._provision, client, row, missing.get(switch_name, []))

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
        dirty = self.board.take_dirty()
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
            self.live.write(runtime.campaign.tenant_id, campaign_id, counters)
            self._last_counters[campaign_id] = (counters, now_s)
