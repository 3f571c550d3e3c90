-- A cancel reports its dropped copies in pages by user: this index walks them in order, so each
-- page of a million-copy cancel reads only its own rows.
CREATE INDEX held_cancelled_by_user ON held (app_id, notification_id, user_id)
    WHERE state = 'cancelled';
