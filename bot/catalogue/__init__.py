"""Reading and writing catalogues: the bundled format, importers, and applying them to the database."""
