"""The field rules every reader shares: plain text, kinds, links, dates, people and ids."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.catalogue.formats.fields import (
    classify_links,
    distinct_speakers,
    guess_kind,
    http_url,
    moment,
    plain_text,
    speaker,
    talk_slug,
)
from bot.catalogue.native import _SLUG  # the bundled format's id rule: every id we make must pass it


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("<p>Hello&nbsp;<b>world</b></p><p>again</p>", "Hello world again"),
        ("See [the docs](https://x.org) and ![logo](a.png).", "See the docs and logo."),
        ("# Title\r\n\r\n* one\r\n* two\n1. three", "Title one two three"),
        (
            "**bold** and *it* and __under__ but snake_case_name stays",
            "bold and it and under but snake_case_name stays",
        ),
        ("`code` &lt;tag&gt; <https://example.org>", "code <tag> https://example.org"),
        ("plain   text\twith\nspaces", "plain text with spaces"),
        ("", ""),
    ],
)
def test_plain_text_removes_html_and_markdown(raw: str, plain: str) -> None:
    assert plain_text(raw) == plain


@given(st.text(max_size=300))
def test_plain_text_is_always_one_clean_line(raw: str) -> None:
    result = plain_text(raw)
    assert result == " ".join(result.split())


def test_plain_text_takes_linear_time_on_hostile_input() -> None:
    assert len(plain_text("**a" * 50_000 + "[" * 50_000)) > 0


@pytest.mark.parametrize(
    ("type_text", "title", "kind"),
    [
        ("lecture", "31C3 Keynote", "keynote"),
        ("podium", "Anything", "panel"),
        ("LightningTalk 15min", "Tox", "lightning"),
        ("Workshop 60 Min", "Dosentelefon", "workshop"),
        (None, "Panel: Is Service Mesh Ready?", "panel"),
        (None, "Sponsored Keynote: Bringing Confidential Computing", "keynote"),
        (None, "Agent Academy Live! Workshop", "workshop"),
        (None, "Better outcomes from Workshops using AI", "talk"),
        ("performance", "Citizenfour", "other"),
        ("Talk 30 min + 10min Q&A", "Gluon", "talk"),
    ],
)
def test_kinds_come_from_the_type_then_the_titles_label(type_text: str | None, title: str, kind: str) -> None:
    assert guess_kind(type_text, title) == kind


def test_links_are_classified_by_title_and_host_and_must_be_absolute_http() -> None:
    links = [
        ("themachinetobeanother.org", "The Machine"),  # no scheme: not a link
        ("https://vimeo.com/1", "Video"),  # a video about the project, not the talk's recording
        ("http://youtu.be/x", "Presentation @ Republica"),  # a video host is never slides
        ("/system/slides.pdf", "Doh or Don't slides"),
        ("https://media.ccc.de/v/31c3-6561", "Talk"),
    ]
    recording, slides = classify_links(links, "https://fahrplan.events.ccc.de/camp/2019/Fahrplan/")
    assert recording == "https://media.ccc.de/v/31c3-6561"
    assert slides == "https://fahrplan.events.ccc.de/system/slides.pdf"
    assert http_url("https://") is None and http_url("https://a b") is None and http_url("mailto:x@y") is None


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2024-04-20", None, ("2024-04-20", False)),
        ("2024-04-20T09:00:00", None, ("2024-04-20", True)),
        ("2024-04-20T09:00:00", "Europe/Vienna", ("2024-04-20T09:00:00+02:00", False)),
        ("2019-08-21T11:00:00+02:00", "UTC", ("2019-08-21T11:00:00+02:00", False)),
        ("2019-08-21T09:00:00Z", None, ("2019-08-21T09:00:00+00:00", False)),
    ],
)
def test_moments_keep_their_offset_or_take_the_zone_or_keep_the_date(
    text: str, zone: str | None, expected: tuple[str, bool]
) -> None:
    from zoneinfo import ZoneInfo

    assert moment(text, ZoneInfo(zone) if zone else None) == expected


def test_people_without_a_latin_slug_get_distinct_explicit_ids() -> None:
    first, second = speaker("李明"), speaker("王芳")
    assert first and second and first.key and second.key and first.key != second.key
    assert speaker("李明") == first  # stable
    assert speaker("Jane Doe") is not None and speaker("Jane Doe").key is None  # type: ignore[union-attr]
    assert speaker("???") is None


def test_one_talk_credits_each_person_once() -> None:
    credits = distinct_speakers(
        [speaker("Jane Doe"), speaker("jane doe", "Acme"), speaker("Jane Doe", "Globex"), speaker("  ")]
    )
    assert [(c.name, c.organization) for c in credits] == [("Jane Doe", "Acme"), ("Jane Doe", "Globex")]


@given(st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=80))
def test_talk_ids_always_pass_the_bundled_formats_rule(event: str, source_id: str) -> None:
    from bot.catalogue.formats.fields import event_slug

    assert _SLUG.match(talk_slug(event_slug(event), source_id))


def test_a_session_type_is_other_only_for_whole_words_that_say_so() -> None:
    from bot.catalogue.formats.fields import guess_kind

    assert guess_kind("45 min breakout session", "Scaling queues") == "talk"
    assert guess_kind("Break", "Coffee") == "other"
    assert guess_kind("Community meetup", "Rust users") == "other"
