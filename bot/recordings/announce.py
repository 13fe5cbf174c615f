"""Announcing new recordings: "5 new recordings from KubeCon EU 2021" in a server's channel, once.

Off by default; a server turns it on with a channel (`AnnouncementService.set`). When an import gives talks
their recordings (`bot.recordings.apply`), each server with announcements on hears of the talks that any of
its highlight schedules' pools cover (their topic, event and language filters over the catalogue, as the
scheduler reads them, `bot.highlights.store.CataloguePool`), grouped per event, in one message: the titles
with their links, up to `SHOWN` per event, "and M more" after. A server whose schedules cover none of them
hears nothing.

Every announcement is a row first (bot/data/migrations/0013_recording_announcements.sql), keyed per server
by a digest of its talks, so the same batch is never announced twice; `AnnouncementJobs` posts the rows on
the scheduler's engine, each claimed ("sending") before it goes out with a nonce derived from its id, then
marked sent: once and only once whatever restarts happen, as live notices are (`bot.live.jobs`).

The bot's `/catalog recordings` writes the rows through `AnnouncementService.recordings_added` and wakes
its engine at once. `python -m bot recordings` writes them with `announce_added` in its own transaction,
beside the links; a running bot posts them when its engine next loads its jobs (at the latest, its next
start). Each platform's process posts its own servers' rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol, cast

from bot.catalogue.store import catalogue_version
from bot.db.dialect import claimable
from bot.db.gateway import Database, Session
from bot.db.shards import ShardFilter, shard_sql
from bot.highlights.engine import Runtime
from bot.highlights.ports import Clock, PostFailure, PostResult
from bot.highlights.store import (
    CataloguePool,
    PoolKey,
    _read_tree,
    from_db_instant,
    pool_params,
    pool_sql,
    to_db_instant,
)
from bot.recordings.apply import Match, RecordingOptions, RecordingReport, apply_recordings
from bot.recordings.formats import read_recordings

_PENDING = "id = ? AND state = 'pending'"  # what a claim takes: this row, if no one has yet

log = logging.getLogger(__name__)

SHOWN = 10  # talks listed per event; the rest are counted
Platform = Literal["discord", "slack"]
PostState = Literal["pending", "sending", "sent", "failed", "skipped"]


# -- what is posted -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewRecording:
    """A talk that got its recording: its id, its title and the video's link."""

    slug: str
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class EventRecordings:
    """One event's new recordings: how many, and the first few."""

    event_name: str
    total: int
    talks: tuple[NewRecording, ...]

    @property
    def more(self) -> int:
        """How many are counted but not listed."""
        return self.total - len(self.talks)

    @property
    def heading(self) -> str:
        """'5 new recordings from KubeCon EU 2021'."""
        return f"{_recordings(self.total)} from {self.event_name}"


def _recordings(count: int) -> str:
    return f"{count} new recording{'s' * (count != 1)}"


@dataclass(frozen=True, slots=True)
class RecordingsNotice:
    """One server's announcement: its events' new recordings, in the order the import gave them."""

    events: tuple[EventRecordings, ...]

    @property
    def total(self) -> int:
        """How many recordings, over every event."""
        return sum(e.total for e in self.events)

    @property
    def heading(self) -> str:
        """'5 new recordings from KubeCon EU 2021', '7 new recordings from A and B', '9 ... from 3 events'."""
        names = [e.event_name for e in self.events]
        where = names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2 else f"{len(names)} events"
        return f"{_recordings(self.total)} from {where}"


def notice_body(notice: RecordingsNotice) -> dict[str, Any]:
    """The notice as its row keeps it (JSON)."""
    return {
        "events": [
            {"name": e.event_name, "total": e.total, "talks": [[t.slug, t.title, t.url] for t in e.talks]}
            for e in notice.events
        ]
    }


def notice_of(body: Mapping[str, Any]) -> RecordingsNotice:
    """The notice a row keeps."""
    return RecordingsNotice(
        tuple(
            EventRecordings(
                str(e["name"]), int(e["total"]), tuple(NewRecording(str(s), str(t), str(u)) for s, t, u in e["talks"])
            )
            for e in body.get("events", [])
        )
    )


