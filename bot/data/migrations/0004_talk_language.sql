-- The language a talk is given in (a lower-case ISO 639-1 code such as 'en' or 'de'), as the programme
-- says; NULL when it does not say. Search and recommendations can filter by it.
ALTER TABLE talks ADD COLUMN language TEXT;
CREATE INDEX talks_language ON talks(language) WHERE language IS NOT NULL;
