-- Where an app's notification outcomes are POSTed: an https URL, the trace stages it wants, and
-- the secret each POST is signed with, sealed like signing keys. They travel to the webhooks
-- service in the app's state (apps.changed); deleting one deletes its row.
CREATE TABLE webhooks (
    webhook_id uuid        PRIMARY KEY,
    app_id     text        NOT NULL REFERENCES apps,
    url        text        NOT NULL,
    stages     text[]      NOT NULL,
    sealed     bytea       NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX webhooks_app ON webhooks (app_id);
