-- Compliance: each campaign's rule packs and purpose, do-not-call lists,
-- and the evidence of every dial the compliance gate blocked.
-- depends: 0001.initial-schema

-- The campaign's purpose decides which packs and registries apply
-- (Regulation F only to collections, REPEP only to telemarketing).
-- compliance_packs lists rule pack ids from dialer_common/compliance/packs;
-- retry_delays_s maps an attempt outcome to seconds before the next dial.
ALTER TABLE campaigns
    ADD COLUMN compliance_purpose text NOT NULL DEFAULT 'telemarketing'
        CHECK (compliance_purpose IN ('telemarketing', 'collections')),
    ADD COLUMN compliance_packs text[] NOT NULL DEFAULT ARRAY[
        'us-federal', 'us-fl', 'us-ok', 'us-md', 'us-al', 'us-la', 'us-ms', 'us-ri', 'us-ut',
        'us-debt-collection'],
    ADD COLUMN retry_delays_s jsonb NOT NULL DEFAULT '{}'::jsonb;

-- A tenant's stricter version of a rule pack (TOML text, validated to only
-- narrow the shipped pack before it is stored).
CREATE TABLE compliance_pack_overrides (
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    pack_id     text NOT NULL,
    body        text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, pack_id)
);

-- One row per uploaded registry copy, with the date the copy was taken.
CREATE TABLE dnc_lists (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    registry    text NOT NULL,
    list_date   date NOT NULL,
    file_name   text NOT NULL DEFAULT '',
    numbers     integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dnc_lists_tenant_registry_idx ON dnc_lists (tenant_id, registry, list_date);

-- registry is '' for the tenant's internal list.
CREATE TABLE dnc_numbers (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    phone_e164    text NOT NULL CHECK (phone_e164 ~ '^\+[1-9][0-9]{6,14}$'),
    registry      text NOT NULL DEFAULT '',
    effective_at  timestamptz NOT NULL DEFAULT now(),
    list_id       bigint REFERENCES dnc_lists(id) ON DELETE SET NULL,
    reason        text NOT NULL DEFAULT '',
    added_by      text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, phone_e164, registry)
);

-- Evidence: every dial the gate blocked, with the rule and pack version.
CREATE TABLE compliance_blocks (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL,
    campaign_id   bigint,
    lead_id       bigint,
    phone_e164    text NOT NULL,
    rule          text NOT NULL,
    reason        text NOT NULL,
    pack_version  text NOT NULL DEFAULT '',
    retry_at      timestamptz,
    blocked_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX compliance_blocks_tenant_time_idx ON compliance_blocks (tenant_id, blocked_at);
CREATE INDEX compliance_blocks_campaign_time_idx ON compliance_blocks (tenant_id, campaign_id, blocked_at);
