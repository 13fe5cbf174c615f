"""The highlight service behind /highlights and /highlight, on the bundled catalogue."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import EventNotFound, TopicNotFound
from bot.highlights.ports import ChannelGone, PostResult, UnknownOutcome
from bot.highlights.rules import ScheduleError, UnknownTimeZone
from bot.highlights.scheduler import Scheduler
from bot.highlights.service import (
    DuplicateSchedule,
    EmptyPool,
    HighlightNotPosted,
    HighlightService,
    ScheduleNotFound,
    TooManySchedules,
)
from bot.highlights.store import ScheduleRepository
from bot.watchlist.service import WatchlistService
from bot.watchlist.store import WatchlistStore
from tests.db.test_schedules import SettlingClock, Tracked, restarted_store
from tests.scheduling.conftest import FakeDiscord
from tests.sql import sql

START = datetime(2025, 1, 6, 8, tzinfo=UTC)  # a Monday
BUNDLED_TALKS = 11
GUILD, OTHER_GUILD, CHANNEL = 10, 20, 30


@pytest.fixture
def clock() -> SettlingClock:
    return SettlingClock(START)


@pytest.fixture
def changed() -> list[int]:
    return []


@pytest.fixture
def service(catalogue, db, clock, changed) -> HighlightService:
    return HighlightService(catalogue, ScheduleRepository(db), clock=clock, on_change=changed.append)


@pytest.fixture
async def store(bundled_db, clock):
    """The scheduler's store, on a gateway of its own to the same database as the service."""
    async with restarted_store(bundled_db, clock) as store:
        yield store


async def setup(service: HighlightService, **options):
    options = {"time_text": "09:00", "zone_text": "UTC", **options}
    return await service.setup(GUILD, options.pop("channel_id", CHANNEL), created_by=5, **options)


