-- When each user's last sync went out, so the rows of users who have had none for a while can be
-- forgotten (the retention loop); rows from before this migration count from now.
ALTER TABLE sent_syncs ADD COLUMN sent_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX sent_syncs_sent_at ON sent_syncs (sent_at);
CREATE INDEX wake_budget_window_start ON wake_budget (window_start);
