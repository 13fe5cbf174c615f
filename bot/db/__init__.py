"""The database every feature shares: connection (aiosqlite and sqlite3) and schema migrations."""
