-- One row per (app, idempotency key): the first request's fingerprint and the notification it
-- became. published_at stays NULL until every per-user event is acknowledged by the broker, so a
-- retry after a crash re-publishes instead of trusting a half-finished first attempt.
CREATE TABLE submissions (
    app_id          text        NOT NULL,
    idempotency_key text        NOT NULL,
    fingerprint     bytea       NOT NULL,
    notification_id uuid        NOT NULL UNIQUE,
    recipients      integer     NOT NULL CHECK (recipients > 0),
    source          text        NOT NULL CHECK (source IN ('http', 'kafka')),
    accepted_at     timestamptz NOT NULL,
    published_at    timestamptz,
    PRIMARY KEY (app_id, idempotency_key)
);
