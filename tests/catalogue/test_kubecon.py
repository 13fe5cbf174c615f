"""The KubeCon NA 2019 list, converted to the bundled format for search: complete, current and sensible.

The list is real data (../shared, see `benchmarks.realdata`): the tests that read it are marked `realdata`.
The speaker-list parsing is checked on its own, on lines written here.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from benchmarks.kubecon_list import convert, document, parse_people, render, split_topic
from bot.catalogue.formats.document import CatalogueDocument
from bot.catalogue.native import load_native
from bot.domain.text import fold

from .conftest import KUBECON_JSON

REAL = pytest.mark.realdata


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return json.loads(KUBECON_JSON.read_text(encoding="utf-8"))["talks"]


@pytest.fixture(scope="module")
def bundled() -> CatalogueDocument:
    return document()


@REAL
def test_the_converted_list_round_trips_through_the_bundled_format(bundled: CatalogueDocument, tmp_path: Path) -> None:
    text = render(bundled)
    assert text.startswith("# KubeCon + CloudNativeCon North America 2019") and "[[talks]]" in text
    path = tmp_path / "kubecon-na-2019.toml"
    path.write_text(text, encoding="utf-8")
    loaded = load_native(path)
    assert loaded.events == bundled.events and loaded.talks == bundled.talks
    assert loaded.topics == bundled.topics and loaded.readings == bundled.readings
    assert render(loaded) == text
    again = convert(KUBECON_JSON.read_bytes())  # the conversion is stable: the same file, the same text
    assert render(again) == text


@REAL
def test_every_row_is_one_talk_with_its_recording_and_slides(
    rows: list[dict[str, Any]], bundled: CatalogueDocument
) -> None:
    assert len(bundled.talks) == len(rows) == 373
    by_source = {talk.source_id: talk for talk in bundled.talks}
    for row in rows:
        video = parse_qs(urlsplit(row["youtube_url"]).query)["v"][0] if row["youtube_url"] else row["id"]
        talk = by_source[video]
        assert talk.recording_url == row["youtube_url"] and talk.slides_url == row["slides_url"]
    assert sum(1 for t in bundled.talks if t.recording_url) == 372
    assert sum(1 for t in bundled.talks if t.slides_url) == 292


@REAL
def test_co_located_sections_are_events_under_kubecon_and_other_sections_are_tracks(
    rows: list[dict[str, Any]], bundled: CatalogueDocument
) -> None:
    parents = {event.slug: event.parent for event in bundled.events}
    assert parents == {"kubecon-na-2019": None, "servicemeshcon-na-2019": "kubecon-na-2019",
                       "envoycon-2019": "kubecon-na-2019", "observability-summit-na-2019": "kubecon-na-2019"}  # fmt: skip
    per_event = Counter(talk.event for talk in bundled.talks)
    assert per_event == {"kubecon-na-2019": 326, "envoycon-2019": 18, "servicemeshcon-na-2019": 17,
                         "observability-summit-na-2019": 12}  # fmt: skip
    tracks = Counter(talk.track for talk in bundled.talks if talk.event == "kubecon-na-2019")
    assert tracks["Service Mesh"] == 12 and tracks["Keynote"] == 20 and tracks[None] == 38
    kinds = Counter(talk.kind for talk in bundled.talks)
    assert kinds["keynote"] == 20 and kinds["tutorial"] == 9 and kinds["lightning"] == 13 and kinds["panel"] >= 8


@REAL
def test_talks_get_topics_from_their_section_and_title(bundled: CatalogueDocument) -> None:
    linkerd = [talk.title for talk in bundled.talks if "linkerd" in talk.topics]
    assert sorted(linkerd) == sorted(t.title for t in bundled.talks if "linkerd" in fold(t.title))
    assert len(linkerd) == 3
    mesh_days = [t for t in bundled.talks if t.event in ("servicemeshcon-na-2019", "envoycon-2019")]
    assert all("service-mesh" in t.topics for t in mesh_days)
    assert all("observability" in t.topics for t in bundled.talks if t.event == "observability-summit-na-2019")
    assert sum(1 for t in bundled.talks if t.topics) >= 340
    assert bundled.topics["service-mesh"] == "Service mesh"  # spelt as in the bundled catalogue


@REAL
def test_speakers_are_people_with_their_organisations(rows: list[dict[str, Any]], bundled: CatalogueDocument) -> None:
    talk = next(t for t in bundled.talks if t.title == "Intro: Linkerd")
    assert [(s.name, s.organization) for s in talk.speakers] == [("William Morgan", "Buoyant")]
    organizations = {s.organization for t in bundled.talks for s in t.speakers if s.organization}
    names = {s.name for t in bundled.talks for s in t.speakers}
    assert not names & organizations - {"Flynn"}, names & organizations
    raw = {row["raw_topic"] for row in rows}
    for t in bundled.talks:
        for s in t.speakers:  # every name is written in its row (after the aka/handle clean-up)
            assert any(s.name.split()[0] in r for r in raw), s.name
    people = {fold(s.name) for t in bundled.talks for s in t.speakers}
    assert len(people) == 533
    hung = {s.organization for t in bundled.talks for s in t.speakers if s.name == "Cheryl Hung"}
    assert hung == {"CNCF"}  # two spellings of one organisation, kept as one so she stays one person


@pytest.mark.parametrize(
    ("raw", "title", "people"),
    [
        ("Multiple Networks for Kubernetes Workloads - Piotr Skamruk, CodiLime & Doug Smith, Red Hat",
         "Multiple Networks for Kubernetes Workloads", [("Piotr Skamruk", "CodiLime"), ("Doug Smith", "Red Hat")]),
        ("Tutorial: Debug Your Kubernetes Apps - Arun Gupta & Re Alvarez Parmar, Amazon",
         "Tutorial: Debug Your Kubernetes Apps", [("Arun Gupta", "Amazon"), ("Re Alvarez Parmar", "Amazon")]),
        ("Porting Envoy to Windows; A Progress Report - Yechiel Kalmenson & William A. Rowe, Jr., Pivotal",
         "Porting Envoy to Windows; A Progress Report",
         [("Yechiel Kalmenson", "Pivotal"), ("William A. Rowe, Jr.", "Pivotal")]),
        ("Keynote: Reflections - Kelsey Hightower, Staff Developer Advocate, Google", "Keynote: Reflections",
         [("Kelsey Hightower", "Google")]),
        ("Rook: Cloud-Native Storage Orchestr... Jared Watts, Bassam Tabbara, Travis Nielsen & Alexander Trost",
         "Rook: Cloud-Native Storage Orchestr...",
         [("Jared Watts", None), ("Bassam Tabbara", None), ("Travis Nielsen", None), ("Alexander Trost", None)]),
        ("Building Low Latency Topologies with Envoy - John Howard, Google, Snow Petterson, Square, Liam White, Tetrate",
         "Building Low Latency Topologies with Envoy",
         [("John Howard", "Google"), ("Snow Petterson", "Square"), ("Liam White", "Tetrate")]),
        ("LeitMotif: An Abstraction for Debugging Distributed Applications - Mania Abdi, Northeastern University",
         "LeitMotif: An Abstraction for Debugging Distributed Applications", [("Mania Abdi", "Northeastern University")]),
        ("Panel: Is Service Mesh Ready for Edge-Native Applications?",
         "Panel: Is Service Mesh Ready for Edge-Native Applications?", []),
    ],
)  # fmt: skip
def test_sched_style_speaker_lists_are_split_into_people(
    raw: str, title: str, people: list[tuple[str, str | None]]
) -> None:
    found_title, credits = split_topic(raw)
    assert found_title == title
    assert [(c.name, c.organization) for c in credits] == people


def test_parse_people_handles_semicolons_and_handles() -> None:
    credits = parse_people("Mo Khan, Red Hat; Mike Danese, Google; & Tim Allclair, Google")
    assert [(c.name, c.organization) for c in credits] == [("Mo Khan", "Red Hat"), ("Mike Danese", "Google"),
                                                           ("Tim Allclair", "Google")]  # fmt: skip
    assert [c.name for c in parse_people("Chris Anizczyk (@cra) CTO/COO, CNCF")] == ["Chris Anizczyk"]
