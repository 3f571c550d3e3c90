-- Each notification's counts as a running total of its users' tallies, moved by the difference
-- whenever a user's tally is replaced (in the same transaction), so reading a notification's
-- counts costs one row however many users it reached. Reason maps are kept sorted by the reader.
CREATE TABLE notification_totals (
    app_id            text    NOT NULL,
    notification_id   uuid    NOT NULL,
    users             integer NOT NULL,
    settled           integer NOT NULL,
    waiting           integer NOT NULL,
    devices_expected  integer NOT NULL,
    held              integer NOT NULL,
    released          integer NOT NULL,
    expired           integer NOT NULL,
    cancelled         integer NOT NULL,
    no_device         integer NOT NULL,
    sent              integer NOT NULL,
    delivered         integer NOT NULL,
    token_deactivated integer NOT NULL,
    opened            integer NOT NULL,
    failed            jsonb   NOT NULL,
    withheld          jsonb   NOT NULL,
    PRIMARY KEY (app_id, notification_id)
);

-- No tally may change between the backfill's snapshot and its commit.
LOCK TABLE user_tallies IN SHARE MODE;

-- The totals of notifications recorded before this table existed: the sums the tracker used to
-- compute on every read, once.
WITH numbers AS (
    SELECT app_id, notification_id, count(*)::integer AS users,
        sum(settled)::integer AS settled, sum(waiting)::integer AS waiting,
        sum(devices_expected)::integer AS devices_expected, sum(held)::integer AS held,
        sum(released)::integer AS released, sum(expired)::integer AS expired,
        sum(cancelled)::integer AS cancelled, sum(no_device)::integer AS no_device,
        sum(sent)::integer AS sent, sum(delivered)::integer AS delivered,
        sum(token_deactivated)::integer AS token_deactivated, sum(opened)::integer AS opened
    FROM user_tallies
    GROUP BY app_id, notification_id
), failed AS (
    SELECT app_id, notification_id, jsonb_object_agg(key, n) AS failed
    FROM (
        SELECT t.app_id, t.notification_id, r.key, sum(r.value::integer)::integer AS n
        FROM user_tallies AS t, jsonb_each_text(t.failed) AS r
        GROUP BY t.app_id, t.notification_id, r.key
    ) AS reasons
    WHERE n <> 0
    GROUP BY app_id, notification_id
), withheld AS (
    SELECT app_id, notification_id, jsonb_object_agg(key, n) AS withheld
    FROM (
        SELECT t.app_id, t.notification_id, r.key, sum(r.value::integer)::integer AS n
        FROM user_tallies AS t, jsonb_each_text(t.withheld) AS r
        GROUP BY t.app_id, t.notification_id, r.key
    ) AS reasons
    WHERE n <> 0
    GROUP BY app_id, notification_id
)
INSERT INTO notification_totals
SELECT numbers.*, coalesce(failed.failed, '{}'), coalesce(withheld.withheld, '{}')
FROM numbers
LEFT JOIN failed USING (app_id, notification_id)
LEFT JOIN withheld USING (app_id, notification_id);
