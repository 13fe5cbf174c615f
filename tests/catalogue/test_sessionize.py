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

from .conftest import SESSIONIZE_TRACKS, SESSIONIZE_VIDEOS, snapshot

SUMMIT = ImportOptions(event="Highland Cloud Summit 2025")
LINZ = ImportOptions(event="Cloud Day Linz 2025")


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _parse(data: object, options: ImportOptions = SUMMIT) -> Any:
    return sessionize.parse(json.dumps(data), "sessionize.json", options)


def test_tracks_come_from_the_category_group_about_tracks_and_become_topics() -> None:
    document = _parse(_load(SESSIONIZE_TRACKS))
    tracks = {talk.track for talk in document.talks}
    assert tracks == {"Cloud Platform", "Data & AI", "Modern Work", "Security", "Low Code + Automation",
                      "Copilot + Agents"}  # fmt: skip
    talk = next(t for t in document.talks if t.source_id == "880110")
    assert talk.slug == "highland-cloud-summit-2025-880110"
    assert talk.track == "Low Code + Automation" and talk.topics == ("low-code-automation",)
    assert document.topics["copilot-agents"] == "Copilot + Agents" and document.topics["data-ai"] == "Data & AI"
    # The title's leading space is dropped, and the speakers come in the session's order.
    first = next(t for t in document.talks if t.source_id == "880101")
    assert first.title == "Build a Help-Desk Agent with Copilot Studio and Power Automate Workshop"
    assert [s.name for s in first.speakers] == ["Grace Osei", "Tariq Hassan"]


def test_kinds_come_from_the_session_type_group_and_the_title() -> None:
    kinds = {talk.title: talk.kind for talk in _parse(_load(SESSIONIZE_TRACKS)).talks}
    assert kinds["Highland Cloud Summit 2025 Keynote"] == "keynote"
    assert kinds["Build a Help-Desk Agent with Copilot Studio and Power Automate Workshop"] == "workshop"
    assert kinds["How to Run Better Workshops Using AI"] == "talk"
    assert sum(kind == "lightning" for kind in kinds.values()) == 3  # "20 min lightning talk"
    assert kinds["Five Conditional Access Mistakes"] == "lightning"


def test_track_group_option_picks_another_group_and_fails_clearly_on_a_wrong_one() -> None:
    data = _load(SESSIONIZE_TRACKS)
    document = _parse(data, ImportOptions(event="S", track_group="What level"))
    assert {talk.track for talk in document.talks} == {"100 - Beginner", "200 - Intermediate", "300 - Advanced"}
    by_id = _parse(data, ImportOptions(event="S", track_group="71003"))  # a group's id works as well as its title
    tracks = {talk.source_id: talk.track for talk in by_id.talks}
    assert set(tracks.values()) == {"45 min session", "20 min lightning talk", None}
    assert tracks["880101"] is None  # the workshop has no item of that group
    with pytest.raises(CatalogueFormatError, match=r"--track-group 'Room'.*'Which track does your session"):
        _parse(data, ImportOptions(event="S", track_group="Room"))


def test_recordings_come_from_the_youtube_question_when_recording_url_is_empty() -> None:
    document = _parse(_load(SESSIONIZE_VIDEOS), LINZ)
    assert len(document.talks) == 7 and not document.topics and all(talk.track is None for talk in document.talks)
    assert all(talk.recording_url and talk.recording_url.startswith("https://youtube.com/live/")
               for talk in document.talks)  # fmt: skip
    assert document.talks[0].recording_url == "https://youtube.com/live/Ab3dEf6GhJk?feature=share"
    chosen = _parse(_load(SESSIONIZE_VIDEOS), ImportOptions(event="G", recording_question="Short Title"))
    assert all(talk.recording_url is None for talk in chosen.talks)  # answers that are not links are ignored
    with pytest.raises(CatalogueFormatError, match=r"--recording-question 'Vimeo'.*'YouTube Video'"):
        _parse(_load(SESSIONIZE_VIDEOS), ImportOptions(event="G", recording_question="Vimeo"))


def test_recording_url_wins_over_the_question() -> None:
    data = _load(SESSIONIZE_VIDEOS)
    data["sessions"][0]["recordingUrl"] = "https://example.org/recording"
    assert _parse(data, ImportOptions(event="G")).talks[0].recording_url == "https://example.org/recording"


def test_times_take_the_timezone_option_or_keep_only_their_dates_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = _load(SESSIONIZE_TRACKS)
    with caplog.at_level(logging.WARNING):
        document = _parse(data)
    assert document.talks[0].date == "2025-09-26"
    # Nine talks: the two service sessions and the declined one are not counted.
    assert "9 talk times carry no UTC offset" in caplog.text and "--timezone" in caplog.text
    zoned = _parse(data, ImportOptions(event="S", timezone="Europe/London"))
    assert zoned.talks[0].date == "2025-09-26T09:00:00+01:00"  # British Summer Time in September
    assert (str(zoned.events[0].start_date), str(zoned.events[0].end_date)) == ("2025-09-26", "2025-09-27")
    winter = _load(SESSIONIZE_TRACKS)
    winter["sessions"][0]["startsAt"] = "2025-12-05T09:00:00"
    assert _parse(winter, ImportOptions(event="S", timezone="Europe/London")).talks[0].date == "2025-12-05T09:00:00+00:00"
    with pytest.raises(ConfigError, match="not a time zone"):
        _parse(data, ImportOptions(event="S", timezone="Glasgow"))