class Poster:
    """Records posts; raises `failure` instead when set."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.posts: list[tuple[int, str, str]] = []

    async def post(self, schedule, talk, nonce):
        if self.failure is not None:
            raise self.failure
        self.posts.append((schedule.channel_id, talk, nonce))
        return PostResult(len(self.posts))


# --- setup -----------------------------------------------------------------------------------------


async def test_setup_stores_the_schedule_and_says_when_it_posts_next(service, changed):
    info = await setup(service, time_text="9:30", zone_text="berlin", topic="Service mesh", event="KubeCon EU 2021")
    assert info.rule_text == "daily at 09:30 Europe/Berlin"
    assert (info.topic, info.topic_name) == ("service-mesh", "Service mesh")
    assert (info.event, info.event_name) == ("kubecon-eu-2021", "KubeCon EU 2021")
    assert info.filter_text == "Service mesh talks at KubeCon EU 2021"
    assert info.next_post_at == info.next_due == START + timedelta(minutes=30)  # UTC+1 in winter
    assert info.next_post_local.isoformat() == "2025-01-06T09:30:00+01:00"
    assert (info.channel_id, info.created_by, info.state, info.failures) == (CHANNEL, 5, "enabled", 0)
    assert info.heading == "Today's highlight"
    assert changed == [info.id]
    assert await service.list(GUILD) == [info]


async def test_a_weekday_alone_makes_a_weekly_schedule(service):
    info = await setup(service, weekday_text="fri")
    assert info.rule_text == "every Friday at 09:00 UTC"
    assert info.next_due == datetime(2025, 1, 10, 9, tzinfo=UTC)
    assert info.heading == "This week's highlight"
    weekdays = await setup(service, cadence="weekdays", channel_id=CHANNEL + 1)
    assert weekdays.rule_text == "on weekdays at 09:00 UTC"


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"time_text": "25:00"}, ScheduleError, "“25:00” isn't a time of day: use HH:MM"),
        ({"time_text": "nine"}, ScheduleError, "isn't a time of day"),
        ({"zone_text": "Europe/Berlinn"}, UnknownTimeZone, "Did you mean Europe/Berlin"),
        ({"cadence": "monthly"}, ScheduleError, "“monthly” isn't a cadence: use daily, weekdays or weekly."),
        ({"cadence": "weekly"}, ScheduleError, "A weekly schedule needs a weekday"),
        ({"cadence": "daily", "weekday_text": "Monday"}, ScheduleError, "only applies to weekly schedules"),
        ({"weekday_text": "Funday"}, ScheduleError, "“Funday” isn't a weekday"),
        ({"topic": "basket weaving"}, TopicNotFound, "There is no topic “basket weaving”."),
        ({"event": "Nowhere Conf"}, EventNotFound, "There is no event “Nowhere Conf”."),
        (
            {"topic": "rust", "event": "servicemeshcon-eu-2021"},
            EmptyPool,
            "The catalogue has no Rust talks at ServiceMeshCon EU 2021, so there would be nothing to post.",
        ),
    ],
)
async def test_setup_refuses_what_it_cannot_use_with_a_friendly_message(service, changed, options, error, message):
    with pytest.raises(error) as raised:
        await setup(service, **options)
    assert message in raised.value.message
    assert await service.list(GUILD) == []
    assert changed == []


async def test_several_schedules_per_server_up_to_a_limit_but_no_duplicates(catalogue, db, clock):
    service = HighlightService(catalogue, ScheduleRepository(db), clock=clock, max_per_guild=2)
    first = await setup(service)
    with pytest.raises(DuplicateSchedule, match=f"Schedule #{first.id} already posts all talks daily at 09:00 UTC"):
        await setup(service, time_text="9:00")
    await setup(service, topic="rust")
    with pytest.raises(TooManySchedules, match="already has 2 highlight schedules"):
        await setup(service, topic="linkerd")


# --- one server's schedules ------------------------------------------------------------------------


async def test_another_servers_schedule_is_not_found(service, changed):
    info = await setup(service)
    assert await service.list(OTHER_GUILD) == []
    for call in (
        service.status(OTHER_GUILD, info.id),
        service.pause(OTHER_GUILD, info.id),
        service.resume(OTHER_GUILD, info.id),
        service.remove(OTHER_GUILD, info.id),
        service.preview(OTHER_GUILD, info.id),
        service.pick_now(OTHER_GUILD, info.id, "request"),
    ):
        with pytest.raises(ScheduleNotFound, match=f"no highlight schedule #{info.id}"):
            await call
    assert changed == [info.id]
    assert await service.status(GUILD, info.id) == info


async def test_pause_and_resume(service, changed, clock, store):
    info = await setup(service)
    paused = await service.pause(GUILD, info.id)
    assert (paused.state, paused.paused_reason, paused.next_post_at) == ("paused", "paused by an admin", None)
    assert await store.get(info.id) is None
    assert await service.pause(GUILD, info.id, "again") == paused  # pausing twice keeps the first reason

    await clock.advance_to(START + timedelta(days=2))
    resumed = await service.resume(GUILD, info.id)
    assert (resumed.state, resumed.paused_reason) == ("enabled", None)
    assert resumed.next_post_at == datetime(2025, 1, 8, 9, tzinfo=UTC)  # from now, not the slots missed meanwhile
    assert (await store.get(info.id)).next_slot.key == "2025-01-08"
    assert changed == [info.id] * 3


async def test_resume_clears_failures_and_keeps_the_last_failure_to_show(service, store):
    info = await setup(service)
    for _ in range(2):
        await store.mark_failed(info.id, "the channel no longer exists", START + timedelta(minutes=5))
    await store.pause(info.id, "the channel no longer exists")
    status = await service.status(GUILD, info.id)
    assert (status.failures, status.paused_reason, status.last_failure) == (3, *["the channel no longer exists"] * 2)
    resumed = await service.resume(GUILD, info.id)
    assert (resumed.failures, resumed.retry_at, resumed.last_failure) == (0, None, "the channel no longer exists")


async def test_a_failing_schedule_shows_its_retry_as_the_next_post(service, store):
    info = await setup(service)
    await store.mark_failed(info.id, "Discord answered 503", START + timedelta(minutes=62))
    status = await service.status(GUILD, info.id)
    assert (status.failures, status.next_post_at, status.last_failure_at) == (1, START + timedelta(minutes=62), START)


async def test_remove(service, changed):
    info = await setup(service)
    assert await service.remove(GUILD, info.id) == info
    with pytest.raises(ScheduleNotFound):
        await service.status(GUILD, info.id)
    assert changed == [info.id, info.id]


async def test_leaving_a_server_switches_its_schedules_off_until_resumed(service, changed):
    info = await setup(service)
    assert await service.guild_left(GUILD) == [info.id]
    assert (await service.status(GUILD, info.id)).state == "disabled"
    assert (await service.resume(GUILD, info.id)).state == "enabled"


# --- preview and post now ----------------------------------------------------------------------------


async def test_preview_shows_what_the_scheduler_posts_next_without_using_it_up(service, clock, store):
    info = await setup(service)
    first = await service.preview(GUILD, info.id)
    assert await service.preview(GUILD, info.id) == first

    discord = FakeDiscord(clock)
    scheduler = Scheduler(Tracked(store, clock), discord, clock)
    await scheduler.start()
    for day in range(3):
        expected = await service.preview(GUILD, info.id)
        await clock.advance_to(START + timedelta(days=day, hours=1))
        assert discord.messages[-1].talk == expected.slug
    await scheduler.stop()
    assert discord.messages[0].talk == first.slug
    assert (await service.status(GUILD, info.id)).last_talk == discord.messages[-1].talk


async def test_post_now_counts_in_the_rotation_and_keeps_the_scheduled_slot(service):
    info = await setup(service, topic="rust")
    poster = Poster()
    expected = await service.preview(GUILD, info.id)
    post = await service.post_now(GUILD, info.id, poster, request_key="1")
    assert post.talk == expected
    assert poster.posts == [(CHANNEL, expected.slug, post.attempt.nonce)]
    second = await service.preview(GUILD, info.id)
    assert second != expected  # the pool of two moves on to the other talk
    status = await service.status(GUILD, info.id)
    assert (status.last_post_at, status.last_message_id, status.last_talk) == (START, 1, expected.slug)
    assert status.next_due == info.next_due

    again = await service.post_now(GUILD, info.id, poster, request_key="2")
    assert again.talk == second
    assert again.attempt.nonce != post.attempt.nonce


async def test_a_request_to_post_now_is_handled_once(service):
    info = await setup(service)
    poster = Poster()
    await service.post_now(GUILD, info.id, poster, request_key="42")
    with pytest.raises(HighlightNotPosted, match="already handled"):
        await service.post_now(GUILD, info.id, poster, request_key="42")
    assert len(poster.posts) == 1


async def test_a_failed_post_now_is_not_counted_and_shows_in_status(service):
    info = await setup(service)
    expected = await service.preview(GUILD, info.id)
    with pytest.raises(HighlightNotPosted, match="not posted: the channel no longer exists"):
        await service.post_now(GUILD, info.id, Poster(ChannelGone()), request_key="1")
    status = await service.status(GUILD, info.id)
    assert (status.last_post_at, status.last_failure, status.failures) == (None, ChannelGone().reason, 0)
    assert await service.preview(GUILD, info.id) == expected
    await service.post_now(GUILD, info.id, Poster(), request_key="1")  # the same request may try again


async def test_a_post_now_with_an_unknown_outcome_says_so_and_is_not_counted(service):
    info = await setup(service)
    expected = await service.preview(GUILD, info.id)
    with pytest.raises(HighlightNotPosted, match="may or may not be in the channel"):
        await service.post_now(GUILD, info.id, Poster(UnknownOutcome("timed out")), request_key="1")
    with pytest.raises(HighlightNotPosted, match="already handled"):  # it may be out: never sent twice
        await service.post_now(GUILD, info.id, Poster(), request_key="1")
    assert (await service.status(GUILD, info.id)).last_post_at is None
    assert await service.preview(GUILD, info.id) == expected


class LostReplyPoster(Poster):
    """The first send makes its message but its answer is lost; a retry of that nonce answers with the same message,
    as Discord does for a repeated nonce and the Slack poster does after finding the nonce in the channel's history."""

    async def post(self, schedule, talk, nonce):
        for index, (_, _, sent) in enumerate(self.posts):
            if sent == nonce:
                assert schedule.attempt is not None and schedule.attempt.nonce == nonce  # known to be a retry
                return PostResult(index + 1)
        self.posts.append((schedule.channel_id, talk, nonce))
        raise UnknownOutcome("the answer was lost")


