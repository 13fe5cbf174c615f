"""Failures inside the bot: the member gets a kind answer (or, while typing, no suggestions), never silence."""

from __future__ import annotations

import logging

import pytest

from bot.client import HighlightsBot
from bot.emulator.server import DiscordEmulator

EPHEMERAL = 64


async def test_a_failing_autocomplete_answers_with_no_suggestions_and_logs(
    discord_emulator: DiscordEmulator, bot: HighlightsBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(typed: str) -> list[object]:
        raise RuntimeError("the index is on fire")

    monkeypatch.setattr(bot.services.catalogue, "suggest_topics", broken)
    with caplog.at_level(logging.ERROR, logger="cogs.replies"):
        handle = await discord_emulator.autocomplete("recommend", "topic", "mt")
        body = await handle.response()
    assert body["type"] == 8 and body["data"]["choices"] == []
    assert any("Autocomplete TalksCog._topics failed" in r.getMessage() for r in caplog.records)


async def test_an_unexpected_error_is_a_private_generic_answer_with_the_story_in_the_log(
    discord_emulator: DiscordEmulator, bot: HighlightsBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the index is on fire")

    monkeypatch.setattr(bot.services.catalogue, "recommend", broken)
    with caplog.at_level(logging.ERROR, logger="bot.client"):
        handle = await discord_emulator.slash("recommend", {"topic": "mtls"})
        body = await handle.response()
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert "Traceback" not in str(body) and "on fire" not in str(body)
    assert any(str(handle.id) in r.getMessage() and r.exc_info for r in caplog.records)
