"""Fixtures for the importers: the test files of each format, fresh databases and table snapshots.

The files in tests/fixtures are small hand-written exports of each format the importer reads; every test
can use them. The real exports in ../shared/datasets (see `benchmarks.realdata`) are read only by tests
marked `realdata`, which are skipped where that folder is absent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import realdata
from benchmarks.kubecon_list import document, render
from bot.catalogue.importer import ImportOptions
from bot.catalogue.native import BUNDLED_CATALOGUE, load_native
from bot.catalogue.writer import apply_document
from bot.db.connection import sync_db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PRETALX = FIXTURES / "pretalx-schedule.json"
FRAB = FIXTURES / "frab-schedule.json"
XML = FIXTURES / "frab-schedule.xml"
SESSIONIZE_TRACKS = FIXTURES / "sessionize-tracks.json"
SESSIONIZE_VIDEOS = FIXTURES / "sessionize-videos.json"
CONFERENCE = FIXTURES / "conference.toml"

# Every test file, with the options it needs (Sessionize exports do not name their event).
IMPORTS = {
    "pretalx": (PRETALX, ImportOptions()),
    "frab-json": (FRAB, ImportOptions()),
    "frab-xml": (XML, ImportOptions()),
    "sessionize-tracks": (SESSIONIZE_TRACKS, ImportOptions(event="Highland Cloud Summit 2025", timezone="Europe/London")),
    "sessionize-videos": (SESSIONIZE_VIDEOS, ImportOptions(event="Cloud Day Linz 2025", timezone="Europe/Vienna")),
    "conference-toml": (CONFERENCE, ImportOptions()),
}

# The real exports beside the checkout: only for tests marked `realdata`.
DATASETS = realdata.DATASETS
REAL_PRETALX = DATASETS / "c3voc-schedule-json" / "pretalx-rc3.json"
REAL_FRAB = DATASETS / "c3voc-schedule-json" / "frab-camp2019.json"
REAL_XML = DATASETS / "ccc-31c3-schedule-xml" / "schedule.xml"
REAL_SCOTTISH = DATASETS / "sessionize-scottish-summit-2026" / "sessionize.json"
REAL_AZURE = DATASETS / "sessionize-global-azure-austria-2024" / "sessionize.json"
KUBECON_JSON = realdata.KUBECON_JSON

# The real datasets, as IMPORTS has the test files. The KubeCon list is a talks.json converted on demand:
# its path is None here, and the `kubecon_toml` fixture writes it out (see `real_import`).
REAL_IMPORTS: dict[str, tuple[Path | None, ImportOptions]] = {
    "pretalx-rc3": (REAL_PRETALX, ImportOptions()),
    "frab-camp2019": (REAL_FRAB, ImportOptions()),
    "frab-31c3-xml": (REAL_XML, ImportOptions()),
    "sessionize-scottish-summit": (REAL_SCOTTISH, ImportOptions(event="Scottish Summit 2026", timezone="Europe/London")),
    "sessionize-global-azure": (REAL_AZURE, ImportOptions(event="Global Azure Austria 2024", timezone="Europe/Vienna")),
    "kubecon-na-2019": (None, ImportOptions()),
}
TABLES = ("events", "talks", "people", "organizations", "topics", "talk_speakers", "talk_topics", "readings",
          "catalogue_state")  # fmt: skip


def snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every catalogue table, in a stable order."""
    return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() for table in TABLES}


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many talks, people and events the database holds."""
    return {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("talks", "people", "events")
    }


@pytest.fixture(scope="session")
def kubecon_toml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real KubeCon NA 2019 list, converted to the bundled format (needs the real data: mark tests `realdata`)."""
    path = tmp_path_factory.mktemp("kubecon") / "kubecon-na-2019.toml"
    path.write_text(render(document()), encoding="utf-8")
    return path


def real_import(name: str, request: pytest.FixtureRequest) -> tuple[Path, ImportOptions]:
    """The path and options of the real dataset `name` of REAL_IMPORTS."""
    path, options = REAL_IMPORTS[name]
    return (path if path is not None else request.getfixturevalue("kubecon_toml")), options


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """An empty, migrated catalogue database."""
    path = tmp_path / "catalogue.sqlite3"
    with sync_db(path):
        pass
    return path


@pytest.fixture
def conn(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to an empty catalogue."""
    with sync_db(db_path) as connection:
        yield connection


@pytest.fixture
def bundled(conn: sqlite3.Connection) -> sqlite3.Connection:
    """A connection to a catalogue holding the bundled talks."""
    apply_document(conn, load_native(BUNDLED_CATALOGUE))
    return conn
