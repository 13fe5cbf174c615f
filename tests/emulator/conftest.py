"""Fixtures: the emulator (failing tests that break the spec) and the test bot running against it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from emulator.harness import run_client
from emulator.pytest_plugin import discord_emulator
from emulator.server import DiscordEmulator
from tests.emulator.testbot import EmulatorTestBot

__all__ = ["bot", "discord_emulator", "emulator"]


@pytest.fixture
def emulator(discord_emulator: DiscordEmulator) -> DiscordEmulator:
    """The emulator (short name)."""
    return discord_emulator


@pytest.fixture
async def bot(emulator: DiscordEmulator) -> AsyncIterator[EmulatorTestBot]:
    """The test bot, logged in and ready."""
    async with run_client(emulator, EmulatorTestBot(emulator.guild.id)) as client:
        yield client
