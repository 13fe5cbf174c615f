"""The database: connection, migrations and repositories (parameterised SQL only)."""
