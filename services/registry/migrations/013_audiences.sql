-- Topics devices subscribe to. As with FCM, a subscription belongs to the device and stays when
-- its token moves to another user; a deleted device takes its subscriptions and tags with it.
CREATE TABLE topic_subscriptions (
    device_id     uuid        NOT NULL REFERENCES devices ON DELETE CASCADE,
    topic         text        NOT NULL,
    subscribed_at timestamptz NOT NULL,
    PRIMARY KEY (device_id, topic)
);

-- Tags the app sets on its devices and users ({"tier": "gold"}); segments match them with @>.
CREATE TABLE device_tags (
    device_id  uuid        PRIMARY KEY REFERENCES devices ON DELETE CASCADE,
    tags       jsonb       NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE user_tags (
    app_id     text        NOT NULL,
    user_id    text        NOT NULL,
    tags       jsonb       NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, user_id)
);

-- Streaming an audience pages through an app's active devices in (user, device) order.
CREATE INDEX devices_active_by_user ON devices (app_id, user_id, device_id) WHERE active;

-- How far each notification's audience has been streamed: the last user id published, and when
-- it was all out. A stream cut short resumes after that user; a finished one is not run again.
CREATE TABLE audience_streams (
    notification_id uuid        PRIMARY KEY,
    app_id          text        NOT NULL,
    after_user_id   text        NOT NULL,
    users           bigint      NOT NULL,
    devices         bigint      NOT NULL,
    updated_at      timestamptz NOT NULL,
    finished_at     timestamptz
);
CREATE INDEX audience_streams_finished_at ON audience_streams (finished_at);
