-- Followed schedules: a published programme (pretalx, frab, pentabarf JSON or XML, Sessionize) re-read
-- every few minutes and applied as an import, so that one event stays in step with it.
-- Instants are UTC ISO strings of one fixed width, as in 0003_schedules.sql, so text order is time order.

-- AUTOINCREMENT: ids are what the commands name a follow by, and are never reused.
CREATE TABLE follows (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    url               TEXT NOT NULL UNIQUE,
    event             TEXT,                      -- the event slug it keeps in step; NULL until the first apply
    format            TEXT NOT NULL DEFAULT 'auto',  -- as `python -m bot import --format`
    event_name        TEXT,                      -- --event, for exports that do not name their event
    timezone          TEXT,                      -- --timezone, for exports whose times have no offset
    interval_minutes  INTEGER NOT NULL DEFAULT 5 CHECK (interval_minutes BETWEEN 1 AND 1440),
    etag              TEXT,                      -- the last applied (or unchanged) answer's validators
    last_modified     TEXT,
    last_fetched_at   TEXT,                      -- the last poll, whatever its outcome
    last_changed_at   TEXT,                      -- the last poll that changed the catalogue
    -- new: never polled; applied: the file was imported; unchanged: 304 or the same talks;
    -- held: far fewer talks than the last applied file, not imported; error: see last_summary.
    last_status       TEXT NOT NULL DEFAULT 'new'
                      CHECK (last_status IN ('new', 'applied', 'unchanged', 'held', 'error')),
    last_summary      TEXT,                      -- one line: what changed, why it was held back, or the error
    talk_count        INTEGER,                   -- talks of the last applied file; the floor for holding back
    failures          INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),  -- errors in a row; 0 after a success
    next_poll_at      TEXT NOT NULL,
    created_at        TEXT NOT NULL
);

CREATE INDEX follows_due ON follows (next_poll_at);
