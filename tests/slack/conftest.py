"""The Slack app under test: the services over a copy of the bundled catalogue, and the app served to the stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.platforms.slack.app import SlackBot
from bot.services.container import Services, open_services
from emulator.slack import SlackEmulator


@pytest.fixture
async def services(bundled_db: Path) -> AsyncIterator[Services]:
    async with open_services(bundled_db, platform="slack") as opened:
        yield opened


def slack_bot(emulator: SlackEmulator, services: Services, **options: Any) -> SlackBot:
    """The bot's Slack app pointed at the stand-in (one workspace's token unless `options` say otherwise)."""
    settings: dict[str, Any] = {"token": emulator.token, "signing_secret": emulator.signing_secret} | options
    return SlackBot(services, api_url=emulator.api_url, **settings)


@asynccontextmanager
async def serving(emulator: SlackEmulator, bot: SlackBot) -> AsyncIterator[SlackBot]:
    """The app listening on a free port, at the stand-in's request URL (the scheduler is not started)."""
    runner = web.AppRunner(bot.app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    emulator.app_url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    try:
        yield bot
    finally:
        await runner.cleanup()


@pytest.fixture
async def slack(slack_emulator: SlackEmulator, services: Services) -> AsyncIterator[SlackEmulator]:
    """The stand-in with the bot's app served to it."""
    async with serving(slack_emulator, slack_bot(slack_emulator, services)):
        yield slack_emulator