class AnnouncementPoster(Protocol):
    """Posts an announcement to a server's channel (a platform adapter implements it); highlights' failures."""

    async def announce(self, guild_id: int, channel_id: int, notice: RecordingsNotice, nonce: str) -> PostResult:
        """Post the notice with the nonce (the platform drops a repeat)."""
        ...


# -- planning: which server hears of which talks ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A server with announcements on, and its highlight schedules' filters."""

    platform: Platform
    guild_id: int
    channel_id: int
    filters: frozenset[PoolKey]


# Servers with announcements on, with the filters of their schedules (all but those the bot switched off when
# it left the server); a server without schedules covers no talk.
_TARGETS = (
    "SELECT a.platform, a.guild_id, a.channel_id, s.topic, s.event, s.language FROM recording_announcements a"
    " JOIN schedules s ON s.platform = a.platform AND s.guild_id = a.guild_id AND s.state != 'disabled'"
    " ORDER BY a.platform, a.guild_id"
)
_EVENT_NAMES = "SELECT slug, COALESCE(short_name, name) FROM events"


def _targets(conn: Session) -> list[Target]:
    found: dict[tuple[str, int], tuple[int, set[PoolKey]]] = {}
    for platform, guild, channel, topic, event, language in conn.execute(_TARGETS):
        found.setdefault((str(platform), int(guild)), (int(channel), set()))[1].add((topic, event, language))
    return [
        Target(cast(Platform, platform), guild, channel, frozenset(filters))
        for (platform, guild), (channel, filters) in found.items()
    ]


def _planning(conn: Session) -> tuple[int, list[Target], dict[str, str]]:
    """The catalogue's version, the servers to tell, and the events' names (short names first)."""
    targets = _targets(conn)
    names = {str(slug): str(name) for slug, name in conn.execute(_EVENT_NAMES)} if targets else {}
    return catalogue_version(conn), targets, names


Row = tuple[str, int, int, str, str, str]  # platform, guild, channel, key, body, due


def batch_key(slugs: Iterable[str]) -> str:
    """The key of one server's batch: a digest of its talks, whatever their order."""
    return hashlib.blake2b("\n".join(sorted(slugs)).encode(), digest_size=16).hexdigest()


def plan(
    added: Sequence[Match],
    targets: Sequence[Target],
    pools: Mapping[PoolKey, Iterable[str]],
    names: Mapping[str, str],
    at: datetime,
) -> list[Row]:
    """One row per server whose schedules' pools cover some of the added talks; none for the others."""
    covers: dict[PoolKey, frozenset[str]] = {key: frozenset(pool) for key, pool in pools.items()}
    rows: list[Row] = []
    for target in targets:
        covered = frozenset().union(*(covers.get(key, frozenset()) for key in target.filters))
        mine = [m for m in added if m.talk.slug in covered]
        if not mine:
            continue
        events: dict[str, list[Match]] = {}
        for match in mine:
            events.setdefault(match.talk.event, []).append(match)
        notice = RecordingsNotice(
            tuple(
                EventRecordings(
                    names.get(event, event),
                    len(matches),
                    tuple(NewRecording(m.talk.slug, m.talk.title, m.recording.url) for m in matches[:SHOWN]),
                )
                for event, matches in events.items()
            )
        )
        key = batch_key(m.talk.slug for m in mine)
        body = json.dumps(notice_body(notice), ensure_ascii=False)
        rows.append((target.platform, target.guild_id, target.channel_id, key, body, to_db_instant(at)))
    return rows


def _insert(conn: Session, rows: Sequence[Row]) -> int:
    """Add the rows, but not a batch a server was already told of; how many were new."""
    return conn.executemany(
        "INSERT INTO recording_posts (platform, guild_id, channel_id, key, body, state, due_at)"
        " VALUES (?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING",
        rows,
    ).rowcount


def _filters(targets: Sequence[Target]) -> set[PoolKey]:
    return {key for target in targets for key in target.filters}