async def test_a_post_now_whose_answer_was_lost_is_settled_and_status_tells_the_truth(service):
    info = await setup(service)
    poster = LostReplyPoster()
    post = await service.post_now(GUILD, info.id, poster, request_key="1")
    assert len(poster.posts) == 1  # one message, not two
    status = await service.status(GUILD, info.id)
    assert status.last_post_at is not None and status.last_talk == post.talk.slug
    assert status.last_message_id == 1


async def test_post_now_works_for_a_paused_schedule_and_leaves_it_paused(service):
    info = await setup(service)
    await service.pause(GUILD, info.id)
    await service.post_now(GUILD, info.id, Poster(), request_key="1")
    assert (await service.status(GUILD, info.id)).state == "paused"


async def test_two_posts_now_at_once_take_different_talks(service):
    info = await setup(service)
    posts = await asyncio.gather(
        *(service.post_now(GUILD, info.id, Poster(), request_key=str(i)) for i in range(BUNDLED_TALKS))
    )
    assert len({p.talk.slug for p in posts}) == BUNDLED_TALKS


# --- /highlight ----------------------------------------------------------------------------------------


async def test_adhoc_highlights_cover_the_catalogue_before_repeating(service):
    talks = [(await service.adhoc("channel:1")).slug for _ in range(3 * BUNDLED_TALKS)]
    rounds = [talks[i : i + BUNDLED_TALKS] for i in range(0, len(talks), BUNDLED_TALKS)]
    assert all(len(set(r)) == BUNDLED_TALKS for r in rounds)
    assert rounds[0] != rounds[1]  # each round in its own order
    assert all(a != b for a, b in itertools.pairwise(talks))  # never the same twice running


