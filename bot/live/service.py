"""Live mode's use cases: set an event up live in a server, plan its notices, turn programme changes into notices.

Every notice is planned as a row (`bot.live.store`) and posted by `bot.live.jobs.LiveJobs` on the scheduler's
engine, once and only once. "Up next" notices are planned for every start time of the event's programme (with
its co-located events), one per time and channel (a room may have a channel of its own), due `lead` minutes
before; each is written when it is due, from the programme as it then stands, and never names a talk an
earlier notice announced. A talk moved, moved to another room or cancelled after its notice went out gets a
correction in that notice's channel instead of a second notice. Changes to a programme (from a followed
schedule) become one change notice per batch, in the setup's changes channel, unless the event has ended.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.catalogue.service import CatalogueService
from bot.domain.models import Event, Talk
from bot.errors import EventNotFound, UserFacingError
from bot.highlights.ports import Clock
from bot.live.follow import ScheduleChange, cancelled_title, changes_of
from bot.live.notices import ChangeLine, ChangeNotice, span
from bot.live.store import LivePost, LiveSetup, LiveStore, PostKind

log = logging.getLogger(__name__)

CHANGES_EVERY = timedelta(seconds=10)  # how often a platform looks for changes another process recorded

_PROGRAMME = (
    "SELECT t.id FROM talks t JOIN events e ON e.id = t.event_id LEFT JOIN events pe ON pe.id = e.parent_id"
    " WHERE (e.slug = ? OR pe.slug = ?) AND t.date IS NOT NULL AND length(t.date) > 10"
)


def change_line(change: ScheduleChange) -> ChangeLine:
    """The change as a notice says it: "Thu 13:00–13:30 -> Fri 14:00–14:30", "S1 -> S2"."""
    before, after = change.before, change.after
    detail = ""
    if change.kind == "moved" and before and after:
        detail = f"{span(before.start, before.end)} -> {span(after.start, after.end)}"
    elif change.kind == "room_changed" and before and after:
        detail = f"{before.room or '?'} -> {after.room or '?'}"
    elif change.kind == "added" and after:
        detail = f"{span(after.start, after.end)}" + (f", {after.room}" if after.room else "")
    elif change.kind == "cancelled" and before:
        detail = f"was {span(before.start, before.end)}" + (f", {before.room}" if before.room else "")
    elif change.kind == "retitled" and change.old_title:
        detail = f"was “{change.old_title}”"
    return ChangeLine(change.kind, change.title, change.speakers, detail)


class LiveService:
    """Live setups over the catalogue; `on_change` is the engine's reload, set by the adapter that runs it."""

    def __init__(self, catalogue: CatalogueService, store: LiveStore, clock: Clock) -> None:
        self.catalogue = catalogue
        self.store = store
        self.clock = clock
        self.on_change: Callable[[], None] | None = None

    # -- setting up ------------------------------------------------------------------------------------------

    async def setup(
        self,
        guild_id: int,
        channel_id: int,
        event: str,
        *,
        lead_minutes: int = 5,
        changes_channel_id: int | None = None,
        created_by: int | None = None,
    ) -> LiveSetup:
        """Announce `event`'s talks in a channel `lead_minutes` before each starts; change notices too."""
        if not 1 <= lead_minutes <= 120:
            raise UserFacingError("The lead is between 1 and 120 minutes.")
        slug = await self._event_slug(event)
        if not await self.programme(slug):
            raise UserFacingError(
                "That event's programme gives no start times, so there is nothing to announce live."
                " Import or follow a schedule that has them (`/catalog follow`)."
            )
        setup = await self.store.add_setup(
            guild_id, channel_id, slug, lead_minutes, changes_channel_id, created_by, self.clock.now()
        )
        await self.plan(setup)
        self._changed()
        return setup

    async def set_room(self, guild_id: int, event: str, room: str, channel_id: int | None) -> LiveSetup:
        """Announce one room's talks in a channel of its own (None: in the setup's channel again)."""
        setup = await self._setup_of(guild_id, event)
        programme = await self.programme(setup.event)
        rooms = {t.room for t in programme if t.room}
        if room not in rooms:
            known = ", ".join(sorted(rooms)[:15]) or "none"
            raise UserFacingError(f"The programme has no room “{room[:60]}”. Its rooms: {known}.")
        await self.store.set_room(setup.id, room, channel_id)
        updated = await self.store.setup(setup.id)
        assert updated is not None  # noqa: S101 - just changed
        await self.plan(updated)
        self._changed()
        return updated

    async def stop(self, guild_id: int, event: str) -> bool:
        """Stop announcing an event in a server."""
        slug = await self._event_slug(event)
        stopped = await self.store.remove_setup(guild_id, slug)
        self._changed()
        return stopped

    async def setups(self, guild_id: int) -> list[LiveSetup]:
        """The server's live setups."""
        return await self.store.setups(guild_id)

    async def coming(self, setup: LiveSetup, limit: int = 5) -> list[tuple[datetime, list[Talk]]]:
        """The next start times of the setup's programme and their talks, for /live status."""
        now = self.clock.now()
        slots: dict[datetime, list[Talk]] = defaultdict(list)
        for talk in await self.programme(setup.event):
            if talk.starts_at is not None and talk.starts_at > now:
                slots[talk.starts_at].append(talk)
        return sorted(slots.items())[:limit]

    async def _event_slug(self, event: str) -> str:
        await self.catalogue.refresh()
        return self.catalogue.resolve_event(event).slug  # EventNotFound, with suggestions

    async def _setup_of(self, guild_id: int, event: str) -> LiveSetup:
        slug = await self._event_slug(event)
        for setup in await self.store.setups(guild_id):
            if setup.event == slug:
                return setup
        raise UserFacingError("That event is not set up live here: `/live setup` first.")

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    # -- the programme and its notices -----------------------------------------------------------------------

    async def programme(self, event: str) -> list[Talk]:
        """The event's talks (with its co-located events') that have a start time, in start order.

        A talk its schedule keeps but marks cancelled by its title ("CANCELLED: ...", as FOSDEM's does) is not
        in the programme: it is never announced as starting, and the change notice says it was cancelled.
        """
        ids = await self.catalogue.db.read(lambda conn: [int(r[0]) for r in conn.execute(_PROGRAMME, (event, event))])
        talks = await self.catalogue.repo.get_talks(ids)
        timed = [t for t in talks.values() if t.starts_at is not None and not cancelled_title(t.title)]
        return sorted(timed, key=lambda t: (t.starts_at or self.clock.now(), t.slug))

    async def plan(self, setup: LiveSetup) -> int:
        """Plan a "next" notice for every start time still ahead, per channel; how many were new."""
        now = self.clock.now()
        lead = timedelta(minutes=setup.lead_minutes)
        slots: set[tuple[int, datetime]] = set()
        for talk in await self.programme(setup.event):
            assert talk.starts_at is not None  # noqa: S101 - the programme has only talks with a start
            if talk.starts_at > now:
                slots.add((setup.channel_for(talk.room), talk.starts_at))
        posts: list[tuple[int, PostKind, str, dict[str, object], datetime]] = [
            (channel, "next", _key(start), {}, start - lead) for channel, start in sorted(slots)
        ]
        return await self.store.plan(setup.id, posts)

    async def plan_all(self) -> None:
        """Plan every enabled setup's notices (at start, and after a programme changed)."""
        for setup in await self.store.setups():
            if setup.state == "enabled":
                await self.plan(setup)

    async def up_next(self, setup: LiveSetup, post: LivePost) -> list[Talk]:
        """The talks a "next" notice announces now: those of its time and channel no notice announced yet."""
        start = datetime.fromisoformat(post.key)
        announced = await self.store.announced(setup.id)
        return [
            talk
            for talk in await self.programme(setup.event)
            if talk.starts_at == start
            and setup.channel_for(talk.room) == post.channel_id
            and talk.slug not in announced
        ]

    async def take_changes(self) -> int:
        """Turn the programme changes the polls recorded, past this platform's cursor, into notices; how many.

        Whoever polled (this process, another platform's, `python -m bot follow`), each batch reaches every
        platform's setups once: the cursor moves past a batch once its notices are planned, and a batch planned
        twice (a crash in between, two processes at once) is still told once, its notices keyed by its id.
        """
        made = 0
        while batches := await self.store.change_batches():
            for batch in batches:
                changes = changes_of(batch.changes)
                made += await self.changed(batch.event, changes, batch=batch.id, found_at=batch.found_at)
                await self.store.changes_told(batch.id)
        return made

    async def watch_changes(self, every: timedelta = CHANGES_EVERY) -> None:
        """Take the recorded programme changes now and every `every`, until cancelled.

        The process that polls a schedule takes its changes at once; this is how the others learn of them
        (another platform in the same process, another process, `python -m bot follow` from cron), and how a
        batch recorded just before a crash is told after the restart.
        """
        while True:
            try:
                await self.take_changes()
            except Exception:  # the next round tries again; the batches wait in the database
                log.exception("taking the programme's changes failed")
            await self.clock.sleep_until(self.clock.now() + every)

    async def changed(
        self,
        event: str,
        changes: Sequence[ScheduleChange],
        *,
        batch: int | None = None,
        found_at: datetime | None = None,
    ) -> int:
        """Turn one batch of a programme's changes into notices for every setup following it; how many.

        `batch` (a recorded batch's id) keys its notices; without it, the lines themselves do. A setup made
        after the changes were found (`found_at`) is not told of them.
        """
        if not changes:
            return 0
        now = self.clock.now()
        await self.catalogue.refresh()
        try:
            named = self.catalogue.resolve_event(event)
        except EventNotFound:
            named = Event(event, event)
        made = 0
        lines = [change_line(c) for c in changes]

        def key(told: Sequence[ChangeLine]) -> str:
            return f"batch/{batch}" if batch is not None else _digest(told)

        for setup in await self.store.setups():
            if setup.state != "enabled" or not await self._follows(setup, event):
                continue
            if found_at is not None and setup.created_at is not None and setup.created_at > found_at:
                continue
            if await self._ended(setup, now):
                log.info("live setup %s: changes after the event ended are not announced", setup.id)
                continue
            announced = await self.store.announced(setup.id)
            posts: list[tuple[int, PostKind, str, dict[str, object], datetime]] = []
            posts.append((setup.changes_channel, "change", key(lines), _body(named, lines), now))
            corrections: dict[int, list[ChangeLine]] = defaultdict(list)
            for change in changes:
                told = announced.get(change.slug)
                if told is not None and change.kind in ("moved", "room_changed", "cancelled"):
                    line = change_line(change)
                    detail = f"{CHANGE_WORD[change.kind]}: {line.detail}"
                    fix = ChangeLine("correction", line.title, line.speakers, detail)
                    corrections[int(told["channel"])].append(fix)
            for channel, fixes in corrections.items():
                if channel != setup.changes_channel:
                    posts.append((channel, "change", key(fixes), _body(named, fixes), now))
            made += await self.store.plan(setup.id, posts)
            await self.plan(setup)
        self._changed()
        return made

    async def _follows(self, setup: LiveSetup, event: str) -> bool:
        if setup.event == event:
            return True
        try:
            return self.catalogue.resolve_event(event).parent == setup.event
        except EventNotFound:
            return False

    async def _ended(self, setup: LiveSetup, now: datetime) -> bool:
        """Whether the event's last talk has ended (or its last day is over, when talks give no end)."""
        programme = await self.programme(setup.event)
        if not programme:
            return False
        last = max((t.ends_at or t.starts_at or now) for t in programme)
        return last < now


CHANGE_WORD = {"moved": "now", "room_changed": "now in", "cancelled": "cancelled"}


def _key(start: datetime) -> str:
    return start.isoformat()


def _body(event: Event, lines: Sequence[ChangeLine]) -> dict[str, object]:
    rows = [[line.kind, line.title, list(line.speakers), line.detail] for line in lines]
    return {"event": event.slug, "event_name": event.name, "lines": rows}


def lines_of(body: Mapping[str, Any]) -> tuple[ChangeLine, ...]:
    """The change lines a planned change notice holds."""
    raw = body.get("lines") or []
    assert isinstance(raw, list)  # noqa: S101 - written by _body
    return tuple(ChangeLine(k, str(t), tuple(str(s) for s in sp), str(d)) for k, t, sp, d in raw)


def _digest(lines: Sequence[ChangeLine]) -> str:
    text = json.dumps([[line.kind, line.title, list(line.speakers), line.detail] for line in lines])
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def change_notice(body: Mapping[str, Any]) -> ChangeNotice:
    """The notice a planned change post holds."""
    return ChangeNotice(str(body.get("event_name") or ""), lines_of(body))
