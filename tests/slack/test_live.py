"""Live mode in Slack: /live, and its notices posted once on the simulated clock, against the Slack emulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.catalogue.formats.options import ImportOptions
from bot.domain.models import Credit, Talk
from bot.highlights.memory import InMemoryScheduleStore
from bot.highlights.scheduler import Scheduler, SchedulerConfig
from bot.live.follow import ScheduleChange, TalkTimes
from bot.live.jobs import LiveJobs
from bot.live.notices import ChangeLine, ChangeNotice, UpNext
from bot.platforms.slack import blocks as kit
from bot.platforms.slack.app import SlackBot
from bot.platforms.slack.posting import LIVE_EVENT_TYPE
from bot.services.container import Services, open_services
from emulator.slack import SlackEmulator
from emulator.slack.model import format_ts
from tests.db.test_schedules import SettlingClock
from tests.live.test_notices import FIRST, START, local, programme
from tests.slack.conftest import serving, slack_bot
from tests.slack.test_app import markup
from tests.slack.test_blocks import EVENT, OUR_TOKENS, check_message

ADMIN, MEMBER = "U2", "U1"


class SimulatedTs:
    """Message timestamps from the simulated clock, so a channel's history reads as the bot's time does."""

    def __init__(self, clock: SettlingClock) -> None:
        self.clock, self._last = clock, 0

    def next_ts(self) -> str:
        self._last = max(int(self.clock.now().timestamp() * 1_000_000), self._last + 1)
        return format_ts(self._last)


class TrackedJobs:
    """Live jobs whose work in flight (the database, the programme, real HTTP calls) the settling clock waits for."""

    def __init__(self, jobs: LiveJobs, clock: SettlingClock) -> None:
        self.jobs, self.clock, self.name = jobs, clock, jobs.name

    async def _tracked(self, work):
        self.clock.busy += 1
        try:
            return await work
        finally:
            self.clock.busy -= 1

    async def load(self):
        return await self._tracked(self.jobs.load())

    async def get(self, job_id):
        return await self._tracked(self.jobs.get(job_id))

    def later(self, job, at):
        return self.jobs.later(job, at)

    async def run(self, job):
        return await self._tracked(self.jobs.run(job))


class _Idle:
    async def post(self, schedule, talk, nonce):
        raise AssertionError("no highlight should be posted")


@pytest.fixture
def clock() -> SettlingClock:
    return SettlingClock(START)


def config() -> SchedulerConfig:
    return SchedulerConfig(per_second=None, grace=timedelta(hours=1))


@pytest.fixture
async def services(bundled_db: Path, clock) -> AsyncIterator[Services]:
    async with open_services(bundled_db, platform="slack", clock=clock, scheduler_config=config()) as opened:
        await opened.catalogue.import_data(FIRST, "meshcon.toml", ImportOptions())
        yield opened


@pytest.fixture
async def bot(slack_emulator: SlackEmulator, services: Services, clock) -> AsyncIterator[SlackBot]:
    slack_emulator.post_rate_per_channel = 1000.0
    slack_emulator.world.clock = SimulatedTs(clock)
    async with serving(slack_emulator, slack_bot(slack_emulator, services)) as made:
        yield made


def engine_for(bot: SlackBot, services: Services, clock: SettlingClock) -> Scheduler:
    """The engine as the bot builds it for live notices, its store and poster tracked by the settling clock."""
    engine = Scheduler(InMemoryScheduleStore(), _Idle(), clock, bot.scheduler._config)
    jobs = LiveJobs(services.live, services.live.store, bot.live_poster, engine.runtime)
    engine.add(TrackedJobs(jobs, clock))
    services.live.on_change = engine.reload
    return engine


def notices(emulator: SlackEmulator, channel: str) -> list:
    return [
        m for m in emulator.channels[channel].messages if m.metadata and m.metadata["event_type"] == LIVE_EVENT_TYPE
    ]


def starting(emulator: SlackEmulator, channel: str) -> list:
    return [m for m in notices(emulator, channel) if "Starting in 5 minutes" in m.text]


async def test_a_setup_announces_each_start_time_once_lead_minutes_before(bot, services, slack_emulator, clock):
    made = await slack_emulator.slash("/live", "setup event:meshcon-2026 channel:<#C2|random> lead:5", user=ADMIN)
    shown = markup(made.last)
    assert "<#C2>" in shown and "5 minutes before" in shown
    status = await slack_emulator.slash("/live", "status", user=ADMIN)
    assert "Alpha" in markup(status.last) and "Gamma" in markup(status.last)
    engine = engine_for(bot, services, clock)
    await engine.start()
    try:
        await clock.settle()
        await clock.advance_to(local(9, 54))
        assert notices(slack_emulator, "C2") == []
        await clock.advance_to(local(9, 55))
        [first] = starting(slack_emulator, "C2")
        body = json.dumps(first.blocks, ensure_ascii=False)
        assert "Alpha" in body and "Beta" in body and "Speaker of Alpha" in body and "Gamma" not in body
        assert "MeshCon 2026" in body and "Sat 10:00" in body
        assert first.ts.startswith(str(int(local(9, 55).timestamp())))  # at the simulated minute
        assert not first.unfurl_links and not first.unfurl_media
        await clock.advance_to(local(12))
    finally:
        await engine.stop()
    posted = starting(slack_emulator, "C2")
    assert len(posted) == 2 and "Gamma" in json.dumps(posted[1].blocks)
    assert len({m.metadata["event_payload"]["nonce"] for m in posted}) == 2
    assert notices(slack_emulator, "C1") == []


async def test_a_restart_over_the_same_database_posts_nothing_twice(bot, services, slack_emulator, clock, bundled_db):
    await slack_emulator.slash("/live", "setup event:meshcon-2026 channel:<#C2|random>", user=ADMIN)
    bot.live_poster.timeout = 0.5
    slack_emulator.time_out_next("chat.postMessage", seconds=2)  # the notice goes out; its answer is lost
    first = engine_for(bot, services, clock)
    await first.start()
    await clock.settle()
    await clock.advance_to(local(9, 55))
    await first.stop()  # the process goes down with the notice's outcome unknown
    assert len(starting(slack_emulator, "C2")) == 1

    # A new process: a new bot over the same database file, only the database survives.
    opened = open_services(bundled_db, platform="slack", clock=clock, scheduler_config=config())
    async with opened as again, serving(slack_emulator, slack_bot(slack_emulator, again)) as restarted:
        engine = engine_for(restarted, again, clock)
        await engine.start()
        try:
            await clock.settle()
            await clock.advance_to(local(12))
        finally:
            await engine.stop()
    posted = starting(slack_emulator, "C2")
    assert len(posted) == 2  # the 10:00 notice found in the history, not sent again; the 11:00 one sent once
    assert "Alpha" in json.dumps(posted[0].blocks) and "Gamma" in json.dumps(posted[1].blocks)


async def test_changes_to_the_programme_become_one_message(bot, services, slack_emulator, clock):
    await slack_emulator.slash(
        "/live", "setup event:meshcon-2026 channel:<#C2|random> changes:<#C1|general>", user=ADMIN
    )
    engine = engine_for(bot, services, clock)
    await engine.start()
    try:
        await clock.settle()
        moved = ScheduleChange(
            "moved",
            "c",
            "Gamma",
            ("Speaker of Gamma",),
            TalkTimes(local(11), None, "S1"),
            TalkTimes(local(12), None, "S1"),
        )
        added = ScheduleChange("added", "d", "Delta", ("Dee",), None, TalkTimes(local(14), None, "S2"))
        await services.live.changed("meshcon-2026", [moved, added])
        await clock.advance(timedelta(seconds=1))
    finally:
        await engine.stop()
    [told] = notices(slack_emulator, "C1")
    body = json.dumps(told.blocks, ensure_ascii=False)
    assert "Programme changes: MeshCon 2026" in body
    assert "Time changed" in body and "Sat 11:00 -&gt; Sat 12:00" in body and "Speaker of Gamma" in body
    assert "New talk" in body and "Delta" in body
    assert notices(slack_emulator, "C2") == []


async def test_live_is_for_admins_and_managers(slack_emulator, services, clock):
    slack_emulator.world.clock = SimulatedTs(clock)
    async with serving(slack_emulator, slack_bot(slack_emulator, services, managers=["U1"])):
        allowed = await slack_emulator.slash("/live", "status", user=MEMBER)
        assert "No conference is set up live here" in markup(allowed.last)
    async with serving(slack_emulator, slack_bot(slack_emulator, services)):
        for text in ("setup event:meshcon-2026", "status", "stop event:meshcon-2026"):
            refused = await slack_emulator.slash("/live", text, user=MEMBER)
            assert "admins" in markup(refused.last)
        assert await services.live.store.setups() == []


async def test_unknown_events_rooms_and_channels_get_a_friendly_answer(bot, slack_emulator):
    unknown = await slack_emulator.slash("/live", "setup event:no such conf", user=ADMIN)
    assert "no event" in markup(unknown.last).lower()
    untimed = await slack_emulator.slash("/live", "setup event:kubecon", user=ADMIN)
    assert "no start times" in markup(untimed.last)
    outside = await slack_emulator.slash("/live", "setup event:meshcon-2026 channel:<#C3|secret>", user=ADMIN)
    assert "invite me" in markup(outside.last).lower()
    not_live = await slack_emulator.slash("/live", "room event:meshcon-2026 room:S1", user=ADMIN)
    assert "/live setup" in markup(not_live.last)
    await slack_emulator.slash("/live", "setup event:meshcon-2026", user=ADMIN, channel="C2")
    no_room = await slack_emulator.slash(
        "/live", 'room event:meshcon-2026 room:"Hall Z" channel:<#C1|general>', user=ADMIN
    )
    assert "no room" in markup(no_room.last)
    odd = await slack_emulator.slash("/live", "setup event:meshcon-2026 lead:soon", user=ADMIN)
    assert "lead" in markup(odd.last)
    nothing = await slack_emulator.slash("/live", "dance", user=ADMIN)
    assert "/live setup" in markup(nothing.last)
    stopped = await slack_emulator.slash("/live", "stop event:meshcon-2026", user=ADMIN)
    assert "Stopped" in markup(stopped.last)
    again = await slack_emulator.slash("/live", "stop event:meshcon-2026", user=ADMIN)
    assert "was not live" in markup(again.last)


async def test_hostile_titles_ping_no_one(bot, services, slack_emulator, clock):
    hostile = programme(("h", "<!channel> & @here <@U1> *bold*", "10:00"))
    await services.catalogue.import_data(hostile, "meshcon.toml", ImportOptions())
    await slack_emulator.slash("/live", "setup event:meshcon-2026 channel:<#C2|random>", user=ADMIN)
    engine = engine_for(bot, services, clock)
    await engine.start()
    try:
        await clock.settle()
        await clock.advance_to(local(10, 30))
    finally:
        await engine.stop()
    [notice] = starting(slack_emulator, "C2")
    body = json.dumps(notice.blocks, ensure_ascii=False) + notice.text
    assert "<!channel>" not in body and "<@U1>" not in body and "@here" not in body
    assert "&lt;!channel&gt; &amp; @\u200bhere" in body


def _talk(n: int, title: str) -> Talk:
    return Talk(
        slug=f"t{n}",
        title=title,
        event=EVENT,
        credits=tuple(Credit(f"s{n}{k}", f"Speaker {k} of <talk {n}> & co") for k in range(6)),
        starts_at=local(10),
        room=f"Room {n} <#C9>",
        stream_url=f"https://stream.example.org/room-{n}?a=1&b=2",
    )


def test_a_slot_of_thirty_rooms_stays_within_block_kit_limits():
    many = UpNext(
        local(10), 5, tuple(_talk(n, f"A very long title {'word ' * 60}{n}") for n in range(30)), "Big & Conf"
    )
    message = kit.up_next_message(many)
    check_message(message, OUR_TOKENS)
    assert len(message["blocks"]) < 50
    body = json.dumps(message, ensure_ascii=False)
    assert all(f"Room {n} " in body for n in range(30))  # every room fits, several talks to a section
    huge = UpNext(local(10), 1, tuple(_talk(n, "x" * 2000) for n in range(300)), "Huge")
    clipped = kit.up_next_message(huge)
    check_message(clipped, OUR_TOKENS)
    assert "more" in json.dumps(clipped["blocks"][-2]) and clipped["blocks"][0]["text"]["text"].endswith("minute*")
    lines = tuple(ChangeLine("moved", f"<!here> {n}", ("@everyone",), "Sat 10:00 -> Sat 11:00") for n in range(400))
    changes = kit.changes_message(ChangeNotice("Big <Conf>", lines))
    check_message(changes, OUR_TOKENS)
    assert "@everyone" not in json.dumps(changes, ensure_ascii=False)


async def test_a_room_with_a_channel_of_its_own_and_a_correction_where_it_was_told(
    bot, services, slack_emulator, clock
):
    from tests.e2e.test_live import ROOMS

    await services.catalogue.import_data(ROOMS, "meshcon.toml", ImportOptions())
    await slack_emulator.slash("/live", "setup event:meshcon-2026 channel:<#C1|general>", user=ADMIN)
    given = await slack_emulator.slash(
        "/live", 'room event:meshcon-2026 room:"Hall 2" channel:<#C2|random>', user=ADMIN
    )
    assert "Hall 2" in markup(given.last)
    engine = engine_for(bot, services, clock)
    await engine.start()
    try:
        await clock.settle()
        await clock.advance_to(local(9, 55))
        [main] = starting(slack_emulator, "C1")
        [hall] = starting(slack_emulator, "C2")
        assert "Alpha" in json.dumps(main.blocks) and "Beta" not in json.dumps(main.blocks)
        assert "Beta" in json.dumps(hall.blocks)
        moved = ScheduleChange(
            "moved", "b", "Beta", ("Speaker of Beta",),
            TalkTimes(local(10), None, "Hall 2"), TalkTimes(local(15), None, "Hall 2"),
        )  # fmt: skip
        await services.live.changed("meshcon-2026", [moved])
        await clock.advance(timedelta(seconds=1))
        await clock.advance_to(local(16))
    finally:
        await engine.stop()
    [fix] = [m for m in notices(slack_emulator, "C2") if m not in starting(slack_emulator, "C2")]
    assert "Beta" in json.dumps(fix.blocks) and "Sat 15:00" in json.dumps(fix.blocks, ensure_ascii=False)
    assert len(starting(slack_emulator, "C2")) == 1  # a correction, never a second notice
    assert any("Time changed" in json.dumps(m.blocks) for m in notices(slack_emulator, "C1"))
