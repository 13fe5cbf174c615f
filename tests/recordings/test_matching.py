"""Matching on the test programme: identifiers, titles as sites write them, ambiguity, and one video per talk."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.db.connection import sync_db
from bot.recordings.apply import load_talks
from bot.recordings.formats import Recording
from bot.recordings.matcher import Decision, Matcher


def matcher(path: Path, event: str | None = None) -> Matcher:
    with sync_db(path) as conn:
        talks, names = load_talks(conn, event)
    return Matcher(talks, event_words=names)


def decide(path: Path, title: str, **fields: object) -> Decision:
    return matcher(path).match(Recording(url="https://www.youtube.com/watch?v=abcdefghijk", title=title, **fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("title", "talk"),
    [
        ("A TALE OF SCALING OBSERVABILITY", "pyconf-2024-101"),
        ("PyConf 2024 - A Tale of Scaling Observability", "pyconf-2024-101"),
        ("Keynote: A Tale of Scaling Observability", "pyconf-2024-101"),
        ("[Replacement Talk] A Tale of Scaling Observability", "pyconf-2024-101"),
        ("A Tale of Scaling Observability - Toomas Ormisson, Wise", "pyconf-2024-101"),
        ("A\u00a0Tale of Scaling Observability\u200b", "pyconf-2024-101"),
        ("TankerEmbrace the relational model", "pyconf-2024-102"),  # pyvideo glues title and subtitle
        ("Tanker: Embrace the relational model (Part 1/2)", "pyconf-2024-102"),
        ("\u200b\u200bEncrypted computing in Python using OpenFHE™", "pyconf-2024-103"),
        ("Encrypted computing in Python: a survey of homomorphic libraries", None),  # another talk: no match
        ("Building Resilient Service Meshes with Linkerd at Scale in Production...", "pyconf-2024-106"),
        ("Building Resilient Service Meshes with Linkerd at Scale in Production Environments William Morg...",
         "pyconf-2024-106"),
        ("Lightning talk: Building Resilient Service Meshes with Linkerd at Scale in Production Environments - "
         "William Morgan & Jane Doe, Buoyant", "pyconf-2024-106"),
    ],
)  # fmt: skip
def test_titles_as_video_sites_write_them(programme_db: Path, title: str, talk: str | None) -> None:
    decision = decide(programme_db, title)
    if talk is None:
        assert decision.status != "matched"
        return
    assert decision.status == "matched", (decision.note, decision.candidates)
    assert decision.candidates[0].talk.slug == talk
    assert decision.candidates[0].reason


def test_shared_identifiers_come_first(programme_db: Path) -> None:
    by_code = decide(programme_db, "", keys=("QWXJ7K",))  # a pretalx-youtube entry has no title at all
    assert by_code.status == "matched"
    assert by_code.candidates[0].talk.slug == "pyconf-2024-101"
    assert "same identifier" in by_code.candidates[0].reason
    by_guid = decide(programme_db, "Tanker", keys=("5B0F6C1E-3D2A-5F4E-9A71-2C8E4D6B1F01",))
    assert by_guid.candidates[0].talk.slug == "pyconf-2024-102"
    by_link = decide(
        programme_db, "Scaling obs.", links=("https://pyconf.example.org/session/a-tale-of-scaling-observability",)
    )
    assert by_link.status == "matched"
    assert "talk's page" in by_link.candidates[0].reason


def test_an_identifier_whose_title_contradicts_it_is_left_for_review(programme_db: Path) -> None:
    # A slot reused by another talk keeps its id ("[Replacement Talk] Having fun with MIDI and Go").
    decision = decide(programme_db, "Having fun with MIDI and Go", keys=("QWXJ7K",))
    assert decision.status == "ambiguous"
    assert "titles differ" in decision.candidates[0].reason


def test_similar_titles_of_different_talks_do_not_match(programme_db: Path) -> None:
    assert decide(programme_db, "Welcome to the Python devroom").status != "matched"
    assert decide(programme_db, "Welcome to the Rust devroom").candidates[0].talk.slug == "pyconf-2024-104"
    assert decide(programme_db, "Cooking with cast iron").status == "unmatched"


def test_two_talks_nearly_as_likely_make_a_video_ambiguous(programme_db: Path) -> None:
    decision = decide(programme_db, "Lightning talks")
    assert decision.status == "ambiguous"
    assert {c.talk.slug for c in decision.candidates[:2]} == {"pyconf-2024-108", "pyconf-2024-109"}
    assert "nearly as likely" in decision.note


def test_dates_are_weak_evidence(programme_db: Path) -> None:
    # Sites stamp every video with one day: a wrong date takes nothing away.
    wrong_day = decide(programme_db, "A Tale of Scaling Observability", date="2024-07-08")
    assert wrong_day.status == "matched"


def test_speakers_named_by_the_video_must_agree(programme_db: Path) -> None:
    agreeing = decide(programme_db, "Pandas for the Impatient", speakers=("Léa Coston",))
    assert agreeing.status == "ambiguous"  # the same talk was given at two events
    here = matcher(programme_db, "PyConf").match(
        Recording(url="https://youtu.be/x", title="Pandas for the Impatient", speakers=("Lea Coston",))
    )
    assert here.status == "matched"
    assert here.candidates[0].talk.slug == "data-day-2024-1"  # --event takes in its co-located events


def test_a_talk_gets_one_video_and_the_first_part_wins(programme_db: Path) -> None:
    videos = [
        Recording(url="https://youtu.be/part2", title="Tanker: Embrace the relational model (Part 2/2)"),
        Recording(url="https://youtu.be/part1", title="Tanker: Embrace the relational model (Part 1/2)"),
    ]
    second, first = matcher(programme_db).match_all(videos)
    assert first.status == "matched"
    assert second.status == "ambiguous"
    assert "https://youtu.be/part1" in second.note
