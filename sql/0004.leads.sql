-- Lead import details per lead list: how many rows were new and how many
-- updated existing leads, and how the file was read, so support can tell a
-- re-import from a first import and spot a misread encoding.
-- depends: 0001.initial-schema

ALTER TABLE lead_lists
    ADD COLUMN rows_inserted integer NOT NULL DEFAULT 0,
    ADD COLUMN rows_updated  integer NOT NULL DEFAULT 0,
    ADD COLUMN encoding      text NOT NULL DEFAULT '',
    ADD COLUMN delimiter     text NOT NULL DEFAULT '',
    ADD COLUMN updated_at    timestamptz NOT NULL DEFAULT now();
