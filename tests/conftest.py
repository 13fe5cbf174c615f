"""Shared fixtures: a database with the bundled catalogue, and the services over it."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import pytest

from benchmarks import realdata
from bot.catalogue.native import BUNDLED_CATALOGUE, load_native
from bot.catalogue.service import CatalogueService
from bot.catalogue.writer import apply_document
from bot.db.connection import sync_db
from bot.db.gateway import Database
from emulator.postgres import PostgresUnavailable, temporary_postgres
from tests.pg import ENGINE, copy_postgres_database, drop_postgres_database, new_postgres_database

pytest_plugins = ("emulator.pytest_plugin", "emulator.slack.pytest_plugin")

# Real-data checks (`@pytest.mark.realdata`) read ../shared beside the checkout. Without it they are skipped
# with one line; with REQUIRE_REAL_DATA=1 (CI, in place beside it) a missing or skipped one is a failure.
REQUIRE_REAL_DATA = os.environ.get("REQUIRE_REAL_DATA") == "1"
if realdata.present():
    # The emulator checks every body against Discord's API description when it is beside the checkout.
    realdata.use_discord_spec()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ENGINE == "postgresql":
        for item in items:
            marker = item.get_closest_marker("sqlite_only")
            if marker:
                item.add_marker(pytest.mark.skip(reason=f"SQLite only: {marker.kwargs.get('reason', '')}"))
    if realdata.present():
        return
    if REQUIRE_REAL_DATA and any(item.get_closest_marker("realdata") for item in items):
        raise pytest.UsageError(f"REQUIRE_REAL_DATA=1 but the real-data checks cannot run: {realdata.ABSENT}")
    for item in items:
        if item.get_closest_marker("realdata"):
            item.add_marker(pytest.mark.skip(reason=realdata.ABSENT))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if REQUIRE_REAL_DATA and report.skipped and item.get_closest_marker("realdata"):
        report.outcome = "failed"
        report.longrepr = f"a real-data check was skipped while REQUIRE_REAL_DATA=1: {report.longrepr}"
    return report


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of the PostgreSQL server the suite runs on: TEST_DATABASE_URL, else one started for the run."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    try:
        with temporary_postgres() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(f"no PostgreSQL here: {exc}")


@pytest.fixture(scope="session")
def bundled_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "bundled.sqlite3"
    with sync_db(path) as conn:
        apply_document(conn, load_native(BUNDLED_CATALOGUE))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def bundled_db_template(bundled_sqlite_template: Path, request: pytest.FixtureRequest) -> Path | str:
    if ENGINE == "postgresql":
        server: str = request.getfixturevalue("postgres_server")
        return new_postgres_database(server, "bundled_template", fill=load_native(BUNDLED_CATALOGUE))
    return bundled_sqlite_template


@pytest.fixture
def bundled_sqlite(bundled_sqlite_template: Path, tmp_path: Path) -> Path:
    """A SQLite file holding the bundled catalogue, whatever the engine: the sandbox and rehearsals keep a
    file of their own (they never run on DATABASE_URL)."""
    path = tmp_path / "sandbox.sqlite3"
    shutil.copy(bundled_sqlite_template, path)
    return path


@pytest.fixture
def bundled_db(bundled_db_template: Path | str, tmp_path: Path) -> Iterator[Path]:
    """A fresh copy of a database holding the bundled catalogue: a SQLite file, or (TEST_ENGINE=postgresql) the
    URL of a PostgreSQL database copied from the template, dropped after the test."""
    if isinstance(bundled_db_template, str):
        url = copy_postgres_database(bundled_db_template)
        yield url  # type: ignore[misc]  # the tests hand it on to what takes a path or a URL
        drop_postgres_database(url)
        return
    path = tmp_path / "highlights.sqlite3"
    shutil.copy(bundled_db_template, path)
    yield path


@pytest.fixture
async def db(bundled_db: Path) -> AsyncIterator[Database]:
    """The bot's gateway to a copy of the bundled catalogue."""
    database = await Database.open(bundled_db)
    yield database
    await database.close()


@pytest.fixture
async def catalogue(db: Database) -> CatalogueService:
    return await CatalogueService.open(db)
