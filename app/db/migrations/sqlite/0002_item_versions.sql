-- Raised by every update: the item's ETag (app/http/conditional.py).
ALTER TABLE items ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
