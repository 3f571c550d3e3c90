-- An app's notification categories: users opt out of them, and each may cap how many pushes a
-- user gets in a rolling window. They travel to other services in the app's state (apps.changed).
CREATE TABLE categories (
    app_id          text        NOT NULL REFERENCES apps,
    category_id     text        NOT NULL,
    name            text        NOT NULL DEFAULT '',
    default_enabled boolean     NOT NULL,
    cap_limit       integer,
    cap_window      integer,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (app_id, category_id),
    CONSTRAINT whole_cap CHECK ((cap_limit IS NULL) = (cap_window IS NULL))
);

-- Users' choices per category ({"marketing": false}) and per platform ({"webpush": false}).
ALTER TABLE user_preferences ADD COLUMN categories jsonb NOT NULL DEFAULT '{}';
ALTER TABLE user_preferences ADD COLUMN channels jsonb NOT NULL DEFAULT '{}';
