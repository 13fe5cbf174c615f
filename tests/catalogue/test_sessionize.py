"""Sessionize "All data" exports: tracks, recordings, times and organisations, each detected or chosen."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.catalogue.formats import sessionize
from bot.catalogue.formats.sessionize import organisation_from_tagline
from bot.catalogue.importer import ImportOptions, import_file
from bot.errors import CatalogueFormatError, ConfigError

from .conftest import AZURE, SCOTTISH, snapshot

SUMMIT = ImportOptions(event="Scottish Summit 2026")


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _parse(data: object, options: ImportOptions = SUMMIT) -> Any:
    return sessionize.parse(json.dumps(data), "sessionize.json", options)


def test_tracks_come_from_the_category_group_about_tracks_and_become_topics() -> None:
    document = _parse(_load(SCOTTISH))
    tracks = {talk.track for talk in document.talks}
    assert tracks == {"Inclusion & Personal Development", "Copilot + Agents", "Security", "Azure", "M365",
                      "Dynamics & Power Platform"}  # fmt: skip
    talk = next(t for t in document.talks if t.source_id == "1252943")
    assert talk.slug == "scottish-summit-2026-1252943"
    assert talk.track == "Dynamics & Power Platform" and talk.topics == ("dynamics-power-platform",)
    assert document.topics["copilot-agents"] == "Copilot + Agents"


def test_kinds_come_from_the_session_type_group_and_the_title() -> None:
    kinds = {talk.title: talk.kind for talk in _parse(_load(SCOTTISH)).talks}
    assert kinds["Scottish Summit 2026 Keynote"] == "keynote"
    assert kinds["Agent Academy Live! Workshop"] == "workshop"
    assert kinds["How to save time and get better outcomes from Workshops using AI"] != "workshop"
    assert sum(kind == "lightning" for kind in kinds.values()) == 9  # "20 min lightning talk"


def test_track_group_option_picks_another_group_and_fails_clearly_on_a_wrong_one() -> None:
    data = _load(SCOTTISH)
    document = _parse(data, ImportOptions(event="S", track_group="What level"))
    assert {talk.track for talk in document.talks} >= {"100 - Beginner", "300 - Advanced"}
    with pytest.raises(CatalogueFormatError, match=r"--track-group 'Room'.*'Which track does your session"):
        _parse(data, ImportOptions(event="S", track_group="Room"))


def test_recordings_come_from_the_youtube_question_when_recording_url_is_empty() -> None:
    document = _parse(_load(AZURE), ImportOptions(event="Global Azure Austria 2024"))
    assert all(talk.recording_url and talk.recording_url.startswith("https://youtube.com/live/")
               for talk in document.talks)  # fmt: skip
    assert document.talks[0].recording_url == "https://youtube.com/live/mIguuYMFbh0"
    chosen = _parse(_load(AZURE), ImportOptions(event="G", recording_question="Short Title"))
    assert all(talk.recording_url is None for talk in chosen.talks)  # answers that are not links are ignored
    with pytest.raises(CatalogueFormatError, match=r"--recording-question 'Vimeo'.*'YouTube Video'"):
        _parse(_load(AZURE), ImportOptions(event="G", recording_question="Vimeo"))


def test_recording_url_wins_over_the_question() -> None:
    data = _load(AZURE)
    data["sessions"][0]["recordingUrl"] = "https://example.org/recording"
    assert _parse(data, ImportOptions(event="G")).talks[0].recording_url == "https://example.org/recording"


def test_times_take_the_timezone_option_or_keep_only_their_dates_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = _load(SCOTTISH)
    with caplog.at_level(logging.WARNING):
        document = _parse(data)
    assert document.talks[0].date == "2026-10-02"
    assert "61 talk times carry no UTC offset" in caplog.text and "--timezone" in caplog.text
    zoned = _parse(data, ImportOptions(event="S", timezone="Europe/London"))
    assert zoned.talks[0].date == "2026-10-02T09:00:00+01:00"  # British Summer Time in October
    assert (str(zoned.events[0].start_date), str(zoned.events[0].end_date)) == ("2026-10-02", "2026-10-03")
    with pytest.raises(ConfigError, match="not a time zone"):
        _parse(data, ImportOptions(event="S", timezone="Glasgow"))


def test_organisations_are_read_from_tag_lines_and_speaker_questions() -> None:
    document = _parse(_load(AZURE), ImportOptions(event="G"))
    credits = {s.name: s.organization for talk in document.talks for s in talk.speakers}
    assert credits["Ed Burns"] == "Microsoft"
    assert credits["Alex Kornfellner"] == "HTL Leonding"
    data = _load(AZURE)
    data["questions"].append({"id": 1, "question": "Company", "questionType": "Short_Text", "sort": 1})
    data["speakers"][0]["questionAnswers"] = [{"questionId": 1, "answerValue": "HTBLA Leonding"}]
    credits = {s.name: s.organization for t in _parse(data, ImportOptions(event="G")).talks for s in t.speakers}
    assert credits["Alex Kornfellner"] == "HTBLA Leonding"


@pytest.mark.parametrize(
    ("tagline", "organisation"),
    [
        ("Cross-Functional Technical Architect @ Microsoft, former MVP", "Microsoft"),
        ("Co-Founder @dhino, Microsoft MVP / Solution Architect / Developer", "dhino"),
        ("Automated Tester at CGI", "CGI"),
        ("Microsoft MVP | Cloud Solutions Architect at NetApp working in the EMEA Azure Business Group", "NetApp"),
        ("CEO at proMX UK Limited / Business Applications MVP", "proMX UK Limited"),
        ("Principal Cloud Advocate, Microsoft", "Microsoft"),
        ("Node4, Technology & Innovation Director", "Node4"),
        ("MVP - European Microsoft AI Lead - KPMG", "KPMG"),
        ("Solution Engineer - NetApp", "NetApp"),
        ("MVP | ACP IT Solutions GMBH, Lead Cloud Architect ", "ACP IT Solutions GMBH"),
        ("Lehrer für Mathematik, KI und Advanced Algorithms an der HTL Leonding", "HTL Leonding"),
        ("Software Architekt, softaware gmbh", "softaware gmbh"),
        # Unsure: left empty rather than guessed.
        ("Senior Architect - Microsoft AI and Compliance Lead | Microsoft Copilot MVP | Microsoft MCT", None),
        ("Software Architect, Microsoft MVP", None),
        ("Digital Workplace Advisor | MVP, MCT | she, her", None),
        ("Application Architect - Learn, Share, Grow", None),
        ("Freelance Power Pages specialist with an unhealthy obsession for experimenting, learning and empowering others", None),
        ("Principal Architect, Podcast Cohost, Blogger, Speaker, Lego Nerd", None),
        ("Dynatrace", None),
        ("", None),
    ],
)  # fmt: skip
def test_organisation_from_tagline(tagline: str, organisation: str | None) -> None:
    assert organisation_from_tagline(tagline) == organisation


def test_service_sessions_and_declined_sessions_are_skipped() -> None:
    data = _load(AZURE)
    data["sessions"][0].update(isServiceSession=True, speakers=[])
    data["sessions"][1]["status"] = "Declined"
    assert len(_parse(data, ImportOptions(event="G")).talks) == 13


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["sessions"][2].update(title=None), "session #3 (id '655642'): field 'title' is missing"),
        (lambda d: d["sessions"][2].update(speakers=["nobody"]), "field 'speakers[1]' names no speaker of the export"),
        (lambda d: d["sessions"][2].update(startsAt="Saturday"), "session #3 (id '655642'): field 'startsAt' must be a date"),
        (lambda d: d["sessions"].append(dict(d["sessions"][0])), "session #16 (id '658419'): field 'id' repeats session #1"),
        (lambda d: d["speakers"][1].update(fullName=7), "speaker #2 (id '83c42ccd-b1e3-4c7e-906a-4009f7b52d8f'): field 'fullName' must be text"),
        (lambda d: d["sessions"][0].update(description="z" * 50_000_000), "field 'description' is 50,000,000 characters long"),
        (lambda d: d.update(sessions={"a": 1}), "export: field 'sessions' must be a list, not an object"),
    ],
    ids=["missing-title", "unknown-speaker", "bad-date", "duplicate-id", "wrong-type", "50-mb-field", "wrong-shape"],
)  # fmt: skip
def test_broken_exports_fail_naming_file_record_and_field_and_change_nothing(
    change: Any, message: str, bundled: sqlite3.Connection, tmp_path: Path
) -> None:
    data = _load(AZURE)
    change(data)
    path = tmp_path / "sessionize.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    before = snapshot(bundled)
    with pytest.raises(CatalogueFormatError) as failure:
        import_file(bundled, path, ImportOptions(event="Global Azure Austria 2024"))
    assert failure.value.message.startswith(f"{path}: ")
    assert message in failure.value.message
    assert snapshot(bundled) == before


def test_an_export_without_event_name_or_in_the_sessions_view_is_explained(tmp_path: Path) -> None:
    with pytest.raises(CatalogueFormatError, match="does not name its event; pass --event NAME"):
        _parse(_load(AZURE), ImportOptions())
    with pytest.raises(CatalogueFormatError, match="Sessions' view; export the 'All data' view"):
        _parse([{"groupId": None, "groupName": "All", "sessions": []}])


@pytest.mark.parametrize(
    ("filename", "suggested"),
    [
        ("downloads/ndc-oslo-2024.json", "--event 'Ndc Oslo 2024'"),
        ("sessionize-All (1).json", "--event 'Conference Name 2024'"),  # the year of the first session
        ("jl4ktls0.json", "--event 'Conference Name 2024'"),
    ],
)
def test_the_missing_event_error_suggests_a_name_from_the_file_not_another_conference(
    filename: str, suggested: str
) -> None:
    with pytest.raises(CatalogueFormatError) as failure:
        sessionize.parse(AZURE.read_bytes(), filename, ImportOptions())
    assert failure.value.message.endswith(f"pass --event NAME (for example {suggested})")
    assert "Scottish" not in failure.value.message


def test_options_are_named_as_in_discord_when_the_import_comes_from_there() -> None:
    options = ImportOptions(event="E", track_group="Flavour", interface="discord")
    with pytest.raises(CatalogueFormatError, match=r"sessionize.json: track_group 'Flavour': no session category"):
        _parse(_load(SCOTTISH), options)
    with pytest.raises(CatalogueFormatError, match=r"sessionize.json: recording_question 'Film': no question"):
        _parse(_load(AZURE), ImportOptions(event="E", recording_question="Film", interface="discord"))
    with pytest.raises(CatalogueFormatError, match=r"does not name its event; pass event NAME"):
        _parse(_load(AZURE), ImportOptions(interface="discord"))
