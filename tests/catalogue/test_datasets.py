"""Every export imports, with counts checked against the file itself: the test files in tests/fixtures
always, and the real exports in shared/datasets (marked `realdata`) where they are beside the checkout."""

from __future__ import annotations

import json
import sqlite3
import tomllib
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from bot.catalogue.export import export_document
from bot.catalogue.formats import sessionize
from bot.catalogue.importer import ImportOptions, import_file, read_document
from bot.catalogue.native import dump_native, parse_native
from bot.catalogue.writer import apply_document
from bot.domain.text import name_key

from .conftest import (
    FRAB,
    IMPORTS,
    REAL_AZURE,
    REAL_FRAB,
    REAL_IMPORTS,
    REAL_PRETALX,
    REAL_SCOTTISH,
    REAL_XML,
    SESSIONIZE_VIDEOS,
    XML,
    counts,
    real_import,
    snapshot,
)


# Counting straight from the files, without the readers under test.
def _people(credits: Iterable[tuple[str, object]]) -> int:
    """People by the identity rule: one per folded name, or one per source id when a name has several."""
    ids: dict[str, set[object]] = defaultdict(set)
    for name, ident in credits:
        ids[name_key(name)].add(ident)
    return sum(max(1, len(found - {None})) for found in ids.values())


def _schedule_json(path: Path) -> tuple[int, int]:
    conference = json.loads(path.read_text(encoding="utf-8"))["schedule"]["conference"]
    events = [event for day in conference["days"] for room in day["rooms"].values() for event in room]
    people = _people((person["public_name"], person.get("id") or person.get("code"))
                     for event in events for person in event["persons"])  # fmt: skip
    return len(events), people


def _schedule_xml(path: Path) -> tuple[int, int]:
    root = ET.parse(path).getroot()  # noqa: S314 - a known, trusted dataset file
    events = root.findall("./day/room/event")
    people = _people((person.text or "", person.get("id"))
                     for event in events for person in event.findall("./persons/person"))  # fmt: skip
    return len(events), people


def _sessionize(path: Path) -> tuple[int, int]:
    data = json.loads(path.read_text(encoding="utf-8"))
    sessions = [s for s in data["sessions"] if not s["isServiceSession"] and s["status"] == "Accepted"]
    names = {speaker["id"]: speaker["fullName"] for speaker in data["speakers"]}
    people = _people((names[speaker], speaker) for session in sessions for speaker in session["speakers"])
    return len(sessions), people


def _bundled(path: Path) -> tuple[int, int]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    people = {name_key(speaker["name"]) for talk in data["talks"] for speaker in talk.get("speakers", [])}
    return len(data["talks"]), len(people)


Counter = Callable[[Path], tuple[int, int]]

# name -> (counter, events, (talks, people)). People are distinct folded names, except where the file
# gives one folded name to several person ids: then each id is a person. So the frab test file has 8
# people, not 7: its "kai" (id 4401, mesh networking) and "Kai" (id 4417, a sensor buoy) are two; the
# XML one has 7, not 6: "Marit Solberg" (2303) and " Marit Solberg" (2399) are two frab accounts, and
# the importer goes by the source's ids rather than guess which accounts are one person. The Sessionize
# test file with tracks has 12 sessions: two service sessions and one declined are not talks.
EXPECTED: dict[str, tuple[Counter, int, tuple[int, int]]] = {
    "pretalx": (_schedule_json, 1, (8, 5)),
    "frab-json": (_schedule_json, 1, (9, 8)),
    "frab-xml": (_schedule_xml, 1, (8, 7)),
    "sessionize-tracks": (_sessionize, 1, (9, 7)),
    "sessionize-videos": (_sessionize, 1, (7, 6)),
    "conference-toml": (_bundled, 4, (27, 17)),
}
# The same for the real exports. Camp 2019 has 90 people, not 89: its "mo" (id 3988, mix networks) and
# "Mo" (id 9029, Cyborg Foundation) are two people. 31C3 has 198, not 197, for the same reason: "Laura
# Poitras" (5258) and " Laura Poitras" (3669) are two frab accounts.
REAL_EXPECTED: dict[str, tuple[Counter, int, tuple[int, int]]] = {
    "pretalx-rc3": (_schedule_json, 1, (48, 56)),
    "frab-camp2019": (_schedule_json, 1, (79, 90)),
    "frab-31c3-xml": (_schedule_xml, 1, (138, 198)),
    "sessionize-scottish-summit": (_sessionize, 1, (61, 76)),
    "sessionize-global-azure": (_sessionize, 1, (15, 16)),
    "kubecon-na-2019": (_bundled, 4, (373, 533)),
}
REAL = pytest.mark.realdata
NAMES = [*IMPORTS, *(pytest.param(name, marks=REAL) for name in REAL_IMPORTS)]


