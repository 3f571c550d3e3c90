-- Apps (tenants), their server API keys (SHA-256 digests only), the keys their servers sign user
-- tokens with, and their provider credentials. Secrets are stored sealed (AES-GCM, key from
-- settings); the same sealed bytes travel on apps.changed.
CREATE TABLE apps (
    app_id     text        PRIMARY KEY,
    name       text        NOT NULL DEFAULT '',
    disabled   boolean     NOT NULL DEFAULT false,
    revision   bigint      NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE api_keys (
    key_id     uuid        PRIMARY KEY,
    app_id     text        NOT NULL REFERENCES apps,
    digest     text        NOT NULL UNIQUE,
    scopes     text[]      NOT NULL,
    label      text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX api_keys_app ON api_keys (app_id);

CREATE TABLE signing_keys (
    key_id     uuid        PRIMARY KEY,
    app_id     text        NOT NULL REFERENCES apps,
    sealed     bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX signing_keys_app ON signing_keys (app_id);

CREATE TABLE provider_credentials (
    app_id     text        NOT NULL REFERENCES apps,
    platform   text        NOT NULL,
    kind       text        NOT NULL,
    settings   jsonb       NOT NULL,
    sealed     bytea       NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (app_id, platform)
);
