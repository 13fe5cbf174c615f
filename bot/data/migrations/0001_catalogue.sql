-- The talk catalogue: events, talks, people, organisations, topics.
-- Every row a human or an importer can name has a stable slug, so re-importing updates instead of duplicating.

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    short_name  TEXT,
    start_date  TEXT,            -- ISO date, NULL when unknown
    end_date    TEXT,
    location    TEXT,            -- a city, or 'virtual'
    url         TEXT,
    parent_id   INTEGER REFERENCES events(id) ON DELETE SET NULL,
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date)
);

CREATE TABLE organizations (
    id    INTEGER PRIMARY KEY,
    slug  TEXT NOT NULL UNIQUE,
    name  TEXT NOT NULL
);

CREATE TABLE people (
    id        INTEGER PRIMARY KEY,
    slug      TEXT NOT NULL UNIQUE,
    name      TEXT NOT NULL,
    name_key  TEXT NOT NULL       -- case- and accent-folded name, for lookup
);
CREATE INDEX people_name_key ON people(name_key);

CREATE TABLE topics (
    id    INTEGER PRIMARY KEY,
    slug  TEXT NOT NULL UNIQUE,
    name  TEXT NOT NULL
);

CREATE TABLE talks (
    id             INTEGER PRIMARY KEY,
    slug           TEXT NOT NULL UNIQUE,
    title          TEXT NOT NULL,
    summary        TEXT NOT NULL DEFAULT '',
    kind           TEXT NOT NULL DEFAULT 'talk'
                   CHECK (kind IN ('talk', 'keynote', 'panel', 'lightning', 'workshop', 'tutorial', 'other')),
    event_id       INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    date           TEXT,          -- ISO date (or date-time with offset), NULL when unknown
    track          TEXT,
    recording_url  TEXT,
    slides_url     TEXT,
    source         TEXT,          -- where the row came from: 'bundled', 'csv', 'sessionize', ...
    source_id      TEXT           -- the source's own identifier, when it has one
);
CREATE INDEX talks_event ON talks(event_id);

CREATE TABLE talk_speakers (
    talk_id          INTEGER NOT NULL REFERENCES talks(id) ON DELETE CASCADE,
    position         INTEGER NOT NULL,
    person_id        INTEGER NOT NULL REFERENCES people(id) ON DELETE RESTRICT,
    role             TEXT NOT NULL DEFAULT 'speaker' CHECK (role IN ('speaker', 'panellist', 'moderator')),
    organization_id  INTEGER REFERENCES organizations(id) ON DELETE RESTRICT,  -- at the time of the talk
    PRIMARY KEY (talk_id, position),
    UNIQUE (talk_id, person_id)
);
CREATE INDEX talk_speakers_person ON talk_speakers(person_id);

CREATE TABLE talk_topics (
    talk_id   INTEGER NOT NULL REFERENCES talks(id) ON DELETE CASCADE,
    topic_id  INTEGER NOT NULL REFERENCES topics(id) ON DELETE RESTRICT,
    PRIMARY KEY (talk_id, topic_id)
);
CREATE INDEX talk_topics_topic ON talk_topics(topic_id);

-- Related reading kept beside the talks (blog posts, case studies).
CREATE TABLE readings (
    id       INTEGER PRIMARY KEY,
    slug     TEXT NOT NULL UNIQUE,
    title    TEXT NOT NULL,
    url      TEXT,
    author   TEXT,
    summary  TEXT NOT NULL DEFAULT '',
    topics   TEXT NOT NULL DEFAULT ''   -- comma-separated topic slugs
);

-- One row: bumped by every write to the catalogue, so a running bot can tell that it must reload.
CREATE TABLE catalogue_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
);
INSERT INTO catalogue_state (id, version) VALUES (1, 0);
