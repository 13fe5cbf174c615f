-- Announcing new recordings: per server (or Slack workspace), the channel where the bot says "5 new
-- recordings from KubeCon EU 2021" when recordings arrive for talks its highlight schedules cover. Off by
-- default: a server without a row hears nothing. Instants are UTC ISO strings of one fixed width, as in
-- 0003_schedules.sql.
CREATE TABLE recording_announcements (
    platform    TEXT NOT NULL DEFAULT 'discord' CHECK (platform IN ('discord', 'slack')),
    guild_id    INTEGER NOT NULL,
    channel_id  INTEGER NOT NULL,
    set_by      INTEGER,
    set_at      TEXT NOT NULL,
    PRIMARY KEY (platform, guild_id)
);

-- One row per announcement message, written by the import that brought the recordings (the bot's, or the
-- command line's, whose rows the running bot posts when its engine next loads). The key is a digest of the
-- batch's talk slugs: the unique key is what makes each announcement at most once; the row is claimed
-- ('sending') before the message goes out, with a nonce derived from its id, as live notices are
-- (0012_live.sql) and schedules' slots (bot/highlights/ports.py).
-- AUTOINCREMENT: ids key the messages' nonces and are never reused.
CREATE TABLE recording_posts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    platform    TEXT NOT NULL DEFAULT 'discord' CHECK (platform IN ('discord', 'slack')),
    guild_id    INTEGER NOT NULL,
    channel_id  INTEGER NOT NULL,
    key         TEXT NOT NULL,
    body        TEXT NOT NULL,                       -- JSON: the events, their counts and first talks
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    due_at      TEXT NOT NULL,
    claimed_at  TEXT,
    failures    INTEGER NOT NULL DEFAULT 0,
    retry_at    TEXT,                                -- set while backing off after a failure
    sent_at     TEXT,
    message_id  TEXT,
    error       TEXT,
    UNIQUE (platform, guild_id, key)
);
CREATE INDEX recording_posts_waiting ON recording_posts(platform) WHERE state IN ('pending', 'sending');
