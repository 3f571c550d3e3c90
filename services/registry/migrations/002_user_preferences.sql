-- Each user's delivery preferences, as set through the API. `revision` grows with every change
-- and travels with the users.preferences event, so a consumer keeps the newest it has seen.
CREATE TABLE user_preferences (
    app_id      text        NOT NULL,
    user_id     text        NOT NULL,
    revision    bigint      NOT NULL CHECK (revision >= 1),
    time_zone   text,
    quiet_start time,
    quiet_end   time,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (app_id, user_id),
    CONSTRAINT quiet_window CHECK ((quiet_start IS NULL) = (quiet_end IS NULL)),
    CONSTRAINT quiet_needs_zone CHECK (quiet_start IS NULL OR time_zone IS NOT NULL)
);
