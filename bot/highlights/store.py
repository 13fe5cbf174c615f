"""Highlight schedules in SQLite: the scheduler's store, and the repository behind the /highlights commands.

The tables are described in bot/data/migrations/0003_schedules.sql (with the language filter of
0005_schedule_language.sql), the guarantees in bot/highlights/ports.py.

Both classes work through the database gateway (bot.db.gateway) and share every query: each is written once,
in a plain function over a connection, and run on the gateway's read path (small reads in place; the pools
and the list of enabled schedules, which grow with the catalogue and the servers, in a worker thread) or its
single write path, where each piece of work is atomic and the writes of many schedules share a transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from bot.catalogue.store import catalogue_version
from bot.db.dialect import for_update, json_values, skips_locked_rows
from bot.db.gateway import Database, Session
from bot.db.shards import ShardFilter, shard_sql
from bot.highlights.clock import SystemClock
from bot.highlights.ports import Attempt, Clock, RotationState, Schedule
from bot.highlights.rotation import Pick, next_talk
from bot.highlights.rules import Cadence, ScheduleError, ScheduleRule, Slot
from bot.search.analysis import Analyzer
from bot.search.topics import TopicTree

log = logging.getLogger(__name__)

ScheduleState = Literal["enabled", "paused", "disabled"]

MANUAL_PREFIX = "now-"  # slot keys of admins' "post now", which never look like a scheduled slot's key
_CADENCES: tuple[Cadence, ...] = ("daily", "weekdays", "weekly")
_STATES: tuple[ScheduleState, ...] = ("enabled", "paused", "disabled")
_POOL_CACHE_SIZE = 1024


def to_db_instant(at: datetime) -> str:
    """An aware instant as stored: UTC, ISO 8601, always with microseconds (so text order is time order)."""
    if at.tzinfo is None:
        raise ValueError("instants stored in the database must be aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_instant(text: str) -> datetime:
    """An instant read back from the database, in UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


def _instant_or_none(value: Any) -> datetime | None:
    return None if value is None else from_db_instant(str(value))


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _rule(local_time: Any, zone: Any, cadence: Any, weekday: Any) -> ScheduleRule:
    if cadence not in _CADENCES:
        raise ValueError(f"unknown cadence {cadence!r}")
    return ScheduleRule(time.fromisoformat(str(local_time)), ZoneInfo(str(zone)), cast(Cadence, cadence), weekday)


# -- the pool ---------------------------------------------------------------------------------------------


PoolKey = tuple[str | None, str | None, str | None]  # (topic, event, language)


@cache
def _analyzer() -> Analyzer:
    """The analyzer that places topics by the vocabulary, as the search engine's does (built once: ~20 ms)."""
    return Analyzer()


def topic_tree(topics: Iterable[Sequence[Any]]) -> TopicTree:
    """The broader and narrower topics among the catalogue's (slug, name) rows."""
    return TopicTree.build(_analyzer(), [(str(slug), str(name)) for slug, name in topics])


def pool_params(
    tree: TopicTree | None, topic: str | None, event: str | None, language: str | None
) -> dict[str, object]:
    """The parameters of `_POOL` for a filter: the topic becomes its family (itself and every narrower topic)."""
    topics = None if topic is None else json.dumps(tree.family(topic) if tree is not None else [topic])
    return {"topics": topics, "event": event, "language": language}


class _Pools:
    """Pools by (topic, event, language) filter, kept until the catalogue's version changes (every import bumps it).

    The topic tree pools are read with is kept the same way: it is built from the catalogue's topics.
    """

    def __init__(self) -> None:
        self._version: int | None = None
        self._cache: dict[PoolKey, tuple[str, ...]] = {}
        self._tree: tuple[int, TopicTree] | None = None

    def get(self, version: int, key: PoolKey) -> tuple[str, ...] | None:
        """The pool remembered for `key` at `version`, if any."""
        if version != self._version:
            self._version, self._cache = version, {}
        return self._cache.get(key)

    def put(self, version: int, key: PoolKey, pool: tuple[str, ...]) -> None:
        """Remember a pool read at `version` (dropped if the catalogue changed meanwhile)."""
        if version != self._version:
            return
        if len(self._cache) >= _POOL_CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = pool

    def tree(self, version: int) -> TopicTree | None:
        """The topic tree read at `version`, if it was."""
        return self._tree[1] if self._tree is not None and self._tree[0] == version else None

    def put_tree(self, version: int, tree: TopicTree) -> None:
        """Remember the topic tree read at `version`."""
        self._tree = (version, tree)


