"""Announcing new recordings in Slack: an admin picks the channel with /highlights recordings, the catalogue's
owner matches a list of videos with /catalog recordings, and the app says "2 new recordings from ..." there,
once, through its running scheduler; after a lost answer, a new process finds the post in the history."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.catalogue.formats.options import ImportOptions
from bot.platforms.slack import blocks as kit
from bot.platforms.slack.posting import RECORDINGS_EVENT_TYPE
from bot.recordings.announce import EventRecordings, NewRecording, RecordingsNotice
from bot.recordings.apply import RecordingOptions, import_recordings
from bot.services.container import Services, open_services
from emulator.slack import SlackEmulator
from tests.slack.conftest import serving, slack_bot
from tests.slack.test_app import markup
from tests.slack.test_blocks import check_message
from tests.slack.test_catalog import direct_messages, submit_recordings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ADMIN, MEMBER = "U2", "U1"
# Two talks of "Winter Channels" (tests/fixtures/pretalx-schedule.json), which have no recording yet.
VIDEOS = (
    "url,title\n"
    "https://media.example/v/etherpad,Selbst gehostet: Etherpad für den Hackspace\n"
    "https://media.example/v/opening,Winter Channels Opening\n"
).encode()


@pytest.fixture
async def slack(slack_emulator: SlackEmulator, services: Services) -> AsyncIterator[SlackEmulator]:
    slack_emulator.world.add_user(ADMIN, "admin", admin=True)
    await services.catalogue.import_data(
        (FIXTURES / "pretalx-schedule.json").read_bytes(), "winter.json", ImportOptions()
    )
    bot = slack_bot(slack_emulator, services, catalog_owners=[ADMIN])
    async with serving(slack_emulator, bot):
        await bot.start()
        try:
            yield slack_emulator
        finally:
            await bot.close()


def announced(emulator: SlackEmulator, channel: str) -> list:
    return [
        m
        for m in emulator.channels[channel].messages
        if m.metadata and m.metadata["event_type"] == RECORDINGS_EVENT_TYPE
    ]


async def wait_for(emulator: SlackEmulator, channel: str, count: int) -> list:
    for _ in range(250):
        if len(announced(emulator, channel)) >= count:
            break
        await asyncio.sleep(0.02)
    return announced(emulator, channel)


async def test_new_recordings_are_announced_once_in_the_channel_the_workspace_chose(slack):
    await slack.slash("/highlights", "setup channel:<#C1|general> time:09:00 timezone:UTC event:wc-2021", user=ADMIN)
    asked = await slack.slash("/highlights", "recordings", user=ADMIN)
    assert "not announced" in markup(asked.last)
    refused = await slack.slash("/highlights", "recordings <#C2|random>", user=MEMBER)
    assert "admins" in markup(refused.last)
    turned_on = await slack.slash("/highlights", "recordings <#C2|random>", user=ADMIN)
    assert "<#C2>" in markup(turned_on.last)
    assert "<#C2>" in markup((await slack.slash("/highlights", "recordings", user=ADMIN)).last)

    [dry] = await submit_recordings(slack, "videos.csv", VIDEOS, checked={"dry_run": ["yes"]})
    assert "2 talks would get a recording" in dry.text and "announced" not in dry.text
    await asyncio.sleep(0.2)
    assert announced(slack, "C2") == []

    real = await submit_recordings(slack, "videos.csv", VIDEOS)
    assert "announced in 1 place" in real[-1].text
    [posted] = await wait_for(slack, "C2", 1)
    body = json.dumps(posted.blocks, ensure_ascii=False)
    assert "2 new recordings from wc-2021" in body
    assert "<https://media.example/v/opening|Winter Channels Opening>" in body
    assert "https://media.example/v/etherpad" in body
    assert not posted.unfurl_links and not posted.unfurl_media
    assert announced(slack, "C1") == []  # the highlights' own channel hears nothing of it

    again = await submit_recordings(slack, "videos.csv", VIDEOS)
    assert "announced" not in again[-1].text
    await asyncio.sleep(0.2)
    assert len(announced(slack, "C2")) == 1

    turned_off = await slack.slash("/highlights", "recordings off", user=ADMIN)
    assert "no longer" in markup(turned_off.last)
    assert "not announced" in markup((await slack.slash("/highlights", "recordings", user=ADMIN)).last)
    assert len(direct_messages(slack, ADMIN)) == 3


async def test_a_channel_the_app_is_not_in_is_refused_at_once(slack):
    slack.world.add_channel("C9", "elsewhere", member=False)
    answer = await slack.slash("/highlights", "recordings <#C9|elsewhere>", user=ADMIN)
    assert "invite me" in markup(answer.last).lower()
    assert "not announced" in markup((await slack.slash("/highlights", "recordings", user=ADMIN)).last)


async def test_a_post_whose_answer_was_lost_is_found_in_the_history_by_the_next_process(
    slack_emulator: SlackEmulator, bundled_db: Path
):
    slack_emulator.world.add_user(ADMIN, "admin", admin=True)
    async with open_services(bundled_db, platform="slack") as services:
        await services.catalogue.import_data(
            (FIXTURES / "pretalx-schedule.json").read_bytes(), "winter.json", ImportOptions()
        )
        bot = slack_bot(slack_emulator, services, catalog_owners=[ADMIN])
        async with serving(slack_emulator, bot):
            await slack_emulator.slash("/highlights", "setup time:09:00 timezone:UTC event:wc-2021", user=ADMIN)
            await slack_emulator.slash("/highlights", "recordings <#C2|random>", user=ADMIN)
            slack_emulator.time_out_next("chat.postMessage", seconds=5)  # it goes out; its answer comes late
            await bot.start()
            try:
                report = await import_recordings(services.catalogue.db, VIDEOS, "videos.csv", RecordingOptions())
                assert await services.announcements.recordings_added(report) == 1
                await wait_for(slack_emulator, "C2", 1)
            finally:
                await bot.close()  # the process stops before the answer: the post stays claimed, its outcome unknown
        states = await services.catalogue.db.read(
            lambda conn: conn.execute("SELECT state FROM recording_posts").fetchall()
        )
    assert len(announced(slack_emulator, "C2")) == 1

    # A new process over the same database: the post may have gone out, so the history is read first.
    async with open_services(bundled_db, platform="slack") as again:
        restarted = slack_bot(slack_emulator, again)
        async with serving(slack_emulator, restarted):
            await restarted.start()
            try:
                for _ in range(150):
                    done = await again.catalogue.db.read(
                        lambda conn: conn.execute(
                            "SELECT COUNT(*) FROM recording_posts WHERE state IN ('pending', 'sending')"
                        ).fetchone()[0]
                    )
                    if not done:
                        break
                    await asyncio.sleep(0.05)
            finally:
                await restarted.close()
        after = await again.catalogue.db.read(lambda conn: conn.execute("SELECT state FROM recording_posts").fetchall())
    assert [tuple(row) for row in states] == [("sending",)]
    assert [tuple(row) for row in after] == [("sent",)]
    assert len(announced(slack_emulator, "C2")) == 1


def test_the_message_is_inert_and_within_block_kit_limits():
    talks = tuple(
        NewRecording(f"t{n}", f"<!channel> talk {n} @everyone <@U123> " + "é" * 300, f"https://v.example/{n}")
        for n in range(10)
    )
    notice = RecordingsNotice(
        (
            EventRecordings("<!here> Con", 40, talks),
            EventRecordings("Other ‏עברית", 3, talks[:3]),
        )
    )
    message = kit.recordings_message(notice)
    check_message(message)
    shown = json.dumps(message, ensure_ascii=False)
    assert "<!channel>" not in shown and "<!here>" not in shown and "<@U123>" not in shown
    assert message["text"].startswith("43 new recordings from &lt;!here&gt; Con and Other")
    assert "…and 30 more" in shown