def test_organisations_are_read_from_tag_lines_and_speaker_questions() -> None:
    document = _parse(_load(SESSIONIZE_VIDEOS), ImportOptions(event="G"))
    credits = {s.name: s.organization for talk in document.talks for s in talk.speakers}
    assert credits == {"Markus Leitner": "Microsoft", "Julia Brandstetter": "Alpenwerk", "Stefan Huber": "donaucode gmbh",
                       "Lukas Gruber": "HTL Steyr", "Aylin Demir": None, "Thomas Wimmer": "Traunsee Versicherung"}  # fmt: skip
    data = _load(SESSIONIZE_VIDEOS)
    assert data["speakers"][0]["fullName"] == "Lukas Gruber"
    data["questions"].append({"id": 1, "question": "Company", "questionType": "Short_Text", "sort": 1})
    data["speakers"][0]["questionAnswers"] = [{"questionId": 1, "answerValue": "HTBLA Steyr"}]
    credits = {s.name: s.organization for t in _parse(data, ImportOptions(event="G")).talks for s in t.speakers}
    assert credits["Lukas Gruber"] == "HTBLA Steyr" and credits["Julia Brandstetter"] == "Alpenwerk"


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
    data = _load(SESSIONIZE_VIDEOS)
    data["sessions"][0].update(isServiceSession=True, speakers=[])
    data["sessions"][1]["status"] = "Declined"
    talks = _parse(data, ImportOptions(event="G")).talks
    assert len(talks) == len(data["sessions"]) - 2 == 5
    assert {t.source_id for t in talks}.isdisjoint({"771201", "771202"})
    # The test file with tracks has its own: a lunch and closing remarks, and a declined session.
    summit = _load(SESSIONIZE_TRACKS)
    skipped = {s["title"] for s in summit["sessions"] if s["isServiceSession"] or s["status"] == "Declined"}
    assert skipped == {"Lunch", "Closing Remarks", "Blockchain for Timesheets"}
    titles = {t.title for t in _parse(summit).talks}
    assert len(titles) == len(summit["sessions"]) - 3 == 9 and not titles & skipped


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["sessions"][2].update(title=None), "session #3 (id '771203'): field 'title' is missing"),
        (lambda d: d["sessions"][2].update(speakers=["nobody"]), "session #3 (id '771203'): field 'speakers[1]' names no speaker of the export"),
        (lambda d: d["sessions"][2].update(startsAt="Saturday"), "session #3 (id '771203'): field 'startsAt' must be a date"),
        (lambda d: d["sessions"].append(dict(d["sessions"][0])), "session #8 (id '771201'): field 'id' repeats session #1"),
        (lambda d: d["speakers"][1].update(fullName=7), "speaker #2 (id '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c02'): field 'fullName' must be text"),
        (lambda d: d["sessions"][0].update(description="z" * 50_000_000), "field 'description' is 50,000,000 characters long"),
        (lambda d: d.update(sessions={"a": 1}), "export: field 'sessions' must be a list, not an object"),
    ],
    ids=["missing-title", "unknown-speaker", "bad-date", "duplicate-id", "wrong-type", "50-mb-field", "wrong-shape"],
)  # fmt: skip
def test_broken_exports_fail_naming_file_record_and_field_and_change_nothing(
    change: Any, message: str, bundled: sqlite3.Connection, tmp_path: Path
) -> None:
    data = _load(SESSIONIZE_VIDEOS)
    change(data)
    path = tmp_path / "sessionize.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    before = snapshot(bundled)
    with pytest.raises(CatalogueFormatError) as failure:
        import_file(bundled, path, LINZ)
    assert failure.value.message.startswith(f"{path}: ")
    assert message in failure.value.message
    assert snapshot(bundled) == before


def test_an_export_without_event_name_or_in_the_sessions_view_is_explained(tmp_path: Path) -> None:
    with pytest.raises(CatalogueFormatError, match="does not name its event; pass --event NAME"):
        _parse(_load(SESSIONIZE_VIDEOS), ImportOptions())
    with pytest.raises(CatalogueFormatError, match="Sessions' view; export the 'All data' view"):
        _parse([{"groupId": None, "groupName": "All", "sessions": []}])


@pytest.mark.parametrize(
    ("filename", "suggested"),
    [
        ("downloads/ndc-oslo-2024.json", "--event 'Ndc Oslo 2024'"),
        ("sessionize-All (1).json", "--event 'Conference Name 2025'"),  # the year of the first session
        ("jl4ktls0.json", "--event 'Conference Name 2025'"),
    ],
)
def test_the_missing_event_error_suggests_a_name_from_the_file_not_another_conference(
    filename: str, suggested: str
) -> None:
    with pytest.raises(CatalogueFormatError) as failure:
        sessionize.parse(SESSIONIZE_VIDEOS.read_bytes(), filename, ImportOptions())
    assert failure.value.message.endswith(f"pass --event NAME (for example {suggested})")
    assert "Summit" not in failure.value.message and "Linz" not in failure.value.message  # no other conference


def test_options_are_named_as_in_discord_when_the_import_comes_from_there() -> None:
    options = ImportOptions(event="E", track_group="Flavour", interface="discord")
    with pytest.raises(CatalogueFormatError, match=r"sessionize.json: track_group 'Flavour': no session category"):
        _parse(_load(SESSIONIZE_TRACKS), options)
    with pytest.raises(CatalogueFormatError, match=r"sessionize.json: recording_question 'Film': no question"):
        _parse(_load(SESSIONIZE_VIDEOS), ImportOptions(event="E", recording_question="Film", interface="discord"))
    with pytest.raises(CatalogueFormatError, match=r"does not name its event; pass event NAME"):
        _parse(_load(SESSIONIZE_VIDEOS), ImportOptions(interface="discord"))
