-- Keys an app's producers sign their Kafka records with (notifications.submitted,
-- notifications.cancel_requested), sealed like signing keys; ingest learns them from apps.changed.
CREATE TABLE intake_keys (
    key_id     uuid        PRIMARY KEY,
    app_id     text        NOT NULL REFERENCES apps,
    sealed     bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX intake_keys_app ON intake_keys (app_id);
