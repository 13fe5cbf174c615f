"""Members' watch lists: saving talks to watch later, marking them watched, exporting them, and more like them.

No chat platform here: the adapters build the member key ("discord:<user id>", "slack:<team>:<user>"), which
the core never reads apart, and turn `SavedTalk`, `WatchPage` and `Result` into messages. A member's data is
theirs alone: every method takes the member key and reads or changes only that member's rows.
"""

from __future__ import annotations

import builtins
import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.catalogue.service import MAX_RESULTS, CatalogueService, Result
from bot.domain.models import Talk
from bot.domain.text import inert
from bot.errors import UserFacingError
from bot.highlights.clock import SystemClock
from bot.highlights.ports import Clock
from bot.highlights.rules import parse_zone
from bot.search.index import IndexedTalk
from bot.watchlist.store import STATES, Snapshot, State, StoredTalk, WatchlistStore

log = logging.getLogger(__name__)

PAGE_SIZE = 5
MAX_PAGE = 25
RECOMMEND_SEEDS = 25  # the most recently saved talks a recommendation starts from (see `recommend_for`)
PRODID = "-//talk-highlights//watch list//EN"
UID_DOMAIN = "talk-highlights"


@dataclass(frozen=True, slots=True)
class SavedTalk:
    """A talk on a member's list: what was copied when it was saved, and the talk itself while it is still there."""

    slug: str
    title: str
    event_name: str
    event_slug: str
    date: date | None
    recording_url: str | None
    saved_at: datetime
    watched_at: datetime | None
    talk: Talk | None  # None when an import removed it from the catalogue since

    @property
    def gone(self) -> bool:
        """Whether the talk is no longer in the catalogue (the list shows it from what was copied)."""
        return self.talk is None

    @property
    def watched(self) -> bool:
        """Whether the member marked it watched."""
        return self.watched_at is not None