class CataloguePool:
    """The pool of a topic, event and language filter, read from the catalogue; remembered until it changes.

    The topic filter takes in the topic's narrower topics (by the vocabulary's `[[topics]]` groups, as
    search does), the event filter the event's co-located (child) events. Pools, and the topic tree, are
    cached per catalogue version (bumped by every import), so thousands of schedules due at once cost one
    small query each, not a scan of the talks each. A pool not cached is read in a worker thread: at 100,000
    talks it is a scan of them.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pools = _Pools()

    async def __call__(self, topic: str | None, event: str | None, language: str | None = None) -> tuple[str, ...]:
        """The talk slugs in catalogue order (by row id) for the filter."""
        return await self.at(await self.db.read(catalogue_version), topic, event, language)

    async def at(self, version: int, topic: str | None, event: str | None, language: str | None) -> tuple[str, ...]:
        """The pool for the filter at the catalogue's `version` (read by the caller with its other reads)."""
        key = (topic, event, language)
        pool = self._pools.get(version, key)
        if pool is None:
            tree = self._pools.tree(version)
            if topic is not None and tree is None:
                # Once per catalogue version: placing thousands of topics takes a while.
                tree = await self.db.scan(_read_tree)
                self._pools.put_tree(version, tree)
            params = pool_params(tree, topic, event, language)
            pool = await self.db.scan(lambda conn: tuple(str(r[0]) for r in conn.execute(pool_sql(conn), params)))
            self._pools.put(version, key, pool)
        return pool


def pool_sql(conn: Session) -> str:
    """The query of a pool (`_POOL`) in the engine's SQL."""
    return _POOL.format(topics=json_values(conn, ":topics"))


def _read_tree(conn: Session) -> TopicTree:
    return topic_tree(conn.execute(_TOPICS).fetchall())


_TOPICS = "SELECT slug, name FROM topics"
# The talks a (topics, event, language) filter selects, in catalogue order: :topics is a JSON list of topic
# slugs (a topic and its narrower ones), any of which a talk may be filed under; the event takes in its
# co-located events; the language is a talk's ISO 639-1 code.
_POOL = (
    "WITH RECURSIVE family(id) AS ("
    " SELECT id FROM events WHERE slug = :event"
    " UNION SELECT e.id FROM events e JOIN family f ON e.parent_id = f.id)"
    " SELECT t.slug FROM talks t"
    " WHERE (:event IS NULL OR t.event_id IN (SELECT id FROM family))"
    " AND (:topics IS NULL OR EXISTS (SELECT 1 FROM talk_topics tt JOIN topics tp ON tp.id = tt.topic_id"
    " WHERE tt.talk_id = t.id AND tp.slug IN ({topics})))"
    " AND (:language IS NULL OR t.language = :language)"
    " ORDER BY t.id"
)


# -- shared reads and writes --------------------------------------------------------------------------------

# A schedule as the scheduler sees it, with its next slot's attempt when that is left "sending".
_SCHEDULE_COLUMNS = (
    "s.id, s.guild_id, s.channel_id, s.local_time, s.zone, s.cadence, s.weekday, s.next_day, s.next_due,"
    " s.next_key, s.failures, s.retry_at, a.talk, a.round, a.claimed_at"
)
_SCHEDULE_FROM = (
    " FROM schedules s LEFT JOIN schedule_attempts a"
    " ON a.schedule_id = s.id AND a.slot_key = s.next_key AND a.state = 'sending'"
)
_RECORD_COLUMNS = (
    _SCHEDULE_COLUMNS + ", s.topic, s.event, s.state, s.paused_reason, s.created_by, s.created_at,"
    " s.last_post_at, s.last_message_id, s.last_failure, s.last_failure_at,"
    " (SELECT l.talk FROM schedule_attempts l WHERE l.schedule_id = s.id AND l.state = 'sent'"
    " ORDER BY l.sent_at DESC, l.id DESC LIMIT 1), s.language, s.prefer_saved"
)

