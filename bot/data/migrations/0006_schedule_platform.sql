-- Highlights on more than one chat platform: each schedule says which one it posts to ('discord' or 'slack');
-- every existing schedule is a Discord one. A platform's scheduler loads only its own schedules.
ALTER TABLE schedules ADD COLUMN platform TEXT NOT NULL DEFAULT 'discord' CHECK (platform IN ('discord', 'slack'));
CREATE INDEX schedules_platform ON schedules(platform, state);

-- Slack names workspaces, channels and users with text ids (T024BE7LD, C024BE91L, U024BE7LH); the schedule
-- tables keep integer ids, as Discord's are. Each Slack id gets a number here once, and keeps it.
CREATE TABLE slack_ids (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    slack_id TEXT NOT NULL UNIQUE
);