def _added(report: RecordingReport) -> list[Match]:
    """The talks a real import gave a recording (a dry run gave none)."""
    return [] if report.dry_run else report.added


def announce_added(conn: Session, report: RecordingReport, at: datetime) -> int:
    """For the command line, on its own connection: write the report's announcements; how many rows were new.

    Run it inside the import's transaction, so that the links and their announcements are kept together. The
    rows wait for the running bot, which posts them when its engine next loads (at the latest, its next start).
    """
    added = _added(report)
    if not added:
        return 0
    _, targets, names = _planning(conn)
    if not targets:
        return 0
    tree = _read_tree(conn) if any(topic is not None for topic, _, _ in _filters(targets)) else None
    sql = pool_sql(conn)
    pools = {key: [str(r[0]) for r in conn.execute(sql, pool_params(tree, *key))] for key in _filters(targets)}
    return _insert(conn, plan(added, targets, pools, names, at))


# -- the rows -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnnouncementSetting:
    """Where a server's announcements go."""

    guild_id: int
    channel_id: int
    set_by: int | None
    set_at: datetime


@dataclass(frozen=True, slots=True)
class AnnouncementPost:
    """An announcement to post: `due` is when the engine should next look at it."""

    id: int
    guild_id: int
    channel_id: int
    key: str
    body: dict[str, Any]
    state: PostState
    due_at: datetime
    claimed_at: datetime | None = None
    retry_at: datetime | None = None
    failures: int = 0

    @property
    def due(self) -> datetime:
        """When the engine should look at it."""
        return self.retry_at or self.due_at


_POST_COLUMNS = "id, guild_id, channel_id, key, body, state, due_at, claimed_at, retry_at, failures"


def _instant(value: Any) -> datetime | None:
    return None if value is None else from_db_instant(str(value))


def _post(row: Sequence[Any]) -> AnnouncementPost:
    return AnnouncementPost(
        id=int(row[0]), guild_id=int(row[1]), channel_id=int(row[2]), key=str(row[3]), body=json.loads(str(row[4])),
        state=row[5], due_at=from_db_instant(str(row[6])), claimed_at=_instant(row[7]), retry_at=_instant(row[8]),
        failures=int(row[9]),
    )  # fmt: skip


