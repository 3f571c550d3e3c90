-- A notification to devices, a topic, all devices or a segment has no user count when ingest
-- accepts it (the registry finds its recipients): NULL.
ALTER TABLE submissions ALTER COLUMN recipients DROP NOT NULL;
