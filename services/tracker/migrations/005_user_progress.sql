-- Beside each user's tally, what their steps so far leave behind that a new step's effect depends
-- on (services/tracker/domain.py, Progress), as versioned JSON text the database never looks into:
-- a batch folds in its new steps without re-reading the user's stored ones. NULL on rows written
-- before this column: the next new step of such a user rebuilds it from the user's steps, once.
-- The ALTER waits for a brief exclusive lock; give up rather than queue every tracker write
-- behind it while a long transaction holds the table (the migration is retried at next start).
SET LOCAL lock_timeout = '3s';
ALTER TABLE user_tallies ADD COLUMN progress text;