class AnnouncementStore:
    """Settings and posts of one platform's servers, on the database gateway."""

    def __init__(self, db: Database, platform: Platform = "discord", shards: ShardFilter | None = None) -> None:
        self.db = db
        self.platform = platform
        self.shards = shards  # the scheduler posts only for the servers of these shards (None: every server)

    async def set(self, guild_id: int, channel_id: int | None, set_by: int | None, at: datetime) -> None:
        """Announce in a channel (the posts waiting move there too), or (None) not at all (they are dropped)."""
        key = (self.platform, guild_id)

        def work(conn: Session) -> None:
            if channel_id is None:
                conn.execute("DELETE FROM recording_announcements WHERE platform = ? AND guild_id = ?", key)
                conn.execute(
                    "UPDATE recording_posts SET state = 'skipped', error = 'announcements were turned off'"
                    " WHERE platform = ? AND guild_id = ? AND state = 'pending'",
                    key,
                )
                return
            conn.execute(
                "INSERT INTO recording_announcements (platform, guild_id, channel_id, set_by, set_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, guild_id) DO UPDATE SET"
                " channel_id = excluded.channel_id, set_by = excluded.set_by, set_at = excluded.set_at",
                (*key, channel_id, set_by, to_db_instant(at)),
            )
            conn.execute(
                "UPDATE recording_posts SET channel_id = ? WHERE platform = ? AND guild_id = ? AND state = 'pending'",
                (channel_id, *key),
            )

        await self.db.write(work)

    async def setting(self, guild_id: int) -> AnnouncementSetting | None:
        """Where the server's announcements go; None when they are off."""
        sql = "SELECT channel_id, set_by, set_at FROM recording_announcements WHERE platform = ? AND guild_id = ?"
        row = await self.db.read(lambda conn: conn.execute(sql, (self.platform, guild_id)).fetchone())
        if row is None:
            return None
        return AnnouncementSetting(
            guild_id, int(row[0]), None if row[1] is None else int(row[1]), from_db_instant(str(row[2]))
        )

    async def waiting(self) -> list[AnnouncementPost]:
        """Every post of the platform waiting to go out."""
        on_shards, shards = shard_sql(self.shards, "guild_id")
        sql = (
            f"SELECT {_POST_COLUMNS} FROM recording_posts"
            f" WHERE platform = ? AND state IN ('pending', 'sending'){on_shards}"
        )
        params = (self.platform, *shards)
        return await self.db.scan(lambda conn: [_post(r) for r in conn.execute(sql, params).fetchall()])

    async def get(self, post_id: int) -> AnnouncementPost | None:
        """One waiting post."""
        on_shards, shards = shard_sql(self.shards, "guild_id")
        sql = (
            f"SELECT {_POST_COLUMNS} FROM recording_posts"
            f" WHERE id = ? AND platform = ? AND state IN ('pending', 'sending'){on_shards}"
        )
        params = (post_id, self.platform, *shards)
        row = await self.db.read(lambda conn: conn.execute(sql, params).fetchone())
        return None if row is None else _post(row)

    async def claim(self, post: AnnouncementPost, at: datetime) -> AnnouncementPost | None:
        """Mark a pending post as sending; None if it is no longer pending."""

        def work(conn: Session) -> Any:
            sql = (
                "UPDATE recording_posts SET state = 'sending', claimed_at = ?"
                f" WHERE {claimable(conn, 'recording_posts', _PENDING)} RETURNING {_POST_COLUMNS}"
            )
            return conn.execute(sql, (to_db_instant(at), post.id)).fetchone()

        row = await self.db.write(work)
        return None if row is None else _post(row)

    async def mark_sent(self, post: AnnouncementPost, message_id: str | None, at: datetime) -> None:
        """The announcement went out."""
        await self._update(
            post, "state = 'sent', sent_at = ?, message_id = ?, retry_at = NULL", to_db_instant(at), message_id
        )

    async def retry(self, post: AnnouncementPost, reason: str, at: datetime, *, release: bool) -> None:
        """Back off until `at`; `release` (nothing was posted) makes it pending again."""
        state = ", state = 'pending'" if release else ""
        await self._update(post, f"failures = failures + 1, retry_at = ?, error = ?{state}", to_db_instant(at), reason)

    async def end(self, post: AnnouncementPost, state: Literal["failed", "skipped"], reason: str) -> None:
        """Give the post up, with the reason."""
        await self._update(post, "state = ?, error = ?, retry_at = NULL", state, reason)

    async def _update(self, post: AnnouncementPost, assignments: str, *params: Any) -> None:
        sql = f"UPDATE recording_posts SET {assignments} WHERE id = ? AND state IN ('pending', 'sending')"
        await self.db.write(lambda conn: conn.execute(sql, (*params, post.id)))


# -- the service ----------------------------------------------------------------------------------------------


class AnnouncementService:
    """Servers' announcement settings, and the announcements of an import; `on_change` wakes the engine."""

    def __init__(self, store: AnnouncementStore, pool: CataloguePool, clock: Clock) -> None:
        self.store = store
        self.pool = pool
        self.clock = clock
        self.on_change: Callable[[], None] | None = None

    async def set(self, guild_id: int, channel_id: int | None, *, set_by: int | None = None) -> None:
        """Announce new recordings in a channel of the server, or (None) stop: off is the default."""
        await self.store.set(guild_id, channel_id, set_by, self.clock.now())
        self._changed()

    async def setting(self, guild_id: int) -> AnnouncementSetting | None:
        """Where the server's announcements go; None when they are off."""
        return await self.store.setting(guild_id)

    async def import_recordings(
        self, data: bytes, filename: str, options: RecordingOptions | None = None, *, dry_run: bool = False
    ) -> tuple[RecordingReport, int]:
        """Import an uploaded list of recordings and plan its announcements in one transaction; report, new rows.

        The links and their announcements are kept together or not at all: a crash after the links were
        written cannot lose the announcements. Every platform's servers are planned (each posts its own).
        """
        recordings = await asyncio.to_thread(read_recordings, data, filename)

        def work(conn: Session) -> tuple[RecordingReport, int]:
            report = apply_recordings(conn, recordings, options, dry_run=dry_run)
            return report, announce_added(conn, report, self.clock.now())

        report, new = await self.store.db.write(work)
        if new:
            self._changed()
        return report, new

    async def recordings_added(self, report: RecordingReport) -> int:
        """Plan the announcements of an import's new recordings (none for a dry run); how many rows were new.

        Every platform's servers are planned (each platform's process posts its own).
        """
        added = _added(report)
        if not added:
            return 0
        db = self.store.db
        version, targets, names = await db.read(_planning)
        if not targets:
            return 0
        pools = {key: await self.pool.at(version, *key) for key in _filters(targets)}
        rows = plan(added, targets, pools, names, self.clock.now())
        new = await db.write(lambda conn: _insert(conn, rows)) if rows else 0
        if new:
            self._changed()
        return new

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()


