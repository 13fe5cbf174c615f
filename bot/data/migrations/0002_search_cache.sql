-- The search index, saved beside the catalogue it was built from, so a restart loads it instead of
-- rebuilding it. A row is only valid for the catalogue version it names; anything else is rebuilt.
CREATE TABLE search_cache (
    name               TEXT PRIMARY KEY,
    catalogue_version  INTEGER NOT NULL,
    data               BLOB NOT NULL
);
