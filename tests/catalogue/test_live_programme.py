"""Every reader keeps what a live programme needs: each talk's end, room and live stream, where the export says."""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.catalogue.export import export_document
from bot.catalogue.formats.fields import duration_minutes, end_of, stream_link
from bot.catalogue.importer import ImportOptions, import_file, read_document
from bot.catalogue.native import dump_native, parse_native
from bot.errors import CatalogueFormatError

from .conftest import DATASETS, FIXTURES, FRAB, PRETALX, REAL_FRAB, REAL_PRETALX, REAL_SCOTTISH, REAL_XML, XML

REAL = pytest.mark.realdata
V1 = FIXTURES / "real" / "c3voc-schedule-json-v1-v2" / "schedule_v1_minor.json"
V2 = FIXTURES / "real" / "c3voc-schedule-json-v1-v2" / "schedule_v2_minor.json"
SCHED = FIXTURES / "real" / "sched-ics-kubecon-eu-2026" / "20260324-excerpt.ics"
SESSIONIZE = FIXTURES / "sessionize-tracks.json"
FOSDEM_2026 = DATASETS / "fosdem-2026-xml" / "schedule.xml"
HUB_38C3 = DATASETS / "38c3-hub-xml" / "schedule-38c3-20251206.xml"


def _first(path: Path, options: ImportOptions | None = None) -> tuple[str | None, str | None, str | None, str | None]:
    talk = read_document(path, options or ImportOptions()).talks[0]
    return talk.date, talk.ends_at, talk.room, talk.stream_url


@pytest.mark.parametrize(
    ("path", "options", "expected"),
    [
        (FRAB, None, ("2023-08-09T11:00:00+02:00", "2023-08-09T11:30:00+02:00", "Ada", None)),
        (XML, None, ("2022-12-27T11:00:00+01:00", "2022-12-27T11:30:00+01:00", "Hall 1", None)),
        (PRETALX, None, ("2021-12-27T11:30:00+01:00", "2021-12-27T12:10:00+01:00", "Studio Nord - Kiel", None)),
        (V1, None, ("2025-12-27T10:30:00+01:00", "2025-12-27T11:00:00+01:00", "One", None)),
        (V2, None, ("2024-12-27T10:30:00+01:00", "2024-12-27T11:00:00+01:00", "Saal 1", None)),
        (
            SCHED,
            None,
            ("2026-03-24T08:00:00+00:00", "2026-03-24T08:35:00+00:00", "Hall 12, Amsterdam, Netherlands", None),
        ),
        (
            SESSIONIZE,
            ImportOptions(event="Highland Cloud Summit 2025", timezone="Europe/London"),
            ("2025-09-26T09:00:00+01:00", "2025-09-26T17:00:00+01:00", "Cellar Lab (30)", None),
        ),
    ],
    ids=["frab-json", "frab-xml", "pretalx", "c3voc-v1", "c3voc-v2", "sched", "sessionize"],
)
def test_each_reader_keeps_the_end_and_the_room(
    path: Path, options: ImportOptions | None, expected: tuple[str | None, ...]
) -> None:
    assert _first(path, options) == expected


def test_every_talk_of_the_test_files_has_its_room_and_end() -> None:
    for path in (FRAB, XML, PRETALX, V1, V2, SCHED):
        talks = read_document(path, ImportOptions()).talks
        assert all(talk.room and talk.ends_at and talk.ends_at > (talk.date or "") for talk in talks), path


def test_room_end_and_duration_are_no_longer_reported_as_unread(tmp_path: Path) -> None:
    for path in (FRAB, XML, PRETALX, V1, V2):
        summary = read_document(path, ImportOptions()).summary
        assert summary is not None
        assert not {"room", "duration", "end"} & {entry.split(" ")[0] for entry in summary.unused}, path


def test_sessionize_without_a_zone_keeps_no_end_and_says_so_in_its_warning() -> None:
    talk = read_document(SESSIONIZE, ImportOptions(event="Highland Cloud Summit 2025")).talks[0]
    assert (talk.date, talk.ends_at, talk.room) == ("2025-09-26", None, "Cellar Lab (30)")


