"""Members' watch lists and settings in SQLite (tables in bot/data/migrations/0008_watchlist.sql).

Every query is written once, in a plain function over a connection, and run through the database gateway
(bot.db.gateway): a page of a list and a member's settings are small reads in place; a member's whole list (an
export, the seeds of a recommendation) is read in the reader thread; every change is one piece of write work.
Every method takes the member key and touches only that member's rows, except `saved_counts`, which counts
across members and returns nothing else.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from bot.db.dialect import json_values
from bot.db.gateway import Database, Session
from bot.errors import UserFacingError
from bot.highlights.store import from_db_instant, to_db_instant

State = Literal["all", "unwatched", "watched"]
STATES: tuple[State, ...] = ("all", "unwatched", "watched")
MAX_SAVED = 500  # talks on one member's list: enough to plan years of watching, and a bound on every read of it


class WatchlistFull(UserFacingError):
    """The member's list holds `MAX_SAVED` talks already."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a list shows of a talk, copied from the catalogue when it is saved."""

    slug: str
    title: str
    event_name: str
    event_slug: str
    date: date | None
    recording_url: str | None


@dataclass(frozen=True, slots=True)
class StoredTalk:
    """A row of a member's list: its snapshot, when it was saved and watched, and the talk's row while it is there."""

    snapshot: Snapshot
    saved_at: datetime
    watched_at: datetime | None
    talk_id: int | None  # the catalogue's row id; None when an import removed the talk


@dataclass(frozen=True, slots=True)
class Removed:
    """How many rows forgetting a member deleted, table by table."""

    saved: int
    settings: int
    reminders: int
    picks: int = 0


# A member's rows, with the catalogue's row id of each talk when it is still there. Newest saved first; the
# row id breaks ties (saved_talks_member is ordered by (member, saved_at, rowid), so no sort is needed).
_ROWS = (
    "SELECT s.talk, s.title, s.event_name, s.event_slug, s.date, s.recording_url, s.saved_at, s.watched_at, t.id"
    " FROM saved_talks s LEFT JOIN talks t ON t.slug = s.talk"
)
_OF_MEMBER = " WHERE s.member = :member AND (:state = 'all' OR (s.watched_at IS NOT NULL) = (:state = 'watched'))"
_NEWEST_FIRST = " ORDER BY s.saved_at DESC, s.id DESC"
_ONE = _ROWS + " WHERE s.member = ? AND s.talk = ?"
# Each count reads a range of saved_talks_member_watched alone (a list of 5,000 talks: 0.4 ms, where a count
# through _OF_MEMBER read every row from the table for its watched_at: 3 ms).
_COUNTS: dict[State, str] = {
    "all": "SELECT COUNT(*) FROM saved_talks WHERE member = :member",
    "unwatched": "SELECT COUNT(*) FROM saved_talks WHERE member = :member AND watched_at IS NULL",
    "watched": "SELECT COUNT(*) FROM saved_talks WHERE member = :member AND watched_at IS NOT NULL",
}


def _stored(row: Sequence[Any]) -> StoredTalk:
    slug, title, event_name, event_slug, day, recording_url, saved_at, watched_at, talk_id = row
    return StoredTalk(
        Snapshot(
            slug=str(slug),
            title=str(title),
            event_name=str(event_name),
            event_slug=str(event_slug),
            date=date.fromisoformat(str(day)) if day else None,
            recording_url=str(recording_url) if recording_url else None,
        ),
        saved_at=from_db_instant(str(saved_at)),
        watched_at=None if watched_at is None else from_db_instant(str(watched_at)),
        talk_id=None if talk_id is None else int(talk_id),
    )


def _page(conn: Session, member: str, state: State, offset: int, limit: int) -> tuple[int, list[StoredTalk]]:
    params = {"member": member, "state": state, "offset": offset, "limit": limit}
    total = int(conn.execute(_COUNTS[state], params).fetchone()[0])
    rows = conn.execute(_ROWS + _OF_MEMBER + _NEWEST_FIRST + " LIMIT :limit OFFSET :offset", params).fetchall()
    return total, [_stored(row) for row in rows]


