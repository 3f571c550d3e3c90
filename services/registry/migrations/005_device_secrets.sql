-- The digest of the secret handed to the device that registered a token. Presenting it proves
-- the request comes from that device, the only way a user token may take a token over from
-- another user (the app's server key may always move it; logging out frees it).
ALTER TABLE devices ADD COLUMN secret_digest text;
