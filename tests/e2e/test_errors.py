"""An autocomplete that fails: no suggestions and a log line, never an interaction left unanswered."""

from __future__ import annotations

import logging

import pytest

from bot.platforms.discord.client import HighlightsBot
from emulator.server import DiscordEmulator


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