# The upsert that claims a slot: it takes over only a failed attempt, so of two claims at most one returns
# a row. Selecting from schedules makes a claim on a removed schedule return nothing instead of failing.
# On PostgreSQL the schedule's row is locked for the claim, and a claim another process holds is skipped.
_CLAIM = (
    "INSERT INTO schedule_attempts (schedule_id, slot_key, talk, round, state, claimed_at)"
    " SELECT id, :key, :talk, :round, 'sending', :at FROM schedules WHERE id = :id{condition}{lock}"
    " ON CONFLICT (schedule_id, slot_key) DO UPDATE SET"
    " talk = excluded.talk, round = excluded.round, state = 'sending', claimed_at = excluded.claimed_at,"
    " sent_at = NULL, message_id = NULL, error = NULL"
    " WHERE schedule_attempts.state = 'failed'"
    " RETURNING schedule_id, slot_key, talk, round, claimed_at"
)


def _schedule(row: Sequence[Any]) -> Schedule:
    schedule_id = int(row[0])
    slot = Slot(date.fromisoformat(str(row[7])), from_db_instant(str(row[8])), str(row[9]))
    attempt = None
    if row[12] is not None:
        attempt = Attempt(schedule_id, slot.key, str(row[12]), int(row[13]), from_db_instant(str(row[14])))
    return Schedule(
        id=schedule_id,
        guild_id=int(row[1]),
        channel_id=int(row[2]),
        rule=_rule(row[3], row[4], row[5], row[6]),
        next_slot=slot,
        failures=int(row[10]),
        retry_at=_instant_or_none(row[11]),
        attempt=attempt,
    )


def _slot_values(slot: Slot) -> tuple[str, str, str]:
    return slot.day.isoformat(), to_db_instant(slot.due), slot.key


def _claim_params(schedule_id: int, slot_key: str, pick: Pick, at: datetime) -> dict[str, object]:
    return {"id": schedule_id, "key": slot_key, "talk": pick.talk, "round": pick.round, "at": to_db_instant(at)}


def _attempt(rows: Sequence[Sequence[Any]]) -> Attempt | None:
    """The attempt a claim's RETURNING gave, if any."""
    if not rows:
        return None
    row = rows[0]
    return Attempt(int(row[0]), str(row[1]), str(row[2]), int(row[3]), from_db_instant(str(row[4])))


def _claim(
    conn: Session, schedule_id: int, slot_key: str, pick: Pick, at: datetime, *, enabled_only: bool
) -> Attempt | None:
    condition = " AND state = 'enabled'" if enabled_only else ""
    params = _claim_params(schedule_id, slot_key, pick, at)
    attempt = _attempt(conn.execute(_CLAIM.format(condition=condition, lock=for_update(conn)), params).fetchall())
    if attempt is None and skips_locked_rows(conn) and _locked_by_another(conn, schedule_id, slot_key, condition):
        # The schedule's row was skipped while another transaction held it: not a claim of this slot (none
        # is recorded), so something else wrote the schedule meanwhile (a command, say). Wait for it instead
        # of giving up a slot nobody is posting; a concurrent claim of the same slot still wins once.
        attempt = _attempt(conn.execute(_CLAIM.format(condition=condition, lock=" FOR UPDATE"), params).fetchall())
    return attempt


def _locked_by_another(conn: Session, schedule_id: int, slot_key: str, condition: str) -> bool:
    """After a claim returned nothing on PostgreSQL: whether the schedule is claimable but was locked."""
    claimable = conn.execute(f"SELECT 1 FROM schedules WHERE id = ?{condition}", (schedule_id,)).fetchone()
    taken = conn.execute(
        "SELECT 1 FROM schedule_attempts WHERE schedule_id = ? AND slot_key = ? AND state <> 'failed'",
        (schedule_id, slot_key),
    ).fetchone()
    return claimable is not None and taken is None


# Only sending -> failed; anything else is left alone.
_RELEASE = (
    "UPDATE schedule_attempts SET state = 'failed', error = ?"
    " WHERE schedule_id = ? AND slot_key = ? AND state = 'sending'"
)
_MARK_ATTEMPT_SENT = (
    "UPDATE schedule_attempts SET state = 'sent', sent_at = ?, message_id = ?"
    " WHERE schedule_id = ? AND slot_key = ? AND state = 'sending'"
)


def _warn_unless_marked(rowcount: int, attempt: Attempt) -> None:
    if rowcount == 0:
        log.warning(
            "schedule %s: slot %s was posted but its attempt was no longer sending (removed or already settled)",
            attempt.schedule_id,
            attempt.slot_key,
        )


