"""Every embed stays within Discord's limits and catalogue text cannot break out of its place."""

from __future__ import annotations

import re
from datetime import date

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.catalogue.service import Result
from bot.domain.models import Count, Credit, Event, PersonProfile, Talk, Topic
from bot.domain.text import inert
from bot.platforms.discord import embeds
from bot.platforms.discord.views import PAGE_SIZE, TalkPager

EVENT = Event("ev", "Event", start_date=date(2021, 5, 4), end_date=date(2021, 5, 7))


def within_limits(embed: discord.Embed) -> None:
    data = embed.to_dict()
    assert len(data.get("title", "")) <= embeds.TITLE_LIMIT
    assert len(data.get("description", "")) <= embeds.DESCRIPTION_LIMIT
    assert len(data.get("fields", [])) <= embeds.FIELD_COUNT_LIMIT
    for field in data.get("fields", []):
        assert 0 < len(field["name"]) <= embeds.FIELD_NAME_LIMIT
        assert 0 < len(field["value"]) <= embeds.FIELD_VALUE_LIMIT
    assert len(data.get("footer", {}).get("text", "")) <= embeds.FOOTER_LIMIT
    assert len(data.get("author", {}).get("name", "")) <= embeds.AUTHOR_LIMIT
    assert len(embed) <= embeds.EMBED_TOTAL_LIMIT


def huge_talk(text: str, n: int = 0) -> Talk:
    return Talk(
        slug=f"talk-{n}",
        title=text * 40,
        event=Event("ev", text * 30, short_name=text * 10),
        kind="panel",
        summary=text * 900,
        recording_url="https://youtu.be/x",
        slides_url="https://example.org/slides",
        credits=tuple(Credit(f"p{i}", text * 20, "panellist", text * 20) for i in range(40)),
        topics=tuple(Topic(f"t{i}", text * 15) for i in range(60)),
    )


TEXTS = st.text(min_size=1, max_size=12) | st.sampled_from(
    ["@everyone", "**bold**", "`x`", "](javascript:)", "\\", "🚀", "ש"]
)


@settings(max_examples=60, deadline=None)
@given(text=TEXTS)
def test_a_talk_card_fits_whatever_the_catalogue_holds(text: str) -> None:
    within_limits(embeds.talk_embed(huge_talk(text), reasons=[text * 300] * 5, heading=text * 100))


@settings(max_examples=40, deadline=None)
@given(text=TEXTS)
def test_a_results_page_fits(text: str) -> None:
    results = [Result(huge_talk(text, n), 1.0, (text * 200,)) for n in range(PAGE_SIZE)]
    within_limits(embeds.results_embed(text * 300, results, page=1, pages=9, total=45, first_rank=1, note=text * 400))


@settings(max_examples=40, deadline=None)
@given(text=TEXTS)
def test_speaker_people_topic_and_event_lists_fit(text: str) -> None:
    talks = tuple(huge_talk(text, n) for n in range(80))
    profile = PersonProfile("p", text * 100, tuple(text * 30 for _ in range(30)), talks)
    within_limits(embeds.speaker_embed(profile))
    within_limits(embeds.people_embed([profile] * 40, text * 100))
    within_limits(embeds.topics_embed([Count(f"t{i}", text * 50, i) for i in range(200)], page=1, pages=7))
    within_limits(
        embeds.events_embed([(Event(f"e{i}", text * 80, location=text * 20), i) for i in range(200)], page=1, pages=7)
    )
    within_limits(embeds.error_embed(text * 5000, [text * 300] * 30))


def test_catalogue_markdown_and_mentions_are_made_inert() -> None:
    talk = Talk(
        slug="t",
        title="@everyone **free** [pizza](https://evil.example)",
        event=EVENT,
        summary="<@&123456789012345678> __x__",
    )
    card = embeds.talk_embed(talk)
    assert "@everyone" not in (card.title or "") and "\\*\\*free\\*\\*" in (card.title or "")
    assert "\\[pizza]" in (card.title or "")  # an escaped bracket makes no link
    assert "<@&123456789012345678>" not in (card.description or "") and "\\_\\_x\\_\\_" in (card.description or "")


def test_clipping_never_leaves_a_dangling_escape() -> None:
    for size in range(90, 110):
        clipped = embeds.safe("*" * 500, size)
        body = clipped.removesuffix("…")
        trailing = len(body) - len(body.rstrip("\\"))
        assert len(clipped) <= size
        assert trailing % 2 == 0  # an odd number would escape whatever follows


def test_an_unknown_talk_date_shows_the_event_dates_not_a_guess() -> None:
    talk = Talk(slug="t", title="T", event=EVENT)
    assert embeds.event_line(talk) == "Event · 4–7 May 2021"


async def test_a_pager_offers_more_like_this_for_each_talk_on_the_page() -> None:
    results = [Result(huge_talk("a", n), 1.0) for n in range(12)]

    async def pick(interaction: discord.Interaction, slug: str) -> None:
        return None

    pager = TalkPager(1, "T", results, pick)
    assert pager.pages == 3
    assert [o.value for o in pager.more.options] == [f"talk-{n}" for n in range(5)]
    assert all(len(o.label) <= 100 and len(o.description or "") <= 100 for o in pager.more.options)
    assert pager.previous.disabled and not pager.next.disabled


URL = "https://youtu.be/x"


def shown_link_text(link: str, url: str = URL) -> str:
    """The text a reader sees in a `[text](url)` link; fails if the text could end the link or break out of it."""
    assert link.startswith("[") and link.endswith(f"]({url})"), link
    inner = link[1 : -len(f"]({url})")]
    tokens = re.findall(r"\\.|.", inner, re.DOTALL)
    unescaped = [t for t in tokens if len(t) == 1]
    assert not set(unescaped) & set("[]()\\`*_~|<"), (link, unescaped)
    return "".join(t[-1] for t in tokens)


@pytest.mark.parametrize(
    "title",
    [
        "a ] b",
        "[a",
        "a)",
        "(a",
        "x](javascript:alert(1))",
        "[x](https://evil.example)",
        "**b**",
        "a\\",
        "\\",
        "`a",
        "|",
    ],
)
def test_a_linked_title_cannot_end_its_link_early(title: str) -> None:
    assert shown_link_text(embeds._link(title, URL, 200)) == title


@settings(max_examples=300, deadline=None)
@given(title=st.text(), limit=st.integers(min_value=1, max_value=300))
def test_any_title_is_safe_inside_a_link(title: str, limit: int) -> None:
    link = embeds._link(title, URL, limit)
    shown = shown_link_text(link).replace("\u200b", "")  # the space that defuses @everyone is invisible
    expected = " ".join(inert(title).split()).replace("\u200b", "")  # controls and direction overrides dropped
    if shown != (expected or "link"):  # clipped
        assert shown.endswith("…") and expected.startswith(shown[:-1])
    assert len(link) - len(f"[]({URL})") <= max(limit, len("link"))


def test_a_results_page_keeps_odd_titles_inside_their_links() -> None:
    talk = Talk(slug="odd", title="Unbalanced ] and ( brackets", event=EVENT, recording_url=URL)
    page = embeds.results_embed("T", [Result(talk, 1.0)], page=1, pages=1, total=1, first_rank=1)
    assert f"[Unbalanced \\] and \\( brackets]({URL})" in (page.description or "")
