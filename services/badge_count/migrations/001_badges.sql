-- The unread count per user, never negative (the database enforces it, not only the code), with
-- a sequence number that grows with every change so clients can drop a stale badge.
CREATE TABLE badges (
    app_id     text        NOT NULL,
    user_id    text        NOT NULL,
    unread     integer     NOT NULL DEFAULT 0 CONSTRAINT unread_never_negative CHECK (unread >= 0),
    seq        bigint      NOT NULL DEFAULT 0 CHECK (seq >= 0),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, user_id)
);

-- Every notification counted for a user, with the badge it was given. A redelivered notification
-- finds its row and gets the same badge back instead of counting twice.
CREATE TABLE counted (
    app_id          text        NOT NULL,
    user_id         text        NOT NULL,
    notification_id uuid        NOT NULL,
    counts          boolean     NOT NULL,
    badge           integer,
    badge_seq       bigint,
    accepted_at     timestamptz NOT NULL,
    counted_at      timestamptz NOT NULL,
    PRIMARY KEY (app_id, user_id, notification_id)
);
