-- Members' reminders, and what lets highlight schedules prefer the talks a server's members saved.
-- Instants are UTC ISO strings of one fixed width, as in 0003_schedules.sql, so text order is time order.

-- One row per reminder a member set. A reminder is posted once and only once, the way a schedule's slot is
-- (bot/highlights/ports.py): claimed ('pending' -> 'sending', with claimed_at) before the direct message is
-- sent with a nonce derived from its id, then marked 'sent'. 'failed' (direct messages closed, or too many
-- failures) and 'missed' (due while the bot was not running, past the grace; or cut off mid-send and no
-- longer safe to resend) are final, and the member is told of them once (told = 0 until then). AUTOINCREMENT:
-- ids key the nonces and are never reused. What the message shows of the talk is copied when it is set.
CREATE TABLE reminders (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    member         TEXT NOT NULL,              -- the member key, as in saved_talks
    platform       TEXT NOT NULL CHECK (platform IN ('discord', 'slack')),
    address        TEXT NOT NULL,              -- where the direct message goes: a Discord user id, 'team:user' on Slack
    talk           TEXT NOT NULL,              -- talk slug (no foreign key: an import may remove the talk)
    title          TEXT NOT NULL,
    event_name     TEXT NOT NULL,
    starts_at      TEXT,                       -- the talk's start, when the programme gives it
    recording_url  TEXT,
    due_at         TEXT NOT NULL,
    before_start   INTEGER NOT NULL DEFAULT 0 CHECK (before_start IN (0, 1)),  -- set with when:before
    state          TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'missed')),
    failures       INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    retry_at       TEXT,                       -- set while backing off after a failure
    claimed_at     TEXT,                       -- when the (latest) send began; bounds the nonce window
    sent_at        TEXT,
    message_id     TEXT,
    reason         TEXT,                       -- why it failed or was missed, to tell the member
    told           INTEGER NOT NULL DEFAULT 1 CHECK (told IN (0, 1)),
    created_at     TEXT NOT NULL
);
CREATE INDEX reminders_member ON reminders(member, due_at);
-- What each platform's scheduler loads and sleeps until.
CREATE INDEX reminders_due ON reminders(platform, COALESCE(retry_at, due_at)) WHERE state IN ('pending', 'sending');
CREATE INDEX reminders_untold ON reminders(member) WHERE told = 0;

-- Where a talk was saved ('discord:<server id>', 'slack:<team id>'; NULL in direct messages), so that a
-- server's highlight schedules can prefer the talks its members saved most.
ALTER TABLE saved_talks ADD COLUMN place TEXT;
CREATE INDEX saved_talks_place ON saved_talks(place, talk) WHERE place IS NOT NULL;
-- Whether a schedule posts the talks its server's members saved most first (on unless an admin turns it off).
ALTER TABLE schedules ADD COLUMN prefer_saved INTEGER NOT NULL DEFAULT 1 CHECK (prefer_saved IN (0, 1));

-- How many talks of a member's list are watched or still to watch, from the index alone: /watchlist counts
-- them on every page (bot/watchlist/store.py, _COUNTS).
CREATE INDEX saved_talks_member_watched ON saved_talks(member, watched_at);