def _release(conn: Session, attempt: Attempt, reason: str) -> None:
    """Mark a sending attempt failed."""
    conn.execute(_RELEASE, (reason, attempt.schedule_id, attempt.slot_key))


def _mark_attempt_sent(conn: Session, attempt: Attempt, message_id: int | None, at: str) -> None:
    marked = conn.execute(_MARK_ATTEMPT_SENT, (at, message_id, attempt.schedule_id, attempt.slot_key))
    _warn_unless_marked(marked.rowcount, attempt)


_FILTER = (
    "SELECT topic, event, language, prefer_saved, CASE platform WHEN 'slack' THEN"
    " 'slack:' || (SELECT slack_id FROM slack_ids WHERE id = guild_id) ELSE 'discord:' || guild_id END"
    " FROM schedules WHERE id = ?"
)
# How many members saved each talk in a server (bot/data/migrations/0009_reminders.sql: saved_talks_place).
_SAVED_HERE = "SELECT talk, COUNT(*) FROM saved_talks WHERE place = ? GROUP BY talk"


def _round_query(states: str) -> str:
    return (
        "SELECT round, talk FROM schedule_attempts"
        f" WHERE schedule_id = :id AND state IN {states} AND round = ("
        f" SELECT MAX(round) FROM schedule_attempts WHERE schedule_id = :id AND state IN {states})"
    )


# The talks of a schedule's current round: those sent, or (for picking) those sent or being sent.
_CURRENT_ROUND = {False: _round_query("('sent')"), True: _round_query("('sent', 'sending')")}
_LATEST_SENT = (
    "SELECT talk FROM schedule_attempts WHERE schedule_id = ? AND state = 'sent' ORDER BY sent_at DESC, id DESC LIMIT 1"
)


def _rotation_state(
    talks: Sequence[str], current: Sequence[Sequence[Any]], latest: Sequence[Any] | None, saved: dict[str, int]
) -> RotationState:
    return RotationState(
        pool=tuple(talks),
        posted=frozenset(str(r[1]) for r in current),
        round=int(current[0][0]) if current else 0,
        last=str(latest[0]) if latest else None,
        saved=saved,
    )


_RotationRows = tuple[int, tuple[str | None, str | None, str | None], list[Any], Any, dict[str, int]]


def _rotation_rows(conn: Session, schedule_id: int, include_sending: bool) -> _RotationRows | None:
    """The catalogue's version, the schedule's filter, its round's talks, its latest post, and its saved talks.

    The saved talks are how many of its server's members saved each talk, when the schedule prefers those.
    None if the schedule is gone.
    """
    row = conn.execute(_FILTER, (schedule_id,)).fetchone()
    if row is None:
        return None
    current = conn.execute(_CURRENT_ROUND[include_sending], {"id": schedule_id}).fetchall()
    latest = conn.execute(_LATEST_SENT, (schedule_id,)).fetchone()
    filters = (_str_or_none(row[0]), _str_or_none(row[1]), _str_or_none(row[2]))
    saved = {str(t): int(n) for t, n in conn.execute(_SAVED_HERE, (row[4],))} if row[3] and row[4] else {}
    return catalogue_version(conn), filters, current, latest, saved


async def _rotation(db: Database, pool: CataloguePool, schedule_id: int, *, include_sending: bool) -> RotationState:
    """Read on the scan path: the scheduler reads a rotation for every post (see bot.db.gateway)."""
    found = await db.scan(lambda conn: _rotation_rows(conn, schedule_id, include_sending))
    if found is None:
        return RotationState((), frozenset())
    version, (topic, event, language), current, latest, saved = found
    return _rotation_state(await pool.at(version, topic, event, language), current, latest, saved)


# -- the scheduler's store ----------------------------------------------------------------------------------


