-- expand-only
-- The item's ETag (app/http/conditional.py), raised by the database itself on every update: a release that
-- predates the column (mid-rollout, or rolled back to) still changes the version of what it changes.
ALTER TABLE items ADD COLUMN version bigint NOT NULL DEFAULT 1;
CREATE OR REPLACE FUNCTION items_next_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$;
CREATE TRIGGER items_version BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION items_next_version();