async def test_adhoc_rotations_are_kept_per_place_and_filter(service):
    linkerd = [(await service.adhoc("channel:1", topic="linkerd")).slug for _ in range(10)]
    assert len(set(linkerd)) == 10
    following = await service.adhoc("channel:1", topic="Linkerd")  # the same filter, named differently
    assert following.slug != linkerd[-1]
    assert "linkerd" in {t.slug for t in following.topics}
    unfiltered = [(await service.adhoc("channel:1")).slug for _ in range(BUNDLED_TALKS)]
    assert len(set(unfiltered)) == BUNDLED_TALKS  # its own rotation, untouched by the linkerd one
    elsewhere = {(await service.adhoc("user:9", event="Rust Day 2021")).slug for _ in range(2)}
    assert elsewhere == {"why-the-future-of-the-cloud-will-be-built-on-rust", "panel-discussion-rust-in-the-cloud"}


async def test_adhoc_requests_at_once_get_different_talks(service):
    talks = await asyncio.gather(*(service.adhoc("channel:1") for _ in range(BUNDLED_TALKS)))
    assert len({t.slug for t in talks}) == BUNDLED_TALKS


async def test_adhoc_keeps_only_the_current_round(service):
    for _ in range(2 * BUNDLED_TALKS + 1):
        await service.adhoc("channel:1")
    assert await sql(service.schedules.db, "SELECT MIN(round), MAX(round), COUNT(*) FROM adhoc_picks") == [(2, 2, 1)]


