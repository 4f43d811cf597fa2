-- Initial schema: tenants, users, campaigns, leads, trunks, DIDs, agents,
-- attempts and CDRs (both partitioned by day), audit log.
-- Every row that belongs to a tenant carries tenant_id.

CREATE TABLE tenants (
    id          bigserial PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name        text NOT NULL,
    timezone    text NOT NULL DEFAULT 'America/New_York',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    tenant_id      bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email          text NOT NULL,
    password_hash  text NOT NULL,
    full_name      text NOT NULL DEFAULT '',
    role           text NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent', 'viewer')),
    locale         text NOT NULL DEFAULT 'es' CHECK (locale IN ('es', 'en')),
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_tenant_idx ON users (tenant_id);

CREATE TABLE trunks (
    id                    bigserial PRIMARY KEY,
    tenant_id             bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                  text NOT NULL,
    -- {gateway} and {number} are substituted; a trunk can point straight at
    -- a SIP address with e.g. 'sofia/external/{number}@10.0.0.5:5060'.
    dial_string_template  text NOT NULL DEFAULT 'sofia/gateway/{gateway}/{number}',
    gateway               text NOT NULL DEFAULT '',
    max_channels          integer NOT NULL DEFAULT 100 CHECK (max_channels > 0),
    calls_per_second      integer NOT NULL DEFAULT 10 CHECK (calls_per_second > 0),
    enabled               boolean NOT NULL DEFAULT true,
    created_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

CREATE TABLE dids (
    id           bigserial PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    number       text NOT NULL CHECK (number ~ '^\+[1-9][0-9]{6,14}$'),
    trunk_id     bigint REFERENCES trunks(id) ON DELETE SET NULL,
    state_code   text,
    daily_cap    integer NOT NULL DEFAULT 300 CHECK (daily_cap > 0),
    enabled      boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, number)
);

CREATE TABLE campaigns (
    id                   bigserial PRIMARY KEY,
    tenant_id            bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                 text NOT NULL,
    status               text NOT NULL DEFAULT 'draft'
                         CHECK (status IN ('draft', 'running', 'paused', 'stopped', 'finished')),
    dial_mode            text NOT NULL DEFAULT 'progressive'
                         CHECK (dial_mode IN ('preview', 'progressive', 'predictive')),
    trunk_id             bigint REFERENCES trunks(id) ON DELETE SET NULL,
    -- mod_callcenter queue, e.g. 'campaign-7@default'.
    queue_name           text NOT NULL,
    caller_id_name       text NOT NULL DEFAULT '',
    -- The FTC safe harbor needs at least 15 s (or 4 rings) before giving up.
    ring_timeout_s       integer NOT NULL DEFAULT 25 CHECK (ring_timeout_s BETWEEN 15 AND 120),
    machine_action       text NOT NULL DEFAULT 'hangup'
                         CHECK (machine_action IN ('hangup', 'voicemail_drop')),
    voicemail_file       text NOT NULL DEFAULT '',
    safe_harbor_file     text NOT NULL DEFAULT '',
    abandon_target_pct   numeric(4, 2) NOT NULL DEFAULT 2.5
                         CHECK (abandon_target_pct > 0 AND abandon_target_pct <= 3),
    max_attempts         integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 20),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);
CREATE INDEX campaigns_tenant_status_idx ON campaigns (tenant_id, status);

CREATE TABLE lead_lists (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    campaign_id   bigint NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    name          text NOT NULL,
    source_file   text NOT NULL DEFAULT '',
    rows_total    integer NOT NULL DEFAULT 0,
    rows_imported integer NOT NULL DEFAULT 0,
    rows_rejected integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, campaign_id, name)
);

CREATE TABLE leads (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    campaign_id      bigint NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    lead_list_id     bigint REFERENCES lead_lists(id) ON DELETE SET NULL,
    external_id      text,
    phone_e164       text NOT NULL CHECK (phone_e164 ~ '^\+[1-9][0-9]{6,14}$'),
    first_name       text NOT NULL DEFAULT '',
    last_name        text NOT NULL DEFAULT '',
    state_code       text,
    postal_code      text,
    timezone         text,
    extra            jsonb NOT NULL DEFAULT '{}'::jsonb,
    status           text NOT NULL DEFAULT 'new'
                     CHECK (status IN ('new', 'dialing', 'retry', 'done', 'failed', 'dnc', 'exhausted')),
    attempts_count   integer NOT NULL DEFAULT 0,
    last_attempt_at  timestamptz,
    next_attempt_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, campaign_id, phone_e164)
);
CREATE INDEX leads_dialable_idx ON leads (tenant_id, campaign_id, status, next_attempt_at, id);

