-- Reads. A user's badge is now tracked (delivered, counted, not yet read) + baseline (a number a
-- sender set explicitly); read_up_to is the newest watermark a device reported.
ALTER TABLE badges RENAME COLUMN unread TO tracked;
ALTER TABLE badges
    ADD COLUMN baseline integer NOT NULL DEFAULT 0
        CONSTRAINT baseline_never_negative CHECK (baseline >= 0),
    ADD COLUMN baseline_set_at timestamptz,
    ADD COLUMN read_up_to timestamptz;

-- read_at: when the user read it (NULL while unread). suppressed: it was read before it came due,
-- so it was never pushed.
-- due_at: when it came due; read watermarks compare against it.
ALTER TABLE counted
    ADD COLUMN read_at timestamptz,
    ADD COLUMN suppressed boolean NOT NULL DEFAULT false,
    ADD COLUMN due_at timestamptz;
UPDATE counted SET due_at = counted_at;
ALTER TABLE counted ALTER COLUMN due_at SET NOT NULL;
CREATE INDEX counted_unread ON counted (app_id, user_id, due_at) WHERE read_at IS NULL;

-- Every notification a device named as read, kept even when it has not arrived yet, so it is
-- never pushed once it does.
CREATE TABLE reads_by_id (
    app_id          text        NOT NULL,
    user_id         text        NOT NULL,
    notification_id uuid        NOT NULL,
    read_at         timestamptz NOT NULL,
    PRIMARY KEY (app_id, user_id, notification_id)
);

-- Read reports already applied, with the badge change they produced (if any), so a redelivered
-- report changes nothing and re-publishes the same change.
CREATE TABLE applied_reports (
    event_id   uuid        PRIMARY KEY,
    app_id     text        NOT NULL,
    user_id    text        NOT NULL,
    change     bytea,
    applied_at timestamptz NOT NULL
);
