-- The APNs environment that issued a device's token, when the app says (a development build's
-- tokens are sandbox ones); NULL: the environment of the app's APNs credentials.
ALTER TABLE devices ADD COLUMN apns_environment text
    CHECK (apns_environment IN ('production', 'sandbox')),
    ADD CONSTRAINT devices_apns_environment_apns_only
    CHECK (apns_environment IS NULL OR platform = 'apns');
