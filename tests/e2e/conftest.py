"""Start the real bot against the Discord emulator, in the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.platforms.discord.client import HighlightsBot
from emulator.harness import fast_client_options, run_client
from emulator.model import StoredMessage
from emulator.server import DiscordEmulator

StartBot = Callable[..., AbstractAsyncContextManager[HighlightsBot]]


@pytest.fixture
def start_bot(discord_emulator: DiscordEmulator, bundled_db: Path) -> StartBot:
    """Start the bot (commands copied to the emulator's server and synced globally); fails if it dies."""

    @asynccontextmanager
    async def start(
        *, view_timeout: float = 300.0, database: Path | None = None, **options: Any
    ) -> AsyncIterator[HighlightsBot]:
        settings = Settings(
            database=database or bundled_db,
            discord_token=discord_emulator.token,
            dev_guild_id=discord_emulator.guild.id,
        )
        bot = HighlightsBot(settings, view_timeout=view_timeout, **fast_client_options(), **options)
        async with run_client(discord_emulator, bot):
            await bot.tree.sync()  # global commands too, for direct messages and user installs
            yield bot

    return start


@pytest.fixture
async def bot(start_bot: StartBot) -> AsyncIterator[HighlightsBot]:
    async with start_bot() as running:
        yield running


EPHEMERAL = 64  # the message flag of a reply only its asker sees


def component(message: StoredMessage, *, label: str | None = None, kind: int | None = None) -> dict[str, Any]:
    """The first component of a message with this label or type."""
    for item in message.iter_components():
        if (label is None or item.get("label") == label) and (kind is None or item.get("type") == kind):
            return item
    raise AssertionError(f"no component {label or kind} in {message.components}")
