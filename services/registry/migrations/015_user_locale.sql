-- The locale a user (or the app's server) states, next to their time zone: a device that reports
-- no locale, or one no variant fits, gets the variant for it before the default text.
ALTER TABLE user_preferences ADD COLUMN locale text;
