"""CSV tables: columns by header or --map, speakers with organisations, ids, identity, and bad rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.catalogue.formats import csv_table
from bot.catalogue.formats.csv_table import parse_map
from bot.catalogue.importer import ImportOptions, import_file
from bot.domain.text import TALK_ID_MAX
from bot.errors import CatalogueFormatError, ConfigError

from .conftest import snapshot

TALKS = """\
ID,Event,Title,Speakers,Type,Date,Track,Tags,Abstract,Video,Slides,Notes
101,Mesh Day 2024,Linkerd in Production,William Morgan (Buoyant); Jane Doe,keynote,2024-05-02,Service Mesh,linkerd;mtls,"**Fast** and <b>safe</b>.",https://youtu.be/abc,-,internal
102,Mesh Day 2024,Proxies in Rust,william morgan,Lightning talk,2024-05-02T10:30:00+02:00,Service Mesh,rust,,,,
103,Mesh Day 2024,Panel: Meshes,Alex Smith (Acme); Alex Smith (Globex),,,,,,,,
"""


def _parse(text: str, options: ImportOptions | None = None):
    return csv_table.parse(text.encode("utf-8"), "talks.csv", options or ImportOptions())


def test_rows_become_talks_with_ids_speakers_organisations_kinds_topics_and_links() -> None:
    document = _parse(TALKS)
    assert [e.slug for e in document.events] == ["mesh-day-2024"]
    assert str(document.events[0].start_date) == "2024-05-02"
    first, second, third = document.talks
    assert (first.slug, first.source_id, first.kind) == ("mesh-day-2024-101", "101", "keynote")
    assert [(s.name, s.organization) for s in first.speakers] == [("William Morgan", "Buoyant"), ("Jane Doe", None)]
    assert first.summary == "Fast and safe."
    assert first.topics == ("service-mesh", "linkerd", "mtls") and first.track == "Service Mesh"
    assert (first.recording_url, first.slides_url) == ("https://youtu.be/abc", None)
    assert (second.kind, second.date) == ("lightning", "2024-05-02T10:30:00+02:00")
    assert third.kind == "panel" and len(third.speakers) == 2


def test_the_same_name_in_any_case_is_one_person_and_different_organisations_are_two(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "talks.csv"
    path.write_text(TALKS, encoding="utf-8")
    import_file(conn, path)
    people = dict(conn.execute("SELECT slug, name FROM people").fetchall())
    assert [slug for slug in people if slug.startswith("william")] == ["william-morgan"]
    assert sorted(slug for slug in people if slug.startswith("alex-smith")) == ["alex-smith", "alex-smith-globex"]


def test_map_and_separator_read_other_column_names() -> None:
    text = "Session name|Presenters|Conference\nTapping the Mesh|Ana, Acme / Bo|MeshConf\n"
    options = ImportOptions(csv_map=parse_map(["title=Session name", "speakers=Presenters,event=Conference"]),
                            separator="/")  # fmt: skip
    document = csv_table.parse(text.replace("|", "\t").encode(), "t.tsv", options)
    assert [s.name for s in document.talks[0].speakers] == ["Ana, Acme", "Bo"]
    assert document.talks[0].event == "meshconf"


def test_an_organisations_column_pairs_with_speakers_by_position() -> None:
    text = "title;speakers;company;event\nA talk;Ana, Bo;Acme;E\nB talk;Ana|Bo;Acme|Globex;E\n"
    document = csv_table.parse(text.encode(), "t.csv", ImportOptions(separator="|"))
    assert [(s.name, s.organization) for s in document.talks[0].speakers] == [("Ana, Bo", "Acme")]
    assert [(s.name, s.organization) for s in document.talks[1].speakers] == [("Ana", "Acme"), ("Bo", "Globex")]


def test_without_an_id_column_titles_give_ids_and_repeated_titles_get_numbers() -> None:
    document = _parse("title\nIntro\nIntro\n", ImportOptions(event="Day One"))
    assert [t.slug for t in document.talks] == ["day-one-intro", "day-one-intro-2"]


def test_ids_made_from_long_titles_and_event_names_fit_discord_and_stay_distinct() -> None:
    event = "The Extraordinarily Long Community Gathering of Cloud Native Practitioners 2026"
    title = "An Extraordinarily Long Title About Service Meshes, Multi-Cluster Observability and Everything"
    document = _parse(f"title\n{title}\n{title}\n{title} Again\n", ImportOptions(event=event))
    slugs = [t.slug for t in document.talks]
    assert len(set(slugs)) == 3
    assert all(len(slug) <= TALK_ID_MAX for slug in slugs)  # "more:" + id fits a 100-character button id
    assert slugs == [t.slug for t in _parse(f"title\n{title}\n{title}\n{title} Again\n", ImportOptions(event=event)).talks]


def test_a_bom_and_a_header_in_other_case_and_spacing_are_fine() -> None:
    document = csv_table.parse("\ufeffTALK_TITLE,Recording URL\nX,https://example.org/v\n".encode(), "t.csv",
                               ImportOptions(event="E"))  # fmt: skip
    assert document.talks[0].recording_url == "https://example.org/v"


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("id,title,event\n1,A,E\n1,B,E\n", None, "row 2 (line 3) (id '1'): field 'id' repeats row 1"),
        ("title,date,event\nA,next tuesday,E\n", None, "row 1 (line 2): field 'date' must be a date"),
        ("title,event\n,E\n", None, "row 1 (line 2): field 'title' is missing"),
        ("title\nA\n", None, "field 'event' is missing (add an event column, or pass --event NAME)"),
        ("title,video,event\nA,ftp://x,E\n", None, "field 'recording_url' must be a http(s) link"),
        ('title,event\n"A talk, cut off,E\n', None, "line 2: not valid CSV: unexpected end of data"),
        ("talk name,who\nA,B\n", None, "line 1: no title column (columns: 'talk name', 'who')"),
        ("title,event\nA,E\n", ImportOptions(csv_map={"title": "Name"}), "--map title='Name': the header has no such column"),
        ("", None, "the file is empty"),
    ],
    ids=["duplicate-id", "bad-date", "missing-title", "no-event", "bad-link", "truncated", "no-title-column",
         "bad-map", "empty"],
)  # fmt: skip
def test_bad_tables_fail_naming_file_row_and_field_and_change_nothing(
    text: str, options: ImportOptions | None, message: str, bundled: sqlite3.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "talks.csv"
    path.write_text(text, encoding="utf-8")
    before = snapshot(bundled)
    with pytest.raises(CatalogueFormatError) as failure:
        import_file(bundled, path, options or ImportOptions(format="csv"))
    assert failure.value.message.startswith(f"{path}")
    assert message in failure.value.message
    assert snapshot(bundled) == before


def test_a_50_mb_field_and_binary_files_fail_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "talks.csv"
    path.write_text("title,event,abstract\nA,E," + "q" * 50_000_000 + "\n", encoding="utf-8")
    with pytest.raises(
        CatalogueFormatError, match=r"row 1 \(line 2\): field 'summary' is 50,000,000 characters long; at most 100,000"
    ):
        import_file_only(path)
    path.write_bytes(b"title,event\n\xff\xfe,E\n")
    with pytest.raises(CatalogueFormatError, match=r"not UTF-8 text \(byte 12\)"):
        import_file_only(path)


def import_file_only(path: Path) -> None:
    csv_table.parse(path.read_bytes(), str(path), ImportOptions())


@pytest.mark.parametrize("value", ["title", "title=", "colour=Color"])
def test_bad_map_options_are_explained(value: str) -> None:
    with pytest.raises(ConfigError, match="--map"):
        parse_map([value])


@pytest.mark.parametrize("column", ["abstract", "speakers", "title"])
def test_a_field_past_the_csv_modules_own_limit_is_named_by_row_and_field(tmp_path: Path, column: str) -> None:
    path = tmp_path / "talks.csv"
    cells = {"title": "A", "event": "E", "speakers": "Jo", "abstract": "short"}
    cells[column] = "x" * 131_073  # the csv module's default limit is 131,072
    path.write_text(
        "title,event,speakers,abstract\nB,E,Jo,fine\n" + ",".join(cells.values()) + "\n", encoding="utf-8"
    )
    field = {"abstract": "summary"}.get(column, column)
    with pytest.raises(CatalogueFormatError, match=rf"talks.csv: row 2 \(line 3\): field '{field}' is 131,073 char"):
        import_file_only(path)


def test_a_long_cell_in_a_column_the_reader_ignores_is_no_error(tmp_path: Path) -> None:
    path = tmp_path / "talks.csv"
    path.write_text("title,event,notes\nA,E," + "n" * 200_000 + "\n", encoding="utf-8")
    assert [talk.title for talk in csv_table.parse(path.read_bytes(), str(path), ImportOptions()).talks] == ["A"]
