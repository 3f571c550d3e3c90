-- Badge changes waiting to go out as one merged sync push per user, and what went out last.
CREATE TABLE pending_syncs (
    app_id          text        NOT NULL,
    user_id         text        NOT NULL,
    badge           integer     NOT NULL CHECK (badge >= 0),
    badge_seq       bigint      NOT NULL,
    read_ids        uuid[]      NOT NULL,
    read_up_to      timestamptz,
    all_read        boolean     NOT NULL,
    only_reporter   uuid,
    mixed_reporters boolean     NOT NULL,
    first_change_at timestamptz NOT NULL,
    flush_at        timestamptz NOT NULL,
    PRIMARY KEY (app_id, user_id)
);
CREATE INDEX pending_syncs_due ON pending_syncs (flush_at);

CREATE TABLE sent_syncs (
    app_id    text   NOT NULL,
    user_id   text   NOT NULL,
    badge_seq bigint NOT NULL,
    PRIMARY KEY (app_id, user_id)
);

-- APNs background pushes sent per device in the current hour (Apple throttles them).
CREATE TABLE wake_budget (
    device_id    uuid        PRIMARY KEY,
    window_start timestamptz NOT NULL,
    sent         integer     NOT NULL CHECK (sent >= 0)
);
