"""frab / pretalx schedule.json and schedule.xml: mapping, updates, and malformed files that fail cleanly."""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.catalogue.formats import schedule_json, schedule_xml
from bot.catalogue.importer import ImportOptions, import_file, read_document
from bot.errors import CatalogueFormatError

from .conftest import FRAB, PRETALX, XML, snapshot


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _events(data: dict[str, Any]) -> list[dict[str, Any]]:
    days = data["schedule"]["conference"]["days"]
    return [event for day in days for room in day["rooms"].values() for event in room]


def _write(tmp_path: Path, data: object, name: str = "schedule.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_frab_event_maps_to_a_talk_with_stable_ids_dates_track_topic_and_speakers() -> None:
    document = read_document(FRAB)
    [event] = document.events
    assert (event.slug, event.name, event.short_name) == ("lsc2023", "Lakeside Summer Camp 2023", "LSC2023")
    assert (str(event.start_date), str(event.end_date)) == ("2023-08-09", "2023-08-13")
    talk = next(t for t in document.talks if t.source_id == "7d3e2a10-4b5c-4e6f-8a9b-0c1d2e3f4a01")
    assert talk.slug == "lsc2023-2001" and talk.title == "Opening Ceremony"
    assert talk.date == "2023-08-09T11:00:00+02:00"
    assert talk.track == "Camp" and talk.topics == ("camp",) and document.topics["camp"] == "Camp"
    assert [s.name for s in talk.speakers] == ["pixie", "Rolf Hansen"]
    assert talk.summary == "Welcome to the lake! How the camp works and who to ask."
    kinds = {t.slug: t.kind for t in document.talks}
    assert kinds["lsc2023-2007"] == "other" and kinds["lsc2023-2008"] == "workshop"  # types performance, workshop


def test_pretalx_markdown_abstracts_become_plain_text_and_types_become_kinds() -> None:
    document = read_document(PRETALX)
    talk = next(t for t in document.talks if t.slug == "wc-2021-101")
    assert "[Etherpad](" not in talk.summary and "eigenes Etherpad auf" in talk.summary and "\r" not in talk.summary
    assert "auf Etherpad." in talk.summary
    kinds = {t.title: t.kind for t in document.talks}
    assert kinds["An Introduction to LoRa Mesh Radio"] == "lightning"  # type "LightningTalk 15min + 10min Q&A"
    assert kinds["Löten für Anfänger*innen"] == "workshop"  # type "Workshop 60 Min"
    assert kinds["Spiele lieber offline"] == "workshop"  # type "Workshop 110min"
    assert kinds["Winter Channels Opening"] == "other"  # type "Other"
    assert kinds["Reproducible Builds for Everyone"] == "talk"


def test_xml_and_json_forms_read_alike_with_subtitles_keynotes_and_slides() -> None:
    document = read_document(XML)
    keynote = next(t for t in document.talks if t.slug == "7hhc-8102")
    assert (keynote.title, keynote.kind, keynote.summary) == ("7HHC Keynote: Charting Calmer Waters", "keynote",
                                                              "The 7HHC Keynote")  # fmt: skip
    ferry = next(t for t in document.talks if t.slug == "7hhc-8103")  # "Slides (Draft)", then a GitHub link
    assert ferry.slides_url == "https://slides.example.net/7hhc/ferry-machines" and ferry.recording_url is None
    mapped = next(t for t in document.talks if t.slug == "7hhc-8104")  # a link titled "Recording"
    assert mapped.recording_url == "https://media.example.org/v/7hhc-8104-den-hafen-kartieren"
    assert mapped.track == "Ethics, Society & Politics" and mapped.slides_url is None
    assert next(t for t in document.talks if t.slug == "7hhc-8108").kind == "other"
    camp = read_document(FRAB)
    attached = next(t for t in camp.talks if t.slug == "lsc2023-2004")  # attachment with a relative path
    assert attached.slides_url is not None
    assert attached.slides_url.startswith("https://fahrplan.lakeside-camp.example/system/event_attachments/")
    deck = next(t for t in camp.talks if t.slug == "lsc2023-2006")  # a link to a slides host, titled "Deck"
    assert deck.slides_url == "https://speakerdeck.com/mokafor/threat-modelling-hackerspaces"
    assert next(t for t in camp.talks if t.slug == "lsc2023-2002").slides_url is None  # a project page is not slides
    rc3 = read_document(PRETALX)
    assert next(t for t in rc3.talks if t.slug == "wc-2021-107").slides_url == (
        "https://pretalx.winterchannels.example/media/wc-2021/submissions/W5QSTK/resources/repro-builds.pdf"
    )
    assert next(t for t in rc3.talks if t.slug == "wc-2021-102").recording_url == (
        "https://media.ccc.example/v/wc2021-102-lora"
    )


def test_event_option_overrides_the_conference_name_and_id() -> None:
    document = read_document(XML, ImportOptions(event="7th Harbour Hacking Congress"))
    assert document.events[0].slug == "7th-harbour-hacking-congress"
    assert document.events[0].name == "7th Harbour Hacking Congress" and document.events[0].short_name is None
    assert document.talks[0].slug == "7th-harbour-hacking-congress-8101"


def test_an_updated_export_updates_adds_and_removes_and_says_which(conn: sqlite3.Connection, tmp_path: Path) -> None:
    import_file(conn, FRAB)
    data = _load(FRAB)
    events = _events(data)
    events[0]["title"] = "Opening Ceremony (moved)"
    rooms = data["schedule"]["conference"]["days"][0]["rooms"]
    withdrawn = rooms["Ada"].pop(1)
    new = copy.deepcopy(events[2])
    new.update(id=99999, guid="00000000-0000-0000-0000-000000099999", title="A late addition", subtitle="")
    rooms["Ada"].append(new)
    report = import_file(conn, _write(tmp_path, data))
    assert report.changed == [("lsc2023-2001", "Opening Ceremony (moved)")]
    assert report.added == [("lsc2023-99999", "A late addition")]
    assert report.removed == [("lsc2023-2002", "Community Radio with Cheap SDRs")] == [
        (f"lsc2023-{withdrawn['id']}", withdrawn["title"])
    ]
    assert report.unchanged == len(events) - 2 == 7


def _broken_variants() -> dict[str, tuple[Any, str]]:
    """Name -> (changed schedule, what the error must say)."""
    variants: dict[str, tuple[Any, str]] = {}
    data = _load(FRAB)
    event = _events(data)[3]
    event["title"] = 42
    variants["title of the wrong type"] = (
        data,
        f"event #4 (id {event['id']}): field 'title' must be text, not a number",
    )
    data = _load(FRAB)
    event = _events(data)[5]
    del event["title"]
    variants["missing title"] = (data, f"event #6 (id {event['id']}): field 'title' is missing")
    data = _load(FRAB)
    _events(data)[0]["date"] = "09.08.2023 11:00"
    variants["malformed date"] = (data, "event #1 (id 2001): field 'date' must be a date")
    data = _load(FRAB)
    _events(data)[2]["persons"] = {"id": 1}
    variants["persons not a list"] = (data, "field 'persons' must be a list, not an object")
    data = _load(FRAB)
    _events(data)[1]["persons"][0] = {"id": 7}
    variants["person without a name"] = (data, "event #2 (id 2002): field 'persons[1].public_name' is missing")
    data = _load(FRAB)
    _events(data)[1]["persons"][0]["public_name"] = ["Jane"]
    variants["name of the wrong type"] = (data, "field 'persons[1].public_name' must be text, not a list")
    data = _load(FRAB)
    data["schedule"]["conference"]["days"] = {"1": []}
    variants["days not a list"] = (data, "conference: field 'conference.days' must be a list, not an object")
    data = _load(FRAB)
    rooms = data["schedule"]["conference"]["days"][0]["rooms"]
    rooms["Ada"].append(copy.deepcopy(rooms["Ada"][0]))
    variants["duplicate ids"] = (data, "field 'id' repeats event #1")
    data = _load(FRAB)
    data["schedule"]["conference"]["end"] = "2023-08-01"
    variants["end before start"] = (data, "conference: field 'conference.end' is before the start")
    variants["not a schedule"] = ({"talks": []}, "JSON, but neither a frab/pretalx schedule.json")
    return variants


BROKEN = _broken_variants()


@pytest.mark.parametrize("variant", list(BROKEN))
def test_broken_schedules_fail_naming_file_record_and_field_and_change_nothing(
    variant: str, bundled: sqlite3.Connection, tmp_path: Path
) -> None:
    data, message = BROKEN[variant]
    path = _write(tmp_path, data)
    before = snapshot(bundled)
    with pytest.raises(CatalogueFormatError) as failure:
        import_file(bundled, path)
    assert str(path) in failure.value.message
    assert message in failure.value.message
    assert snapshot(bundled) == before


def test_truncated_json_fails_with_its_line_and_column(bundled: sqlite3.Connection, tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    text = FRAB.read_bytes()
    path.write_bytes(text[: len(text) // 2])
    before = snapshot(bundled)
    with pytest.raises(CatalogueFormatError, match=r"cut\.json: not valid JSON: .* at line \d+, column \d+"):
        import_file(bundled, path)
    assert snapshot(bundled) == before


def test_a_50_mb_field_fails_cleanly(bundled: sqlite3.Connection, tmp_path: Path) -> None:
    data = _load(FRAB)
    _events(data)[0]["abstract"] = "x" * 50_000_000
    path = _write(tmp_path, data)
    before = snapshot(bundled)
    with pytest.raises(CatalogueFormatError, match=r"event #1 \(id 2001\): field 'abstract' is 50,000,000 characters"):
        import_file(bundled, path)
    assert snapshot(bundled) == before


def test_unknown_fields_are_ignored_and_optional_ones_may_be_missing() -> None:
    data = _load(PRETALX)
    event = _events(data)[0]
    event["something_new"] = {"nested": [1, 2]}
    for key in ("subtitle", "track", "abstract", "description", "links", "attachments", "url", "type", "guid"):
        event.pop(key, None)
    document = schedule_json.parse(json.dumps(data), "x.json", ImportOptions())
    talk = document.talks[0]
    assert talk.slug == "wc-2021-101" and talk.track is None and talk.summary == "" and talk.kind == "talk"
    assert talk.source_id == "101" and talk.title == "Selbst gehostet: Etherpad für den Hackspace"


def test_a_time_without_offset_takes_the_conference_zone_or_keeps_its_date(tmp_path: Path) -> None:
    data = _load(FRAB)
    _events(data)[0]["date"] = "2023-08-09T11:00:00"
    assert schedule_json.parse(json.dumps(data), "x", ImportOptions()).talks[0].date == "2023-08-09T11:00:00+02:00"
    del data["schedule"]["conference"]["time_zone_name"]
    assert schedule_json.parse(json.dumps(data), "x", ImportOptions()).talks[0].date == "2023-08-09"
    utc = schedule_json.parse(json.dumps(data), "x", ImportOptions(timezone="UTC"))
    assert utc.talks[0].date == "2023-08-09T11:00:00+00:00"


# schedule.xml: the same checks, and the XML-specific attacks.
_XML = XML.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_XML[: len(_XML) // 2], "not well-formed XML: "),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n'
            "<schedule><conference><title>&lol2;</title></conference></schedule>",
            "refused: the XML holds a document type with its own declarations",
        ),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE s [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
            "<schedule><conference><title>&secret;</title></conference></schedule>",
            "refused",
        ),
        ("<schedule><conference><title>&undefined;</title></conference></schedule>", "undefined entity"),
        ("<fahrplan/>", "not a schedule.xml: the root element is <fahrplan>"),
        (_XML.replace("<title>7HHC Opening Event</title>", "<title></title>", 1), "event #1 (id '8101'): field 'title' is missing"),
        (_XML.replace("<date>2022-12-27T11:00:00+01:00</date>", "<date>soon</date>", 1), "event #1 (id '8101'): field 'date' must be a date"),
        (_XML.replace("<event guid='a5b9e3c7-61d2-4f80-b3a4-9e7c2d1f0b22' id='8102'>",
                      "<event guid='3f1c0d52-8a4e-4c1b-9d3e-6b2a7f0e1a11' id='8101'>"), "event #2 (id '8101'): field 'id' repeats event #1"),
        ("50 MB", "event #2 (id '8102'): field 'abstract' is 50,000,000 characters long"),
    ],
    ids=["truncated", "entity-bomb", "external-entity", "undefined-entity", "wrong-root", "empty-title",
         "bad-date", "duplicate-id", "50-mb-field"],
)  # fmt: skip
def test_broken_or_hostile_xml_fails_cleanly(
    text: str, message: str, bundled: sqlite3.Connection, tmp_path: Path
) -> None:
    assert text != _XML  # each change finds the text it replaces in the test file
    if text == "50 MB":  # built here, not at collection, to keep 50 MB out of every run's memory
        text = _XML.replace("<abstract>The 7HHC Keynote</abstract>", "<abstract>" + "y" * 50_000_000 + "</abstract>")
    path = tmp_path / "schedule.xml"
    path.write_text(text, encoding="utf-8")
    before = snapshot(bundled)
    with pytest.raises(CatalogueFormatError) as failure:
        import_file(bundled, path)
    assert failure.value.message.startswith(str(path))
    assert message in failure.value.message
    assert snapshot(bundled) == before


def test_a_plain_doctype_without_declarations_is_read_and_nothing_is_fetched() -> None:
    text = _XML.replace("<schedule>", '<!DOCTYPE schedule SYSTEM "http://example.invalid/schedule.dtd">\n<schedule>', 1)
    assert text != _XML
    assert len(schedule_xml.parse(text, "x.xml", ImportOptions()).talks) == 8


def test_event_option_naming_a_known_event_joins_it_under_its_id(conn: sqlite3.Connection) -> None:
    import_file(conn, XML)
    before = snapshot(conn)
    again = import_file(conn, XML, ImportOptions(event="7. Harbour Hacking Congress"))
    assert not again.touched
    assert snapshot(conn) == before


def test_namesakes_with_their_own_frab_ids_stay_two_people(conn: sqlite3.Connection) -> None:
    import_file(conn, FRAB)
    rows = conn.execute(
        "SELECT p.slug, p.name, t.source_id FROM people p JOIN talk_speakers ts ON ts.person_id = p.id"
        " JOIN talks t ON t.id = ts.talk_id WHERE p.name_key = 'kai' ORDER BY p.slug"
    ).fetchall()
    # The camp's "kai" (frab person 4401) spoke on mesh networking, "Kai" (4417) on a sensor buoy.
    assert [(slug, name) for slug, name, _ in rows] == [("kai", "kai"), ("kai-4417", "Kai")]
    titles = {
        slug: conn.execute("SELECT title FROM talks WHERE source_id = ?", (source,)).fetchone()[0]
        for slug, _, source in rows
    }
    assert titles["kai"].startswith("Introduction to Mesh Networking") and titles["kai-4417"].startswith("Building a Solar")


@pytest.mark.parametrize("ids", [(None, None), (42, 42)])
def test_one_name_written_two_ways_with_no_ids_or_one_id_is_one_person(
    conn: sqlite3.Connection, tmp_path: Path, ids: tuple[int | None, int | None]
) -> None:
    data = _load(FRAB)
    events = _events(data)
    for event, name, ident in zip(events[:2], ("William Morgan", "william morgan"), ids, strict=True):
        event["persons"] = [{"public_name": name} | ({"id": ident} if ident else {})]
    import_file(conn, _write(tmp_path, data))
    assert conn.execute("SELECT count(*) FROM people WHERE name_key = 'william morgan'").fetchone() == (1,)


def test_two_ids_for_one_name_in_xml_or_pretalx_codes_are_kept_apart_too(tmp_path: Path) -> None:
    document = read_document(XML)
    keys = {s.key for t in document.talks for s in t.speakers if s.name == "Marit Solberg"}
    assert keys == {"marit-solberg", "marit-solberg-2399"}  # frab lists her twice, as persons 2303 and 2399
    data = _load(PRETALX)
    first, second = _events(data)[:2]
    first["persons"] = [{"code": "ABCDEF", "public_name": "Sam"}]
    second["persons"] = [{"code": "ZYXWVU", "public_name": "sam"}]
    keys = {s.key for t in read_document(_write(tmp_path, data)).talks for s in t.speakers if s.name in ("Sam", "sam")}
    assert keys == {"sam", "sam-zyxwvu"}