@dataclass(frozen=True, slots=True)
class WatchPage:
    """One page of a member's list, newest saved first; `total` counts every talk in `state`."""

    items: tuple[SavedTalk, ...]
    total: int
    offset: int
    limit: int
    state: State

    @property
    def has_more(self) -> bool:
        """Whether talks follow this page."""
        return self.offset + len(self.items) < self.total


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What forgetting a member deleted: saved talks, settings rows (0 or 1), reminders, highlights shown in DMs."""

    saved: int
    settings: int
    reminders: int = 0
    picks: int = 0

    @property
    def anything(self) -> bool:
        """Whether anything was kept about the member."""
        return bool(self.saved or self.settings or self.reminders or self.picks)

    def parts(self) -> builtins.list[str]:
        """What was deleted, one phrase per kind: '3 saved talks', '1 reminder', 'your settings (...)'."""
        parts = []
        if self.saved:
            parts.append(f"{self.saved} saved talk{'s' * (self.saved != 1)}")
        if self.reminders:
            parts.append(f"{self.reminders} reminder{'s' * (self.reminders != 1)}")
        if self.settings:
            parts.append("your settings (time zone, calendar key)")
        if self.picks:
            parts.append("the highlights /highlight showed you in direct messages")
        return parts


def _snapshot(talk: Talk) -> Snapshot:
    return Snapshot(talk.slug, talk.title, talk.event.name, talk.event.slug, talk.date, talk.recording_url)


def _saved(stored: StoredTalk, talk: Talk | None) -> SavedTalk:
    shot = stored.snapshot
    return SavedTalk(
        shot.slug, shot.title, shot.event_name, shot.event_slug, shot.date, shot.recording_url,
        stored.saved_at, stored.watched_at, talk,
    )  # fmt: skip


def _clip(text: str, length: int = 60) -> str:
    text = " ".join(inert(text).split())
    return text if len(text) <= length else text[: length - 1] + "…"


def calendar_uid(key: str, slug: str) -> str:
    """A saved talk's UID in exported calendars, keyed with the member's calendar secret (`key`, hex).

    The same in every export of the member's, and no member id can be tested against it.
    """
    digest = hashlib.blake2b(slug.encode(), digest_size=16, key=bytes.fromhex(key), person=b"watchlist-ics")
    return f"{digest.hexdigest()}@{UID_DOMAIN}"


class WatchlistService:
    """Watch lists over the catalogue (see the module docstring)."""

    def __init__(self, catalogue: CatalogueService, store: WatchlistStore, clock: Clock | None = None) -> None:
        self.catalogue = catalogue
        self.store = store
        self.clock = clock or SystemClock()

    # -- the list ----------------------------------------------------------------------------------------------

    async def save(self, member: str, ident: str, *, place: str | None = None) -> tuple[SavedTalk, bool]:
        """Put a talk (an id, or (part of) a title) on the member's list; True if it was not there yet.

        `place` is where it was saved ('discord:<server id>', 'slack:<team id>'; None in direct messages): a
        server's highlight schedules prefer the talks its members saved most. Saving it again is harmless: it
        stays where it was, watched or not (what the list shows of it is brought up to date). Raises
        TalkNotFound, or WatchlistFull when the list holds `MAX_SAVED` talks.
        """
        talk = await self.catalogue.talk(ident)
        stored, new = await self.store.save(_member(member), _snapshot(talk), self.clock.now(), place=place)
        return _saved(stored, talk), new

    async def remove(self, member: str, slug: str) -> bool:
        """Take a talk off the member's list; False if it was not on it."""
        return await self.store.remove(_member(member), slug)

    async def mark_watched(self, member: str, slug: str, watched: bool = True) -> bool:
        """Mark a talk on the member's list watched, or not watched; False if it is not on the list."""
        return await self.store.mark_watched(_member(member), slug, watched, self.clock.now())

    async def list(self, member: str, *, state: State = "all", offset: int = 0, limit: int = PAGE_SIZE) -> WatchPage:
        """A page of the member's list, newest saved first: every talk, or only the unwatched or watched ones."""
        if state not in STATES:
            raise UserFacingError(f"Show `all`, `unwatched` or `watched` talks, not “{_clip(str(state), 20)}”.")
        offset, limit = max(0, offset), max(1, min(limit, MAX_PAGE))
        total, rows = await self.store.page(_member(member), state, offset, limit)
        return WatchPage(tuple(await self._hydrate(rows)), total, offset, limit, state)

    async def _hydrate(self, rows: Sequence[StoredTalk]) -> builtins.list[SavedTalk]:
        """Saved talks with the catalogue's talks (one read for all of them; None for those removed since)."""
        talks = await self.catalogue.repo.get_talks([row.talk_id for row in rows if row.talk_id is not None])
        return [_saved(row, None if row.talk_id is None else talks.get(row.talk_id)) for row in rows]

    # -- calendar export ------------------------------------------------------------------------------------------

    async def export_ics(self, member: str) -> tuple[bytes, builtins.list[SavedTalk]]:
        """The member's list as an iCalendar file, and the saved talks it leaves out because they have no date.

        One event per dated talk, named by its title, with its recording and event: at its start time (to its
        end, in its room) when the catalogue gives one, else all day on its day. The talk's current times,
        title and recording are used while it is in the catalogue, else what was copied when it was saved.
        Each event's UID stays the same from one export to the next (a calendar that imports the file again
        updates rather than duplicates), keyed with a secret of the member's: the file
        names no member, and no member id can be tried against it.
        """
        import icalendar  # only exports pay for importing it

        member = _member(member)
        saved = await self._hydrate(await self.store.all_of(member))
        now = self.clock.now()
        dated = any(_shown_date(item) is not None for item in saved)
        key = await self.store.calendar_key(member, now) if dated else ""  # kept only once there is a use for it
        calendar = icalendar.Calendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("method", "PUBLISH")
        calendar.add("x-wr-calname", "Talks to watch")
        undated: builtins.list[SavedTalk] = []
        for item in sorted(saved, key=lambda s: (_shown_date(s) or date.max, s.slug)):
            day = _shown_date(item)
            if day is None:
                undated.append(item)
                continue
            talk = item.talk
            title = talk.title if talk is not None else item.title
            event_name = talk.event.name if talk is not None else item.event_name
            recording = talk.recording_url if talk is not None else item.recording_url
            event = icalendar.Event()
            event.add("uid", calendar_uid(key, item.slug))
            event.add("dtstamp", now)
            if talk is not None and talk.starts_at is not None:
                event.add("dtstart", talk.starts_at.astimezone(UTC))
                if talk.ends_at is not None and talk.ends_at > talk.starts_at:
                    event.add("dtend", talk.ends_at.astimezone(UTC))
                if talk.room:
                    event.add("location", talk.room)
            else:
                event.add("dtstart", day)
                event.add("dtend", day + timedelta(days=1))
            event.add("summary", title)
            lines = [f"Event: {event_name}"]
            if recording:
                event.add("url", recording)
                lines.insert(0, f"Recording: {recording}")
            if item.watched_at is not None:
                lines.append("Watched.")
            event.add("description", "\n".join(lines))
            event.add("transp", "TRANSPARENT")  # a talk to watch does not make the member busy that day
            calendar.add_component(event)
        undated.sort(key=lambda s: s.saved_at, reverse=True)
        return calendar.to_ical(), undated

    # -- more like what the member saved -------------------------------------------------------------------------

    async def recommend_for(self, member: str, limit: int = 10) -> builtins.list[Result]:
        """Talks most like the member's saved talks (watched or not) taken together; never one already saved.

        The saved talks (the `RECOMMEND_SEEDS` most recently saved that are still in the catalogue) are read as
        one talk and given to the engine's more-like-this (`SearchEngine.similar`): the topics, people and
        words they share weigh most, as in a more-like-this over several documents. Empty when nothing is saved.
        """
        member = _member(member)
        limit = max(1, min(limit, MAX_RESULTS))
        await self.catalogue.refresh()
        saved = await self.store.all_of(member)
        ids = [row.talk_id for row in saved if row.talk_id is not None][:RECOMMEND_SEEDS]
        seeds = await self.catalogue.repo.get_talks(ids)
        talks = [seeds[i] for i in ids if i in seeds]  # newest saved first
        if not talks:
            return []
        engine = self.catalogue.engine
        people = engine.people.by_slug
        merged = IndexedTalk(
            talk_id=-1,  # no talk's: nothing is left out by the engine; the saved talks are below
            title=" ; ".join(t.title for t in talks),
            topics=[topic.name for t in talks for topic in t.topics],
            speakers=[c.name for t in talks for c in t.credits],
            organizations=[c.organization for t in talks for c in t.credits if c.organization],
            summary="\n".join(t.summary for t in talks),
            person_ids=builtins.list(
                dict.fromkeys(entry.person_id for t in talks for c in t.credits if (entry := people.get(c.person)))
            ),
        )
        # The saved talks are the most like themselves and are left out: ask for enough that `limit` others
        # remain. Mostly the seeds are what ranks first; only when older saved talks crowd the answer too is it
        # asked again for as many more as are saved (diversifying hundreds of hits costs ~20 ms at 10,000 talks).
        taken = {row.talk_id for row in saved if row.talk_id is not None}
        most = limit + len(taken)
        want = min(most, limit * 2 + len(talks))
        while True:
            found_hits = engine.similar(merged, want)
            hits = [hit for hit in found_hits if hit.talk_id not in taken][:limit]
            if len(hits) == limit or len(found_hits) < want or want == most:
                break
            want = most
        found = await self.catalogue.repo.get_talks([hit.talk_id for hit in hits])
        why = _Reasons(talks)
        return [Result(other, hit.score, why(other)) for hit in hits if (other := found.get(hit.talk_id)) is not None]

    # -- settings -------------------------------------------------------------------------------------------------

    async def timezone(self, member: str) -> str | None:
        """The member's time zone (an IANA name), if they set one."""
        return await self.store.timezone(_member(member))

    async def set_timezone(self, member: str, zone_text: str) -> str:
        """Set the member's time zone from a zone name in any case, or a city alone ("berlin"); the IANA name.

        Raises UnknownTimeZone (a UserFacingError, with the nearest names) for anything else.
        """
        member = _member(member)
        if not zone_text.strip():
            raise UserFacingError("Name a time zone, such as `Europe/Berlin`, or a city such as `Berlin`.")
        zone = parse_zone(zone_text).key
        await self.store.set_timezone(member, zone, self.clock.now())
        return zone

    # -- everything kept about a member ---------------------------------------------------------------------------

    async def forget(self, member: str) -> Forgotten:
        """Delete everything kept about the member (list, reminders, settings) in one write; what was deleted."""
        removed = await self.store.forget(_member(member))
        return Forgotten(removed.saved, removed.settings, removed.reminders, removed.picks)

    async def saved_counts(self, slugs: Sequence[str]) -> dict[str, int]:
        """How many members saved each of these talks (0 for those nobody saved); names no member."""
        return await self.store.saved_counts(slugs)


