"""What an import reports about the file (sessions held, imported, skipped, refused; columns nothing read),
CSV fields switched off and day-first dates, languages on the records, and the smaller error messages."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.catalogue.formats import csv_table, schedule_json
from bot.catalogue.formats.csv_table import parse_map
from bot.catalogue.formats.fields import language_code, load_json
from bot.catalogue.importer import ImportOptions, format_report, import_file, parse_document, read_document
from bot.db.connection import sync_db
from bot.errors import CatalogueFormatError, ConfigError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SENDEZENTRUM = FIXTURES / "real" / "csv-dayfirst-31c3-sendezentrum" / "sendezentrum_31C3.csv"
GUIDS = FIXTURES / "shapes" / "person-guids.xml"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    with sync_db(tmp_path / "reports.sqlite3") as connection:
        yield connection


def _csv(text: str, options: ImportOptions | None = None) -> csv_table.CatalogueDocument:
    return csv_table.parse(text.encode("utf-8"), "talks.csv", options or ImportOptions(event="E"))


# The real day-first CSV imports without editing the file.
def test_the_day_first_csv_imports_as_it_is(db: sqlite3.Connection) -> None:
    options = ImportOptions(
        event="31C3 Sendezentrum",
        csv_map=parse_map(["title=Titel,speakers=Teilnehmer,time=Time Start,track=Podcast"]),
        separator=",",
        timezone="Europe/Berlin",
    )
    report = import_file(db, SENDEZENTRUM, options)
    assert len(report.added) == 18
    lines = format_report(report)
    assert (
        "CSV table: 21 sessions in the file, 18 imported, 0 skipped, 3 refused "
        "(no title: 1, placeholder title 'tbd': 2)."
    ) in lines
    assert "Columns nothing read: column 1 (no name)." in lines  # 'Time End' is each talk's end
    document = read_document(SENDEZENTRUM, options)
    first, last = document.talks[0], document.talks[-1]
    assert (first.title, first.date) == ('"Der Einstieg ins Podcasten"', "2014-12-27T14:00:00+01:00")
    assert first.ends_at == "2014-12-27T15:00:00+01:00"
    assert last.date == "2014-12-30T15:00:00+01:00"
    assert next(t for t in document.talks if t.title == "DIE Reunion").date == "2014-12-30T00:00:00+01:00"
    assert [c.name for c in document.talks[3].speakers][:2] == ["Tim Pritlove", "John-Paul Bader"]


def test_a_column_matched_by_name_can_be_switched_off() -> None:
    text = "title,Date ,persons\nA,27/12/14,Jo\n"
    assert _csv(text).talks[0].date == "2014-12-27"
    off = _csv(text, ImportOptions(event="E", csv_map=parse_map(["date="])))
    assert off.talks[0].date is None
    assert off.summary is not None and off.summary.unused == ["'Date '", "'persons'"]
    with pytest.raises(ConfigError, match="the title cannot be switched off"):
        parse_map(["title="])


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["27/12/14", "03/01/15"], ["2014-12-27", "2015-01-03"]),  # one day over 12 makes the file day-first
        (["12/27/2014", "01/03/2015"], ["2014-12-27", "2015-01-03"]),  # month-first
        (["27.12.2014", "03.01.2015"], ["2014-12-27", "2015-01-03"]),  # dotted dates are day-first
        (["2014-12-27", "27/12/14 14:30"], ["2014-12-27", "2014-12-27"]),
    ],
)
def test_unambiguous_numeric_dates_are_read(dates: list[str], expected: list[str]) -> None:
    text = "title,date\n" + "".join(f"T{n},{value}\n" for n, value in enumerate(dates))
    assert [talk.date for talk in _csv(text).talks] == expected


def test_ambiguous_dates_ask_for_a_date_format_and_take_one() -> None:
    text = "title,date\nA,03/04/14\n"
    with pytest.raises(CatalogueFormatError, match=r"could be day-first or month-first.*pass --date-format"):
        _csv(text)
    assert _csv(text, ImportOptions(event="E", date_format="%d/%m/%y")).talks[0].date == "2014-04-03"
    assert _csv(text, ImportOptions(event="E", date_format="%m/%d/%y")).talks[0].date == "2014-03-04"
    with pytest.raises(CatalogueFormatError, match=r"field 'date' does not match --date-format '%Y'"):
        _csv(text, ImportOptions(event="E", date_format="%Y"))


def test_an_error_in_a_row_spanning_lines_names_its_first_line() -> None:
    text = 'title,summary,date\nA,"one\ntwo\nthree",next week\n'
    with pytest.raises(CatalogueFormatError, match=r"row 1 \(line 2\): field 'date'"):
        _csv(text)


def test_a_csv_whose_rows_have_no_titles_fails_and_creates_no_event(db: sqlite3.Connection, tmp_path: Path) -> None:
    path = tmp_path / "talks.csv"
    path.write_text("title,speakers,event\n,Jo,E\ntbd,Al,E\n", encoding="utf-8")
    with pytest.raises(CatalogueFormatError) as failure:
        import_file(db, path)
    assert "row 1 (line 2): field 'title' is missing" in failure.value.message
    assert "none of the file's 2 rows has a title" in failure.value.message
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 0


def test_languages_are_read_from_a_csv_column() -> None:
    text = 'title,language\nA,EN\nB,Deutsch\nC,"de, en"\nD,de-DE\nE,Klingon\n'
    assert [talk.language for talk in _csv(text).talks] == ["en", "de", None, "de", None]


@pytest.mark.parametrize(
    ("value", "code"),
    [("en", "en"), ("EN", "en"), ("de-DE", "de"), ("German", "de"), ("Deutsch", "de"), ("English", "en"),
     ("English (EN)", "en"), ("de, en", None), ("en/de", None), ("English and German", None), ("", None),
     (None, None), ("xx", None), ("German language", "de")],
)  # fmt: skip
def test_language_values_become_two_letter_codes(value: str | None, code: str | None) -> None:
    assert language_code(value) == code


def test_schedule_json_languages_and_unknown_event_fields_are_reported() -> None:
    data = {
        "schedule": {
            "conference": {
                "title": "Conf",
                "days": [
                    {
                        "date": "2025-05-01",
                        "rooms": {
                            "A": [
                                {"id": 1, "guid": "g1", "title": "One", "language": "de-DE", "speakers_text": "Jo"},
                                {"id": 2, "guid": "g2", "title": "Two", "language": "en, de"},
                            ]
                        },
                    }
                ],
            }
        }
    }
    document = schedule_json.parse_object(data, "s.json", ImportOptions())
    assert [talk.language for talk in document.talks] == ["de", None]
    assert document.summary is not None and document.summary.unused == ["speakers_text (on 1)"]


def test_a_sessionize_language_category_fills_the_language() -> None:
    data = {
        "sessions": [
            {"id": "1", "title": "A", "speakers": [], "categoryItems": [11], "status": "Accepted"},
            {"id": "2", "title": "B", "speakers": [], "categoryItems": [12], "status": "Accepted"},
            {"id": "3", "title": "C", "speakers": [], "categoryItems": [], "status": "Declined"},
        ],
        "speakers": [],
        "categories": [
            {
                "id": 1,
                "title": "Language",
                "type": "session",
                "items": [{"id": 11, "name": "German"}, {"id": 12, "name": "English"}],
            }
        ],
    }
    document = parse_document(json.dumps(data).encode(), "s.json", ImportOptions(event="E"))
    assert [talk.language for talk in document.talks] == ["de", "en"]
    assert document.summary is not None and document.summary.refused == {"not accepted: declined": 1}


# The smaller defects.
def test_an_unterminated_string_is_reported_without_a_doubled_word() -> None:
    with pytest.raises(CatalogueFormatError) as failure:
        load_json('{"a": "x', "f.json")
    assert failure.value.message == "f.json: not valid JSON: Unterminated string starting at line 1, column 7"


def test_xml_in_latin_1_declared_as_utf_8_says_so(tmp_path: Path) -> None:
    path = tmp_path / "schedule.xml"
    path.write_bytes(GUIDS.read_text(encoding="utf-8").replace("Stage Ø", "Stage \xd8").encode("latin-1"))
    with pytest.raises(CatalogueFormatError) as failure:
        read_document(path)
    message = failure.value.message
    assert "not well-formed (invalid token)" in message
    assert "declares UTF-8, but byte" in message and "Latin-1" in message and "Save it as UTF-8" in message


def test_progress_goes_to_standard_error_and_the_report_to_standard_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_DATABASE", str(tmp_path / "cli.sqlite3"))
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("bot.catalogue.importer.PROGRESS_MIN_BYTES", 0)
    assert main(["import", str(GUIDS), "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "Reading" in captured.err and "Reading" not in captured.out
    assert "frab/pentabarf schedule.xml: 4 sessions in the file, 4 imported, 0 skipped, 0 refused." in captured.out