def _source(name: str, request: pytest.FixtureRequest) -> tuple[Path, ImportOptions]:
    return IMPORTS[name] if name in IMPORTS else real_import(name, request)


@pytest.mark.parametrize("name", NAMES)
def test_each_dataset_imports_with_the_files_counts_of_talks_people_and_events(
    name: str, conn: sqlite3.Connection, request: pytest.FixtureRequest
) -> None:
    path, options = _source(name, request)
    count, events, documented = EXPECTED[name] if name in EXPECTED else REAL_EXPECTED[name]
    talks, people = count(path)
    assert (talks, people) == documented
    report = import_file(conn, path, options)
    assert len(report.added) == talks and not report.changed and not report.removed
    assert counts(conn) == {"talks": talks, "people": people, "events": events}
    assert report.people_added == people


@pytest.mark.parametrize("name", NAMES)
def test_importing_the_same_file_twice_changes_nothing(
    name: str, conn: sqlite3.Connection, request: pytest.FixtureRequest
) -> None:
    path, options = _source(name, request)
    import_file(conn, path, options)
    before = snapshot(conn)
    again = import_file(conn, path, options)
    assert not again.touched and again.unchanged == counts(conn)["talks"]
    assert snapshot(conn) == before


@pytest.mark.parametrize(
    ("names", "camp", "congress", "events"),
    [(list(IMPORTS), FRAB, XML, 9),
     pytest.param(list(REAL_IMPORTS), REAL_FRAB, REAL_XML, 9, marks=REAL)],
    ids=["fixtures", "real"],
)  # fmt: skip
def test_all_datasets_share_one_catalogue_and_people_across_events(
    names: list[str], camp: Path, congress: Path, events: int, conn: sqlite3.Connection, request: pytest.FixtureRequest
) -> None:
    for name in names:
        import_file(conn, *_source(name, request))
    assert counts(conn)["events"] == events
    # Speakers of both frab events (the camp's JSON and the congress's XML) are one person each.
    at_camp = {name_key(p) for p in _names(camp)}
    at_congress = {name_key(p.text or "") for p in ET.parse(congress).getroot().iter("person")}  # noqa: S314
    shared = at_camp & at_congress
    assert shared
    for key in shared:
        rows = conn.execute("SELECT count(*) FROM people WHERE name_key = ?", (key,)).fetchone()
        assert rows[0] == 1, key
        talks = conn.execute(
            "SELECT count(DISTINCT t.event_id) FROM talks t JOIN talk_speakers ts ON ts.talk_id = t.id"
            " JOIN people p ON p.id = ts.person_id WHERE p.name_key = ?",
            (key,),
        ).fetchone()
        assert talks[0] >= 2, key  # one person, credited at both events


def _names(path: Path) -> list[str]:
    conference = json.loads(path.read_text(encoding="utf-8"))["schedule"]["conference"]
    return [p["public_name"] for d in conference["days"] for r in d["rooms"].values() for e in r for p in e["persons"]]


ROUND_TRIPS = [
    *(name for name in IMPORTS),
    "sessionize-videos-dates-only",
    *(pytest.param(name, marks=REAL) for name in REAL_IMPORTS),
    pytest.param("sessionize-global-azure-dates-only", marks=REAL),
]


@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_import_export_import_round_trips_without_a_change(
    name: str, conn: sqlite3.Connection, request: pytest.FixtureRequest
) -> None:
    if name == "sessionize-videos-dates-only":
        path, options = SESSIONIZE_VIDEOS, ImportOptions(event="Cloud Day Linz 2025")
    elif name == "sessionize-global-azure-dates-only":
        path, options = REAL_AZURE, ImportOptions(event="Global Azure Austria 2024")
    else:
        path, options = _source(name, request)
    import_file(conn, path, options)
    before = snapshot(conn)
    text = dump_native(export_document(conn))
    report = apply_document(conn, parse_native(text, "export.toml"))
    assert not report.touched, (report.added, report.changed, report.removed)
    assert snapshot(conn) == before