class SqliteScheduleStore:
    """The ScheduleStore the scheduler runs on, with every guarantee bot.highlights.ports lists.

    It works through the database gateway: its writes go in the write path's batches, so the calls of many
    schedules posting at once share a transaction and a wake-up of the event loop. Every method has returned
    only once its transaction committed. Other writers (the commands' repository, a second process) may write
    meanwhile: SQLite serialises the transactions, and every guarantee holds across them.

    `pause` also counts the failure that caused it (the scheduler pauses only after a failure), so a status
    reads "paused after 5 failures". Times the protocol does not pass in (when a post was sent, when a failure
    happened) come from `clock`. `pool` is shared with the commands' repository when they are built together.
    """

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock | None = None,
        pool: CataloguePool | None = None,
        platform: str = "discord",
        shards: ShardFilter | None = None,
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.pool = pool or CataloguePool(db)
        self.platform = platform  # the chat platform whose schedules it loads
        self.shards = shards  # only the servers of these shards (None: every server)

    async def list_enabled(self) -> list[Schedule]:
        """Every enabled schedule, in one query; a row that cannot be read is logged and left out."""
        on_shards, shards = shard_sql(self.shards, "s.guild_id")
        sql = (
            f"SELECT {_SCHEDULE_COLUMNS}{_SCHEDULE_FROM} WHERE s.state = 'enabled' AND s.platform = ?{on_shards}"
            " ORDER BY s.id"
        )
        rows = await self.db.scan(lambda conn: conn.execute(sql, (self.platform, *shards)).fetchall())
        schedules = []
        for row in rows:
            try:
                schedules.append(_schedule(row))
            except (ValueError, KeyError, ScheduleError):  # ZoneInfoNotFoundError is a KeyError
                log.exception("schedule %s: its stored rule cannot be read; it will not post", row[0])
        return schedules

    async def get(self, schedule_id: int) -> Schedule | None:
        """One enabled schedule, or None if it is gone, paused or disabled."""
        on_shards, shards = shard_sql(self.shards, "s.guild_id")
        sql = (
            f"SELECT {_SCHEDULE_COLUMNS}{_SCHEDULE_FROM} WHERE s.id = ? AND s.state = 'enabled' AND s.platform = ?"
            f"{on_shards}"
        )
        row = await self.db.read(lambda conn: conn.execute(sql, (schedule_id, self.platform, *shards)).fetchone())
        return None if row is None else _schedule(row)

    async def rotation(self, schedule_id: int) -> RotationState:
        """The schedule's pool (its topic, event and language filter over the catalogue), round and posted talks.

        A talk still being sent counts as posted, so a concurrent `/highlights now` cannot pick it too.
        """
        return await _rotation(self.db, self.pool, schedule_id, include_sending=True)

    async def claim(self, schedule_id: int, slot: Slot, pick: Pick, at: datetime) -> Attempt | None:
        """Record a sending attempt, in one upsert; None if the slot is sending or sent, or the schedule not enabled."""
        return await self.db.write(lambda conn: _claim(conn, schedule_id, slot.key, pick, at, enabled_only=True))

    async def mark_sent(self, attempt: Attempt, message_id: int | None, next_slot: Slot) -> None:
        """Record the post, which counts its talk in its round, and move on to `next_slot`: one transaction."""
        now = to_db_instant(self.clock.now())

        def work(conn: Session) -> None:
            _mark_attempt_sent(conn, attempt, message_id, now)
            conn.execute(
                "UPDATE schedules SET next_day = ?, next_due = ?, next_key = ?, failures = 0, retry_at = NULL,"
                " last_post_at = ?, last_message_id = ? WHERE id = ?",
                (*_slot_values(next_slot), now, message_id, attempt.schedule_id),
            )

        await self.db.write(work)

    async def mark_failed(
        self, schedule_id: int, reason: str, retry_at: datetime, *, release: Attempt | None = None
    ) -> None:
        """Count a failure, keep its reason, retry at `retry_at`; a released attempt may be claimed again."""
        params = (to_db_instant(retry_at), reason, to_db_instant(self.clock.now()), schedule_id)
        await self.db.write(
            lambda conn: self._failed(
                conn,
                release,
                reason,
                "UPDATE schedules SET failures = failures + 1, retry_at = ?, last_failure = ?, last_failure_at = ?"
                " WHERE id = ?",
                params,
            )
        )

    async def pause(self, schedule_id: int, reason: str, *, release: Attempt | None = None) -> None:
        """Pause after a failure, keeping the reason; `release` as for mark_failed."""
        params = (reason, reason, to_db_instant(self.clock.now()), schedule_id)
        await self.db.write(
            lambda conn: self._failed(
                conn,
                release,
                reason,
                "UPDATE schedules SET state = 'paused', paused_reason = ?, failures = failures + 1, retry_at = NULL,"
                " last_failure = ?, last_failure_at = ? WHERE id = ?",
                params,
            )
        )

    @staticmethod
    def _failed(conn: Session, release: Attempt | None, reason: str, sql: str, params: Sequence[object]) -> None:
        if release is not None:
            _release(conn, release, reason)
        conn.execute(sql, params)

    async def advance(self, schedule_id: int, next_slot: Slot, *, skipped: str | None = None) -> None:
        """Move past the current slot without posting it, keeping the failure count; `skipped` shows in status."""
        params = dict(zip(("day", "due", "key"), _slot_values(next_slot), strict=True)) | {
            "skipped": skipped,
            "at": to_db_instant(self.clock.now()),
            "id": schedule_id,
        }
        await self.db.write(
            lambda conn: conn.execute(
                "UPDATE schedules SET next_day = :day, next_due = :due, next_key = :key, retry_at = NULL,"
                " last_failure = COALESCE(:skipped, last_failure),"
                " last_failure_at = CASE WHEN :skipped IS NULL THEN last_failure_at ELSE :at END WHERE id = :id",
                params,
            )
        )


