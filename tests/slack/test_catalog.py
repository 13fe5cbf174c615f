"""/catalog import in Slack: a modal with a file input, the file fetched with the bot's token, a report by DM."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services.container import Services
from emulator.slack import SlackEmulator
from tests.slack.conftest import serving, slack_bot

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OWNER = "U2"


@pytest.fixture
async def slack(slack_emulator: SlackEmulator, services: Services) -> AsyncIterator[SlackEmulator]:
    async with serving(slack_emulator, slack_bot(slack_emulator, services, catalog_owners=[OWNER])):
        yield slack_emulator


def direct_messages(slack: SlackEmulator, user: str) -> list:
    return [m for channel in slack.channels.values() if channel.id == f"D{user}" for m in channel.messages]


async def import_file(slack: SlackEmulator, name: str, data: bytes, **entered) -> list:
    earlier = len(direct_messages(slack, OWNER))
    await slack.slash("/catalog", "import", user=OWNER)
    modal = slack.views_opened[-1]
    file = slack.upload(name, data, user=OWNER)
    answer = await slack.submit_view(modal, {}, user=OWNER, files={"file": [file]}, **entered)
    assert answer is None  # the modal closes at once; the report follows as a message
    for _ in range(250):
        if len(direct_messages(slack, OWNER)) > earlier:
            break
        await asyncio.sleep(0.02)
    return direct_messages(slack, OWNER)


async def test_only_the_named_owners_may_import(slack):
    refused = await slack.slash("/catalog", "import", user="U1")
    assert "SLACK_CATALOG_OWNERS" in json.dumps(refused.last.blocks)
    assert slack.views_opened == []


async def test_an_owner_imports_a_file_and_gets_the_report(slack, services):
    before = await services.catalogue.talk_count()
    data = (FIXTURES / "pretalx-schedule.json").read_bytes()
    [report] = await import_file(slack, "schedule.json", data, selected={"format": "auto"})
    assert "added" in report.text
    assert await services.catalogue.talk_count() > before
    assert slack.files_fetched  # fetched from Slack with the bot's token


async def test_a_dry_run_changes_nothing_and_a_broken_file_says_why(slack, services):
    before = await services.catalogue.talk_count()
    data = (FIXTURES / "pretalx-schedule.json").read_bytes()
    [dry] = await import_file(slack, "schedule.json", data, checked={"dry_run": ["yes"]})
    assert "dry run" in dry.text.lower() or "would" in dry.text.lower()
    assert await services.catalogue.talk_count() == before
    messages = await import_file(slack, "broken.json", b'{"schedule": ')
    assert len(messages) == 2 and "broken.json" in messages[-1].text
    assert await services.catalogue.talk_count() == before
