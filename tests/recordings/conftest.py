"""A small programme without recordings (one talk has one already), in a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.catalogue.formats.document import CatalogueDocument, EventRecord, SpeakerRecord, TalkRecord
from bot.catalogue.writer import apply_document
from bot.db.connection import sync_db


def _talk(slug: str, title: str, speakers: list[tuple[str, str | None]], **fields: str) -> TalkRecord:
    event = fields.pop("event", "pyconf-2024")
    return TalkRecord(
        slug=slug,
        title=title,
        event=event,
        speakers=tuple(SpeakerRecord(name, org) for name, org in speakers),
        **fields,  # type: ignore[arg-type]
    )


PROGRAMME = CatalogueDocument(
    source="test",
    events=[
        EventRecord(slug="pyconf-2024", name="PyConf 2024", short_name="PyConf"),
        EventRecord(slug="data-day-2024", name="Data Day 2024", parent="pyconf-2024"),
        EventRecord(slug="otherconf-2023", name="OtherConf 2023"),
    ],
    talks=[
        _talk("pyconf-2024-101", "A Tale of Scaling Observability", [("Toomas Ormisson", "Wise")],
              date="2024-07-10", source_id="QWXJ7K"),
        _talk("pyconf-2024-102", "Tanker: Embrace the relational model", [("Bertrand Chenal", None)],
              date="2024-07-11", source_id="5b0f6c1e-3d2a-5f4e-9a71-2c8e4d6b1f01"),
        _talk("pyconf-2024-103", "Encrypted computing in Python using OpenFHE", [("Ana Medina", "Zama")],
              date="2024-07-11"),
        _talk("pyconf-2024-104", "Welcome to the Rust devroom", [("Sam Roe", None)], date="2024-07-10"),
        _talk("pyconf-2024-105", "Welcome to the Go devroom", [("Maciej Novak", None)], date="2024-07-10"),
        _talk("pyconf-2024-106", "Building Resilient Service Meshes with Linkerd at Scale in Production Environments",
              [("William Morgan", "Buoyant"), ("Jane Doe", "Acme")], date="2024-07-12"),
        _talk("pyconf-2024-107", "It's time for datetime", [("Mario Corchero", "Bloomberg")], date="2024-07-12",
              recording_url="https://www.youtube.com/watch?v=EXISTING001"),
        _talk("pyconf-2024-108", "Lightning talks", [], date="2024-07-10"),
        _talk("pyconf-2024-109", "Lightning talks", [], date="2024-07-11"),
        _talk("data-day-2024-1", "Pandas for the Impatient", [("Léa Coston", None)], event="data-day-2024",
              date="2024-07-09"),
        _talk("otherconf-2023-1", "Pandas for the Impatient", [("Léa Coston", None)], event="otherconf-2023",
              date="2023-05-01"),
    ],
)  # fmt: skip


@pytest.fixture
def programme_db(tmp_path: Path) -> Path:
    """A database file holding the test programme."""
    path = tmp_path / "programme.sqlite3"
    with sync_db(path) as conn:
        apply_document(conn, PROGRAMME)
    return path