# -- the commands' repository -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """Everything stored about one schedule, for the commands that list, show and change schedules."""

    id: int
    guild_id: int
    channel_id: int
    rule: ScheduleRule
    topic: str | None  # slug; takes in its narrower topics
    event: str | None  # slug; takes in its co-located events
    state: ScheduleState
    paused_reason: str | None
    failures: int
    retry_at: datetime | None
    next_slot: Slot
    created_by: int | None
    created_at: datetime
    last_post_at: datetime | None = None
    last_message_id: int | None = None
    last_talk: str | None = None  # slug of the talk posted most recently
    last_failure: str | None = None
    last_failure_at: datetime | None = None
    pending: Attempt | None = None  # next slot's attempt when left "sending"
    language: str | None = None  # ISO 639-1 code: only talks given in it
    prefer_saved: bool = True  # posts the talks its server's members saved most first

    def as_schedule(self) -> Schedule:
        """The schedule as the scheduler and the poster see it."""
        return Schedule(
            self.id,
            self.guild_id,
            self.channel_id,
            self.rule,
            self.next_slot,
            self.failures,
            self.retry_at,
            self.pending,
        )


def _record(row: Sequence[Any]) -> ScheduleRecord:
    schedule = _schedule(row)
    state = str(row[17])
    if state not in _STATES:
        raise ValueError(f"unknown schedule state {state!r}")
    return ScheduleRecord(
        id=schedule.id,
        guild_id=schedule.guild_id,
        channel_id=schedule.channel_id,
        rule=schedule.rule,
        topic=_str_or_none(row[15]),
        event=_str_or_none(row[16]),
        state=state,
        paused_reason=_str_or_none(row[18]),
        failures=schedule.failures,
        retry_at=schedule.retry_at,
        next_slot=schedule.next_slot,
        created_by=_int_or_none(row[19]),
        created_at=from_db_instant(str(row[20])),
        last_post_at=_instant_or_none(row[21]),
        last_message_id=_int_or_none(row[22]),
        last_failure=_str_or_none(row[23]),
        last_failure_at=_instant_or_none(row[24]),
        last_talk=_str_or_none(row[25]),
        pending=schedule.attempt,
        language=_str_or_none(row[26]),
        prefer_saved=bool(row[27]),
    )


def adhoc_seed(scope: str, topic: str | None, event: str | None, language: str | None = None) -> int:
    """The rotation seed of an ad-hoc pool: stable, and different for each place and filter.

    Without a language it is what it was before languages, so existing rotations keep their order.
    """
    key = f"{scope}\x1f{topic or ''}\x1f{event or ''}" + (f"\x1f{language}" if language else "")
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")


