-- What a live programme needs of each talk: when it ends, where it is given, and where it is streamed.
-- talks.date already holds the start as a date-time with offset when the programme gives one.
ALTER TABLE talks ADD COLUMN ends_at TEXT;      -- ISO date-time with offset, NULL when unknown
ALTER TABLE talks ADD COLUMN room TEXT;         -- the room's name as the programme gives it
ALTER TABLE talks ADD COLUMN stream_url TEXT;   -- the live stream, when the programme links one
