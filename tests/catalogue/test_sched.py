"""Sched (sched.com) calendar exports: KubeCon + CloudNativeCon Europe 2026, real files from tests/fixtures/real."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.catalogue.formats import sched
from bot.catalogue.importer import ImportOptions, detect_format, format_report, import_file, read_document
from bot.db.connection import sync_db
from bot.errors import CatalogueFormatError

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "sched-ics-kubecon-eu-2026"
EXCERPT = REAL / "20260324-excerpt.ics"
REGISTRATION_DAY = REAL / "20260322.ics"
CO_LOCATED = REAL / "20260327.ics"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    with sync_db(tmp_path / "sched.sqlite3") as connection:
        yield connection


def test_sched_calendars_are_told_from_their_content() -> None:
    for path in (EXCERPT, REGISTRATION_DAY, CO_LOCATED):
        assert detect_format(path.read_bytes(), path.name) == "sched"


def test_speakers_come_from_the_summary_and_breaks_and_desks_are_skipped() -> None:
    document = read_document(EXCERPT)
    assert [event.name for event in document.events] == ["KubeCon + CloudNativeCon Europe 2026"]
    assert document.summary is not None
    assert document.summary.sessions == 7
    assert document.summary.skipped == {"service sessions (registration)": 1, "breaks": 1}
    talks = {talk.title: talk for talk in document.talks}
    assert len(talks) == 5
    welcome = talks["Keynote: Welcome + Opening Remarks"]
    assert [(c.name, c.organization) for c in welcome.speakers] == [
        ("Jonathan Bryce", "Linux Foundation"),
        ("Chris Aniszczyk", "Linux Foundation"),
    ]
    assert welcome.kind == "keynote" and welcome.track == "Keynote Sessions"
    assert welcome.date == "2026-03-24T08:00:00+00:00"
    assert welcome.source_id == "6d33234981cf5b14145b63b75fa9e0c0"
    # A title with " - " of its own keeps it; the speakers follow the last one.
    glider = next(talk for title, talk in talks.items() if title.startswith("Keynote: Riding the Waves"))
    assert glider.title.endswith("Electric Glider - Powered by Nature, Data, and Open Science")
    assert [c.name for c in glider.speakers] == ["Ricardo Rocha", "Klaus Ohlmann"]
    assert glider.summary.startswith("What happens when sustainable aviation meets cloud-native technology?")
    assert talks["Keynote: Closing Remarks"].speakers == ()
    theater = next(talk for title, talk in talks.items() if title.startswith("Cloud Native Theater"))
    assert [(c.name, c.organization) for c in theater.speakers] == [("Ruckus Voxi", "Akamai")]


def test_times_are_converted_to_the_events_zone_when_asked() -> None:
    document = read_document(EXCERPT, ImportOptions(timezone="Europe/Amsterdam"))
    assert document.talks[0].date == "2026-03-24T09:00:00+01:00"


def test_a_sched_import_reports_what_the_calendar_held(db: sqlite3.Connection) -> None:
    report = import_file(db, EXCERPT, ImportOptions(event="KubeCon EU 2026"))
    assert len(report.added) == 5
    lines = format_report(report)
    assert (
        "Sched calendar (.ics): 7 sessions in the file, 5 imported, 2 skipped "
        "(service sessions (registration): 1, breaks: 1), 0 refused."
    ) in lines
    assert import_file(db, EXCERPT, ImportOptions(event="KubeCon EU 2026")).touched is False


def test_a_day_of_registration_desks_only_imports_nothing_and_says_why() -> None:
    document = read_document(REGISTRATION_DAY)
    assert document.talks == []
    assert document.summary is not None and document.summary.skipped == {"service sessions (registration)": 3}


def test_a_co_located_event_without_speakers_is_one_talk() -> None:
    (talk,) = read_document(CO_LOCATED).talks
    assert talk.title.startswith("AI Native Summit Hosted by ETSI ISG NFV")
    assert talk.speakers == () and "\xa0" not in talk.summary and "&nbsp" not in talk.summary


@pytest.mark.parametrize(
    ("summary", "title", "people"),
    [
        ("Intro to eBPF - Ana Ruiz, Staff Engineer, Ernst & Young", "Intro to eBPF", [("Ana Ruiz", "Ernst & Young")]),
        ("Scaling - A Story", "Scaling - A Story", []),  # no "Name, Company" after the dash: no speakers
        ("Lunch", "Lunch", []),
        ("Panel: Mesh - Bo Li, Acme & Cy Do, Initech", "Panel: Mesh", [("Bo Li", "Acme"), ("Cy Do", "Initech")]),
    ],
)
def test_summaries_split_into_title_and_speakers(summary: str, title: str, people: list[tuple[str, str]]) -> None:
    found_title, credits = sched.split_summary(summary)
    assert found_title == title
    assert [(c.name, c.organization) for c in credits if c is not None] == people


def test_speakers_in_the_description_are_read_when_the_summary_has_none(tmp_path: Path) -> None:
    text = (
        EXCERPT.read_text(encoding="utf-8")
        .replace(
            "DESCRIPTION:10-Minute Tip Talk",
            "DESCRIPTION:10-Minute Tip Talk\\nSpeakers: Dana Park\\, Acme\\; Eli Stone\\, Globex",
        )
        .replace(" - Christophe Sauthier\\, CNCF", "")
    )
    path = tmp_path / "all.ics"
    path.write_text(text, encoding="utf-8")
    lounge = next(t for t in read_document(path).talks if t.title.startswith("Learning Lounge"))
    assert [(c.name, c.organization) for c in lounge.speakers] == [("Dana Park", "Acme"), ("Eli Stone", "Globex")]
    assert lounge.summary == "10-Minute Tip Talk"


def test_a_calendar_not_made_by_sched_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "pretalx.ics"
    path.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//pretalx//cfp.example.org//\r\nEND:VCALENDAR\r\n", encoding="utf-8"
    )
    with pytest.raises(CatalogueFormatError, match=r"not one of Sched's \(-//pretalx//cfp.example.org//\)"):
        read_document(path)
