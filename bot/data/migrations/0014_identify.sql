-- Discord's identify rate, shared by every process of the bot over this database: a shard may IDENTIFY
-- only in its rate-limit bucket (shard_id % max_concurrency), and a bucket takes one IDENTIFY per five
-- seconds. A process claims its bucket before identifying by moving free_at forward, in one UPDATE that
-- succeeds only while the bucket is free (bot/db/shards.py), so two processes never identify in the same
-- bucket within the window.
CREATE TABLE identify_buckets (
    bucket      INTEGER PRIMARY KEY CHECK (bucket >= 0),
    free_at     REAL NOT NULL DEFAULT 0,   -- Unix time (seconds) from which the bucket may be claimed again
    claimed_by  TEXT                       -- who claimed it last: 'shard <id> of <count>, process <pid>'
);
