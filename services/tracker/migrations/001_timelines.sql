-- Every step reported on notifications.trace, once (the event id is the key), as the event itself:
-- counts and timelines are derived from this set when asked, so repeats and arrival order cannot
-- change them. user_id is NULL for the notification-level step (accepted).
CREATE TABLE steps (
    event_id        uuid        PRIMARY KEY,
    app_id          text        NOT NULL,
    notification_id uuid        NOT NULL,
    user_id         text,
    stage           text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    step            jsonb       NOT NULL
);
CREATE INDEX steps_of_notification ON steps (app_id, notification_id, user_id);

-- When each notification was last active: its newest step, or the later time a step said it
-- waits for (a hold's release, a retry). Retention counts from here, so a notification held for
-- longer than the retention keeps its accepted step (and content) until it is done.
CREATE TABLE notifications (
    app_id          text        NOT NULL,
    notification_id uuid        NOT NULL,
    active_until    timestamptz NOT NULL,
    PRIMARY KEY (app_id, notification_id)
);
CREATE INDEX notifications_active_until ON notifications (active_until);

-- Each user's share of a notification's counts (services/tracker/domain.py, Tally), recomputed
-- from the user's steps whenever one arrives: a notification's counts are a sum over its users.
CREATE TABLE user_tallies (
    app_id            text    NOT NULL,
    notification_id   uuid    NOT NULL,
    user_id           text    NOT NULL,
    settled           integer NOT NULL,
    waiting           integer NOT NULL,
    devices_expected  integer NOT NULL,
    held              integer NOT NULL,
    released          integer NOT NULL,
    expired           integer NOT NULL,
    cancelled         integer NOT NULL,
    no_device         integer NOT NULL,
    sent              integer NOT NULL,
    delivered         integer NOT NULL,
    token_deactivated integer NOT NULL,
    opened            integer NOT NULL,
    failed            jsonb   NOT NULL,
    withheld          jsonb   NOT NULL,
    PRIMARY KEY (app_id, notification_id, user_id)
);

-- A user's inbox: each notification that reached them (was counted on their badge), with the
-- earliest time any step says it did.
CREATE TABLE inbox (
    app_id          text        NOT NULL,
    user_id         text        NOT NULL,
    notification_id uuid        NOT NULL,
    reached_at      timestamptz NOT NULL,
    PRIMARY KEY (app_id, user_id, notification_id)
);
CREATE INDEX inbox_newest ON inbox (app_id, user_id, reached_at DESC, notification_id DESC);
CREATE INDEX inbox_reached_at ON inbox (reached_at);

-- What badges.changed says a user read: by id (kept even before the notification reaches the
-- inbox), and the newest "everything up to" watermark per user.
CREATE TABLE reads (
    app_id          text        NOT NULL,
    user_id         text        NOT NULL,
    notification_id uuid        NOT NULL,
    read_at         timestamptz NOT NULL,
    PRIMARY KEY (app_id, user_id, notification_id)
);
CREATE INDEX reads_read_at ON reads (read_at);

CREATE TABLE read_marks (
    app_id     text        NOT NULL,
    user_id    text        NOT NULL,
    read_up_to timestamptz NOT NULL,
    changed_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, user_id)
);
CREATE INDEX read_marks_changed_at ON read_marks (changed_at);
