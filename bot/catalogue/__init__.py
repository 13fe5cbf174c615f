"""The catalogue of talks: reading, importing, storing and serving it.

`formats` (the `CatalogueDocument` every reader produces, and one reader per export format), `native` (the
bundled TOML format), `importer` (detect, read and apply a file; `python -m bot import/export`), `writer` and
`export` (a document into the database and back out), `store` (reads for display), `service`
(`CatalogueService`: search, talks, people and browsing, the use cases behind /search, /recommend, /talk...).
"""
