-- What the retention loop looks submissions up by.
CREATE INDEX submissions_accepted_at ON submissions (accepted_at);
