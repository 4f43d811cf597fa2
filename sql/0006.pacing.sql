-- Pacing settings per campaign and the log of every dial-level decision,
-- so a supervisor can see why the dial level moved.
-- depends: 0001.initial-schema

ALTER TABLE campaigns
    ADD COLUMN max_lines_per_agent numeric(4, 2) NOT NULL DEFAULT 5
        CHECK (max_lines_per_agent BETWEEN 1 AND 10),
    ADD COLUMN min_dial_level numeric(4, 2) NOT NULL DEFAULT 1
        CHECK (min_dial_level BETWEEN 1 AND 10),
    ADD COLUMN max_dial_level numeric(4, 2) NOT NULL DEFAULT 5
        CHECK (max_dial_level BETWEEN 1 AND 10),
    ADD COLUMN short_window_s integer NOT NULL DEFAULT 900
        CHECK (short_window_s BETWEEN 60 AND 3600),
    ADD CONSTRAINT campaigns_dial_level_order CHECK (min_dial_level <= max_dial_level);

CREATE TABLE pacing_log (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    campaign_id   bigint NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- The mode in force for this decision: progressive while auto-protection
    -- holds a predictive campaign back.
    mode          text NOT NULL,
    dial_level    numeric(6, 3) NOT NULL,
    multiplier    numeric(6, 3) NOT NULL,
    throttled     boolean NOT NULL,
    reason        text NOT NULL,
    -- Everything the decision was computed from (agents, calls, rates, windows).
    inputs        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX pacing_log_campaign_time_idx ON pacing_log (tenant_id, campaign_id, created_at);
