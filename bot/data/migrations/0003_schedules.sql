-- Scheduled highlight posts: each server's schedules, and one row per slot the scheduler (or an admin's
-- "post now") tried to post. bot/highlights/ports.py explains how a slot is posted once and only once.
-- Instants are UTC ISO strings of one fixed width ('2025-01-06T09:00:00.000000+00:00'), so text order is
-- time order.

-- AUTOINCREMENT: ids are never reused, because attempts and message nonces are keyed on them; a new
-- schedule must not inherit a removed one's "already posted" slots.
CREATE TABLE schedules (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id         INTEGER NOT NULL,
    channel_id       INTEGER NOT NULL,
    local_time       TEXT NOT NULL CHECK (local_time GLOB '[0-2][0-9]:[0-5][0-9]'),  -- wall clock, 'HH:MM'
    zone             TEXT NOT NULL,            -- IANA name, e.g. 'Europe/Berlin'
    cadence          TEXT NOT NULL DEFAULT 'daily' CHECK (cadence IN ('daily', 'weekdays', 'weekly')),
    weekday          INTEGER CHECK (weekday BETWEEN 0 AND 6),   -- 0 = Monday; weekly only
    -- Filters by slug, not by id: a re-import may drop and recreate a topic or an event, and the schedule
    -- should keep meaning the same thing (an unknown slug simply gives an empty pool, which is a failure).
    topic            TEXT,
    event            TEXT,                     -- includes the event's co-located (child) events
    -- enabled: posting; paused: stopped by an admin or after too many failures (paused_reason says which);
    -- disabled: switched off by the bot itself (it left the server). Only enabled schedules are scheduled.
    state            TEXT NOT NULL DEFAULT 'enabled' CHECK (state IN ('enabled', 'paused', 'disabled')),
    paused_reason    TEXT,
    failures         INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),  -- in a row; 0 after a post
    retry_at         TEXT,                     -- set while backing off after a failure
    -- The next slot, stored exactly as computed when it was set, never recomputed on read.
    next_day         TEXT NOT NULL,            -- local ISO date
    next_due         TEXT NOT NULL,            -- UTC instant
    next_key         TEXT NOT NULL,            -- Slot.key: the local date, or the ISO week ('2025-W02')
    created_by       INTEGER,                  -- Discord user id
    created_at       TEXT NOT NULL,
    last_post_at     TEXT,
    last_message_id  INTEGER,
    last_failure     TEXT,                     -- a reason safe to show to the server's admins
    last_failure_at  TEXT,
    CHECK ((cadence = 'weekly') = (weekday IS NOT NULL))
);
CREATE INDEX schedules_guild ON schedules(guild_id);
-- "What is due next": what the scheduler sleeps until (Schedule.due), over enabled schedules only.
CREATE INDEX schedules_next_due ON schedules(COALESCE(retry_at, next_due)) WHERE state = 'enabled';

-- One row per (schedule, slot). The unique key is what makes a slot post at most once: claiming is an
-- upsert that only takes over a failed row. States move sending -> sent, or sending -> failed (a send
-- that surely made no message) -> sending again. A schedule's rotation is derived from its sent rows:
-- its round is their highest round, the talks posted in that round are the rows of that round.
-- Slot keys of admins' "post now" are 'now-<request id>', so they never meet a scheduled slot.
CREATE TABLE schedule_attempts (
    id           INTEGER PRIMARY KEY,
    schedule_id  INTEGER NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    slot_key     TEXT NOT NULL,
    talk         TEXT NOT NULL,               -- talk slug (no foreign key: a re-import may remove the talk)
    round        INTEGER NOT NULL CHECK (round >= 0),
    state        TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    claimed_at   TEXT NOT NULL,               -- when the (latest) send began; bounds the nonce window
    sent_at      TEXT,
    message_id   INTEGER,
    error        TEXT,                        -- why the latest send failed
    UNIQUE (schedule_id, slot_key)
);
CREATE INDEX schedule_attempts_rounds ON schedule_attempts(schedule_id, state, round);

-- /highlight (one highlight now, outside any schedule) rotates per place and filter: a channel (or a user,
-- in DMs) asking for the same topic and event gets no repeat until that pool is exhausted. A separate
-- table rather than hidden schedules: it has no time, slot or failure to track, only picks. Only the
-- current round's picks are kept (older rounds are deleted when a new one starts), so it stays as small
-- as the pools. '' stands for "no filter" so the unique key also covers unfiltered picks.
CREATE TABLE adhoc_picks (
    id         INTEGER PRIMARY KEY,
    scope      TEXT NOT NULL,                 -- 'channel:<id>' or 'user:<id>', chosen by the caller
    topic      TEXT NOT NULL DEFAULT '',
    event      TEXT NOT NULL DEFAULT '',
    talk       TEXT NOT NULL,
    round      INTEGER NOT NULL CHECK (round >= 0),
    picked_at  TEXT NOT NULL,
    UNIQUE (scope, topic, event, round, talk)
);
