"""Following a published schedule: re-read a programme's URL every few minutes and apply it as an import.

A follow is a row of `follows` (migration 0011): the URL, how often to poll it, the validators of the last
answer (ETag, Last-Modified) and what the last poll did. `FollowService.poll` makes one conditional GET
(`If-None-Match`, `If-Modified-Since`; a timeout; at most `MAX_BYTES`) and then:

- 304 Not Modified: unchanged, nothing read.
- A 4xx or 5xx answer, a timeout, a file too large, or a file that cannot be read (cut off, not a
  schedule): an error. Nothing changes; the next poll waits longer each time (`backoff`).
- A file with under half the talks of the last applied one: held back and reported, not applied (a glitch
  at the source must not empty the catalogue). Its validators are not kept, so the next poll reads it again.
- Otherwise the file is imported exactly as `python -m bot import` would (one transaction, the same
  rules), and the poll returns what changed for each talk of the followed events, comparing the
  programme before and after in that same transaction: `ScheduleChange`s of kind moved, room_changed,
  cancelled, added and retitled. The first import of an event the catalogue did not hold reports no
  changes (every talk would be "added").

`FollowService.run` polls the follows as they fall due on a `Clock` and hands each poll's changes to a
callback, which is where notices are sent from.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from bot.catalogue.formats import FORMATS
from bot.catalogue.formats.document import CatalogueDocument
from bot.catalogue.formats.options import ImportOptions, zone_named
from bot.catalogue.importer import apply_import, parse_document
from bot.catalogue.service import CatalogueService
from bot.catalogue.writer import ImportReport
from bot.db.gateway import Database
from bot.domain.text import fold
from bot.errors import ConfigError, NotFoundError, UserFacingError
from bot.highlights.ports import Clock

log = logging.getLogger(__name__)

MAX_BYTES = 50 * 1024 * 1024  # FOSDEM's schedule.xml is under 3 MB
TIMEOUT_SECONDS = 60.0
HOLD_BACK_SHARE = 0.5  # a file with fewer talks than this share of the last applied one is held back
MAX_BACKOFF = timedelta(hours=6)
MIN_INTERVAL, MAX_INTERVAL = 1, 24 * 60
DEFAULT_INTERVAL = 5  # minutes between polls unless told
USER_AGENT = "talk-highlights (follows a published conference schedule)"

ChangeKind = Literal["moved", "room_changed", "cancelled", "added", "retitled"]
FollowStatus = Literal["new", "applied", "unchanged", "held", "error"]
PollStatus = Literal["applied", "unchanged", "held", "error"]


# -- what a poll reports -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TalkTimes:
    """Where and when a talk is given: aware start and end (in the programme's offset), and its room."""

    start: datetime | None
    end: datetime | None
    room: str | None


@dataclass(frozen=True, slots=True)
class ScheduleChange:
    """One change to one talk of a followed event.

    `before` is None for an added talk, `after` None for one gone from the programme; a talk marked
    cancelled keeps its `after`. A talk both moved and given another room is two changes. `title` is
    the current title (the last one, for a cancelled talk); `old_title` is set for retitled talks.
    """

    kind: ChangeKind
    slug: str
    title: str
    speakers: tuple[str, ...]
    before: TalkTimes | None
    after: TalkTimes | None
    old_title: str | None = None


def _times_json(times: TalkTimes | None) -> list[str | None] | None:
    if times is None:
        return None
    return [None if t is None else t.isoformat() for t in (times.start, times.end)] + [times.room]


def _times_of(raw: Any) -> TalkTimes | None:
    if raw is None:
        return None
    start, end, room = raw
    return TalkTimes(
        None if start is None else datetime.fromisoformat(start),
        None if end is None else datetime.fromisoformat(end),
        room,
    )


def changes_json(changes: Sequence[ScheduleChange]) -> str:
    """A batch of changes as the programme_changes table keeps it."""
    return json.dumps(
        [
            [c.kind, c.slug, c.title, list(c.speakers), _times_json(c.before), _times_json(c.after), c.old_title]
            for c in changes
        ],
        ensure_ascii=False,
    )


def changes_of(text: str) -> builtins.list[ScheduleChange]:
    """The batch of changes `changes_json` wrote."""
    return [
        ScheduleChange(kind, slug, title, tuple(speakers), _times_of(before), _times_of(after), old_title)
        for kind, slug, title, speakers, before, after, old_title in json.loads(text)
    ]


@dataclass(frozen=True, slots=True)
class Follow:
    """A followed schedule, as stored."""

    id: int
    url: str
    event: str | None  # the event slug it keeps in step; None until the first import
    format: str
    event_name: str | None
    timezone: str | None
    interval_minutes: int
    etag: str | None
    last_modified: str | None
    last_fetched_at: datetime | None
    last_changed_at: datetime | None
    last_status: FollowStatus
    last_summary: str | None
    talk_count: int | None
    failures: int
    next_poll_at: datetime
    created_at: datetime

    def options(self) -> ImportOptions:
        """The import options its file is read with."""
        return ImportOptions(format=self.format, event=self.event_name, timezone=self.timezone)


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll did: its status, a one-line summary, the changes, and the follow as it is now."""

    follow: Follow
    status: PollStatus
    summary: str
    changes: tuple[ScheduleChange, ...] = ()
    report: ImportReport | None = None
    http_status: int | None = None
    talks: int | None = None  # talks in the fetched file

    @property
    def ok(self) -> bool:
        """Whether the poll applied the file or found it unchanged (not held back, no error)."""
        return self.status in ("applied", "unchanged")


# -- fetching --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fetched:
    """An HTTP answer: its status, body (empty for 304) and validators."""

    status: int
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None


class FetchError(Exception):
    """The request failed before there was an answer to read (timeout, connection, size)."""


class Fetch(Protocol):
    """A conditional GET."""

    async def __call__(self, url: str, etag: str | None, last_modified: str | None) -> Fetched:
        """GET `url`, sending the validators when given; FetchError when there is no answer."""
        ...


async def http_fetch(
    url: str,
    etag: str | None,
    last_modified: str | None,
    *,
    seconds: float = TIMEOUT_SECONDS,
    max_bytes: int = MAX_BYTES,
) -> Fetched:
    """One conditional GET with aiohttp, bounded in time and size; FetchError when there is no answer."""
    import aiohttp  # the command line's other commands need not load it

    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as session,
            session.get(url, headers=headers, allow_redirects=True) as response,
        ):
            if response.content_length is not None and response.content_length > max_bytes:
                raise FetchError(f"the file is {response.content_length:,} bytes; at most {max_bytes:,} are read")
            body = bytearray()
            if response.status == 200:
                async for chunk in response.content.iter_chunked(65536):
                    body += chunk
                    if len(body) > max_bytes:
                        raise FetchError(f"the file is over {max_bytes:,} bytes; at most {max_bytes:,} are read")
            return Fetched(
                response.status, bytes(body), response.headers.get("ETag"), response.headers.get("Last-Modified")
            )
    except TimeoutError:
        raise FetchError(f"no answer within {seconds:g} seconds") from None
    except aiohttp.ClientError as exc:
        raise FetchError(str(exc) or type(exc).__name__) from None


# -- the programme, before and after ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Talk:
    title: str
    times: TalkTimes
    speakers: tuple[str, ...]


_CANCELLED = re.compile(r"^\W*(?:cancell?ed|abgesagt|annule|entfallt|faellt aus|withdrawn)\b")


def cancelled_title(title: str) -> bool:
    """Whether a title marks its talk cancelled ("CANCELLED: ...", "[Abgesagt] ...")."""
    return bool(_CANCELLED.match(fold(title)))


def _instant(text: object) -> datetime | None:
    if not isinstance(text, str) or len(text) <= 10:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else None


def read_programme(conn: sqlite3.Connection, events: Iterable[str]) -> dict[str, _Talk]:
    """The talks of these events (by slug), with their times, rooms and speakers."""
    slugs = sorted(set(events))
    if not slugs:
        return {}
    marks = ", ".join("?" * len(slugs))
    speakers: dict[int, list[str]] = {}
    for talk_id, name in conn.execute(
        "SELECT ts.talk_id, p.name FROM talk_speakers ts JOIN people p ON p.id = ts.person_id"
        " JOIN talks t ON t.id = ts.talk_id JOIN events e ON e.id = t.event_id"
        f" WHERE e.slug IN ({marks}) ORDER BY ts.talk_id, ts.position",
        slugs,
    ):
        speakers.setdefault(int(talk_id), []).append(str(name))
    found = {}
    for talk_id, slug, title, starts, ends, room in conn.execute(
        "SELECT t.id, t.slug, t.title, t.date, t.ends_at, t.room FROM talks t JOIN events e ON e.id = t.event_id"
        f" WHERE e.slug IN ({marks})",
        slugs,
    ):
        found[str(slug)] = _Talk(
            str(title), TalkTimes(_instant(starts), _instant(ends), room), tuple(speakers.get(int(talk_id), ()))
        )
    return found


def diff_programmes(before: dict[str, _Talk], after: dict[str, _Talk]) -> list[ScheduleChange]:
    """What changed from one programme to the next, in the order of the talks' (new, else old) start."""
    changes: list[tuple[datetime, str, ScheduleChange]] = []
    never = datetime.max.replace(tzinfo=UTC)

    def add(change: ScheduleChange, times: TalkTimes | None) -> None:
        changes.append((times.start if times and times.start else never, change.slug, change))

    for slug, old in before.items():
        new = after.get(slug)
        if new is None:
            add(ScheduleChange("cancelled", slug, old.title, old.speakers, old.times, None), old.times)
            continue
        if cancelled_title(new.title) and not cancelled_title(old.title):
            add(ScheduleChange("cancelled", slug, new.title, new.speakers, old.times, new.times), old.times)
            continue
        if (old.times.start, old.times.end) != (new.times.start, new.times.end):
            add(ScheduleChange("moved", slug, new.title, new.speakers, old.times, new.times), new.times)
        if old.times.room != new.times.room:
            add(ScheduleChange("room_changed", slug, new.title, new.speakers, old.times, new.times), new.times)
        if old.title != new.title:
            add(
                ScheduleChange("retitled", slug, new.title, new.speakers, old.times, new.times, old_title=old.title),
                new.times,
            )
    if before:  # the first import of an event is no news about it
        for slug, new in after.items():
            if slug not in before:
                add(ScheduleChange("added", slug, new.title, new.speakers, None, new.times), new.times)
    changes.sort(key=lambda item: (item[0], item[1]))
    return [change for _, _, change in changes]


# -- the store -------------------------------------------------------------------------------------------

_COLUMNS = (
    "id, url, event, format, event_name, timezone, interval_minutes, etag, last_modified, last_fetched_at,"
    " last_changed_at, last_status, last_summary, talk_count, failures, next_poll_at, created_at"
)


def _db_instant(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _from_db(text: object) -> datetime | None:
    return datetime.fromisoformat(str(text)).astimezone(UTC) if text else None


def _follow(row: Sequence[object]) -> Follow:
    def text(value: object) -> str | None:
        return str(value) if value is not None else None

    next_poll, created = _from_db(row[15]), _from_db(row[16])
    if next_poll is None or created is None:  # NOT NULL columns
        raise ValueError("a follow without next_poll_at or created_at")
    return Follow(
        id=int(str(row[0])),
        url=str(row[1]),
        event=text(row[2]),
        format=str(row[3]),
        event_name=text(row[4]),
        timezone=text(row[5]),
        interval_minutes=int(str(row[6])),
        etag=text(row[7]),
        last_modified=text(row[8]),
        last_fetched_at=_from_db(row[9]),
        last_changed_at=_from_db(row[10]),
        last_status=str(row[11]),  # type: ignore[arg-type]  # the column's CHECK keeps it one of FollowStatus
        last_summary=text(row[12]),
        talk_count=int(str(row[13])) if row[13] is not None else None,
        failures=int(str(row[14])),
        next_poll_at=next_poll,
        created_at=created,
    )


def _get(conn: sqlite3.Connection, follow_id: int) -> Follow | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM follows WHERE id = ?", (follow_id,)).fetchone()
    return _follow(row) if row else None


@dataclass(slots=True)
class _Outcome:
    """What a poll writes back to its follow row (None: leave the column as it is)."""

    status: FollowStatus
    summary: str
    fetched_at: datetime
    next_poll_at: datetime
    failures: int
    etag: str | None = None
    last_modified: str | None = None
    keep_validators: bool = True  # False: store etag/last_modified as given (even None)
    changed: bool = False
    talk_count: int | None = None
    event: str | None = None


def _record(conn: sqlite3.Connection, follow_id: int, outcome: _Outcome) -> Follow:
    sets = ["last_status = ?", "last_summary = ?", "last_fetched_at = ?", "next_poll_at = ?", "failures = ?"]
    values: list[object] = [
        outcome.status,
        outcome.summary[:1000],
        _db_instant(outcome.fetched_at),
        _db_instant(outcome.next_poll_at),
        outcome.failures,
    ]
    if not outcome.keep_validators:
        sets += ["etag = ?", "last_modified = ?"]
        values += [outcome.etag, outcome.last_modified]
    if outcome.changed:
        sets.append("last_changed_at = ?")
        values.append(_db_instant(outcome.fetched_at))
    if outcome.talk_count is not None:
        sets.append("talk_count = ?")
        values.append(outcome.talk_count)
    if outcome.event is not None:
        sets.append("event = ?")
        values.append(outcome.event)
    conn.execute(f"UPDATE follows SET {', '.join(sets)} WHERE id = ?", (*values, follow_id))
    found = _get(conn, follow_id)
    if found is None:
        raise NotFoundError(f"No followed schedule #{follow_id}.")
    return found


def backoff(interval_minutes: int, failures: int) -> timedelta:
    """How long to wait after `failures` errors in a row: the interval, doubled per error, at most 6 hours.

    Never less than the interval itself, even where that is longer than the cap.
    """
    interval = timedelta(minutes=interval_minutes)
    doubled: timedelta = interval * 2 ** min(failures, 20)
    return max(interval, min(doubled, MAX_BACKOFF))


# -- the service -----------------------------------------------------------------------------------------

ChangesCallback = Callable[[Follow, Sequence[ScheduleChange]], Awaitable[None]]
PollCallback = Callable[[PollResult], Awaitable[None]]


class FollowService:
    """Followed schedules: add, list and remove them, poll one, and a loop that polls them as they fall due."""

    def __init__(self, catalogue: CatalogueService, db: Database, clock: Clock, fetch: Fetch = http_fetch) -> None:
        self.catalogue = catalogue
        self.db = db
        self.clock = clock
        self.fetch = fetch
        self._wake = asyncio.Event()

    # -- the commands' side ---------------------------------------------------------------------------

    async def follow(
        self,
        url: str,
        interval_minutes: int | None = None,
        *,
        format: str = "auto",
        event_name: str | None = None,
        timezone: str | None = None,
    ) -> Follow:
        """Follow a schedule's URL, polled every `interval_minutes` (5 unless given) from now on.

        Following a URL already followed updates the interval and options given (what is not given stays as it
        was) and keeps what it learnt (its validators, the talk count that guards against a truncated file),
        so a script may call it every time with only the URL.
        """
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
            raise ConfigError(f"{url[:100]!r} is not an http(s) link to a schedule.")
        if interval_minutes is not None and not MIN_INTERVAL <= interval_minutes <= MAX_INTERVAL:
            raise ConfigError(f"The interval must be {MIN_INTERVAL} to {MAX_INTERVAL} minutes.")
        if format != "auto" and format not in FORMATS:
            raise ConfigError(f"Format {format!r}: use auto or one of {', '.join(FORMATS)}.")
        if timezone:
            zone_named(timezone, "timezone")
        now = _db_instant(self.clock.now())
        given = interval_minutes is not None

        def work(conn: sqlite3.Connection) -> Follow:
            conn.execute(
                "INSERT INTO follows (url, format, event_name, timezone, interval_minutes, next_poll_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET"
                " format = CASE excluded.format WHEN 'auto' THEN follows.format ELSE excluded.format END,"
                " event_name = COALESCE(excluded.event_name, follows.event_name),"
                " timezone = COALESCE(excluded.timezone, follows.timezone),"
                " interval_minutes = CASE WHEN ? THEN excluded.interval_minutes ELSE follows.interval_minutes END",
                (url, format, event_name, timezone, interval_minutes or DEFAULT_INTERVAL, now, now, given),
            )
            row = conn.execute(f"SELECT {_COLUMNS} FROM follows WHERE url = ?", (url,)).fetchone()
            return _follow(row)

        followed = await self.db.write(work)
        self._wake.set()
        return followed

    async def unfollow(self, follow_id: int) -> Follow:
        """Stop following a schedule; its talks stay in the catalogue. NotFoundError when there is no such follow."""

        def work(conn: sqlite3.Connection) -> Follow:
            found = _get(conn, follow_id)
            if found is None:
                raise NotFoundError(f"No followed schedule #{follow_id}.")
            conn.execute("DELETE FROM follows WHERE id = ?", (follow_id,))
            return found

        removed = await self.db.write(work)
        self._wake.set()
        return removed

    async def list(self) -> builtins.list[Follow]:
        """Every followed schedule, oldest first."""
        return await self.db.read(
            lambda conn: [_follow(row) for row in conn.execute(f"SELECT {_COLUMNS} FROM follows ORDER BY id")]
        )

    async def get(self, follow_id: int) -> Follow:
        """One followed schedule; NotFoundError when there is none."""
        found = await self.db.read(lambda conn: _get(conn, follow_id))
        if found is None:
            raise NotFoundError(f"No followed schedule #{follow_id}.")
        return found

    # -- polling ----------------------------------------------------------------------------------------

    async def poll(self, follow_id: int) -> PollResult:
        """Fetch the schedule once and apply it (see the module docstring); errors are results, not raised."""
        follow = await self.get(follow_id)
        now = self.clock.now()
        try:
            fetched = await self.fetch(follow.url, follow.etag, follow.last_modified)
        except FetchError as exc:
            return await self._error(follow, now, f"fetch failed: {exc}")
        if fetched.status == 304:
            outcome = _Outcome("unchanged", "not modified since the last poll", now, self._next(follow, now), 0)
            return PollResult(await self._save(follow, outcome), "unchanged", outcome.summary, http_status=304)
        if fetched.status != 200:
            return await self._error(follow, now, f"HTTP {fetched.status}", http_status=fetched.status)
        options = follow.options()
        try:
            document = await asyncio.to_thread(parse_document, fetched.body, follow.url, options)
        except UserFacingError as exc:
            return await self._error(follow, now, f"unreadable file: {exc.message}", http_status=200)
        count = len(document.talks)
        events = [event.slug for event in document.events]
        if follow.event is not None and follow.event not in events:
            summary = f"the file no longer holds the event {follow.event} (it holds {', '.join(events) or 'none'})"
            return await self._error(follow, now, summary, http_status=200)
        if follow.talk_count and count < follow.talk_count * HOLD_BACK_SHARE:
            summary = (
                f"held back: {count} talks, under half of the {follow.talk_count} of the last applied file; "
                "nothing was changed"
            )
            outcome = _Outcome("held", summary, now, self._next(follow, now), 0)
            return PollResult(await self._save(follow, outcome), "held", summary, http_status=200, talks=count)
        try:
            updated, report, changes = await self.db.write(
                lambda conn: self._apply(conn, follow, document, fetched, now, events)
            )
        except UserFacingError as exc:  # the import's own rules (an event left empty), or the database
            return await self._error(follow, now, f"not imported: {exc.message}", http_status=200)
        if report.touched:
            await self.catalogue.refresh()
        status: PollStatus = "applied" if report.touched else "unchanged"
        return PollResult(updated, status, updated.last_summary or "", tuple(changes), report, 200, count)

    def _apply(
        self,
        conn: sqlite3.Connection,
        follow: Follow,
        document: CatalogueDocument,
        fetched: Fetched,
        now: datetime,
        events: builtins.list[str],
    ) -> tuple[Follow, ImportReport, builtins.list[ScheduleChange]]:
        before = read_programme(conn, events)
        report = apply_import(conn, document, follow.url, follow.options())
        after = read_programme(conn, events)
        changes = diff_programmes(before, after)
        told = follow.event or (events[0] if events else None)
        if changes and told is not None:  # in the import's transaction: the changes are told, or never happened
            conn.execute(
                "INSERT INTO programme_changes (event, changes, found_at) VALUES (?, ?, ?)",
                (told, changes_json(changes), _db_instant(now)),
            )
        count = len(document.talks)
        summary = (
            f"{count} talks; added {len(report.added)}, changed {len(report.changed)}, removed {len(report.removed)}"
            if report.touched
            else f"{count} talks, no change"
        )
        outcome = _Outcome(
            "applied" if report.touched else "unchanged",
            summary,
            now,
            self._next(follow, now),
            0,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            keep_validators=False,
            changed=report.touched,
            talk_count=count,
            event=events[0] if events else None,
        )
        return _record(conn, follow.id, outcome), report, changes

    def _next(self, follow: Follow, now: datetime) -> datetime:
        return now + timedelta(minutes=follow.interval_minutes)

    async def _save(self, follow: Follow, outcome: _Outcome) -> Follow:
        return await self.db.write(lambda conn: _record(conn, follow.id, outcome))

    async def _error(
        self, follow: Follow, now: datetime, summary: str, *, http_status: int | None = None
    ) -> PollResult:
        failures = follow.failures + 1
        log.warning("following %s: %s (error %d in a row)", follow.url, summary, failures)
        outcome = _Outcome("error", summary, now, now + backoff(follow.interval_minutes, failures), failures)
        return PollResult(await self._save(follow, outcome), "error", summary, http_status=http_status)

    # -- the loop ---------------------------------------------------------------------------------------

    async def due(self) -> builtins.list[Follow]:
        """The follows whose next poll is due now, the most overdue first."""
        now = _db_instant(self.clock.now())
        return await self.db.read(
            lambda conn: [
                _follow(row)
                for row in conn.execute(
                    f"SELECT {_COLUMNS} FROM follows WHERE next_poll_at <= ? ORDER BY next_poll_at, id", (now,)
                )
            ]
        )

    async def _next_due(self) -> datetime | None:
        row = await self.db.read(lambda conn: conn.execute("SELECT MIN(next_poll_at) FROM follows").fetchone())
        return _from_db(row[0]) if row else None

    async def run(
        self,
        on_changes: ChangesCallback | None = None,
        *,
        on_poll: PollCallback | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Poll every follow as it falls due, until cancelled (or `stop` is set).

        `on_changes(follow, changes)` is awaited after each poll that changed a followed event;
        `on_poll(result)` after every poll. Neither callback's failure stops the loop.
        """
        stop = stop or asyncio.Event()
        while not stop.is_set():
            for follow in await self.due():
                if stop.is_set():
                    return
                await self._poll_and_tell(follow, on_changes, on_poll)
            self._wake.clear()
            until = await self._next_due()
            if until is not None and until <= self.clock.now():
                continue
            await self._sleep(until, stop)

    async def _poll_and_tell(
        self, follow: Follow, on_changes: ChangesCallback | None, on_poll: PollCallback | None
    ) -> None:
        try:
            result = await self.poll(follow.id)
        except NotFoundError:  # unfollowed meanwhile
            return
        except Exception:
            log.exception("polling %s failed", follow.url)
            await self._save(
                follow,
                _Outcome(
                    "error",
                    "the poll failed unexpectedly (see the log)",
                    self.clock.now(),
                    self.clock.now() + backoff(follow.interval_minutes, follow.failures + 1),
                    follow.failures + 1,
                ),
            )
            return
        try:
            if on_poll is not None:
                await on_poll(result)
            if on_changes is not None and result.changes:
                await on_changes(result.follow, result.changes)
        except Exception:
            log.exception("telling of a poll of %s failed", follow.url)

    async def _sleep(self, until: datetime | None, stop: asyncio.Event) -> None:
        """Wait until `until` (forever when None), a new or removed follow, or `stop`."""
        waits: builtins.list[asyncio.Future[object]] = [
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(stop.wait()),
        ]
        if until is not None:
            waits.append(asyncio.ensure_future(self.clock.sleep_until(until)))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
