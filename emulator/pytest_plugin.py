"""Pytest fixtures for tests that run a bot against the emulator.

Load with `pytest_plugins = ("emulator.pytest_plugin",)` in the top-level `tests/conftest.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from emulator.server import DiscordEmulator


@pytest.fixture
async def discord_emulator() -> AsyncIterator[DiscordEmulator]:
    """A started emulator; the test fails if any body broke the spec or Discord's limits.

    A test that provokes violations on purpose clears `discord_emulator.violations` after checking them.
    """
    async with DiscordEmulator() as emulator:
        yield emulator
    if emulator.violations:
        listing = "\n".join(f"- {violation}" for violation in emulator.violations)
        pytest.fail(f"Discord API violations:\n{listing}", pytrace=False)