async def test_adhoc_refuses_an_empty_pool_and_unknown_filters(service):
    with pytest.raises(EmptyPool, match="no Rust talks at ServiceMeshCon EU 2021"):
        await service.adhoc("channel:1", topic="rust", event="ServiceMeshCon EU 2021")
    with pytest.raises(TopicNotFound):
        await service.adhoc("channel:1", topic="knitting")


# --- broader topics ------------------------------------------------------------------------------------


async def test_a_broader_topic_takes_in_the_narrower_topics_talks(service, store, clock):
    shown = [await service.adhoc("channel:1", topic="Service mesh") for _ in range(10)]
    assert len({t.slug for t in shown}) == 10  # 5 filed under Service mesh, 5 only under Linkerd or Istio
    assert "rapid-experimentation-simplified-with-linkerd" in {t.slug for t in shown}
    assert all({"service-mesh", "linkerd", "istio"} & {t.slug for t in talk.topics} for talk in shown)

    info = await setup(service, topic="Security")
    assert info.filter_text == "Security talks"  # the wording names the topic asked for
    discord = FakeDiscord(clock)
    scheduler = Scheduler(Tracked(store, clock), discord, clock)
    await scheduler.start()
    await clock.advance_to(START + timedelta(days=4, hours=2))
    await scheduler.stop()
    posted = {m.talk for m in discord.messages}
    assert len(posted) == 5  # 3 filed under Security, 2 more only under mTLS
    assert "scheduling-68k-covid-tests-with-linkerd" in posted  # filed under mTLS, not under Security


# --- preferring what the server's members saved ------------------------------------------------------


async def test_a_schedule_posts_its_servers_most_saved_talks_first_each_once_a_round(
    service, catalogue, db, clock, store
):
    info = await setup(service)
    assert info.prefer_saved  # on for a new schedule
    plain = await service.preview(GUILD, info.id)
    saves = WatchlistService(catalogue, WatchlistStore(db), clock)
    talks = [t for t in (await service.schedules.rotation(info.id)).pool if t != plain.slug]
    favourite, runner_up = talks[3], talks[7]
    for member in ("discord:1", "discord:2", "discord:3"):
        await saves.save(member, favourite, place=f"discord:{GUILD}")
    await saves.save("discord:4", runner_up, place=f"discord:{GUILD}")
    for member in range(10, 20):  # saved elsewhere or in direct messages: not this server's preference
        await saves.save(f"discord:{member}", plain.slug, place=f"discord:{OTHER_GUILD}")
        await saves.save(f"discord:{member}", talks[5])
    assert (await service.preview(GUILD, info.id)).slug == favourite

    discord = FakeDiscord(clock)
    scheduler = Scheduler(Tracked(store, clock), discord, clock)
    await scheduler.start()
    await clock.advance_to(START + timedelta(days=BUNDLED_TALKS + 1, hours=1))
    await scheduler.stop()
    posted = [m.talk for m in discord.messages]
    assert posted[:2] == [favourite, runner_up]
    assert len(set(posted[:BUNDLED_TALKS])) == BUNDLED_TALKS  # still every talk once a round


async def test_preferring_saved_talks_can_be_turned_off(service, catalogue, db, clock):
    info = await setup(service)
    plain = await service.preview(GUILD, info.id)
    talks = [t for t in (await service.schedules.rotation(info.id)).pool if t != plain.slug]
    await WatchlistService(catalogue, WatchlistStore(db), clock).save("discord:1", talks[2], place=f"discord:{GUILD}")
    assert (await service.preview(GUILD, info.id)).slug == talks[2]
    off = await service.prefer_saved(GUILD, info.id, False)
    assert not off.prefer_saved
    assert (await service.preview(GUILD, info.id)).slug == plain.slug
    with pytest.raises(ScheduleNotFound):
        await service.prefer_saved(OTHER_GUILD, info.id, True)