class ScheduleRepository:
    """Adding, listing and changing schedules for the /highlights commands, and the picks of /highlight.

    Methods taking a `guild_id` see only that server's (or Slack workspace's) schedules on the repository's
    platform: another server's schedule is not found.
    """

    def __init__(self, db: Database, pool: CataloguePool | None = None, *, platform: str = "discord") -> None:
        self.db = db
        self.pool = pool or CataloguePool(db)
        self.platform = platform

    async def add(
        self,
        guild_id: int,
        channel_id: int,
        rule: ScheduleRule,
        next_slot: Slot,
        *,
        topic: str | None = None,
        event: str | None = None,
        language: str | None = None,
        created_by: int | None = None,
        now: datetime,
    ) -> ScheduleRecord:
        """Store a new, enabled schedule whose next slot is `next_slot`; its id is never used again."""
        if rule.at.second or rule.at.microsecond:
            raise ValueError("schedules post at whole minutes")
        values = (
            guild_id,
            channel_id,
            rule.at.strftime("%H:%M"),
            rule.zone.key,
            rule.cadence,
            rule.weekday,
            topic,
            event,
            language,
            *_slot_values(next_slot),
            created_by,
            to_db_instant(now),
            self.platform,
        )
        row = await self.db.write(
            lambda conn: conn.execute(
                "INSERT INTO schedules (guild_id, channel_id, local_time, zone, cadence, weekday, topic, event,"
                " language, next_day, next_due, next_key, created_by, created_at, platform)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                values,
            ).fetchone()
        )
        found = await self.get(guild_id, int(row[0]))
        assert found is not None  # noqa: S101 - just inserted
        return found

    async def get(self, guild_id: int, schedule_id: int) -> ScheduleRecord | None:
        """One of the server's schedules, whatever its state."""
        sql = f"SELECT {_RECORD_COLUMNS}{_SCHEDULE_FROM} WHERE s.id = ? AND s.guild_id = ? AND s.platform = ?"
        row = await self.db.read(lambda conn: conn.execute(sql, (schedule_id, guild_id, self.platform)).fetchone())
        return None if row is None else _record(row)

    async def list_for_guild(self, guild_id: int) -> list[ScheduleRecord]:
        """The server's schedules, oldest first."""
        sql = f"SELECT {_RECORD_COLUMNS}{_SCHEDULE_FROM} WHERE s.guild_id = ? AND s.platform = ? ORDER BY s.id"
        rows = await self.db.read(lambda conn: conn.execute(sql, (guild_id, self.platform)).fetchall())
        return [_record(row) for row in rows]

    async def set_prefer_saved(self, guild_id: int, schedule_id: int, on: bool) -> bool:
        """Switch whether the schedule posts its server's most saved talks first; False if it is not theirs."""
        sql = "UPDATE schedules SET prefer_saved = ? WHERE id = ? AND guild_id = ? AND platform = ?"
        params = (int(on), schedule_id, guild_id, self.platform)
        return bool(await self.db.write(lambda conn: conn.execute(sql, params).rowcount))

    async def count_for_guild(self, guild_id: int) -> int:
        """How many schedules the server has, in any state."""
        sql = "SELECT COUNT(*) FROM schedules WHERE guild_id = ? AND platform = ?"
        row = await self.db.read(lambda conn: conn.execute(sql, (guild_id, self.platform)).fetchone())
        return int(row[0]) if row else 0

    async def pause(self, guild_id: int, schedule_id: int, reason: str) -> bool:
        """Pause an enabled schedule with a reason; False if the server has no such enabled schedule."""
        return await self._update(
            "UPDATE schedules SET state = 'paused', paused_reason = ?, retry_at = NULL"
            " WHERE id = ? AND guild_id = ? AND platform = ? AND state = 'enabled'",
            (reason, schedule_id, guild_id, self.platform),
        )

    async def resume(self, guild_id: int, schedule_id: int, next_slot: Slot) -> bool:
        """Enable a paused or disabled schedule from `next_slot`, clearing failures; False if there is none.

        A schedule that is enabled but failing keeps its slot and is retried at once, its failures forgotten.
        """
        day, due, key = _slot_values(next_slot)
        # SET expressions read the row as it was, so `state` below is the state before this update.
        return await self._update(
            "UPDATE schedules SET state = 'enabled', paused_reason = NULL, failures = 0, retry_at = NULL,"
            " next_day = CASE WHEN state = 'enabled' THEN next_day ELSE ? END,"
            " next_due = CASE WHEN state = 'enabled' THEN next_due ELSE ? END,"
            " next_key = CASE WHEN state = 'enabled' THEN next_key ELSE ? END"
            " WHERE id = ? AND guild_id = ? AND platform = ? AND (state != 'enabled' OR failures > 0)",
            (day, due, key, schedule_id, guild_id, self.platform),
        )

    async def remove(self, guild_id: int, schedule_id: int) -> bool:
        """Delete a schedule and its attempts; False if the server has no such schedule."""
        return await self._update(
            "DELETE FROM schedules WHERE id = ? AND guild_id = ? AND platform = ?",
            (schedule_id, guild_id, self.platform),
        )

    async def disable_guild(self, guild_id: int, reason: str) -> list[int]:
        """Switch off the server's enabled schedules (the bot left it); the ids switched off."""
        rows = await self.db.write(
            lambda conn: conn.execute(
                "UPDATE schedules SET state = 'disabled', paused_reason = ?, retry_at = NULL"
                " WHERE guild_id = ? AND platform = ? AND state = 'enabled' RETURNING id",
                (reason, guild_id, self.platform),
            ).fetchall()
        )
        return sorted(int(row[0]) for row in rows)

    async def _update(self, sql: str, params: Sequence[object]) -> bool:
        return await self.db.write(lambda conn: conn.execute(sql, params).rowcount > 0)

    # -- rotation and manual posts ---------------------------------------------------------------------------

    async def rotation(self, schedule_id: int, *, include_sending: bool = False) -> RotationState:
        """The schedule's rotation as the scheduler sees it; `include_sending` also counts posts in flight."""
        return await _rotation(self.db, self.pool, schedule_id, include_sending=include_sending)

    async def claim_manual(self, schedule_id: int, request_key: str, pick: Pick, at: datetime) -> Attempt | None:
        """Claim an admin's "post now" under its own slot key; None if that request was already claimed."""
        key = MANUAL_PREFIX + request_key
        return await self.db.write(lambda conn: _claim(conn, schedule_id, key, pick, at, enabled_only=False))

    async def mark_manual_sent(self, attempt: Attempt, message_id: int | None, at: datetime) -> None:
        """Record a "post now" as sent: it counts in the rotation; the schedule's next slot stays."""
        when = to_db_instant(at)

        def work(conn: Session) -> None:
            _mark_attempt_sent(conn, attempt, message_id, when)
            conn.execute(
                "UPDATE schedules SET last_post_at = ?, last_message_id = ? WHERE id = ?",
                (when, message_id, attempt.schedule_id),
            )

        await self.db.write(work)

    async def mark_manual_failed(self, attempt: Attempt, reason: str, at: datetime, *, release: bool) -> None:
        """Keep a failed "post now"'s reason; `release` when the send surely made no message."""

        def work(conn: Session) -> None:
            if release:
                _release(conn, attempt, reason)
            conn.execute(
                "UPDATE schedules SET last_failure = ?, last_failure_at = ? WHERE id = ?",
                (reason, to_db_instant(at), attempt.schedule_id),
            )

        await self.db.write(work)

    # -- /highlight -----------------------------------------------------------------------------------------

    async def pick_adhoc(
        self,
        scope: str,
        topic: str | None,
        event: str | None,
        pool: Sequence[str],
        at: datetime,
        *,
        language: str | None = None,
    ) -> Pick | None:
        """Pick and record the next talk of `scope`'s rotation over `pool`; None for an empty pool.

        Each (scope, topic, event, language) has a rotation of its own. Reading the round and recording the
        pick happen in one piece of write work, so two requests at once in the same place never get the same
        talk within a round. A new round deletes the older rounds' picks.
        """
        where = "scope = ? AND topic = ? AND event = ? AND language = ?"
        params = (scope, topic or "", event or "", language or "")
        seed = adhoc_seed(scope, topic, event, language)

        def work(conn: Session) -> Pick | None:
            current = conn.execute(
                f"SELECT round, talk FROM adhoc_picks WHERE {where} AND round = ("
                f" SELECT MAX(round) FROM adhoc_picks WHERE {where}) ORDER BY id",
                params * 2,
            ).fetchall()
            round_ = int(current[0][0]) if current else 0
            last = str(current[-1][1]) if current else None
            pick = next_talk(pool, {str(r[1]) for r in current}, round_, seed, last)
            if pick is None:
                return None
            if current and pick.round > round_:
                conn.execute(f"DELETE FROM adhoc_picks WHERE {where}", params)
            conn.execute(
                "INSERT INTO adhoc_picks (scope, topic, event, language, talk, round, picked_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*params, pick.talk, pick.round, to_db_instant(at)),
            )
            return pick

        return await self.db.write(work)
