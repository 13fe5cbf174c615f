# ruff: noqa: F811 - the fixtures of tests/live/test_follow.py, imported, are parameters here
"""A followed schedule's changes are recorded in the poll's transaction and reach every platform's setups once.

The polls run against the real HTTP server of tests/live/test_follow.py; the notices are planned rows in the
same SQLite file, read back as each platform's engine would load them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.catalogue.service import CatalogueService
from bot.db.gateway import Database
from bot.highlights.clock import FakeClock
from bot.live.follow import FollowService, changes_of
from bot.live.service import LiveService
from bot.live.store import LiveStore
from tests.live.test_follow import (  # noqa: F401 - fixtures
    PROGRAMME,
    Published,
    clock,
    db,
    first_poll,
    moved,
    rows,
    schedule_json,
    server,
    service,
)

GUILD, CHANNEL, CHANGES = 10, 20, 30


async def live_of(db: Database, clock: FakeClock, platform: Any = "discord") -> LiveService:
    return LiveService(await CatalogueService.open(db), LiveStore(db, platform), clock)


async def told(live: LiveService) -> list[list[str]]:
    """The change notices the platform's engine would post, each as its lines' kinds."""
    return [[line[0] for line in post.body["lines"]] for post in await live.store.waiting() if post.kind == "change"]


async def test_a_poll_that_changes_the_programme_records_its_changes_and_a_failed_one_does_not(
    service: FollowService, server: tuple[Published, str], db: Database
) -> None:
    published, url = server
    follow = await first_poll(service, published, url)
    assert await rows(db, "SELECT COUNT(*) FROM programme_changes") == [(0,)]  # the first import tells nothing
    published.publish(schedule_json(moved(PROGRAMME, 2, start="2026-05-04T15:00")))
    result = await service.poll(follow.id)
    [(event, recorded)] = await rows(db, "SELECT event, changes FROM programme_changes")
    assert event == "livecon26" and changes_of(recorded) == list(result.changes)
    published.publish(b'{"schedule": {"conference": ')  # truncated: nothing imported, nothing recorded
    assert (await service.poll(follow.id)).status == "error"
    assert await rows(db, "SELECT COUNT(*) FROM programme_changes") == [(1,)]


async def test_each_platform_tells_its_own_setups_once_whoever_polled(
    service: FollowService, server: tuple[Published, str], db: Database, clock: FakeClock
) -> None:
    published, url = server
    follow = await first_poll(service, published, url)
    discord, slack = await live_of(db, clock), await live_of(db, clock, "slack")
    await discord.setup(GUILD, CHANNEL, "livecon26", changes_channel_id=CHANGES)
    await slack.setup(GUILD, CHANNEL, "livecon26")
    await clock.advance(timedelta(minutes=1))
    published.publish(schedule_json(moved(PROGRAMME, 2, start="2026-05-04T15:00")))
    await service.poll(follow.id)  # as the Discord bot's loop, or `python -m bot follow --once`, would

    assert await discord.take_changes() == 1
    assert await slack.take_changes() == 1  # the Slack app in the same process, or in another
    assert await discord.take_changes() == await slack.take_changes() == 0  # each batch once per platform
    again = await live_of(db, clock)  # a second Discord process, or the same after a restart
    assert await again.take_changes() == 0
    assert await told(discord) == [["moved"]] and await told(slack) == [["moved"]]


async def test_a_batch_recorded_before_a_crash_is_told_after_the_restart(
    service: FollowService, server: tuple[Published, str], db: Database, clock: FakeClock
) -> None:
    published, url = server
    follow = await first_poll(service, published, url)
    await (await live_of(db, clock)).setup(GUILD, CHANNEL, "livecon26")
    await clock.advance(timedelta(minutes=1))
    published.publish(schedule_json(moved(PROGRAMME, 3, room="Room C")))
    await service.poll(follow.id)  # and the process dies before it tells anyone
    restarted = await live_of(db, clock)
    assert await restarted.take_changes() == 1
    assert await told(restarted) == [["room_changed"]]


async def test_the_same_change_made_again_later_is_told_again(
    service: FollowService, server: tuple[Published, str], db: Database, clock: FakeClock
) -> None:
    published, url = server
    follow = await first_poll(service, published, url)
    live = await live_of(db, clock)
    await live.setup(GUILD, CHANNEL, "livecon26")
    there, back = moved(PROGRAMME, 2, start="2026-05-04T15:00"), PROGRAMME
    for programme in (there, back, there):  # moved, moved back, moved again: three true notices
        await clock.advance(timedelta(minutes=5))
        published.publish(schedule_json(programme))
        await service.poll(follow.id)
        await live.take_changes()
    assert await told(live) == [["moved"], ["moved"], ["moved"]]


async def test_a_setup_made_after_the_changes_were_found_is_not_told_of_them(
    service: FollowService, server: tuple[Published, str], db: Database, clock: FakeClock
) -> None:
    published, url = server
    follow = await first_poll(service, published, url)
    published.publish(schedule_json(moved(PROGRAMME, 2, start="2026-05-04T15:00")))
    await service.poll(follow.id)
    await clock.advance(timedelta(minutes=1))
    late = await live_of(db, clock, "slack")
    await late.setup(GUILD, CHANNEL, "livecon26")
    assert await late.take_changes() == 0
    assert await told(late) == []
