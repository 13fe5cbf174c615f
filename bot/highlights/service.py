"""Highlight schedules and highlights on demand: the use cases behind /highlights and /highlight.

No Discord here: the cog checks the channel's permissions, turns `ScheduleInfo` and `Talk` into embeds and
hands `post_now` a Poster. Every change to a schedule is reported through `on_change(schedule_id)`, which the
cog points at `Scheduler.notify_changed`.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from bot.catalogue.service import CatalogueService
from bot.domain.languages import language_name
from bot.domain.models import Talk
from bot.errors import NotFoundError, TalkNotFound, UserFacingError
from bot.highlights.clock import SystemClock
from bot.highlights.ports import Attempt, Clock, Poster, PostFailure, PostResult, Schedule
from bot.highlights.rules import (
    WEEKDAYS,
    Cadence,
    ScheduleError,
    ScheduleRule,
    next_slot,
    parse_time,
    parse_weekday,
    parse_zone,
)
from bot.highlights.store import ScheduleRecord, ScheduleRepository, ScheduleState

log = logging.getLogger(__name__)

MAX_SCHEDULES_PER_GUILD = 25  # one page of a select menu; plenty for any server
ADMIN_PAUSE_REASON = "paused by an admin"
_CADENCES: dict[str, Cadence] = {"daily": "daily", "weekdays": "weekdays", "weekly": "weekly"}


class ScheduleNotFound(NotFoundError):
    """The server has no schedule with that number."""

    def __init__(self, schedule_id: int) -> None:
        super().__init__(f"This server has no highlight schedule #{schedule_id}. `/highlights list` shows them.")


class EmptyPool(UserFacingError):
    """The topic, event and language filter selects no talk, so there would be nothing to post."""


class TooManySchedules(UserFacingError):
    """The server has as many schedules as it may."""


class DuplicateSchedule(UserFacingError):
    """The same schedule already posts in that channel."""


class HighlightNotPosted(UserFacingError):
    """A "post now" did not go out (or may not have); the message says why."""


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    """A schedule as /highlights list and status show it."""

    id: int
    guild_id: int
    channel_id: int
    rule: ScheduleRule
    rule_text: str  # "daily at 09:00 Europe/Berlin"
    topic: str | None  # slug; takes in its narrower topics
    topic_name: str | None
    event: str | None  # slug
    event_name: str | None
    state: ScheduleState
    paused_reason: str | None
    failures: int  # in a row
    retry_at: datetime | None
    next_due: datetime  # the next slot, UTC; kept as it was while paused
    created_by: int | None
    created_at: datetime
    last_post_at: datetime | None = None
    last_message_id: int | None = None
    last_talk: str | None = None
    last_failure: str | None = None
    last_failure_at: datetime | None = None
    language: str | None = None  # ISO 639-1 code
    language_name: str | None = None  # "German"
    prefer_saved: bool = True  # the talks the server's members saved most come first in each round

    @property
    def paused(self) -> bool:
        """Whether the schedule is stopped (by an admin, by failures, or because the bot left)."""
        return self.state != "enabled"

    @property
    def next_post_at(self) -> datetime | None:
        """When the next post is expected (UTC): the retry while failing, None while paused."""
        if self.paused:
            return None
        return self.retry_at or self.next_due

    @property
    def next_post_local(self) -> datetime | None:
        """`next_post_at` in the schedule's time zone."""
        at = self.next_post_at
        return None if at is None else at.astimezone(self.rule.zone)

    @property
    def filter_text(self) -> str:
        """What the schedule draws from: "all talks", "Rust talks", "German talks about Rust at KubeCon EU 2021"..."""
        return pool_text(self.topic_name, self.event_name, self.language_name)

    @property
    def heading(self) -> str:
        """How a post of this schedule is headed."""
        return heading_for(self.rule)


@dataclass(frozen=True, slots=True)
class ManualPost:
    """A claimed "post now": the schedule (as the poster sees it), its attempt (with the nonce) and the talk."""

    schedule: Schedule
    attempt: Attempt
    talk: Talk


