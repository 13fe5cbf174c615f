"""Every shape of schedule.json and schedule.xml real tools have written, and Sessionize's other views.

The small real files are in tests/fixtures/real (with their sources and licences), the hand-written
shapes in tests/fixtures/shapes; the large real programmes in ../shared are read only by `realdata` tests.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import realdata
from bot.catalogue.importer import ImportOptions, detect_format, format_report, import_file, read_document
from bot.db.connection import sync_db
from bot.errors import CatalogueFormatError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REAL = FIXTURES / "real"
SHAPES = FIXTURES / "shapes"
V1 = REAL / "c3voc-schedule-json-v1-v2" / "schedule_v1_minor.json"
V2 = REAL / "c3voc-schedule-json-v1-v2" / "schedule_v2_minor.json"
SESSIONS_VIEW = REAL / "sessionize-other-views" / "Sessions.json"
GRIDSMART_VIEW = REAL / "sessionize-other-views" / "GridSmart.json"
OLDEST = SHAPES / "pentabarf-oldest.xml"
GUIDS = SHAPES / "person-guids.xml"
DATASETS = realdata.DATASETS


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    with sync_db(tmp_path / "shapes.sqlite3") as connection:
        yield connection


def _talks(conn: sqlite3.Connection, event: str) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM talks t JOIN events e ON e.id = t.event_id WHERE e.slug = ?", (event,)
        ).fetchone()[0]
    )


def _events(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT slug FROM events ORDER BY slug")]


# Pentabarf's oldest schedule.xml: events directly in days.
def test_the_oldest_pentabarf_shape_imports_every_event_with_its_own_room_and_the_days_date(
    db: sqlite3.Connection,
) -> None:
    document = read_document(OLDEST)
    assert [talk.title for talk in document.talks] == [
        "Compositing Desktops",
        "Smart Cards on Linux",
        "Direct Rendering, Revisited",
        "Packaging Workshop",
    ]
    first = document.talks[0]
    assert first.slug == "free-software-winter-meeting-2007-0"  # the id 0 is an id like any other
    assert first.date == "2007-02-24" and document.talks[2].date == "2007-02-25"
    assert first.summary == "How compositing works."
    assert first.recording_url is None  # "Video (Ogg/Theora)" may be about the project; not taken as a recording
    assert document.summary is not None and document.summary.sessions == 4
    assert document.summary.shape == "pentabarf schedule.xml, events directly in days"
    # One name under two person ids stays two people, as the export says.
    keys = {credit.person_slug for talk in document.talks for credit in talk.speakers if credit.name == "Jens Åberg"}
    assert keys == {"jens-aberg", "jens-aberg-2111"}
    report = import_file(db, OLDEST)
    assert len(report.added) == 4 and _talks(db, "free-software-winter-meeting-2007") == 4


# c3voc schedule.json version 2 and version 1 (real EventFahrplan fixtures).
def test_the_c3voc_version_2_json_imports_its_flat_events_and_skips_its_break(db: sqlite3.Connection) -> None:
    assert detect_format(V2.read_bytes()) == "schedule-json"
    document = read_document(V2)
    assert document.summary is not None
    assert (document.summary.sessions, document.summary.skipped) == (2, {"breaks": 1})
    (talk,) = document.talks
    assert talk.title == "38C3: Opening Ceremony"
    assert talk.date == "2024-12-27T10:30:00+01:00"
    assert talk.track == "CCC"  # the track object names only its slug; the name comes from conference.tracks
    assert talk.source_id == "270fa44c-821a-577f-8ca3-33e8d4a8c2a7"
    assert talk.language == "en"
    assert [credit.name for credit in talk.speakers] == ["Gabriela Bogk"]
    assert talk.slides_url == "https://example.net/foo/bar/1235.pdf"
    report = import_file(db, V2)
    assert len(report.added) == 1
    lines = format_report(report)
    assert (
        "c3voc schedule.json (version 2): 2 sessions in the file, 1 imported, 1 skipped (breaks), 0 refused." in lines
    )


def test_the_version_1_json_with_person_guids_codes_and_ids_imports() -> None:
    document = read_document(V1)
    assert [(talk.title, talk.language) for talk in document.talks] == [
        ("Opening Ceremony", "de"),
        ("The art of text (rendering)", "en"),
    ]
    assert [credit.name for credit in document.talks[0].speakers] == ["pajowu", "Stella"]


# Persons with a guid and no id (the c3voc hub's schedule.xml).
def test_people_with_guids_are_told_apart_by_guid_and_one_guid_is_one_person() -> None:
    document = read_document(GUIDS)
    credits = [(credit.name, credit.person_slug) for talk in document.talks for credit in talk.speakers]
    andreas = {slug for name, slug in credits if name == "Andreas"}
    annas = {slug for name, slug in credits if name.lower() == "anna"}
    assert len(andreas) == 2  # two unrelated people of the same name
    assert len(annas) == 2  # "Anna" and "anna" have different guids
    # The same guid on two talks is one person.
    first, third = document.talks[0].speakers[0], document.talks[2].speakers[1]
    assert first.person_slug == third.person_slug == "andreas"
    assert [talk.language for talk in document.talks] == ["en", "de", None, "en"]  # "de, en" is no one language


def test_people_with_guids_stay_apart_in_the_catalogue(db: sqlite3.Connection) -> None:
    import_file(db, GUIDS)
    names = sorted(row[0] for row in db.execute("SELECT name FROM people"))
    assert names.count("Andreas") == 2
    assert sorted(name for name in names if name.lower() == "anna") == ["Anna", "anna"]


# Sessionize's other views are explained with automatic detection too.
@pytest.mark.parametrize(("path", "view", "held"), [(SESSIONS_VIEW, "Sessions", 10), (GRIDSMART_VIEW, "GridSmart", 11)])
def test_sessionize_views_other_than_all_data_are_explained_with_auto_detection(
    path: Path, view: str, held: int, db: sqlite3.Connection
) -> None:
    assert detect_format(path.read_bytes()) == "sessionize"
    with pytest.raises(CatalogueFormatError) as failure:
        import_file(db, path, ImportOptions(event="Demo 2017"))
    message = failure.value.message
    assert f"this is Sessionize's '{view}' view; export the 'All data' view" in message
    assert f"this file holds {held} sessions, none imported" in message
    assert _events(db) == []


# Unknown JSON: one line saying what it holds.
def test_json_of_no_known_shape_is_refused_saying_what_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "programme.json"
    path.write_text('{"talks": [{"title": "A"}], "rooms": []}', encoding="utf-8")
    with pytest.raises(CatalogueFormatError, match=r"JSON, but neither .*: it holds an object with 'talks', 'rooms'$"):
        read_document(path)


def test_a_schedule_object_whose_sessions_sit_elsewhere_is_refused_and_creates_no_event(
    tmp_path: Path, db: sqlite3.Connection
) -> None:
    path = tmp_path / "schedule.json"
    path.write_text(
        '{"schedule": {"2025-10-31": {"1": {"10:00": {"title": "A talk", "code": "X"}}}}}', encoding="utf-8"
    )
    with pytest.raises(CatalogueFormatError) as failure:
        import_file(db, path)
    assert "1 objects with a title (the first at schedule.2025-10-31.1.10:00)" in failure.value.message
    assert "schedule.conference.days[].rooms or schedule.events" in failure.value.message
    assert _events(db) == []


# The real programmes in ../shared.
@pytest.mark.realdata
def test_real_fosdem_2007_imports_all_215_events(db: sqlite3.Connection) -> None:
    path = DATASETS / "fosdem-2007-xml" / "schedule.xml"
    document = read_document(path)
    assert len(document.talks) == 215
    assert document.talks[0].slug == "fosdem-2007-0" and document.talks[0].title == "AIGLX"
    keys = {c.person_slug for t in document.talks for c in t.speakers if c.name == "Kristian Høgsberg"}
    assert len(keys) == 2  # person ids 1 and 2111
    report = import_file(db, path, ImportOptions(timezone="Europe/Brussels"))
    assert len(report.added) == 215 and _talks(db, "fosdem-2007") == 215


@pytest.mark.realdata
def test_real_38c3_hub_xml_keeps_namesakes_with_different_guids_apart() -> None:
    document = read_document(realdata.CCC_38C3_XML)
    assert len(document.talks) == 1007
    guids: dict[str, set[str]] = {}
    for talk in document.talks:
        for credit in talk.speakers:
            guids.setdefault(credit.name.casefold(), set()).add(credit.person_slug)
    # One person per guid: 571 guids, one of them named "-", which names no one.
    assert sum(len(keys) for keys in guids.values()) == 570
    assert sum(talk.language is not None for talk in document.talks) > 400


@pytest.mark.realdata
def test_real_fosdem_2026_xml_imports_every_event() -> None:
    document = read_document(realdata.FOSDEM_2026_XML)
    assert document.summary is not None and document.summary.sessions == len(document.talks) == 883


@pytest.mark.realdata
def test_real_droidcon_gridsmart_is_explained_with_auto_detection() -> None:
    with pytest.raises(CatalogueFormatError, match=r"'GridSmart' view; export the 'All data' view.* holds 86 sessions"):
        read_document(DATASETS / "droidcon-sf-2023-gridsmart" / "schedule.json", ImportOptions(event="droidcon SF"))


@pytest.mark.realdata
def test_real_pyconfr_json_is_refused_cleanly_in_one_line(db: sqlite3.Connection) -> None:
    with pytest.raises(CatalogueFormatError) as failure:
        import_file(db, DATASETS / "pyconfr-2025-json" / "schedule.json")
    message = failure.value.message
    assert "\n" not in message and "not a frab/pretalx/c3voc schedule.json" in message
    assert "75 objects with a title" in message
    assert _events(db) == []


@pytest.mark.realdata
def test_real_qa_or_the_highway_reports_its_service_sessions(db: sqlite3.Connection) -> None:
    path = DATASETS / "qaorthehwy-2026-sessionize" / "sessionize.json"
    report = import_file(db, path, ImportOptions(event="QA or the Highway 2026", timezone="America/New_York"))
    assert len(report.added) == 38
    assert "Sessionize (All data): 46 sessions in the file, 38 imported, 8 skipped (service sessions), 0 refused." in (
        format_report(report)
    )
