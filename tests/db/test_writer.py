"""Applying catalogue documents: idempotent upserts, exact reports, all or nothing."""

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from bot.catalogue.formats.document import CatalogueDocument, EventRecord, SpeakerRecord, TalkRecord
from bot.catalogue.native import BUNDLED_CATALOGUE, load_native
from bot.catalogue.writer import apply_document
from bot.db.connection import sync_db
from bot.db.dialect import ENGINE_ERRORS, engine


def snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    tables = [
        "events",
        "talks",
        "people",
        "organizations",
        "topics",
        "talk_speakers",
        "talk_topics",
        "catalogue_state",
    ]
    return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}


def test_loading_twice_changes_nothing(bundled_db: Path) -> None:
    with sync_db(bundled_db) as conn:
        before = snapshot(conn)
        report = apply_document(conn, load_native(BUNDLED_CATALOGUE))
        assert not report.touched and report.unchanged == 11
        assert snapshot(conn) == before


def test_an_updated_document_updates_adds_and_removes_and_says_which(bundled_db: Path) -> None:
    document = load_native(BUNDLED_CATALOGUE)
    talks = document.talks
    talks[0] = dataclasses.replace(talks[0], title="A New Title")
    removed = talks.pop()
    talks.append(TalkRecord(slug="brand-new", title="Brand New", event="kubecon-eu-2021"))
    with sync_db(bundled_db) as conn:
        version = conn.execute("SELECT version FROM catalogue_state").fetchone()[0]
        report = apply_document(conn, document)
        assert report.changed == [(talks[0].slug, "A New Title")]
        assert report.added == [("brand-new", "Brand New")]
        assert report.removed == [(removed.slug, removed.title)]
        assert (
            conn.execute("SELECT title FROM talks WHERE slug = ?", (talks[0].slug,)).fetchone()[0]
            == "A New Title"
        )
        assert conn.execute("SELECT version FROM catalogue_state").fetchone()[0] == version + 1


def test_a_dry_run_reports_exactly_and_changes_nothing(bundled_db: Path) -> None:
    document = load_native(BUNDLED_CATALOGUE)
    document.talks.pop()
    with sync_db(bundled_db) as conn:
        before = snapshot(conn)
        report = apply_document(conn, document, dry_run=True)
        assert len(report.removed) == 1 and report.dry_run
        assert snapshot(conn) == before


def test_a_failure_part_way_leaves_the_catalogue_exactly_as_it_was(bundled_db: Path) -> None:
    document = load_native(BUNDLED_CATALOGUE)
    # The second new talk names a kind the schema refuses: the first must not stay behind.
    document.talks.append(TalkRecord(slug="ok-talk", title="Fine", event="kubecon-eu-2021"))
    document.talks.append(TalkRecord(slug="bad-talk", title="Bad", event="kubecon-eu-2021", kind="party"))
    with sync_db(bundled_db) as conn:
        before = snapshot(conn)
        with pytest.raises(ENGINE_ERRORS, match=r"CHECK|check constraint"):
            apply_document(conn, document)
        assert snapshot(conn) == before
        if engine(conn) == "sqlite":  # PostgreSQL checks foreign keys at every statement
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_people_are_one_person_across_spellings_and_two_when_organisations_differ(tmp_path: Path) -> None:
    event = EventRecord("ev", "Event")
    document = CatalogueDocument(
        source="test",
        events=[event],
        talks=[
            TalkRecord("t1", "One", "ev", speakers=(SpeakerRecord("William Morgan", "Buoyant"),)),
            TalkRecord("t2", "Two", "ev", speakers=(SpeakerRecord("william  MORGAN", "Buoyant"),)),
            TalkRecord("t3", "Three", "ev", speakers=(SpeakerRecord("William Morgan"),)),
            TalkRecord("t4", "Four", "ev", speakers=(SpeakerRecord("William Morgan", "Acme Farms"),)),
        ],
    )
    with sync_db(tmp_path / "db.sqlite3") as conn:
        apply_document(conn, document)
        people = conn.execute(
            "SELECT p.slug, COUNT(*) FROM people p JOIN talk_speakers ts ON ts.person_id = p.id GROUP BY p.id ORDER BY 1"
        ).fetchall()
    assert people == [("william-morgan", 3), ("william-morgan-acme-farms", 1)]
