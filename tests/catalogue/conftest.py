"""Fixtures for the importers: the shared real-world datasets, fresh databases and table snapshots."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import realdata
from bot.catalogue.importer import ImportOptions
from bot.catalogue.native import BUNDLED_CATALOGUE, load_native
from bot.db.connection import sync_db
from bot.db.writer import apply_document

DATASETS = realdata.DATASETS
PRETALX = DATASETS / "c3voc-schedule-json" / "pretalx-rc3.json"
FRAB = DATASETS / "c3voc-schedule-json" / "frab-camp2019.json"
XML = DATASETS / "ccc-31c3-schedule-xml" / "schedule.xml"
SCOTTISH = DATASETS / "sessionize-scottish-summit-2026" / "sessionize.json"
AZURE = DATASETS / "sessionize-global-azure-austria-2024" / "sessionize.json"
KUBECON_JSON = DATASETS / "kubecon-na-2019-talks" / "talks.json"
KUBECON_TOML = Path(__file__).resolve().parents[2] / "data" / "kubecon-na-2019.toml"

# Every dataset, with the options it needs (Sessionize exports do not name their event).
IMPORTS = {
    "pretalx-rc3": (PRETALX, ImportOptions()),
    "frab-camp2019": (FRAB, ImportOptions()),
    "frab-31c3-xml": (XML, ImportOptions()),
    "sessionize-scottish-summit": (SCOTTISH, ImportOptions(event="Scottish Summit 2026", timezone="Europe/London")),
    "sessionize-global-azure": (AZURE, ImportOptions(event="Global Azure Austria 2024", timezone="Europe/Vienna")),
    "kubecon-na-2019": (KUBECON_TOML, ImportOptions()),
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