def heading_for(rule: ScheduleRule) -> str:
    """How a post of a schedule with this rule is headed."""
    return "This week's highlight" if rule.cadence == "weekly" else "Today's highlight"


def describe_rule(rule: ScheduleRule) -> str:
    """A rule in words: "daily at 09:00 Europe/Berlin", "on weekdays at ...", "every Monday at ..."."""
    at = f"{rule.at:%H:%M} {rule.zone.key}"
    if rule.cadence == "weekly" and rule.weekday is not None:
        return f"every {WEEKDAYS[rule.weekday]} at {at}"
    if rule.cadence == "weekdays":
        return f"on weekdays at {at}"
    return f"daily at {at}"


def pool_text(topic_name: str | None, event_name: str | None, language_name: str | None = None) -> str:
    """A topic, event and language filter in words: "Rust talks", "German talks about Rust at RustConf"."""
    if language_name:
        text = f"{language_name} talks about {topic_name}" if topic_name else f"{language_name} talks"
    else:
        text = f"{topic_name} talks" if topic_name else "all talks"
    return f"{text} at {event_name}" if event_name else text


def parse_rule(
    time_text: str, zone_text: str, cadence: str | None = None, weekday_text: str | None = None
) -> ScheduleRule:
    """A rule from what an admin typed; a weekday alone means weekly. Raises ScheduleError or UnknownTimeZone."""
    at = parse_time(time_text)
    zone = parse_zone(zone_text)
    weekday = parse_weekday(weekday_text) if weekday_text and weekday_text.strip() else None
    key = (cadence or ("weekly" if weekday is not None else "daily")).strip().casefold()
    if key not in _CADENCES:
        raise ScheduleError(f"“{key[:40]}” isn't a cadence: use daily, weekdays or weekly.")
    if _CADENCES[key] == "weekly" and weekday is None:
        raise ScheduleError("A weekly schedule needs a weekday: add `weekday`, such as Monday.")
    if _CADENCES[key] != "weekly" and weekday is not None:
        raise ScheduleError("A weekday only applies to weekly schedules: choose cadence weekly, or leave it out.")
    return ScheduleRule(at, zone, _CADENCES[key], weekday)