# What the readers make of particular records of the real exports. The same behaviours are checked on
# the test files in test_schedule.py and test_sessionize.py; these pin them on the programmes themselves.
@REAL
def test_the_real_schedules_read_as_their_programmes_say() -> None:
    camp = read_document(REAL_FRAB)
    [event] = camp.events
    assert (event.slug, event.name, event.short_name) == ("camp2019", "Chaos Communication Camp 2019", "Camp2019")
    assert (str(event.start_date), str(event.end_date)) == ("2019-08-21", "2019-08-26")
    talk = next(t for t in camp.talks if t.source_id == "a0a0fcfe-b7fb-46e3-84b6-97a5406016b4")
    assert (talk.slug, talk.title, talk.date) == ("camp2019-10386", "Opening Ceremony", "2019-08-21T11:00:00+02:00")
    assert talk.track == "CCC" and talk.topics == ("ccc",) and [s.name for s in talk.speakers] == ["jinxx", "smtw"]
    attached = next(t for t in camp.talks if t.slug == "camp2019-10213")  # attachment with a relative path
    assert attached.slides_url is not None
    assert attached.slides_url.startswith("https://fahrplan.events.ccc.de/system/event_attachments/")

    rc3 = read_document(REAL_PRETALX)
    talk = next(t for t in rc3.talks if t.slug == "rc3-channels-2020-15")
    assert "[Gluon](" not in talk.summary and "auf Gluon." in talk.summary and "\r" not in talk.summary
    kinds = {t.title: t.kind for t in rc3.talks}
    assert kinds["An Introduction to Tox"] == "lightning"  # type "LightningTalk 15min 10min Q&A"
    assert kinds["Spiele lieber dezentral"] == "workshop"  # type "Workshop 60 Min"

    congress = read_document(REAL_XML)
    keynote = next(t for t in congress.talks if t.slug == "31c3-6571")
    assert (keynote.title, keynote.kind, keynote.summary) == ("31C3 Keynote: A New Dawn", "keynote", "The 31C3 Keynote")
    assert next(t for t in congress.talks if t.slug == "31c3-6072").slides_url == "https://ef.gy/31c3"


@REAL
def test_the_real_namesakes_with_their_own_frab_ids_stay_two_people(conn: sqlite3.Connection) -> None:
    import_file(conn, REAL_FRAB)
    rows = conn.execute(
        "SELECT p.slug, p.name, t.title FROM people p JOIN talk_speakers ts ON ts.person_id = p.id"
        " JOIN talks t ON t.id = ts.talk_id WHERE p.name_key = 'mo' ORDER BY p.slug"
    ).fetchall()
    # Camp 2019's "mo" (frab person 3988) spoke on mix networks, "Mo" (9029) on the Cyborg Foundation.
    assert [(slug, name) for slug, name, _ in rows] == [("mo", "mo"), ("mo-9029", "Mo")]
    assert rows[0][2].startswith("Introduction to Mix Networks") and rows[1][2].startswith("Cyborg")
    keys = {s.key for t in read_document(REAL_XML).talks for s in t.speakers if s.name == "Laura Poitras"}
    assert keys == {"laura-poitras", "laura-poitras-5258"}  # frab lists her twice, as persons 3669 and 5258


@REAL
def test_the_real_sessionize_exports_give_tracks_kinds_recordings_and_organisations() -> None:
    summit = sessionize.parse(REAL_SCOTTISH.read_bytes(), "sessionize.json", ImportOptions(event="Scottish Summit 2026"))
    assert {talk.track for talk in summit.talks} == {"Inclusion & Personal Development", "Copilot + Agents",
                                                     "Security", "Azure", "M365", "Dynamics & Power Platform"}  # fmt: skip
    talk = next(t for t in summit.talks if t.source_id == "1252943")
    assert talk.track == "Dynamics & Power Platform" and talk.topics == ("dynamics-power-platform",)
    kinds = {talk.title: talk.kind for talk in summit.talks}
    assert kinds["Scottish Summit 2026 Keynote"] == "keynote"
    assert kinds["Agent Academy Live! Workshop"] == "workshop"
    assert kinds["How to save time and get better outcomes from Workshops using AI"] != "workshop"
    assert sum(kind == "lightning" for kind in kinds.values()) == 9  # "20 min lightning talk"
    zoned = sessionize.parse(REAL_SCOTTISH.read_bytes(), "s.json", ImportOptions(event="S", timezone="Europe/London"))
    assert zoned.talks[0].date == "2026-10-02T09:00:00+01:00"

    azure = sessionize.parse(REAL_AZURE.read_bytes(), "sessionize.json", ImportOptions(event="Global Azure Austria 2024"))
    assert all(t.recording_url and t.recording_url.startswith("https://youtube.com/live/") for t in azure.talks)
    assert azure.talks[0].recording_url == "https://youtube.com/live/mIguuYMFbh0"
    credits = {s.name: s.organization for talk in azure.talks for s in talk.speakers}
    assert credits["Ed Burns"] == "Microsoft" and credits["Alex Kornfellner"] == "HTL Leonding"
