-- A sender over Kafka knows its idempotency key, not the notification id Herald gave it: the
-- accepted step holds both, and this index finds it within the sender's app.
CREATE INDEX steps_accepted_by_key ON steps (app_id, (step->>'idempotency_key'))
    WHERE stage = 'accepted';