# -- the engine's kind of job ---------------------------------------------------------------------------------


def nonce_of(post: AnnouncementPost) -> str:
    """The message nonce for a post: the same on every retry; 24 characters (Discord allows 25)."""
    return hashlib.blake2b(f"recordings/{post.id}".encode(), digest_size=12).hexdigest()


class AnnouncementJobs:
    """Announcement posts of one platform on the scheduler's engine; see the module docstring."""

    name = "recordings-post"

    def __init__(self, store: AnnouncementStore, poster: AnnouncementPoster, runtime: Runtime) -> None:
        self._store = store
        self._poster = poster
        self._runtime = runtime
        self._clock = runtime.clock
        self._config = runtime.config

    async def load(self) -> list[AnnouncementPost]:
        """Every post waiting, those the command line wrote while the engine ran too."""
        return await self._store.waiting()

    async def get(self, job_id: int) -> AnnouncementPost | None:
        """One waiting post."""
        return await self._store.get(job_id)

    def later(self, job: AnnouncementPost, at: datetime) -> AnnouncementPost:
        """The post, looked at again at `at`."""
        return replace(job, retry_at=at)

    async def run(self, job: AnnouncementPost) -> AnnouncementPost | None:
        """Send the post, or give it up with a reason."""
        if await self._store.setting(job.guild_id) is None:
            await self._store.end(job, "skipped", "announcements were turned off")
            return None
        fresh = job.state == "pending"
        if not fresh and not self._may_resend(job):
            await self._store.end(
                job, "skipped", "the bot stopped while sending it; not sent again, to avoid a double post"
            )
            return None
        notice = notice_of(job.body)
        if fresh:
            claimed = await self._store.claim(job, self._clock.now())
            if claimed is None:
                return None
            job = claimed
        post = job

        async def send() -> PostResult:
            return await self._poster.announce(post.guild_id, post.channel_id, notice, nonce_of(post))

        try:
            result = await self._runtime.send(
                send,
                deadline=self._clock.now() + self._config.grace,
                still_safe=None if fresh else lambda: self._may_resend(post),
            )
        except PostFailure as failure:
            await self._failed(post, failure, release=fresh and failure.certain)
            return None
        if result is None:
            await self._store.end(post, "skipped", "it may not have gone out; not sent again, to avoid a double post")
            return None
        message = result.message_id
        await self._store.mark_sent(post, None if message is None else str(message), self._clock.now())
        return None

    def _may_resend(self, job: AnnouncementPost) -> bool:
        return job.claimed_at is not None and self._clock.now() - job.claimed_at < self._config.nonce_window

    async def _failed(self, job: AnnouncementPost, failure: PostFailure, *, release: bool) -> None:
        failures = job.failures + 1
        if failures >= self._config.max_failures:
            log.warning("recordings post %s: given up after %d failures: %s", job.id, failures, failure.reason)
            await self._store.end(job, "failed", failure.reason)
            return
        retry_at = self._clock.now() + self._config.retry_delay(failures)
        await self._store.retry(job, failure.reason, retry_at, release=release)