def _member(member: str) -> str:
    """The member key, as the adapters built it; an empty one is a bug in the caller, never anyone's list."""
    if not member or not member.strip():
        raise ValueError("a member key is needed")
    return member


def _shown_date(item: SavedTalk) -> date | None:
    """The talk's date now, or the one copied when it was saved if the talk left the catalogue."""
    return item.talk.date if item.talk is not None else item.date


class _Reasons:
    """Why a talk is recommended: the saved talk it is most like, and the topics and people it shares with them."""

    def __init__(self, saved: Sequence[Talk]) -> None:
        self.saved = [(t.title, {c.person for c in t.credits}, {p.slug for p in t.topics}) for t in saved]
        self.topics = Counter(topic.slug for t in saved for topic in t.topics)  # in how many saved talks
        self.people = {c.person for t in saved for c in t.credits}

    def __call__(self, talk: Talk) -> tuple[str, ...]:
        topics, people = {t.slug for t in talk.topics}, {c.person for c in talk.credits}
        reasons: builtins.list[str] = []
        # The closest saved talk: people count twice as much as topics, and break ties; then the newest saved.
        closeness, title = max(
            (((2 * len(people & p) + len(topics & t), len(people & p)), title) for title, p, t in self.saved),
            key=lambda pair: pair[0],
        )
        if closeness[0]:
            reasons.append(f"like “{_clip(title)}”")
        common = sorted((t for t in talk.topics if t.slug in self.topics), key=lambda t: (-self.topics[t.slug], t.name))
        if common:
            reasons.append("shares " + ", ".join(t.name for t in common[:3]))
        same = [c.name for c in talk.credits if c.person in self.people]
        if same:
            reasons.append("also with " + ", ".join(same[:2]))
        return tuple(reasons)
