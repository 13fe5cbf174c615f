-- Live conference mode: per server (or workspace), an event whose talks are announced shortly before they
-- start, in a channel (and per-room channels), with its programme's changes told in a channel too.
-- Instants are UTC ISO strings of one fixed width, as in 0003_schedules.sql.

-- AUTOINCREMENT: ids key the notices' nonces and are never reused.
CREATE TABLE live_setups (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    platform            TEXT NOT NULL DEFAULT 'discord' CHECK (platform IN ('discord', 'slack')),
    guild_id            INTEGER NOT NULL,
    channel_id          INTEGER NOT NULL,             -- "Starting in 5 minutes", unless a room has its own
    changes_channel_id  INTEGER,                      -- change notices; NULL: channel_id
    event               TEXT NOT NULL,                -- event slug; its co-located events are included
    lead_minutes        INTEGER NOT NULL DEFAULT 5 CHECK (lead_minutes BETWEEN 1 AND 120),
    state               TEXT NOT NULL DEFAULT 'enabled' CHECK (state IN ('enabled', 'paused')),
    failures            INTEGER NOT NULL DEFAULT 0,
    retry_at            TEXT,
    last_failure        TEXT,
    created_by          INTEGER,
    created_at          TEXT NOT NULL,
    UNIQUE (platform, guild_id, event)
);

-- A room's own channel for its notices.
CREATE TABLE live_rooms (
    setup_id    INTEGER NOT NULL REFERENCES live_setups(id) ON DELETE CASCADE,
    room        TEXT NOT NULL,
    channel_id  INTEGER NOT NULL,
    PRIMARY KEY (setup_id, room)
);

-- One row per message: an "up next" notice (kind 'next', key = the slot's start instant) or a change notice
-- (kind 'change', key = a digest of the batch). The unique key is what makes each post at most once; the row
-- is claimed ('sending') before the message goes out, with a nonce derived from its id, as schedules' slots
-- are (bot/highlights/ports.py). `talks` is what the message announced: [{slug, start, room}], so that a talk
-- moved after its notice went out gets a correction rather than a second notice.
CREATE TABLE live_posts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    setup_id    INTEGER NOT NULL REFERENCES live_setups(id) ON DELETE CASCADE,
    channel_id  INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('next', 'change')),
    key         TEXT NOT NULL,
    body        TEXT NOT NULL,                       -- JSON: what to post (talks announced, or the changes)
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    due_at      TEXT NOT NULL,
    claimed_at  TEXT,
    failures    INTEGER NOT NULL DEFAULT 0,
    retry_at    TEXT,                                -- set while backing off after a failure
    sent_at     TEXT,
    message_id  TEXT,
    error       TEXT,
    UNIQUE (setup_id, channel_id, kind, key)
);
CREATE INDEX live_posts_waiting ON live_posts(setup_id) WHERE state IN ('pending', 'sending');
