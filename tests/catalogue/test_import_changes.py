"""What an import reports and guards: changes to events and topics alone, empty exports, and format detection."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.catalogue.importer import ImportOptions, detect_format, format_report, import_data, import_file
from bot.errors import CatalogueFormatError
from bot.search.corpus import catalogue_version

from .conftest import PRETALX, snapshot

_SCHEDULE_XML = """<?xml version='1.0' encoding='utf-8' ?>
<schedule>
<conference><acronym>cafe24</acronym><title>{title}</title><start>2024-05-01</start><end>2024-05-01</end></conference>
<day date='2024-05-01' index='1'><room name='Hall'>
<event guid='0f0e2a40-8a0c-4c39-9d55-3a2a3f6b9c01' id='1'>
<date>2024-05-01T10:00:00+02:00</date><start>10:00</start><duration>00:30</duration><room>Hall</room>
<title>Opening</title><track>Community</track><type>Talk</type><abstract>Welcome.</abstract>
<persons><person id='7'>Jane Doe</person></persons>
</event>
</room></day>
</schedule>
"""


def _pretalx() -> dict[str, Any]:
    return json.loads(PRETALX.read_text(encoding="utf-8"))


def _bytes(data: object) -> bytes:
    return json.dumps(data).encode("utf-8")


def test_a_new_conference_title_alone_is_reported_and_bumps_the_catalogue_version(conn: sqlite3.Connection) -> None:
    data = _pretalx()
    import_data(conn, _bytes(data), "winter.json")
    version = catalogue_version(conn)
    data["schedule"]["conference"]["title"] = "Winter Channels, renamed"

    dry = import_data(conn, _bytes(data), "winter.json", dry_run=True)
    assert dry.events_changed == ["wc-2021"] and dry.touched
    assert "events that would change: wc-2021" in format_report(dry)[0]
    assert catalogue_version(conn) == version

    report = import_data(conn, _bytes(data), "winter.json")
    assert report.events_changed == ["wc-2021"] and not (report.added or report.changed or report.removed)
    lines = format_report(report)
    assert "changed events: wc-2021" in lines[0]
    assert "Nothing to change" not in lines[-1]
    assert catalogue_version(conn) == version + 1  # the running bot and the saved index reload
    assert conn.execute("SELECT name FROM events WHERE slug = 'wc-2021'").fetchone() == (
        "Winter Channels, renamed",
    )
    assert not import_data(conn, _bytes(data), "winter.json").touched


def test_an_xml_title_written_with_character_references_is_a_change_of_name(conn: sqlite3.Connection) -> None:
    import_data(conn, _SCHEDULE_XML.format(title="Cafe and Code").encode(), "schedule.xml")
    version = catalogue_version(conn)
    report = import_data(conn, _SCHEDULE_XML.format(title="Caf&#233; &amp; Code").encode(), "schedule.xml")
    assert report.events_changed == ["cafe24"] and report.unchanged == 1
    assert catalogue_version(conn) == version + 1
    assert conn.execute("SELECT name FROM events WHERE slug = 'cafe24'").fetchone() == ("Café & Code",)


def test_a_renamed_topic_is_reported_and_bumps_the_version(conn: sqlite3.Connection, tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    text = (
        '[topics]\nmesh = "{name}"\n\n[[events]]\nid = "e"\nname = "E"\n\n'
        '[[talks]]\nid = "t"\ntitle = "T"\nevent = "e"\ntopics = ["mesh"]\nspeakers = [{{ name = "Jo Bloggs" }}]\n'
    )
    path.write_text(text.format(name="Mesh"), encoding="utf-8")
    assert import_file(conn, path).topics_added == ["mesh"]
    version = catalogue_version(conn)
    path.write_text(text.format(name="Service mesh"), encoding="utf-8")
    report = import_file(conn, path)
    assert report.topics_renamed == ["mesh"] and report.unchanged == 1
    assert "renamed topics: mesh" in format_report(report)[0]
    assert catalogue_version(conn) == version + 1


def test_an_empty_export_of_a_known_event_is_refused_unless_allowed(conn: sqlite3.Connection) -> None:
    data = _pretalx()
    import_data(conn, _bytes(data), "winter.json")
    before = snapshot(conn)
    data["schedule"]["conference"]["days"] = []
    for dry_run in (True, False):
        with pytest.raises(CatalogueFormatError) as refused:
            import_data(conn, _bytes(data), "winter.json", dry_run=dry_run)
        assert refused.value.message == (
            "winter.json: the file lists no talks of 'Winter Channels' (wc-2021, 8 talks in the catalogue): "
            "importing it would remove them all. Nothing was changed; if the event really has no talks now, "
            "import again with --allow-empty."
        )
    assert snapshot(conn) == before
    report = import_data(conn, _bytes(data), "winter.json", ImportOptions(allow_empty=True))
    assert len(report.removed) == 8 and not report.added
    assert conn.execute("SELECT count(*) FROM talks").fetchone() == (0,)


def test_an_empty_sessionize_export_is_refused_and_a_new_event_may_start_empty(conn: sqlite3.Connection) -> None:
    empty = _bytes({"sessions": [], "speakers": [], "questions": [], "categories": [], "rooms": []})
    report = import_data(conn, empty, "sessionize.json", ImportOptions(event="Fresh Conf 2026"))
    assert report.events_added == ["fresh-conf-2026"]  # nothing to remove: not refused
    import_data(conn, _bytes(_pretalx()), "winter.json")
    with pytest.raises(CatalogueFormatError, match=r"no talks of 'Winter Channels' .* --allow-empty\.$"):
        import_data(conn, empty, "sessionize.json", ImportOptions(event="wc-2021"))
    options = ImportOptions(event="wc-2021", interface="discord")
    with pytest.raises(CatalogueFormatError, match=r"import again with allow_empty: True\.$"):
        import_data(conn, empty, "sessionize.json", options)


def test_a_csv_cell_with_a_line_that_looks_like_toml_is_still_csv(conn: sqlite3.Connection) -> None:
    data = (
        b'title,event,speakers,abstract\n'
        b'Mesh,Conf,Jo Bloggs,"Three lines:\ntopics = [""mesh""]\n[[talks]]\nend"\n'
    )
    assert detect_format(data) == "csv"
    report = import_data(conn, data, "talks.csv")
    assert report.added == [("conf-mesh", "Mesh")]


@pytest.mark.parametrize(
    "text",
    [
        "# A comment, with commas; and semicolons\n\n[topics]\nmesh = \"Mesh\"\n",
        "\ufeff  \n# comment\n   [[events]]\nid = \"e\"\nname = \"E\"\n",
        "talks = []\n",
    ],
)
def test_a_bundled_file_is_known_by_its_first_statement_after_comments(text: str) -> None:
    assert detect_format(text.encode("utf-8")) == "native"


def test_a_changed_reading_is_reported_and_an_unchanged_one_is_not(conn: sqlite3.Connection, tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    text = '[[readings]]\nid = "r"\ntitle = "{title}"\nurl = "https://example.org/r"\n'
    path.write_text(text.format(title="Why meshes"), encoding="utf-8")
    assert import_file(conn, path).readings_changed == ["r"]
    assert not import_file(conn, path).touched
    version = catalogue_version(conn)
    path.write_text(text.format(title="Why service meshes"), encoding="utf-8")
    report = import_file(conn, path)
    assert report.readings_changed == ["r"] and "1 new or changed reading" in format_report(report)[0]
    assert catalogue_version(conn) == version + 1