CREATE TABLE agents (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    campaign_id   bigint REFERENCES campaigns(id) ON DELETE SET NULL,
    -- mod_callcenter agent name, e.g. '1001@default'.
    name          text NOT NULL,
    display_name  text NOT NULL DEFAULT '',
    agent_type    text NOT NULL DEFAULT 'uuid-standby' CHECK (agent_type IN ('callback', 'uuid-standby')),
    contact       text NOT NULL DEFAULT '',
    -- Spelled as mod_callcenter spells them.
    status        text NOT NULL DEFAULT 'Logged Out'
                  CHECK (status IN ('Logged Out', 'Available', 'Available (On Demand)', 'On Break')),
    state         text NOT NULL DEFAULT 'Waiting'
                  CHECK (state IN ('Waiting', 'Receiving', 'In a queue call', 'Idle', 'Reserved')),
    switch_name   text,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

-- One row per dial. id is the channel's origination_uuid.
CREATE TABLE attempts (
    id                  uuid NOT NULL,
    tenant_id           bigint NOT NULL,
    campaign_id         bigint NOT NULL,
    lead_id             bigint NOT NULL,
    trunk_id            bigint,
    did                 text,
    phone_e164          text NOT NULL,
    switch_name         text,
    job_uuid            uuid,
    created_at          timestamptz NOT NULL DEFAULT now(),
    answered_at         timestamptz,
    bridged_at          timestamptz,
    ended_at            timestamptz,
    -- pending, ringing, answered, bridged, then one final outcome:
    -- live_bridged, abandoned, machine, busy, no_answer, failed, rejected
    state               text NOT NULL DEFAULT 'pending',
    outcome             text,
    hangup_cause        text,
    sip_status          integer,
    amd_result          text,
    agent_name          text,
    live                boolean,
    abandoned           boolean,
    safe_harbor_played  boolean NOT NULL DEFAULT false,
    billsec             integer,
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX attempts_tenant_time_idx ON attempts (tenant_id, created_at);
CREATE INDEX attempts_campaign_time_idx ON attempts (tenant_id, campaign_id, created_at);
CREATE TABLE attempts_default PARTITION OF attempts DEFAULT;

-- One row per call leg posted by mod_json_cdr. Partitioned by the call's
-- start time, which is the same in every retry of one CDR, so the unique key
-- (call_uuid, leg, started_at) makes the ingest idempotent.
CREATE TABLE cdr (
    id                   bigserial,
    tenant_id            bigint NOT NULL,
    call_uuid            uuid NOT NULL,
    leg                  char(1) NOT NULL CHECK (leg IN ('a', 'b')),
    started_at           timestamptz NOT NULL,
    received_at          timestamptz NOT NULL DEFAULT now(),
    attempt_id           uuid,
    campaign_id          bigint,
    lead_id              bigint,
    switchname           text,
    direction            text,
    caller_id_number     text,
    destination_number   text,
    answered_at          timestamptz,
    ended_at             timestamptz,
    answered             boolean NOT NULL DEFAULT false,
    billsec              integer NOT NULL DEFAULT 0,
    duration             integer NOT NULL DEFAULT 0,
    pdd_ms               integer,
    hangup_cause         text,
    sip_status           integer,
    amd_result           text,
    live                 boolean,
    abandoned            boolean,
    safe_harbor_played   boolean NOT NULL DEFAULT false,
    safe_harbor_at       timestamptz,
    agent_name           text,
    trunk                text,
    did                  text,
    raw                  jsonb NOT NULL,
    PRIMARY KEY (id, started_at),
    UNIQUE (call_uuid, leg, started_at)
) PARTITION BY RANGE (started_at);
CREATE INDEX cdr_tenant_time_idx ON cdr (tenant_id, started_at);
CREATE INDEX cdr_tenant_received_idx ON cdr (tenant_id, received_at);
CREATE INDEX cdr_campaign_time_idx ON cdr (tenant_id, campaign_id, started_at);
CREATE INDEX cdr_attempt_idx ON cdr (attempt_id);
CREATE TABLE cdr_default PARTITION OF cdr DEFAULT;

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint REFERENCES tenants(id) ON DELETE CASCADE,
    user_id     bigint REFERENCES users(id) ON DELETE SET NULL,
    action      text NOT NULL,
    target      text NOT NULL DEFAULT '',
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_time_idx ON audit_log (tenant_id, created_at);

-- Create one daily partition per day in [day_from, day_from + days) for a
-- table partitioned by range on a timestamptz column. Rows already in the
-- default partition for those days are moved into the new partition.
CREATE FUNCTION dialer_ensure_daily_partitions(parent regclass, day_from date, days integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    d date;
    lo text;
    hi text;
    part text;
    created integer := 0;
    keycol text;
BEGIN
    SELECT a.attname INTO keycol
      FROM pg_partitioned_table p
      JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
     WHERE p.partrelid = parent;
    FOR i IN 0 .. days - 1 LOOP
        d := day_from + i;
        part := format('%s_%s', parent::text, to_char(d, 'YYYYMMDD'));
        -- Day boundaries are UTC, whatever the session time zone is.
        lo := d::text || ' 00:00:00+00';
        hi := (d + 1)::text || ' 00:00:00+00';
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TEMP TABLE dialer_moved ON COMMIT DROP AS '
                           'SELECT * FROM %s_default WHERE %I >= %L AND %I < %L',
                           parent::text, keycol, lo, keycol, hi);
            EXECUTE format('DELETE FROM %s_default WHERE %I >= %L AND %I < %L',
                           parent::text, keycol, lo, keycol, hi);
            EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                           part, parent::text, lo, hi);
            EXECUTE format('INSERT INTO %I SELECT * FROM dialer_moved', part);
            DROP TABLE dialer_moved;
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;

-- PERFORM instead of SELECT, so that applying the migration prints no rows.
DO $$
BEGIN
    PERFORM dialer_ensure_daily_partitions('attempts', (now() AT TIME ZONE 'UTC')::date - 1, 9);
    PERFORM dialer_ensure_daily_partitions('cdr', (now() AT TIME ZONE 'UTC')::date - 1, 9);
END $$;
