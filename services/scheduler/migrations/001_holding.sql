-- Every user's copy of a notification, from its arrival until retention ends. A copy is 'held'
-- until the release loop settles it: 'released' (published as due), 'expired' (reported, never
-- sent) or 'cancelled'. The loop claims held rows with FOR UPDATE SKIP LOCKED and keeps the lock
-- while it publishes, so replicas never settle the same copy at once and a replica that dies
-- mid-release leaves the row held for another to take.
CREATE TABLE held (
    event_id        uuid        PRIMARY KEY,
    arrival         bigint      GENERATED ALWAYS AS IDENTITY,
    app_id          text        NOT NULL,
    notification_id uuid        NOT NULL,
    user_id         text        NOT NULL,
    event           jsonb       NOT NULL,
    target_at       timestamptz NOT NULL,
    release_at      timestamptz NOT NULL,
    deadline        timestamptz,
    act_at          timestamptz NOT NULL,
    pace_offset     interval    NOT NULL DEFAULT '0',
    state           text        NOT NULL
        CHECK (state IN ('held', 'released', 'expired', 'cancelled')),
    received_at     timestamptz NOT NULL,
    ended_at        timestamptz,
    CONSTRAINT ended_when_settled CHECK ((state = 'held') = (ended_at IS NULL))
);

-- The release loop's work list: held copies by the time to act on them, then arrival order.
CREATE INDEX held_due ON held (act_at, arrival) WHERE state = 'held';
-- A cancel finds and counts every copy of a notification.
CREATE INDEX held_by_notification ON held (app_id, notification_id);
-- A preference change re-plans the user's held copies.
CREATE INDEX held_by_user ON held (app_id, user_id) WHERE state = 'held';
-- Retention deletes settled copies by age.
CREATE INDEX held_settled ON held (ended_at) WHERE state <> 'held';

-- One row per notification the scheduler has heard of. Intake locks it FOR SHARE and a cancel
-- locks it for update, so a copy taken in while a cancel runs is either cancelled by it or sees
-- it; cancelled_at also drops copies that arrive after the cancel.
CREATE TABLE notifications (
    app_id          text        NOT NULL,
    notification_id uuid        NOT NULL,
    first_seen_at   timestamptz NOT NULL,
    cancelled_at    timestamptz,
    PRIMARY KEY (app_id, notification_id)
);

-- Pacing: the next free slot for a notification's copies planned at the same instant. Slot n goes
-- out n / rate minutes after that instant.
CREATE TABLE pacing (
    app_id          text        NOT NULL,
    notification_id uuid        NOT NULL,
    base_at         timestamptz NOT NULL,
    next_slot       bigint      NOT NULL CHECK (next_slot >= 0),
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (app_id, notification_id, base_at)
);

-- The scheduler's copy of users' preferences, from the registry's users.preferences topic.
CREATE TABLE user_preferences (
    app_id      text        NOT NULL,
    user_id     text        NOT NULL,
    revision    bigint      NOT NULL,
    time_zone   text,
    quiet_start time,
    quiet_end   time,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (app_id, user_id),
    CONSTRAINT quiet_window CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);
