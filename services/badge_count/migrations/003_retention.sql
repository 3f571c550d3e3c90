-- What the retention loop looks rows up by: reports by when they were applied, notifications and
-- reads by id by when they were read.
CREATE INDEX applied_reports_applied_at ON applied_reports (applied_at);
CREATE INDEX counted_read_at ON counted (read_at) WHERE read_at IS NOT NULL;
CREATE INDEX reads_by_id_read_at ON reads_by_id (read_at);
