"""Pytest fixtures for tests that run a Slack app against the Slack emulator.

Load with `pytest_plugins = ("emulator.slack.pytest_plugin",)` in the top-level `tests/conftest.py`
(beside `emulator.pytest_plugin`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from emulator.slack.server import SlackEmulator


@pytest.fixture
async def slack_emulator() -> AsyncIterator[SlackEmulator]:
    """A started emulator with a user and four channels; set `app_url` before driving the app.

    User U1 "ada" (Europe/Berlin), U2 "grace" (America/New_York, a workspace admin); channels C1 "general"
    and C2 "random" (the bot is in both), C3 "secret" (it is not) and C4 "old" (archived).

    The test fails if the app sent Slack something it would refuse without telling the app (a bad
    response_url body, options answer or ack); a test that does so on purpose clears `problems` after
    checking them.
    """
    async with SlackEmulator() as emulator:
        emulator.add_user("U1", "ada", tz="Europe/Berlin")
        emulator.add_user("U2", "grace", tz="America/New_York", admin=True)
        emulator.add_channel("C1", "general")
        emulator.add_channel("C2", "random")
        emulator.add_channel("C3", "secret", member=False)
        emulator.add_channel("C4", "old", archived=True)
        yield emulator
    if emulator.problems:
        listing = "\n".join(f"- {problem}" for problem in emulator.problems)
        pytest.fail(f"Slack would have refused:\n{listing}", pytrace=False)
