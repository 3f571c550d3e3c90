-- A user who never stated a time zone gets the one their device reports; this marks such a zone,
-- so a later device can update it while a zone the user (or the app's server) stated stays.
ALTER TABLE user_preferences ADD COLUMN zone_from_device boolean NOT NULL DEFAULT false;
