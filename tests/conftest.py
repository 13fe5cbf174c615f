"""Shared fixtures: a database with the bundled catalogue, and the services over it."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from bot.catalogue.native import BUNDLED_CATALOGUE, load_native
from bot.db.connection import open_db, sync_db
from bot.db.writer import apply_document
from bot.services import CatalogueService

pytest_plugins = ("bot.emulator.pytest_plugin",)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def bundled_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "bundled.sqlite3"
    with sync_db(path) as conn:
        apply_document(conn, load_native(BUNDLED_CATALOGUE))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def bundled_db(bundled_db_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of a database holding the bundled catalogue."""
    path = tmp_path / "highlights.sqlite3"
    shutil.copy(bundled_db_template, path)
    return path


@pytest.fixture
async def db_conn(bundled_db: Path) -> AsyncIterator[aiosqlite.Connection]:
    """The bot's long-lived connection to a copy of the bundled catalogue."""
    async with open_db(bundled_db) as conn:
        yield conn


@pytest.fixture
async def catalogue(db_conn: aiosqlite.Connection, bundled_db: Path) -> AsyncIterator[CatalogueService]:
    service = await CatalogueService.open(db_conn, bundled_db)
    yield service
    service.close()
