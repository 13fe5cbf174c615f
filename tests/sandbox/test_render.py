"""The sandbox draws what the bot sent as Discord would show it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from discord.utils import escape_markdown
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.platforms.discord import embeds
from bot.sandbox.render import discord_text, embed_panel, readable_mentions, relative

MARKDOWNISH = st.text(alphabet="ab \n*_~`|\\[]()<>#-:@", max_size=40)


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("\\*\\*bold\\*\\*", "**bold**"),
        ("\\_\\_x\\_\\_ and \\`code\\`", "__x__ and `code`"),
        ("a \\\\ b", "a \\ b"),
        ("\\\\*x*", "\\x"),
        ("[a \\] b](https://youtu.be/x)", "a ] b <https://youtu.be/x>"),
        ("\\[not a link](https://youtu.be/x)", "[not a link](https://youtu.be/x)"),
    ],
)
def test_escaped_markdown_is_shown_as_the_literal_characters(sent: str, shown: str) -> None:
    assert discord_text(sent).plain == shown


def test_real_markdown_still_styles_the_text() -> None:
    text = discord_text("**bold** and *italic* but \\*not\\*")
    assert text.plain == "bold and italic but *not*"
    assert [(s.start, s.end, str(s.style)) for s in text.spans] == [(0, 4, "bold"), (9, 15, "italic")]


def test_an_escaped_title_renders_as_typed() -> None:
    panel = embed_panel({"title": escape_markdown("**bold**"), "fields": [{"name": "\\_x\\_", "value": "\\*y\\*"}]})
    assert panel.title is not None and panel.title.plain == "**bold**"  # type: ignore[union-attr]


@settings(max_examples=200, deadline=None)
@given(text=MARKDOWNISH)
def test_any_escaped_punctuation_reads_back_unchanged(text: str) -> None:
    assert discord_text(re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)).plain == text


@pytest.mark.parametrize("text", ["**free** `pizza`", "__x__ ~~y~~ ||z||", "a \\ b", "# not a heading", "- no list"])
def test_catalogue_text_escaped_by_the_bot_reads_back_unchanged(text: str) -> None:
    assert discord_text(embeds.safe(text, 10_000)).plain == text


@settings(max_examples=200, deadline=None)
@given(text=MARKDOWNISH)
def test_a_linked_title_reads_back_unchanged_with_its_address(text: str) -> None:
    expected = " ".join(text.split()) or "link"
    shown = discord_text(embeds._link(text, "https://youtu.be/x", 10_000)).plain.replace("\u200b", "")
    assert shown == f"{expected} <https://youtu.be/x>"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(6600, "in 2 hours"), (-3 * 86400, "3 days ago"), (20, "in a few seconds"), (60, "in 1 minute"),
     (-40 * 86400, "1 month ago")],
)  # fmt: skip
def test_relative_times_read_as_discord_shows_them(seconds: int, shown: str) -> None:
    assert relative(seconds) == shown


def test_channel_mentions_and_timestamps_are_shown_as_a_client_would() -> None:
    now = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    at = int(datetime(2026, 11, 30, 8, 0, tzinfo=UTC).timestamp())
    text = f"<#42> · <t:{at}:R> · <t:{at}:f> · <#7>"
    assert readable_mentions(text, {42: "general"}, now) == (
        "#general · in 2 hours · Mon 30 Nov 2026 08:00 UTC · #unknown-channel"
    )
