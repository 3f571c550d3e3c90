-- A copy the user's category opt-out or the category's frequency cap withheld ends 'withheld'.
ALTER TABLE held DROP CONSTRAINT held_state_check;
ALTER TABLE held ADD CONSTRAINT held_state_check
    CHECK (state IN ('held', 'released', 'expired', 'cancelled', 'withheld'));

-- The user's choice per category ({"marketing": false}), from users.preferences.
ALTER TABLE user_preferences ADD COLUMN categories jsonb NOT NULL DEFAULT '{}';

-- Pushes counted against frequency caps: one row per notification a user got in a capped
-- category, written in the release transaction that sends it, so a copy released again after a
-- crash is either counted with its release or not at all, and never twice (the primary key).
CREATE TABLE frequency_counts (
    app_id          text        NOT NULL,
    category_id     text        NOT NULL,
    user_id         text        NOT NULL,
    notification_id uuid        NOT NULL,
    counted_at      timestamptz NOT NULL,
    PRIMARY KEY (app_id, category_id, user_id, notification_id)
);
-- The window query: a user's pushes of a category since a moment; retention deletes by age.
CREATE INDEX frequency_counts_window ON frequency_counts (app_id, category_id, user_id, counted_at);
CREATE INDEX frequency_counts_age ON frequency_counts (counted_at);
