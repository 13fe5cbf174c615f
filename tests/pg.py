"""The suite on PostgreSQL: `TEST_ENGINE=postgresql` runs every test that takes the `bundled_db` or `db`
fixture against a real PostgreSQL (TEST_DATABASE_URL, else one started for the run), each test on a database
of its own copied from a template that holds the bundled catalogue."""

from __future__ import annotations

import itertools
import os
import re
from urllib.parse import urlsplit, urlunsplit

from bot.catalogue.formats.document import CatalogueDocument
from bot.catalogue.writer import apply_document
from bot.db.connection import sync_db
from bot.db.postgres import PgSession

ENGINE = os.environ.get("TEST_ENGINE", "sqlite")
_names = itertools.count()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin(url: str) -> PgSession:
    return PgSession(_with_database(url, "postgres"))


def empty_postgres_database(server: str, name: str) -> str:
    """A new database on the server with nothing in it, not even the schema (replacing one of that name)."""
    admin = _admin(server)
    try:
        admin.executescript(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.executescript(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    return _with_database(server, name)


def new_postgres_database(server: str, name: str, *, fill: CatalogueDocument | None = None) -> str:
    """A new, empty database on the server (replacing one of that name), migrated; filled with `fill`."""
    url = empty_postgres_database(server, name)
    with sync_db(url) as conn:
        if fill is not None:
            apply_document(conn, fill)
    return url


def copy_postgres_database(template: str) -> str:
    """A new database copied from the database at `template` (which nothing may be connected to)."""
    name = f"test_{os.getpid()}_{next(_names)}"
    source = urlsplit(template).path.lstrip("/")
    if not re.fullmatch(r"\w+", source):
        raise ValueError(f"unexpected template database name {source!r}")
    admin = _admin(template)
    try:
        admin.executescript(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    finally:
        admin.close()
    return _with_database(template, name)


def drop_postgres_database(url: str) -> None:
    admin = _admin(url)
    try:
        admin.executescript(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')
    finally:
        admin.close()
