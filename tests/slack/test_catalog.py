"""/catalog in Slack: import and recordings (a modal with a file input, the file fetched with the bot's token, a
report by DM), and follow, following and unfollow against a real local HTTP server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.catalogue.formats.options import ImportOptions
from bot.services.container import Services
from emulator.slack import SlackEmulator
from tests.live.test_follow import PROGRAMME, schedule_json, server  # noqa: F401 - the fixture
from tests.live.test_notices import programme
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


# -- recordings and followed schedules ------------------------------------------------------------------------


async def submit_recordings(slack: SlackEmulator, name: str, data: bytes, **entered) -> list:
    earlier = len(direct_messages(slack, OWNER))
    await slack.slash("/catalog", "recordings", user=OWNER)
    modal = slack.views_opened[-1]
    assert modal["callback_id"] == "catalog_recordings"
    file = slack.upload(name, data, user=OWNER)
    answer = await slack.submit_view(modal, entered.pop("typed", {}), user=OWNER, files={"file": [file]}, **entered)
    assert answer is None
    for _ in range(250):
        if len(direct_messages(slack, OWNER)) > earlier:
            break
        await asyncio.sleep(0.02)
    return direct_messages(slack, OWNER)


async def test_only_the_owners_match_recordings(slack):
    refused = await slack.slash("/catalog", "recordings", user="U1")
    assert "SLACK_CATALOG_OWNERS" in json.dumps(refused.last.blocks)
    assert slack.views_opened == []


async def test_an_owner_matches_a_list_of_recordings_and_gets_the_report(slack, services):
    title = "Zero-downtime schema migrations for Postgres"
    await services.catalogue.import_data(programme(("zd", title, "10:00")), "meshcon.toml", ImportOptions())
    slug = "zd"
    video = "https://www.youtube.com/watch?v=SLACKTEST01"
    data = f"url,title,speakers\n{video},{title},Speaker of {title}\n".encode()
    [dry] = await submit_recordings(slack, "videos.csv", data, checked={"dry_run": ["yes"]})
    assert "would get" in dry.text and "1 talks would get a recording" in dry.text
    assert (await services.catalogue.talk_by_slug(slug)).recording_url in (None, "")
    messages = await submit_recordings(slack, "videos.csv", data)
    assert "1 talks got a recording" in messages[-1].text
    assert (await services.catalogue.talk_by_slug(slug)).recording_url == video
    odd = await submit_recordings(slack, "videos.csv", data, typed={"min_confidence": "sure"})
    assert "min_confidence" in odd[-1].text


async def test_an_owner_follows_a_published_schedule(slack, services, server):  # noqa: F811 - the fixture
    published, url = server
    published.publish(schedule_json(PROGRAMME))
    refused = await slack.slash("/catalog", f"follow {url}", user="U1")
    assert "SLACK_CATALOG_OWNERS" in json.dumps(refused.last.blocks)
    assert await services.follows.list() == []

    followed = await slack.slash("/catalog", f"follow {url} interval:10", user=OWNER)
    said = json.dumps(followed.last.blocks, ensure_ascii=False)
    assert "Following #1 every 10 minutes" in said and "First poll" in said
    assert "Meshes in practice" in [t.title for t in (await services.catalogue.speakers("Ann Lee"))[0].talks]
    [follow] = await services.follows.list()
    assert follow.url == url and follow.interval_minutes == 10 and follow.event == "livecon26"

    listed = await slack.slash("/catalog", "following", user=OWNER)
    assert url in listed.last.text and "every 10 min" in listed.last.text
    linked = await slack.slash("/catalog", f"follow <{url}> interval:5", user=OWNER)  # as Slack may write a link
    assert "Following #1 every 5 minutes" in json.dumps(linked.last.blocks)
    bad = await slack.slash("/catalog", "follow ftp://example.org/schedule.json", user=OWNER)
    assert "not an http(s) link" in json.dumps(bad.last.blocks)

    gone = await slack.slash("/catalog", "unfollow 1", user=OWNER)
    assert "No longer following" in json.dumps(gone.last.blocks)
    assert await services.follows.list() == []
    missing = await slack.slash("/catalog", "unfollow 7", user=OWNER)
    assert "No followed schedule #7" in json.dumps(missing.last.blocks)
    usage = await slack.slash("/catalog", "dance", user=OWNER)
    assert "/catalog import | recordings | follow" in json.dumps(usage.last.blocks)


async def test_the_slack_bot_polls_followed_schedules_only_without_a_discord_bot(slack_emulator, services):
    def running(bot) -> list[str]:
        return sorted(task.get_name() for task in bot._following if not task.done())

    alone = slack_bot(slack_emulator, services)
    await alone.start()
    try:
        assert running(alone) == ["followed-schedules", "programme-changes"]
    finally:
        await alone.close()
    assert alone._following == []
    beside_discord = slack_bot(slack_emulator, services, follow_schedules=False)
    await beside_discord.start()
    try:
        assert running(beside_discord) == ["programme-changes"]  # the changes the Discord bot's polls record
    finally:
        await beside_discord.close()
