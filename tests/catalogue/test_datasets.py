"""Every real export in shared/datasets imports, with counts checked against the file itself."""

from __future__ import annotations

import json
import sqlite3
import tomllib
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pytest

from bot.catalogue.importer import ImportOptions, import_file
from bot.catalogue.native import dump_native, parse_native
from bot.db.export import export_document
from bot.db.writer import apply_document
from bot.domain.text import name_key

from .conftest import AZURE, FRAB, IMPORTS, KUBECON_TOML, PRETALX, SCOTTISH, XML, counts, snapshot


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
    sessions = [s for s in data["sessions"] if not s["isServiceSession"]]
    names = {speaker["id"]: speaker["fullName"] for speaker in data["speakers"]}
    people = _people((names[speaker], speaker) for session in sessions for speaker in session["speakers"])
    return len(sessions), people


def _bundled(path: Path) -> tuple[int, int]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    people = {name_key(speaker["name"]) for talk in data["talks"] for speaker in talk["speakers"]}
    return len(data["talks"]), len(people)


# (counter, file, events, (talks, people)). People are distinct folded names, except where the file
# gives one folded name to several person ids: then each id is a person. So Camp 2019 has 90 people,
# not 89: its "mo" (id 3988, mix networks) and "Mo" (id 9029, Cyborg Foundation) are two people. 31C3
# has 198, not 197, for the same reason: "Laura Poitras" (5258) and " Laura Poitras" (3669) are two
# frab accounts, and the importer goes by the source's ids rather than guess which accounts are one person.
EXPECTED = {
    "pretalx-rc3": (_schedule_json, PRETALX, 1, (48, 56)),
    "frab-camp2019": (_schedule_json, FRAB, 1, (79, 90)),
    "frab-31c3-xml": (_schedule_xml, XML, 1, (138, 198)),
    "sessionize-scottish-summit": (_sessionize, SCOTTISH, 1, (61, 76)),
    "sessionize-global-azure": (_sessionize, AZURE, 1, (15, 16)),
    "kubecon-na-2019": (_bundled, KUBECON_TOML, 4, (373, 533)),
}


@pytest.mark.parametrize("name", list(IMPORTS))
def test_each_dataset_imports_with_the_files_counts_of_talks_people_and_events(
    name: str, conn: sqlite3.Connection
) -> None:
    path, options = IMPORTS[name]
    count, source, events, documented = EXPECTED[name]
    talks, people = count(source)
    assert (talks, people) == documented
    report = import_file(conn, path, options)
    assert len(report.added) == talks and not report.changed and not report.removed
    assert counts(conn) == {"talks": talks, "people": people, "events": events}
    assert report.people_added == people


@pytest.mark.parametrize("name", list(IMPORTS))
def test_importing_the_same_file_twice_changes_nothing(name: str, conn: sqlite3.Connection) -> None:
    path, options = IMPORTS[name]
    import_file(conn, path, options)
    before = snapshot(conn)
    again = import_file(conn, path, options)
    assert not again.touched and again.unchanged == counts(conn)["talks"]
    assert snapshot(conn) == before


def test_all_datasets_share_one_catalogue_and_people_across_events(conn: sqlite3.Connection) -> None:
    for path, options in IMPORTS.values():
        import_file(conn, path, options)
    assert counts(conn)["events"] == 9
    # Speakers of both CCC events (and rC3) are one person each, whatever event they spoke at.
    camp = {name_key(p) for p in _names(FRAB)}
    congress = {name_key(p.text or "") for p in ET.parse(XML).getroot().iter("person")}  # noqa: S314
    shared = camp & congress
    assert shared
    for key in shared:
        rows = conn.execute("SELECT count(*) FROM people WHERE name_key = ?", (key,)).fetchone()
        assert rows[0] == 1, key


def _names(path: Path) -> list[str]:
    conference = json.loads(path.read_text(encoding="utf-8"))["schedule"]["conference"]
    return [p["public_name"] for d in conference["days"] for r in d["rooms"].values() for e in r for p in e["persons"]]


ROUND_TRIPS = [
    "pretalx-rc3",
    "frab-camp2019",
    "frab-31c3-xml",
    "sessionize-scottish-summit",
    "sessionize-global-azure-dates-only",
    "kubecon-na-2019",
]


@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_import_export_import_round_trips_without_a_change(name: str, conn: sqlite3.Connection) -> None:
    if name == "sessionize-global-azure-dates-only":
        path, options = AZURE, ImportOptions(event="Global Azure Austria 2024")
    else:
        path, options = IMPORTS[name]
    import_file(conn, path, options)
    before = snapshot(conn)
    text = dump_native(export_document(conn))
    report = apply_document(conn, parse_native(text, "export.toml"))
    assert not report.touched, (report.added, report.changed, report.removed)
    assert snapshot(conn) == before
