-- Members' watch lists: the talks each member saved to watch later, and each member's own settings.
-- A member is an opaque key the platform adapters build ('discord:<user id>', 'slack:<team>:<user>'); the
-- core never reads it apart. A member's rows are theirs alone: every query names the member, and forgetting
-- a member deletes their rows from both tables. Instants are UTC ISO strings of one fixed width, as in
-- 0003_schedules.sql, so text order is time order.

-- One row per talk a member saved. The talk is named by slug with no foreign key, and what a list shows of
-- it (title, event, date, recording) is copied when it is saved: a later import that removes the talk leaves
-- it on the list, shown from this copy and marked as gone.
CREATE TABLE saved_talks (
    id             INTEGER PRIMARY KEY,       -- breaks ties between talks saved in the same microsecond
    member         TEXT NOT NULL,
    talk           TEXT NOT NULL,             -- talk slug
    title          TEXT NOT NULL,
    event_name     TEXT NOT NULL,
    event_slug     TEXT NOT NULL,
    date           TEXT,                      -- the talk's ISO date, NULL when the programme gives none
    recording_url  TEXT,
    saved_at       TEXT NOT NULL,
    watched_at     TEXT,                      -- NULL until the member marks it watched
    UNIQUE (member, talk)
);
-- A member's list, newest saved first (the unique key above finds one talk of a member).
CREATE INDEX saved_talks_member ON saved_talks(member, saved_at);
-- How many members saved a talk.
CREATE INDEX saved_talks_talk ON saved_talks(talk);

-- A member's settings, made when the member first sets one. Reminders, later, are a table of their own.
CREATE TABLE member_settings (
    member      TEXT PRIMARY KEY,
    timezone    TEXT,                         -- IANA name, e.g. 'Europe/Berlin'; NULL when not set
    -- A random secret, made at the first calendar export, that keys the export's event UIDs: a UID stays the
    -- same from one export to the next, yet nobody holding the file can test member ids against it.
    calendar_key TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
