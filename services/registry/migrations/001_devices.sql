-- One row per (app, platform, token): a token belongs to exactly one user of its app at a time.
CREATE TABLE devices (
    device_id uuid PRIMARY KEY,
    app_id text NOT NULL,
    user_id text NOT NULL,
    platform text NOT NULL CHECK (platform IN ('apns', 'fcm', 'webpush')),
    token text NOT NULL,
    locale text,
    time_zone text,
    app_version text,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    last_registered_at timestamptz NOT NULL,
    last_success_at timestamptz,
    deactivated_at timestamptz,
    deactivation_reason text,
    CONSTRAINT devices_token_unique UNIQUE (app_id, platform, token)
);

-- The fan-out asks for the active devices of many (app, user) pairs at once; the API also lists a
-- user's inactive devices, so the index covers every row and `active` is checked on the few a
-- user has.
CREATE INDEX devices_by_user ON devices (app_id, user_id);