class WatchlistStore:
    """The watch list tables on the database gateway; see the module docstring."""

    def __init__(self, db: Database, *, max_saved: int = MAX_SAVED) -> None:
        self.db = db
        self.max_saved = max_saved

    # -- saved talks ---------------------------------------------------------------------------------------

    async def save(
        self, member: str, talk: Snapshot, at: datetime, *, place: str | None = None
    ) -> tuple[StoredTalk, bool]:
        """Put a talk on the member's list; True if it is new there.

        Saving a talk already on the list refreshes its snapshot and keeps when it was saved and watched.
        Raises WatchlistFull when a new talk would go past `max_saved`.
        """
        day = None if talk.date is None else talk.date.isoformat()
        values = (talk.title, talk.event_name, talk.event_slug, day, talk.recording_url)
        saved_at = to_db_instant(at)

        def work(conn: Session) -> tuple[StoredTalk, bool]:
            updated = conn.execute(
                "UPDATE saved_talks SET title = ?, event_name = ?, event_slug = ?, date = ?, recording_url = ?,"
                " place = COALESCE(place, ?) WHERE member = ? AND talk = ?",
                (*values, place, member, talk.slug),
            ).rowcount
            if not updated:
                held = int(conn.execute("SELECT COUNT(*) FROM saved_talks WHERE member = ?", (member,)).fetchone()[0])
                if held >= self.max_saved:
                    raise WatchlistFull(
                        f"Your watch list is full ({self.max_saved} talks): remove some, or mark them watched and "
                        "remove them, before saving more."
                    )
                conn.execute(
                    "INSERT INTO saved_talks (member, talk, title, event_name, event_slug, date, recording_url,"
                    " saved_at, place) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (member, talk.slug, *values, saved_at, place),
                )
            return _stored(conn.execute(_ONE, (member, talk.slug)).fetchone()), not updated

        return await self.db.write(work)

    async def remove(self, member: str, slug: str) -> bool:
        """Take a talk off the member's list; False if it was not on it."""
        return await self._changes("DELETE FROM saved_talks WHERE member = :member AND talk = :talk", member, slug)

    async def mark_watched(self, member: str, slug: str, watched: bool, at: datetime) -> bool:
        """Mark a talk on the list watched (keeping the first time) or not; False if it is not on the list."""
        return await self._changes(
            "UPDATE saved_talks SET watched_at = CASE WHEN :watched THEN COALESCE(watched_at, :at) END"
            " WHERE member = :member AND talk = :talk",
            member,
            slug,
            watched=watched,
            at=to_db_instant(at),
        )

    async def _changes(self, sql: str, member: str, slug: str, **params: object) -> bool:
        """Run one statement over a member's saved talk; whether it changed a row."""
        values = {"member": member, "talk": slug, **params}
        return await self.db.write(lambda conn: conn.execute(sql, values).rowcount > 0)

    async def page(self, member: str, state: State, offset: int, limit: int) -> tuple[int, list[StoredTalk]]:
        """How many talks of the member's list are in `state`, and `limit` of them from `offset`, newest first."""
        return await self.db.read(lambda conn: _page(conn, member, state, offset, limit))

    async def all_of(self, member: str) -> list[StoredTalk]:
        """The member's whole list, newest saved first (read in the reader thread: up to `max_saved` rows)."""
        params = {"member": member, "state": "all"}
        return await self.db.scan(
            lambda conn: [_stored(row) for row in conn.execute(_ROWS + _OF_MEMBER + _NEWEST_FIRST, params)]
        )

    async def saved_counts(self, slugs: Sequence[str]) -> dict[str, int]:
        """How many members saved each of these talks (0 for a talk nobody saved)."""
        wanted = list(dict.fromkeys(slugs))
        if not wanted:
            return {}
        rows = await self.db.read(
            lambda conn: conn.execute(
                f"SELECT talk, COUNT(*) FROM saved_talks WHERE talk IN ({json_values(conn, '?')}) GROUP BY talk",
                (json.dumps(wanted),),
            ).fetchall()
        )
        found = {str(slug): int(n) for slug, n in rows}
        return {slug: found.get(slug, 0) for slug in wanted}

    # -- settings --------------------------------------------------------------------------------------------

    async def timezone(self, member: str) -> str | None:
        """The member's time zone name, if they set one."""
        row = await self.db.read(
            lambda conn: conn.execute("SELECT timezone FROM member_settings WHERE member = ?", (member,)).fetchone()
        )
        return None if row is None or row[0] is None else str(row[0])

    async def set_timezone(self, member: str, zone: str, at: datetime) -> None:
        """Keep the member's time zone (an IANA name, checked by the caller)."""
        when = to_db_instant(at)
        await self.db.write(
            lambda conn: conn.execute(
                "INSERT INTO member_settings (member, timezone, created_at, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (member) DO UPDATE SET timezone = excluded.timezone, updated_at = excluded.updated_at",
                (member, zone, when, when),
            )
        )

    async def calendar_key(self, member: str, at: datetime) -> str:
        """The member's calendar secret (hex), made on first use."""
        fresh, when = secrets.token_hex(16), to_db_instant(at)

        def work(conn: Session) -> str:
            conn.execute(
                "INSERT INTO member_settings (member, calendar_key, created_at, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (member) DO UPDATE SET calendar_key = COALESCE(member_settings.calendar_key,"
                " excluded.calendar_key)",
                (member, fresh, when, when),
            )
            row = conn.execute("SELECT calendar_key FROM member_settings WHERE member = ?", (member,)).fetchone()
            return str(row[0])

        return await self.db.write(work)

    # -- forgetting ------------------------------------------------------------------------------------------

    async def forget(self, member: str) -> Removed:
        """Delete every row kept about the member, in one piece of write work; how many, table by table."""

        def work(conn: Session) -> Removed:
            saved = conn.execute("DELETE FROM saved_talks WHERE member = ?", (member,)).rowcount
            settings = conn.execute("DELETE FROM member_settings WHERE member = ?", (member,)).rowcount
            reminders = conn.execute("DELETE FROM reminders WHERE member = ?", (member,)).rowcount
            # /highlight in direct messages keeps its rotation under the member's key: what they were shown
            picks = conn.execute("DELETE FROM adhoc_picks WHERE scope = ?", (member,)).rowcount
            return Removed(saved, settings, reminders, picks)

        return await self.db.write(work)
