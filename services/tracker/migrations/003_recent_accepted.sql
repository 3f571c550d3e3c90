-- The console lists an app's newest notifications: each has one accepted step, found by this index.
CREATE INDEX steps_accepted_recent ON steps (app_id, occurred_at DESC) WHERE stage = 'accepted';
