"""The bundled catalogue holds every talk of the seed facts, and its format fails clearly on bad input."""

from pathlib import Path

import pytest

from bot.catalogue.native import BUNDLED_CATALOGUE, dump_native, load_native, parse_native
from bot.errors import CatalogueFormatError

# Facts from shared/seed/talk-facts.md: recording id -> (event, [(speaker, organisation or None, role)]).
SEED = {
    "dDW1OoTaMdU": ("servicemeshcon-eu-2021", [("Dom DePasquale", "The Pennsylvania State University", "speaker"),
                                               ("Shawn Smith", "The Pennsylvania State University", "speaker")]),
    "EB6QWpIYMSA": ("servicemeshcon-eu-2021", [("Alex Jones", "Civo", "speaker")]),
    "vGVtnP8gOl8": ("servicemeshcon-eu-2021", [("Jossie Bismarck Castrillo Fajardo", None, "speaker"),
                                               ("Sergio Arnaldo Méndez Aguilar", None, "speaker")]),
    "KoweR6u0t8c": ("kubecon-eu-2021", [("Christian Hüning", "Finleap Connect", "speaker"),
                                        ("Lutz Behnke", "Finleap Connect", "speaker")]),
    "X70Tb54Y-o4": ("kubecon-eu-2021", [("Max Körbächer", "Liquid Reply", "speaker")]),
    "S-7XbbJMonM": ("kubecon-eu-2021", [("William Morgan", "Buoyant", "speaker")]),
    "Uf1C5oxrv4w": ("servicemeshcon-eu-2021", [("William Morgan", "Buoyant", "panellist"),
                                               ("Idit Levine", "Solo.io", "panellist"),
                                               ("Nic Jackson", "HashiCorp", "panellist"),
                                               ("Marco Palladino", "Kong", "panellist"),
                                               ("Louis Ryan", "Google", "panellist"),
                                               ("Lin Sun", "Solo.io", "moderator")]),
    "ATUkfUwbBvo": ("kubecon-eu-2021", [("William Morgan", "Buoyant", "speaker"), ("Matei David", None, "speaker")]),
    "YJ8zP-lqB5E": ("servicemeshcon-eu-2021", [("Jason Morgan", "Buoyant", "speaker")]),
    "BWL4889RKhU": ("cloud-native-rust-day-2021", [("Oliver Gould", "Buoyant", "speaker")]),
    "8oOiqbxGu0U": ("cloud-native-rust-day-2021", [("Paul Howard", "Arm", "panellist"),
                                                   ("William Morgan", "Buoyant", "panellist"),
                                                   ("Oliver Gould", "Buoyant", "panellist"),
                                                   ("Ashley Williams", "Rust Foundation", "panellist"),
                                                   ("Carl Lerche", "Amazon", "panellist")]),
}  # fmt: skip


def test_every_seed_talk_is_bundled_with_its_event_people_and_recording() -> None:
    document = load_native(BUNDLED_CATALOGUE)
    by_video = {talk.recording_url.rsplit("/", 1)[-1]: talk for talk in document.talks if talk.recording_url}
    assert set(by_video) == set(SEED)
    assert len(document.talks) == 11
    for video, (event, people) in SEED.items():
        talk = by_video[video]
        assert talk.event == event, talk.title
        assert [(s.name, s.organization, s.role) for s in talk.speakers] == people, talk.title
        assert talk.summary and talk.topics, talk.title
        assert talk.recording_url == f"https://youtu.be/{video}"


def test_the_three_events_nest_the_co_located_days_under_kubecon() -> None:
    events = {e.slug: e for e in load_native(BUNDLED_CATALOGUE).events}
    assert events["kubecon-eu-2021"].name == "KubeCon + CloudNativeCon Europe 2021"
    assert events["servicemeshcon-eu-2021"].parent == "kubecon-eu-2021"
    assert events["cloud-native-rust-day-2021"].parent == "kubecon-eu-2021"
    assert str(events["cloud-native-rust-day-2021"].start_date) == "2021-05-03"
    # Its date is marked uncertain in the seed facts, so it is left out rather than guessed.
    assert events["servicemeshcon-eu-2021"].start_date is None
    assert all(e.location == "virtual" for e in events.values())


def test_uncertain_facts_are_left_out() -> None:
    text = BUNDLED_CATALOGUE.read_text(encoding="utf-8")
    assert "GDPR" not in text  # only one unconfirmed source
    assert "San Carlos" not in text and "USAC" not in text  # inferred institution
    assert "JPMorgan" not in text  # the unnamed financial firm


def test_the_format_round_trips_through_export() -> None:
    document = load_native(BUNDLED_CATALOGUE)
    again = parse_native(dump_native(document))
    assert again.talks == document.talks
    assert again.events == document.events
    assert again.topics == document.topics
    assert again.readings == document.readings


VALID_EVENT = '[[events]]\nid = "ev"\nname = "Event"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[events]]\nid = "ev"\nname = "Event\n', r"line 3"),
        (VALID_EVENT + '\n[[talks]]\nid = "t1"\nevent = "ev"\n', r"line 5: talks #1 \('t1'\): missing required field 'title'"),
        (VALID_EVENT + '\n[[talks]]\nid = "t1"\ntitle = "T"\nevent = "nope"\n', r"field 'event': no event with id 'nope'"),
        (VALID_EVENT + '\n[[talks]]\nid = "t1"\ntitle = "T"\nevent = "ev"\ndate = "May 4th"\n', r"field 'date' must be a date"),
        (VALID_EVENT + '\n[[talks]]\nid = "t1"\ntitle = "T"\nevent = "ev"\ntopics = ["ghost"]\n', r"'ghost' is not declared"),
        (VALID_EVENT + '\n[[talks]]\nid = "t1"\ntitle = "T"\nevent = "ev"\nkind = "party"\n', r"field 'kind' must be one of"),
        (VALID_EVENT + '\n[[talks]]\nid = "t1"\ntitle = "T"\nevent = "ev"\nspeakers = [{ organization = "X" }]\n',
         r"field 'speakers\[1\].name' is missing"),
        (VALID_EVENT + '\n[[talks]]\nid = "t1"\ntitle = "T"\nevent = "ev"\n[[talks]]\nid = "t1"\ntitle = "U"\nevent = "ev"\n',
         r"talks #2 \('t1'\): this id is used twice"),
        (VALID_EVENT + '\n[[talks]]\nid = "Not A Slug"\ntitle = "T"\nevent = "ev"\n', r"field 'id' must be lower-case"),
        (VALID_EVENT + '\n[[talks]]\nid = "t1"\ntitle = 5\nevent = "ev"\n', r"field 'title' must be text"),
        (VALID_EVENT + '\n[[talks]]\nid = "t1"\ntitle = "T"\nevent = "ev"\nrecording_url = "javascript:alert(1)"\n',
         r"must be a http\(s\) link"),
    ],
)  # fmt: skip
def test_bad_catalogue_files_name_the_file_record_and_field(text: str, message: str) -> None:
    with pytest.raises(CatalogueFormatError, match=message) as caught:
        parse_native(text, "my-talks.toml")
    assert caught.value.message.startswith("my-talks.toml")


def test_a_missing_or_binary_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueFormatError, match="no such file"):
        load_native(tmp_path / "absent.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CatalogueFormatError, match="not UTF-8"):
        load_native(binary)
