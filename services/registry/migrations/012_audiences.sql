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
