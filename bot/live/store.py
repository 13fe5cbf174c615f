"""Live mode's tables on the database gateway (bot/data/migrations/0012_live.sql).

Setups (which event a server follows live, where its notices go), rooms' own channels, and the posts: every
notice is a row first ("pending"), claimed ("sending") before it goes out and marked "sent" after, under a
unique key, so each is posted once and only once whatever restarts happen (bot/highlights/ports.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bot.db.dialect import claimable
from bot.db.gateway import Database, Session
from bot.db.shards import ShardFilter, shard_sql
from bot.highlights.store import from_db_instant, to_db_instant

_PENDING = "id = ? AND state = 'pending'"  # what a claim takes: this row, if no one has yet

PostKind = Literal["next", "change"]
PostState = Literal["pending", "sending", "sent", "failed", "skipped"]
Platform = Literal["discord", "slack"]


@dataclass(frozen=True, slots=True)
class LiveSetup:
    """A server following an event live."""

    id: int
    platform: Platform
    guild_id: int
    channel_id: int
    changes_channel_id: int | None
    event: str
    lead_minutes: int
    state: str
    rooms: dict[str, int]  # a room's own channel
    failures: int = 0
    last_failure: str | None = None
    created_at: datetime | None = None

    @property
    def changes_channel(self) -> int:
        """Where change notices go."""
        return self.changes_channel_id or self.channel_id

    def channel_for(self, room: str | None) -> int:
        """Where a talk in `room` is announced."""
        return self.rooms.get(room or "", self.channel_id)


@dataclass(frozen=True, slots=True)
class LivePost:
    """A notice to post: `due` is when the engine should next look at it."""

    id: int
    setup_id: int
    channel_id: int
    kind: PostKind
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


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    """One poll's changes to a followed event, as recorded in its transaction (`changes`: JSON)."""

    id: int
    event: str
    changes: str
    found_at: datetime


_SETUP_COLUMNS = (
    "id, platform, guild_id, channel_id, changes_channel_id, event, lead_minutes, state, failures, last_failure,"
    " created_at"
)
_POST_COLUMNS = (
    "p.id, p.setup_id, p.channel_id, p.kind, p.key, p.body, p.state, p.due_at, p.claimed_at, p.retry_at, p.failures"
)


def _setup(conn: Session, row: Sequence[Any]) -> LiveSetup:
    found = conn.execute("SELECT room, channel_id FROM live_rooms WHERE setup_id = ?", (row[0],))
    rooms = {str(room): int(channel) for room, channel in found}
    return LiveSetup(
        id=int(row[0]), platform=row[1], guild_id=int(row[2]), channel_id=int(row[3]),
        changes_channel_id=None if row[4] is None else int(row[4]), event=str(row[5]), lead_minutes=int(row[6]),
        state=str(row[7]), rooms=rooms, failures=int(row[8]), last_failure=row[9], created_at=_instant(row[10]),
    )  # fmt: skip


def _instant(value: Any) -> datetime | None:
    return None if value is None else from_db_instant(str(value))


def _post(row: Sequence[Any]) -> LivePost:
    return LivePost(
        id=int(row[0]), setup_id=int(row[1]), channel_id=int(row[2]), kind=row[3], key=str(row[4]),
        body=json.loads(str(row[5])), state=row[6], due_at=from_db_instant(str(row[7])),
        claimed_at=_instant(row[8]), retry_at=_instant(row[9]), failures=int(row[10]),
    )  # fmt: skip


