-- Topics users subscribe to. A topic send reaches every active device of a subscribed user,
-- including devices registered after the subscription; unlike a device's, the subscription stays
-- with the user whatever happens to their devices.
CREATE TABLE user_topic_subscriptions (
    app_id        text        NOT NULL,
    user_id       text        NOT NULL,
    topic         text        NOT NULL,
    subscribed_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, user_id, topic)
);
