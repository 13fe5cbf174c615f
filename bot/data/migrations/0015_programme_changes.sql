-- A followed schedule's changes, one row per poll that changed an event, written in the poll's own
-- transaction (bot/live/follow.py): a batch is never lost between the import and its notices, whoever
-- polled (the Discord bot, the Slack app or `python -m bot follow`). Each platform turns the batches past
-- its cursor into change notices for its own live setups (bot/live/service.py), and moves its cursor on
-- once they are planned: planning again after a crash is harmless, as a batch's notices are keyed by its id.
-- AUTOINCREMENT: batch ids key the notices and are never reused.
CREATE TABLE programme_changes (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    event     TEXT NOT NULL,               -- the followed event's slug
    changes   TEXT NOT NULL,               -- JSON: the batch's changes (bot.live.follow.ScheduleChange)
    found_at  TEXT NOT NULL                -- when the poll found them (UTC ISO, as in 0003_schedules.sql)
);

-- How far each platform has turned batches into notices. A platform without a row starts from the first
-- batch; a live setup is told only of the batches found after it was made.
CREATE TABLE programme_change_cursors (
    platform  TEXT PRIMARY KEY CHECK (platform IN ('discord', 'slack')),
    last_id   INTEGER NOT NULL
);