class LiveStore:
    """Setups, rooms and posts; `platform` and `shards` limit what the scheduler loads to its own process's."""

    def __init__(self, db: Database, platform: Platform = "discord", shards: ShardFilter | None = None) -> None:
        self.db = db
        self.platform = platform
        self.shards = shards  # the scheduler's posts only for the servers of these shards (None: every server)

    # -- setups ------------------------------------------------------------------------------------------------

    async def add_setup(
        self,
        guild_id: int,
        channel_id: int,
        event: str,
        lead_minutes: int,
        changes_channel_id: int | None,
        created_by: int | None,
        at: datetime,
    ) -> LiveSetup:
        """Follow `event` live in a server, or change how (one setup per server and event)."""

        def work(conn: Session) -> LiveSetup:
            row = conn.execute(
                "INSERT INTO live_setups (platform, guild_id, channel_id, changes_channel_id, event, lead_minutes,"
                " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (platform, guild_id, event) DO UPDATE SET channel_id = excluded.channel_id,"
                " changes_channel_id = excluded.changes_channel_id, lead_minutes = excluded.lead_minutes,"
                " state = 'enabled', failures = 0, retry_at = NULL"
                f" RETURNING {_SETUP_COLUMNS}",
                (self.platform, guild_id, channel_id, changes_channel_id, event, lead_minutes, created_by,
                 to_db_instant(at)),
            ).fetchone()  # fmt: skip
            # Notices planned for the old channel and lead are planned again for the new ones.
            conn.execute("DELETE FROM live_posts WHERE setup_id = ? AND state = 'pending'", (row[0],))
            return _setup(conn, row)

        return await self.db.write(work)

    async def set_room(self, setup_id: int, room: str, channel_id: int | None) -> None:
        """Give a room its own channel for notices, or (None) send its notices to the setup's channel again."""

        def work(conn: Session) -> None:
            if channel_id is None:
                conn.execute("DELETE FROM live_rooms WHERE setup_id = ? AND room = ?", (setup_id, room))
            else:
                conn.execute(
                    "INSERT INTO live_rooms (setup_id, room, channel_id) VALUES (?, ?, ?)"
                    " ON CONFLICT (setup_id, room) DO UPDATE SET channel_id = excluded.channel_id",
                    (setup_id, room, channel_id),
                )
            conn.execute("DELETE FROM live_posts WHERE setup_id = ? AND state = 'pending'", (setup_id,))

        await self.db.write(work)

    async def setups(self, guild_id: int | None = None) -> list[LiveSetup]:
        """The platform's setups (of one server when given)."""
        where, params = "WHERE platform = ?", list[object]([self.platform])
        if guild_id is not None:
            where, params = where + " AND guild_id = ?", [*params, guild_id]

        def work(conn: Session) -> list[LiveSetup]:
            rows = conn.execute(f"SELECT {_SETUP_COLUMNS} FROM live_setups {where} ORDER BY id", params).fetchall()
            return [_setup(conn, row) for row in rows]

        return await self.db.read(work)

    async def setup(self, setup_id: int) -> LiveSetup | None:
        """One setup of the platform."""

        def work(conn: Session) -> LiveSetup | None:
            row = conn.execute(
                f"SELECT {_SETUP_COLUMNS} FROM live_setups WHERE id = ? AND platform = ?", (setup_id, self.platform)
            ).fetchone()
            return None if row is None else _setup(conn, row)

        return await self.db.read(work)

    async def remove_setup(self, guild_id: int, event: str) -> bool:
        """Stop following an event live in a server (its notices waiting are dropped)."""
        sql = "DELETE FROM live_setups WHERE platform = ? AND guild_id = ? AND event = ?"
        return bool(await self.db.write(lambda conn: conn.execute(sql, (self.platform, guild_id, event)).rowcount))

    # -- programme changes (written by the polls: bot.live.follow) ----------------------------------------------

    async def change_batches(self, limit: int = 100) -> list[ChangeBatch]:
        """The programme changes this platform has not turned into notices yet, oldest first."""

        def work(conn: Session) -> list[ChangeBatch]:
            row = conn.execute("SELECT last_id FROM programme_change_cursors WHERE platform = ?", (self.platform,))
            cursor = row.fetchone()
            after = int(cursor[0]) if cursor else 0
            found = conn.execute(
                "SELECT id, event, changes, found_at FROM programme_changes WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit),
            )
            return [ChangeBatch(int(i), str(e), str(c), from_db_instant(str(at))) for i, e, c, at in found]

        return await self.db.read(work)

    async def changes_told(self, batch_id: int) -> None:
        """Move this platform's cursor past `batch_id`: its notices are planned."""
        await self.db.write(
            lambda conn: conn.execute(
                "INSERT INTO programme_change_cursors (platform, last_id) VALUES (?, ?) ON CONFLICT (platform)"
                " DO UPDATE SET last_id = max(last_id, excluded.last_id)",
                (self.platform, batch_id),
            )
        )

    # -- posts ---------------------------------------------------------------------------------------------------

    async def plan(self, setup_id: int, posts: Sequence[tuple[int, PostKind, str, dict[str, Any], datetime]]) -> int:
        """Add posts (channel, kind, key, body, due) unless a post with that key exists; how many were new."""
        rows = [(setup_id, c, k, key, json.dumps(body), to_db_instant(due)) for c, k, key, body, due in posts]

        def work(conn: Session) -> int:
            return int(
                conn.executemany(
                    "INSERT INTO live_posts (setup_id, channel_id, kind, key, body, state, due_at)"
                    " VALUES (?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING",
                    rows,
                ).rowcount
            )

        return await self.db.write(work) if rows else 0

    async def announced(self, setup_id: int) -> dict[str, dict[str, Any]]:
        """What the setup's sent (or sending) "next" notices announced, by talk: {slug: {start, room, channel}}."""

        def work(conn: Session) -> dict[str, dict[str, Any]]:
            found: dict[str, dict[str, Any]] = {}
            for channel, body in conn.execute(
                "SELECT channel_id, body FROM live_posts WHERE setup_id = ? AND kind = 'next'"
                " AND state IN ('sending', 'sent') ORDER BY id",
                (setup_id,),
            ):
                for talk in json.loads(str(body)).get("talks", []):
                    found[str(talk["slug"])] = {**talk, "channel": int(channel)}
            return found

        return await self.db.read(work)

    def _waiting_sql(self) -> tuple[str, tuple[Any, ...]]:
        on_shards, shards = shard_sql(self.shards, "s.guild_id")
        sql = (
            f"SELECT {_POST_COLUMNS} FROM live_posts p JOIN live_setups s ON s.id = p.setup_id"
            f" WHERE p.state IN ('pending', 'sending') AND s.state = 'enabled' AND s.platform = ?{on_shards}"
        )
        return sql, (self.platform, *shards)

    async def waiting(self) -> list[LivePost]:
        """Every post waiting to go out, of the platform's enabled setups (on the store's shards)."""
        sql, params = self._waiting_sql()
        return await self.db.scan(lambda conn: [_post(r) for r in conn.execute(sql, params).fetchall()])

    async def get(self, post_id: int) -> LivePost | None:
        """One waiting post (of a setup on the store's shards)."""
        sql, params = self._waiting_sql()
        row = await self.db.read(lambda conn: conn.execute(sql + " AND p.id = ?", (*params, post_id)).fetchone())
        return None if row is None else _post(row)

    async def claim(self, post: LivePost, body: dict[str, Any], at: datetime) -> LivePost | None:
        """Mark a pending post as sending with what it will say; None if it is no longer pending."""

        def work(conn: Session) -> LivePost | None:
            row = conn.execute(
                "UPDATE live_posts SET state = 'sending', claimed_at = ?, body = ?"
                f" WHERE {claimable(conn, 'live_posts', _PENDING)}"
                f" RETURNING {_POST_COLUMNS.replace('p.', '')}",
                (to_db_instant(at), json.dumps(body), post.id),
            ).fetchone()
            return None if row is None else _post(row)

        return await self.db.write(work)

    async def mark_sent(self, post: LivePost, message_id: str | None, at: datetime) -> None:
        """The notice went out."""
        sent = to_db_instant(at)
        await self._update(post, "state = 'sent', sent_at = ?, message_id = ?, retry_at = NULL", sent, message_id)

    async def retry(self, post: LivePost, reason: str, at: datetime, *, release: bool) -> None:
        """Back off until `at`; `release` (nothing was posted) makes it pending again."""
        state = ", state = 'pending'" if release else ""
        await self._update(post, f"failures = failures + 1, retry_at = ?, error = ?{state}", to_db_instant(at), reason)

    async def end(self, post: LivePost, state: Literal["failed", "skipped"], reason: str) -> None:
        """Give the post up, with the reason."""
        await self._update(post, "state = ?, error = ?, retry_at = NULL", state, reason)

    async def _update(self, post: LivePost, assignments: str, *params: Any) -> None:
        sql = f"UPDATE live_posts SET {assignments} WHERE id = ? AND state IN ('pending', 'sending')"
        await self.db.write(lambda conn: conn.execute(sql, (*params, post.id)))

    async def recent(self, setup_id: int, limit: int = 5) -> list[tuple[str, str, str, str | None]]:
        """The setup's latest posts: (kind, due, state, error), newest first, for /live status."""
        sql = (
            "SELECT kind, due_at, state, error FROM live_posts"
            " WHERE setup_id = ? AND state NOT IN ('pending', 'sending') ORDER BY due_at DESC, id DESC LIMIT ?"
        )
        rows = await self.db.read(lambda conn: conn.execute(sql, (setup_id, limit)).fetchall())
        return [(str(k), str(d), str(s), e) for k, d, s, e in rows]