def _schedule(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _rooms(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    rooms: dict[str, list[dict[str, Any]]] = data["schedule"]["conference"]["days"][0]["rooms"]
    return rooms


def test_the_room_comes_from_the_days_rooms_when_the_event_does_not_name_it(tmp_path: Path) -> None:
    data = copy.deepcopy(_schedule(FRAB))
    room, events = next(iter(_rooms(data).items()))
    for event in events:
        event.pop("room", None)
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert read_document(path, ImportOptions()).talks[0].room == room


def test_live_streams_are_kept_from_links_fields_and_rooms(tmp_path: Path) -> None:
    data = copy.deepcopy(_schedule(FRAB))
    rooms = _rooms(data)
    first, *others = [event for events in rooms.values() for event in events]
    first["links"] = [
        {"url": "https://example.org/talk", "title": "Project page"},
        {"url": "https://live.example.org/ada", "title": "Live stream"},
    ]
    others[0]["streaming_url"] = "https://stream.example.org/s/1"
    data["schedule"]["conference"]["rooms"] = [
        {"name": others[1]["room"], "stream_url": "https://rooms.example.org/" + others[1]["room"].lower()}
    ]
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    talks = {talk.source_id: talk for talk in read_document(path, ImportOptions()).talks}
    assert talks[first["guid"]].stream_url == "https://live.example.org/ada"
    assert talks[others[0]["guid"]].stream_url == "https://stream.example.org/s/1"
    room_talks = [talk for talk in talks.values() if talk.room == others[1]["room"] and talk.source_id != first["guid"]]
    assert room_talks
    assert all(
        talk.stream_url in ("https://rooms.example.org/" + others[1]["room"].lower(), "https://stream.example.org/s/1")
        for talk in room_talks
    )


def test_stream_links_are_told_from_recordings_and_chat_rooms() -> None:
    assert stream_link([("https://chat.fosdem.org/#/room/x", "Chat room(web)")]) is None
    assert stream_link([("https://media.ccc.de/v/x", "Recording of the live stream")]) is None
    assert stream_link([("https://live.fosdem.org/watch/janson", "Video")]) == "https://live.fosdem.org/watch/janson"
    assert stream_link([("https://example.org/s", "Livestream")]) == "https://example.org/s"


def test_durations_and_ends() -> None:
    assert [duration_minutes(v) for v in ("00:30", "1:05:40", "PT1H30M", "45", 90, "soon", True)] == [
        30, 66, 90, 45, 90, None, None,
    ]  # fmt: skip
    assert end_of("2026-01-31T23:45:00+01:00", 30) == "2026-02-01T00:15:00+01:00"
    assert end_of("2026-01-31", 30) is None


def test_a_malformed_end_falls_back_on_the_duration(tmp_path: Path) -> None:
    data = copy.deepcopy(_schedule(FRAB))
    event = next(iter(_rooms(data).values()))[0]
    event["end"] = "later"
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert read_document(path, ImportOptions()).talks[0].ends_at == "2023-08-09T11:30:00+02:00"


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "talks.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_reads_room_end_duration_and_stream_columns(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "title,date,end,duration,room,stream url\n"
        "Opening,2026-05-04T09:00:00+02:00,09:30,,Main hall,https://live.example.org/main\n"
        "Late,2026-05-04T23:30:00+02:00,00:15,,Main hall,\n"
        "Measured,2026-05-04T10:00:00+02:00,,00:45,Room B,\n"
        "Dated,2026-05-04T11:00:00+02:00,2026-05-04T12:00:00+02:00,,,\n"
        "Day only,2026-05-04,,00:45,Room B,\n",
    )
    talks = read_document(path, ImportOptions(event="Conf 2026")).talks
    assert [(t.ends_at, t.room, t.stream_url) for t in talks] == [
        ("2026-05-04T09:30:00+02:00", "Main hall", "https://live.example.org/main"),
        ("2026-05-05T00:15:00+02:00", "Main hall", None),
        ("2026-05-04T10:45:00+02:00", "Room B", None),
        ("2026-05-04T12:00:00+02:00", None, None),
        (None, "Room B", None),
    ]


def test_a_csv_end_before_the_start_fails_naming_the_row(tmp_path: Path) -> None:
    path = _csv(tmp_path, "title,date,end\nOpening,2026-05-04T09:00:00+02:00,2026-05-04T08:00:00+02:00\n")
    with pytest.raises(CatalogueFormatError, match=r"row 1 .*field 'end' is before the start"):
        read_document(path, ImportOptions(event="Conf 2026"))


def test_the_bundled_format_round_trips_room_end_and_stream(conn: sqlite3.Connection, tmp_path: Path) -> None:
    import_file(conn, FRAB, ImportOptions())
    document = export_document(conn)
    text = dump_native(document)
    assert 'room = "Ada"' in text and "ends_at = 2023-08-09 11:30:00+02:00" in text
    again = parse_native(text)
    assert [(t.slug, t.date, t.ends_at, t.room, t.stream_url) for t in again.talks] == [
        (t.slug, t.date, t.ends_at, t.room, t.stream_url) for t in document.talks
    ]
    assert all(t.ends_at and t.room for t in again.talks)


def test_the_bundled_format_checks_its_live_fields() -> None:
    head = '[[events]]\nid = "e"\nname = "E"\n\n[[talks]]\nid = "t"\ntitle = "T"\nevent = "e"\n'
    talk = parse_native(head + 'date = 2026-05-04T09:00:00+02:00\nends_at = 2026-05-04T09:30:00+02:00\n'
                        'room = "Main"\nstream_url = "https://live.example.org/main"\n').talks[0]  # fmt: skip
    assert (talk.ends_at, talk.room, talk.stream_url) == (
        "2026-05-04T09:30:00+02:00", "Main", "https://live.example.org/main",
    )  # fmt: skip
    for bad, message in (
        ("ends_at = 2026-05-04", "must be a date-time with offset"),
        ("date = 2026-05-04T09:00:00+02:00\nends_at = 2026-05-04T08:00:00+02:00", "before the talk's 'date'"),
        ('stream_url = "live.example.org"', "must be a http"),
    ):
        with pytest.raises(CatalogueFormatError, match=message):
            parse_native(head + bad + "\n")


def test_an_import_that_moves_a_talk_updates_its_end_and_room(conn: sqlite3.Connection, tmp_path: Path) -> None:
    import_file(conn, FRAB, ImportOptions())
    data = copy.deepcopy(_schedule(FRAB))
    event = next(iter(_rooms(data).values()))[0]
    event["room"] = "Elsewhere"
    event["duration"] = "01:00"
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    report = import_file(conn, path, ImportOptions())
    assert len(report.changed) == 1
    row = conn.execute("SELECT ends_at, room FROM talks WHERE source_id = ?", (event["guid"],)).fetchone()
    assert tuple(row) == ("2023-08-09T12:00:00+02:00", "Elsewhere")


@REAL
def test_fosdem_2026_talks_get_their_rooms_and_ends() -> None:
    talks = read_document(FOSDEM_2026, ImportOptions()).talks
    assert len(talks) == 883
    assert all(talk.room and talk.ends_at for talk in talks)
    first = talks[0]
    assert (first.title, first.date, first.ends_at, first.room) == (
        "Welcome to FOSDEM 2026", "2026-01-31T09:30:00+01:00", "2026-01-31T09:50:00+01:00", "Janson",
    )  # fmt: skip
    assert len({talk.room for talk in talks}) == 30


@REAL
@pytest.mark.parametrize("path", [REAL_FRAB, REAL_PRETALX, REAL_XML, HUB_38C3], ids=["camp2019", "rc3", "31c3", "38c3"])
def test_real_schedules_give_every_talk_a_room_and_an_end(path: Path) -> None:
    talks = read_document(path, ImportOptions()).talks
    assert talks and all(talk.room and talk.ends_at and talk.ends_at > (talk.date or "") for talk in talks)


@REAL
def test_the_real_sessionize_export_names_rooms_by_id() -> None:
    options = ImportOptions(event="Scottish Summit 2026", timezone="Europe/London")
    talks = read_document(REAL_SCOTTISH, options).talks
    assert all(talk.room and talk.ends_at for talk in talks)
    assert talks[0].room == "Presidents Suite 1 (150)"
