-- Highlights in one language: a schedule may draw only from talks given in a language (talks.language, a
-- lower-case ISO 639-1 code such as 'de'); NULL for talks in any language (and talks marked with none).
ALTER TABLE schedules ADD COLUMN language TEXT;

-- /highlight rotates per place, topic, event and now language, so the language joins adhoc_picks' unique
-- key. SQLite cannot change a constraint in place: the table is rebuilt, its rows copied (as rotations in
-- any language, ''), and the new table takes the old one's name. Nothing refers to adhoc_picks.
CREATE TABLE adhoc_picks_new (
    id         INTEGER PRIMARY KEY,
    scope      TEXT NOT NULL,                 -- 'channel:<id>' or 'user:<id>', chosen by the caller
    topic      TEXT NOT NULL DEFAULT '',
    event      TEXT NOT NULL DEFAULT '',
    language   TEXT NOT NULL DEFAULT '',      -- '' for talks in any language, as '' is "no filter" above
    talk       TEXT NOT NULL,
    round      INTEGER NOT NULL CHECK (round >= 0),
    picked_at  TEXT NOT NULL,
    UNIQUE (scope, topic, event, language, round, talk)
);
INSERT INTO adhoc_picks_new (id, scope, topic, event, language, talk, round, picked_at)
    SELECT id, scope, topic, event, '', talk, round, picked_at FROM adhoc_picks;
DROP TABLE adhoc_picks;
ALTER TABLE adhoc_picks_new RENAME TO adhoc_picks;