class HighlightService:
    """Set up, list, change and preview a server's highlight schedules; post one now; pick one on demand."""

    def __init__(
        self,
        catalogue: CatalogueService,
        schedules: ScheduleRepository,
        *,
        clock: Clock | None = None,
        on_change: Callable[[int], None] | None = None,
        max_per_guild: int = MAX_SCHEDULES_PER_GUILD,
    ) -> None:
        self.catalogue = catalogue
        self.schedules = schedules
        self.clock = clock or SystemClock()
        self.on_change = on_change  # set to Scheduler.notify_changed once the scheduler exists
        self.max_per_guild = max_per_guild
        self._picking = asyncio.Lock()  # one "post now" pick at a time, so two never take the same talk

    # -- managing schedules ------------------------------------------------------------------------------

    async def setup(
        self,
        guild_id: int,
        channel_id: int,
        time_text: str,
        zone_text: str,
        cadence: str | None = None,
        weekday_text: str | None = None,
        topic: str | None = None,
        event: str | None = None,
        created_by: int | None = None,
        now: datetime | None = None,
        language: str | None = None,
    ) -> ScheduleInfo:
        """Add a schedule after checking its rule, its filter and that the filter selects some talks.

        The topic takes in its narrower topics (a schedule on Service mesh posts Linkerd talks too); the
        language is a code or a name ("de", "German"). Raises ScheduleError, UnknownTimeZone, TopicNotFound,
        EventNotFound, UserFacingError (a language unknown or no talk has), EmptyPool, TooManySchedules or
        DuplicateSchedule, each with a message to show. The channel's permissions are the caller's to check.
        """
        now = now or self.clock.now()
        rule = parse_rule(time_text, zone_text, cadence, weekday_text)
        topic_slug, event_slug, code = await self._filters(topic, event, language)
        await self._pool(topic_slug, event_slug, code)
        existing = await self.schedules.list_for_guild(guild_id)
        if len(existing) >= self.max_per_guild:
            raise TooManySchedules(
                f"This server already has {len(existing)} highlight schedules, the most it may have. "
                "Remove one with `/highlights remove` first."
            )
        wanted = (channel_id, rule, topic_slug, event_slug, code)
        for other in existing:
            if (other.channel_id, other.rule, other.topic, other.event, other.language) == wanted:
                raise DuplicateSchedule(
                    f"Schedule #{other.id} already posts {self._pool_text(topic_slug, event_slug, code)} "
                    f"{describe_rule(rule)} in that channel."
                )
        record = await self.schedules.add(
            guild_id,
            channel_id,
            rule,
            next_slot(rule, now),
            topic=topic_slug,
            event=event_slug,
            language=code,
            created_by=created_by,
            now=now,
        )
        log.info("guild %s: added highlight schedule %s (%s)", guild_id, record.id, describe_rule(rule))
        self._changed(record.id)
        return self._info(record)

    async def list(self, guild_id: int) -> builtins.list[ScheduleInfo]:
        """The server's schedules, oldest first."""
        return [self._info(r) for r in await self.schedules.list_for_guild(guild_id)]

    async def status(self, guild_id: int, schedule_id: int) -> ScheduleInfo:
        """One of the server's schedules."""
        return self._info(await self._record(guild_id, schedule_id))

    async def pause(self, guild_id: int, schedule_id: int, reason: str = ADMIN_PAUSE_REASON) -> ScheduleInfo:
        """Stop a schedule until it is resumed; pausing a paused schedule keeps its first reason."""
        await self._record(guild_id, schedule_id)
        if await self.schedules.pause(guild_id, schedule_id, reason):
            self._changed(schedule_id)
        return await self.status(guild_id, schedule_id)

    async def prefer_saved(self, guild_id: int, schedule_id: int, on: bool) -> ScheduleInfo:
        """Whether the schedule posts the talks its server's members saved most first (on for a new schedule).

        Each round still posts every talk of its pool once; saved talks only come sooner.
        """
        await self._record(guild_id, schedule_id)
        await self.schedules.set_prefer_saved(guild_id, schedule_id, on)
        return await self.status(guild_id, schedule_id)

    async def resume(self, guild_id: int, schedule_id: int, now: datetime | None = None) -> ScheduleInfo:
        """Start a stopped schedule again from its next slot after now, its failures forgotten."""
        record = await self._record(guild_id, schedule_id)
        if await self.schedules.resume(guild_id, schedule_id, next_slot(record.rule, now or self.clock.now())):
            self._changed(schedule_id)
        return await self.status(guild_id, schedule_id)

    async def remove(self, guild_id: int, schedule_id: int) -> ScheduleInfo:
        """Delete a schedule and its history; returns it as it was."""
        info = self._info(await self._record(guild_id, schedule_id))
        if not await self.schedules.remove(guild_id, schedule_id):
            raise ScheduleNotFound(schedule_id)
        log.info("guild %s: removed highlight schedule %s", guild_id, schedule_id)
        self._changed(schedule_id)
        return info

    async def guild_left(self, guild_id: int, reason: str = "the bot left this server") -> builtins.list[int]:
        """Switch off a server's schedules when the bot leaves it; an admin's resume starts them again."""
        ids = await self.schedules.disable_guild(guild_id, reason)
        for schedule_id in ids:
            self._changed(schedule_id)
        return ids

    # -- what gets posted --------------------------------------------------------------------------------

    async def preview(self, guild_id: int, schedule_id: int) -> Talk:
        """The talk the schedule's next post would show, without using it up."""
        record = await self._record(guild_id, schedule_id)
        if record.pending is not None:  # a send of the next slot is in flight; a retry shows the same talk
            return await self._talk(record.pending.talk)
        state = await self.schedules.rotation(schedule_id)
        pick = state.pick(schedule_id)
        if pick is None:
            raise self._empty(record.topic, record.event, record.language)
        return await self._talk(pick.talk)

    async def pick_now(
        self, guild_id: int, schedule_id: int, request_key: str, now: datetime | None = None
    ) -> ManualPost:
        """Claim the schedule's next talk for a post now (also for a paused schedule); the scheduled slot stays.

        `request_key` identifies the request (the interaction id): a request claimed before is refused, so a
        retried request never posts twice. Post with the attempt's nonce, then call `confirm_now` or
        `fail_now`; `post_now` does all three.
        """
        record = await self._record(guild_id, schedule_id)
        async with self._picking:
            state = await self.schedules.rotation(schedule_id, include_sending=True)
            pick = state.pick(schedule_id)
            if pick is None:
                raise self._empty(record.topic, record.event, record.language)
            attempt = await self.schedules.claim_manual(schedule_id, request_key, pick, now or self.clock.now())
        if attempt is None:
            raise HighlightNotPosted("That request was already handled; its highlight is not posted again.")
        return ManualPost(record.as_schedule(), attempt, await self._talk(attempt.talk))

    async def confirm_now(self, post: ManualPost, message_id: int | None, now: datetime | None = None) -> None:
        """Record a post now as sent: its talk now counts in the schedule's round."""
        await self.schedules.mark_manual_sent(post.attempt, message_id, now or self.clock.now())

    async def fail_now(self, post: ManualPost, failure: PostFailure, now: datetime | None = None) -> None:
        """Record why a post now failed (shown in status); it is never recorded as posted."""
        await self.schedules.mark_manual_failed(
            post.attempt, failure.reason, now or self.clock.now(), release=failure.certain
        )

    async def post_now(
        self, guild_id: int, schedule_id: int, poster: Poster, *, request_key: str, now: datetime | None = None
    ) -> ManualPost:
        """Post the schedule's next talk in its channel at once, through `poster`; raises HighlightNotPosted."""
        post = await self.pick_now(guild_id, schedule_id, request_key, now)
        try:
            result = await poster.post(post.schedule, post.attempt.talk, post.attempt.nonce)
        except PostFailure as failure:
            settled = None if failure.certain else await self._settle(post, poster)
            if settled is not None:
                await self.confirm_now(post, settled.message_id)
                return post
            await self.fail_now(post, failure)
            if not failure.certain:
                raise HighlightNotPosted(
                    f"The post was not confirmed ({failure.reason}), so it may or may not be in the channel. "
                    "Check before trying again."
                ) from failure
            raise HighlightNotPosted(f"The highlight was not posted: {failure.reason}.") from failure
        await self.confirm_now(post, result.message_id)
        return post

    async def _settle(self, post: ManualPost, poster: Poster) -> PostResult | None:
        """After an unknown outcome, find out: the same post again, as a retry of its attempt.

        The poster then makes sure of a single message (Discord answers a repeated nonce with the message it
        already made; the Slack poster looks for the nonce in the channel's history first), so what it
        returns is the one post, whether the first send had reached the channel or not. None if that fails too.
        """
        try:
            return await poster.post(
                replace(post.schedule, attempt=post.attempt), post.attempt.talk, post.attempt.nonce
            )
        except PostFailure as failure:
            log.warning("schedule %s: a post now could not be settled: %s", post.schedule.id, failure.reason)
            return None

    async def adhoc(
        self,
        scope: str,
        topic: str | None = None,
        event: str | None = None,
        now: datetime | None = None,
        *,
        language: str | None = None,
    ) -> Talk:
        """One highlight now for `scope` ("channel:<id>", or the member's key in DMs), picked as schedules pick.

        Each place and filter (topic, event, language) has its own rotation: no talk comes again before
        every talk of the pool has.
        """
        topic_slug, event_slug, code = await self._filters(topic, event, language)
        pool = await self._pool(topic_slug, event_slug, code)
        pick = await self.schedules.pick_adhoc(
            scope, topic_slug, event_slug, pool, now or self.clock.now(), language=code
        )
        if pick is None:  # the pool emptied in between
            raise self._empty(topic_slug, event_slug, code)
        return await self._talk(pick.talk)

    # -- helpers -----------------------------------------------------------------------------------------

    def _changed(self, schedule_id: int) -> None:
        if self.on_change is not None:
            self.on_change(schedule_id)

    async def _record(self, guild_id: int, schedule_id: int) -> ScheduleRecord:
        record = await self.schedules.get(guild_id, schedule_id)
        if record is None:
            raise ScheduleNotFound(schedule_id)
        return record

    async def _filters(
        self, topic: str | None, event: str | None, language: str | None
    ) -> tuple[str | None, str | None, str | None]:
        """The filter's topic slug, event slug and language code; each raises a friendly error if unknown."""
        await self.catalogue.refresh()
        topic_slug = self.catalogue.resolve_topic(topic) if topic and topic.strip() else None
        event_slug = self.catalogue.resolve_event(event).slug if event and event.strip() else None
        code = self.catalogue.resolve_language(language) if language and language.strip() else None
        return topic_slug, event_slug, code

    async def _pool(self, topic: str | None, event: str | None, language: str | None) -> tuple[str, ...]:
        pool = tuple(await self.schedules.pool(topic, event, language))
        if not pool:
            raise self._empty(topic, event, language)
        return pool

    def _empty(self, topic: str | None, event: str | None, language: str | None = None) -> EmptyPool:
        if topic is None and event is None and language is None:
            return EmptyPool("The catalogue has no talks yet, so there is no highlight to post.")
        broader = "a broader topic or event" if language is None else "a broader topic or event, or another language"
        return EmptyPool(
            f"The catalogue has no {self._pool_text(topic, event, language)}, so there would be nothing to post. "
            f"Try {broader}."
        )

    def _pool_text(self, topic: str | None, event: str | None, language: str | None = None) -> str:
        return pool_text(self._topic_name(topic), self._event_name(event), _language_name(language))

    def _topic_name(self, slug: str | None) -> str | None:
        if slug is None:
            return None
        label = self.catalogue.engine.topics.get(slug)
        return label.name if label else slug

    def _event_name(self, slug: str | None) -> str | None:
        if slug is None:
            return None
        label = self.catalogue.engine.events.get(slug)
        return (label.short_name or label.name) if label else slug

    async def _talk(self, slug: str) -> Talk:
        repo = self.catalogue.repo
        talk_id = await repo.find_talk_id(slug)
        talk = None if talk_id is None else (await repo.get_talks([talk_id])).get(talk_id)
        if talk is None:
            raise TalkNotFound("That talk is no longer in the catalogue; try again for another.")
        return talk

    def _info(self, record: ScheduleRecord) -> ScheduleInfo:
        return ScheduleInfo(
            id=record.id,
            guild_id=record.guild_id,
            channel_id=record.channel_id,
            rule=record.rule,
            rule_text=describe_rule(record.rule),
            topic=record.topic,
            topic_name=self._topic_name(record.topic),
            event=record.event,
            event_name=self._event_name(record.event),
            state=record.state,
            paused_reason=record.paused_reason,
            failures=record.failures,
            retry_at=record.retry_at,
            next_due=record.next_slot.due,
            created_by=record.created_by,
            created_at=record.created_at,
            last_post_at=record.last_post_at,
            last_message_id=record.last_message_id,
            last_talk=record.last_talk,
            last_failure=record.last_failure,
            last_failure_at=record.last_failure_at,
            language=record.language,
            language_name=_language_name(record.language),
            prefer_saved=record.prefer_saved,
        )


def _language_name(code: str | None) -> str | None:
    return None if code is None else language_name(code)
