"""Namesakes that keep their ids, Sched calendars read carefully, Sessionize languages, CSV times, /catalog date_format."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.catalogue.formats import sched, sessionize
from bot.catalogue.formats.document import CatalogueDocument
from bot.catalogue.importer import ImportOptions, import_data
from bot.db.connection import connect_sync
from bot.errors import CatalogueFormatError
from emulator.interactions import Upload
from emulator.server import DiscordEmulator
from tests.e2e.conftest import StartBot, start_bot

__all__ = ["start_bot"]  # the fixture, shared with the end-to-end tests

# --- Namesakes in a frab export whose persons have both a number (`id`) and a `guid` ----------------------

_MO_1 = {"id": 1, "guid": "f1c0ffee-0000-4000-8000-000000000001", "public_name": "Mo"}
_MO_2 = {"id": 2, "guid": "0a0b0c0d-0000-4000-8000-000000000002", "public_name": "Mo"}


def _camp(*talks: tuple[int, str, list[dict[str, Any]]]) -> bytes:
    events = [
        {
            "id": ident,
            "guid": f"00000000-0000-4000-8000-{ident:012d}",
            "date": f"2019-08-21T{10 + position:02d}:00:00+02:00",
            "start": f"{10 + position:02d}:00",
            "duration": "00:30",
            "room": "Hall",
            "title": title,
            "type": "lecture",
            "persons": persons,
        }
        for position, (ident, title, persons) in enumerate(talks)
    ]
    conference = {
        "acronym": "camp",
        "title": "Camp",
        "start": "2019-08-21",
        "end": "2019-08-21",
        "days": [{"index": 1, "date": "2019-08-21", "rooms": {"Hall": events}}],
    }
    return json.dumps({"schedule": {"version": "1", "conference": conference}}).encode()


def _speakers_of(conn: sqlite3.Connection) -> dict[str, list[str]]:
    rows = conn.execute(
        "SELECT t.title, p.slug FROM talk_speakers ts JOIN talks t ON t.id = ts.talk_id"
        " JOIN people p ON p.id = ts.person_id ORDER BY t.title, ts.position"
    ).fetchall()
    found: dict[str, list[str]] = {}
    for title, slug in rows:
        found.setdefault(title, []).append(slug)
    return found


def test_a_second_namesake_leaves_the_first_its_person_and_takes_the_numbered_id(conn: sqlite3.Connection) -> None:
    import_data(conn, _camp((11, "Radio", [_MO_1])), "camp1.json")
    assert _speakers_of(conn) == {"Radio": ["mo"]}

    report = import_data(conn, _camp((11, "Radio", [_MO_1]), (12, "Knitting", [_MO_2])), "camp2.json")
    assert report.changed == [] and report.unchanged == 1
    assert [title for _, title in report.added] == ["Knitting"]
    # The older person (id 1) keeps `mo`, the newer (id 2) is `mo-2`, as when ids alone told them apart.
    assert _speakers_of(conn) == {"Knitting": ["mo-2"], "Radio": ["mo"]}


def test_namesakes_are_ordered_by_number_in_either_order_of_the_file(conn: sqlite3.Connection) -> None:
    import_data(conn, _camp((12, "Knitting", [_MO_2]), (11, "Radio", [_MO_1])), "camp.json")
    assert _speakers_of(conn) == {"Knitting": ["mo-2"], "Radio": ["mo"]}


# --- Sched calendars ---------------------------------------------------------------------------------


def _ics(*events: str) -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{event.strip()}\r\nEND:VEVENT\r\n" for event in events)
    calendar = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Sched.com Demo Conf 2026//EN\r\n{body}END:VCALENDAR\r\n"
    return calendar.encode()


def _vevent(uid: str, summary: str, *, start: str = "20260324T080000Z", description: str = "") -> str:
    lines = [f"UID:{uid}", f"SUMMARY:{summary}", f"DTSTART:{start}", "CATEGORIES:TALKS"]
    if description:
        lines.append(f"DESCRIPTION:{description}")
    return "\r\n".join(lines)


def _read_sched(data: bytes) -> CatalogueDocument:
    return sched.parse(data, "all.ics", ImportOptions())


def test_a_malformed_start_is_one_line_naming_the_file_event_and_property() -> None:
    data = _ics(
        _vevent("a1", "Opening - Jane Doe\\, Acme"), _vevent("b2", "Meshes - Bo Li\\, Initech", start="notadate")
    )
    with pytest.raises(CatalogueFormatError) as caught:
        _read_sched(data)
    message = str(caught.value)
    assert message.startswith("all.ics: event #2 (UID 'b2'): property 'DTSTART'")
    assert "notadate" in message and "\n" not in message


def test_a_calendar_that_is_not_utf8_is_refused_as_the_other_readers_refuse_it() -> None:
    data = _ics(_vevent("a1", "Caf\xe9 Chat - Jane Doe\\, Acme")).replace("Caf\xe9".encode(), b"Caf\xe9")
    assert b"Caf\xe9 Chat" in data
    with pytest.raises(CatalogueFormatError, match=r"^all\.ics: not UTF-8 text \(byte \d+"):
        _read_sched(data)


@pytest.mark.parametrize(
    "summary",
    [
        "Kubernetes - Past, Present and Future",
        "Kubernetes - Past, Present, Future",
        "Observability - Part 2, Tracing",
        "Security - lessons learned, mistakes made",
    ],
)
def test_a_title_with_a_dash_and_commas_but_no_people_stays_whole(summary: str) -> None:
    assert sched.split_summary(summary) == (summary, [])


def test_names_of_people_after_the_dash_are_still_speakers() -> None:
    title, credits = sched.split_summary("Meshes - Ana de la Cruz, Staff Engineer, Acme & Bo Li, Initech")
    assert title == "Meshes"
    assert [(c.name, c.organization) for c in credits if c] == [("Ana de la Cruz", "Acme"), ("Bo Li", "Initech")]


@pytest.mark.parametrize(
    ("line", "people"),
    [
        ("Speakers: Jane Doe; John Roe", [("Jane Doe", None), ("John Roe", None)]),
        ("Speakers: Jane Doe\\, John Roe", [("Jane Doe", None), ("John Roe", None)]),
        ("Speakers: Jane Doe\\, John Roe and Max Mustermann", [("Jane Doe", None), ("John Roe", None),
                                                               ("Max Mustermann", None)]),
        ("Speakers: Jane Doe", [("Jane Doe", None)]),
        ("Speakers: Dana Park\\, Acme\\; Eli Stone", [("Dana Park", "Acme"), ("Eli Stone", None)]),
        ("Speakers: Dana Park\\, Acme & Eli Stone\\, Globex", [("Dana Park", "Acme"), ("Eli Stone", "Globex")]),
    ],
)  # fmt: skip
def test_speaker_lines_without_companies_are_read_and_cut_from_the_summary(
    line: str, people: list[tuple[str, str | None]]
) -> None:
    (talk,) = _read_sched(_ics(_vevent("a1", "Meshes", description=f"Why meshes.\\n{line}"))).talks
    assert [(c.name, c.organization) for c in talk.speakers] == people
    assert talk.summary == "Why meshes."


def test_a_speaker_line_that_names_no_one_readably_stays_in_the_summary() -> None:
    (talk,) = _read_sched(_ics(_vevent("a1", "Meshes", description="Why meshes.\\nSpeakers: TBA in 2026"))).talks
    assert talk.speakers == ()
    assert "Speakers: TBA in 2026" in talk.summary


# --- Sessionize: the category group that holds the language --------------------------------------------


def test_the_session_language_group_is_not_hidden_by_a_languages_and_frameworks_group() -> None:
    export = {
        "sessions": [
            {"id": "1", "title": "Typed Python", "startsAt": "2025-04-26T09:00:00", "speakers": [],
             "categoryItems": [101, 202], "questionAnswers": [], "status": "Accepted"},
        ],
        "speakers": [],
        "questions": [],
        "categories": [
            {"id": 10, "title": "Languages & frameworks", "type": "session", "sort": 0,
             "items": [{"id": 101, "name": "Python"}, {"id": 102, "name": "React"}]},
            {"id": 20, "title": "Session language", "type": "session", "sort": 1,
             "items": [{"id": 201, "name": "English"}, {"id": 202, "name": "German"}]},
        ],
        "rooms": [],
    }  # fmt: skip
    document = sessionize.parse(json.dumps(export).encode(), "all.json", ImportOptions(event="Dev Day 2025"))
    assert [talk.language for talk in document.talks] == ["de"]


# --- CSV: a time that cannot be read ------------------------------------------------------------------


@pytest.mark.parametrize("day", ["2014-12-28", "28/12/14"])
def test_an_unreadable_time_is_refused_next_to_any_date(conn: sqlite3.Connection, day: str) -> None:
    table = f"Title,Date,Time\r\nOpening,{day},09:30\r\nMeshes,{day},garbage\r\n".encode()
    with pytest.raises(CatalogueFormatError) as caught:
        import_data(conn, table, "talks.csv", ImportOptions(event="Congress"))
    message = str(caught.value)
    assert message.startswith("talks.csv: row 2 (line 3): field 'time'") and "garbage" in message
    assert "\n" not in message


# --- /catalog import: date_format ------------------------------------------------------------------------


async def test_catalog_import_takes_a_date_format_for_ambiguous_csv_dates(
    discord_emulator: DiscordEmulator, start_bot: StartBot, bundled_db: Path
) -> None:
    owner = discord_emulator.world.owner
    table = b"Title,Speakers,Date\r\nMeshes,Ann Lee,01/02/24\r\nProxies,Bo Chen,03/04/24\r\n"
    options: dict[str, object] = {"file": Upload("talks.csv", content=table, content_type="text/csv"),
                                  "event": "Meetup 2024"}  # fmt: skip
    async with start_bot():
        handle = await discord_emulator.slash("catalog import", options, user=owner)
        await handle.response()
        refused = str((await handle.followup(timeout=10)).payload)
        assert "date_format" in refused
        handle = await discord_emulator.slash("catalog import", {**options, "date_format": "%d/%m/%y"}, user=owner)
        await handle.response()
        assert "added 2" in (await handle.followup(timeout=10)).content
    conn = connect_sync(bundled_db)
    try:
        dates = conn.execute("SELECT title, date FROM talks WHERE title IN ('Meshes', 'Proxies') ORDER BY title")
        assert dates.fetchall() == [("Meshes", "2024-02-01"), ("Proxies", "2024-04-03")]
    finally:
        conn.close()
