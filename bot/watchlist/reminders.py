"""Members' reminders: a direct message at the time a member asked for, once and only once.

Reminders are a kind of job for the same engine as highlight schedules (`bot.highlights.engine`), so they
share its workers and its rate limit, and they keep the same guarantees the same way
(`bot.highlights.ports`): a reminder is claimed ('sending') durably before its message goes out, sent with a
nonce derived from its id, then marked sent. A send whose outcome is unknown is retried with the same nonce
while the platform surely deduplicates it, and given up after that (a double message is never possible).
A reminder due while the bot was not running is sent late within the grace, else marked missed; one that
cannot be delivered (direct messages closed, or too many failures) is marked failed and not retried. Either
way the member is told once, the next time they use the bot (`RemindersService.notices`).

The tables are in bot/data/migrations/0009_reminders.sql. A member's reminders are theirs alone: every
method of the service takes the member key and reads or changes only that member's rows.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from bot.catalogue.service import CatalogueService
from bot.db.dialect import claimable
from bot.db.gateway import Database, Session
from bot.domain.text import inert
from bot.errors import UserFacingError
from bot.highlights.engine import Runtime
from bot.highlights.ports import Clock, PostFailure, PostResult
from bot.highlights.rules import parse_zone
from bot.highlights.store import from_db_instant, to_db_instant
from bot.watchlist.store import WatchlistStore
from bot.watchlist.when import Due, parse_when

log = logging.getLogger(__name__)
_PENDING = "id = ? AND state = 'pending'"  # what a claim takes: this row, if no one has yet

Platform = Literal["discord", "slack"]
ReminderState = Literal["pending", "sending", "sent", "failed", "missed"]
MAX_PENDING = 100  # reminders waiting per member


class DirectMessagesClosed(PostFailure):
    """The member accepts no direct messages from the bot; retrying will not help."""

    def __init__(self) -> None:
        super().__init__(
            "your direct messages are closed to the bot (allow direct messages from this server's members, or"
            " from apps, in your privacy settings)"
        )


class TooManyReminders(UserFacingError):
    """The member has `MAX_PENDING` reminders waiting already."""


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder as stored; `due` is when the engine should next look at it."""

    id: int
    member: str
    platform: Platform
    address: str
    talk: str
    title: str
    event_name: str
    starts_at: datetime | None
    recording_url: str | None
    due_at: datetime
    before_start: bool
    state: ReminderState
    failures: int = 0
    retry_at: datetime | None = None
    claimed_at: datetime | None = None
    reason: str | None = None

    @property
    def due(self) -> datetime:
        """When the engine should next look at it."""
        return self.retry_at or self.due_at

    @property
    def nonce(self) -> str:
        """The message nonce: the same on every retry; 24 characters (Discord allows 25)."""
        return hashlib.blake2b(f"reminder/{self.id}".encode(), digest_size=12).hexdigest()


class ReminderSender(Protocol):
    """Sends a reminder to its member's direct messages (a platform adapter implements it)."""

    async def remind(self, reminder: Reminder, nonce: str) -> PostResult:
        """Send it with `nonce`; raise DirectMessagesClosed, another PostFailure, or UnknownOutcome on a timeout."""
        ...


@runtime_checkable
class OpensConversations(Protocol):
    """A sender whose first message to a member needs a request of its own, to open their direct messages.

    Discord's does (`POST /users/@me/channels`, then the message): the engine grants that request its own
    place under the global limit, as it does the message's; granting one place for both let 50 grants a
    second make 100 requests (measured: 98 in one second, and 429s).
    """

    def is_open(self, reminder: Reminder) -> bool:
        """Whether the member's direct messages are open already (no request needed)."""
        ...

    async def open(self, reminder: Reminder) -> str:
        """Open the member's direct messages (one request); their id. Raises PostFailures as `remind` does."""
        ...


_COLUMNS = (
    "id, member, platform, address, talk, title, event_name, starts_at, recording_url, due_at, before_start,"
    " state, failures, retry_at, claimed_at, reason"
)


def _instant(value: Any) -> datetime | None:
    return None if value is None else from_db_instant(str(value))


def _reminder(row: Sequence[Any]) -> Reminder:
    return Reminder(
        id=int(row[0]), member=str(row[1]), platform=row[2], address=str(row[3]), talk=str(row[4]),
        title=str(row[5]), event_name=str(row[6]), starts_at=_instant(row[7]), recording_url=row[8],
        due_at=from_db_instant(str(row[9])), before_start=bool(row[10]), state=row[11], failures=int(row[12]),
        retry_at=_instant(row[13]), claimed_at=_instant(row[14]), reason=row[15],
    )  # fmt: skip


class ReminderStore:
    """The reminders table on the database gateway: the service's reads and changes, and the scheduler's."""

    def __init__(self, db: Database, platform: Platform | None = None) -> None:
        self.db = db
        self.platform = platform  # the scheduler's platform: it loads only those reminders

    # -- members ---------------------------------------------------------------------------------------------

    async def add(self, reminder: Reminder, at: datetime, *, limit: int = MAX_PENDING) -> Reminder:
        """Store a new pending reminder (its id is ignored); raises TooManyReminders past `limit` waiting."""
        values = (
            reminder.member, reminder.platform, reminder.address, reminder.talk, reminder.title,
            reminder.event_name, None if reminder.starts_at is None else to_db_instant(reminder.starts_at),
            reminder.recording_url, to_db_instant(reminder.due_at), int(reminder.before_start), to_db_instant(at),
        )  # fmt: skip

        def work(conn: Session) -> Reminder:
            waiting = conn.execute(
                "SELECT COUNT(*) FROM reminders WHERE member = ? AND state IN ('pending', 'sending')",
                (reminder.member,),
            ).fetchone()[0]
            if int(waiting) >= limit:
                raise TooManyReminders(
                    f"You have {limit} reminders waiting already: cancel some with `/reminders` first."
                )
            row = conn.execute(
                "INSERT INTO reminders (member, platform, address, talk, title, event_name, starts_at,"
                " recording_url, due_at, before_start, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                f" RETURNING {_COLUMNS}",
                values,
            ).fetchone()
            return _reminder(row)

        return await self.db.write(work)

    async def of_member(self, member: str, *, limit: int = 25) -> list[Reminder]:
        """The member's waiting reminders, soonest first."""

        def work(conn: Session) -> list[Reminder]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM reminders WHERE member = ? AND state IN ('pending', 'sending')"
                " ORDER BY due_at, id LIMIT ?",
                (member, limit),
            ).fetchall()
            return [_reminder(row) for row in rows]

        return await self.db.read(work)

    async def cancel(self, member: str, reminder_id: int) -> Reminder | None:
        """Delete one of the member's pending reminders; None if it is not theirs or no longer pending."""

        def work(conn: Session) -> Reminder | None:
            row = conn.execute(
                f"DELETE FROM reminders WHERE id = ? AND member = ? AND state = 'pending' RETURNING {_COLUMNS}",
                (reminder_id, member),
            ).fetchone()
            return None if row is None else _reminder(row)

        return await self.db.write(work)

    async def untold(self, member: str) -> list[Reminder]:
        """The member's failed and missed reminders nobody has told them of, and now they are told."""

        def work(conn: Session) -> list[Reminder]:
            rows = conn.execute(
                f"UPDATE reminders SET told = 1 WHERE member = ? AND told = 0 RETURNING {_COLUMNS}", (member,)
            ).fetchall()
            return sorted((_reminder(row) for row in rows), key=lambda r: (r.due_at, r.id))

        return await self.db.write(work)

    async def has_untold(self, member: str) -> bool:
        """Whether `untold` has anything (a small read in place, for every command the member uses)."""

        def work(conn: Session) -> bool:
            return (
                conn.execute("SELECT 1 FROM reminders WHERE member = ? AND told = 0", (member,)).fetchone() is not None
            )

        return await self.db.read(work)

    # -- the scheduler -----------------------------------------------------------------------------------------

    def _platform_filter(self) -> tuple[str, tuple[Any, ...]]:
        return ("", ()) if self.platform is None else (" AND platform = ?", (self.platform,))

    async def waiting(self) -> list[Reminder]:
        """Every pending or sending reminder of the store's platform."""
        where, params = self._platform_filter()

        def work(conn: Session) -> list[Reminder]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM reminders WHERE state IN ('pending', 'sending'){where}", params
            ).fetchall()
            return [_reminder(row) for row in rows]

        return await self.db.scan(work)

    async def get(self, reminder_id: int) -> Reminder | None:
        """One reminder while it waits (pending or sending), else None."""
        where, params = self._platform_filter()

        def work(conn: Session) -> Reminder | None:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM reminders WHERE id = ? AND state IN ('pending', 'sending'){where}",
                (reminder_id, *params),
            ).fetchone()
            return None if row is None else _reminder(row)

        return await self.db.read(work)

    async def claim(self, reminder: Reminder, at: datetime) -> Reminder | None:
        """Mark a pending reminder as sending; None if it is no longer pending (cancelled, or claimed)."""

        def work(conn: Session) -> Reminder | None:
            row = conn.execute(
                "UPDATE reminders SET state = 'sending', claimed_at = ?"
                f" WHERE {claimable(conn, 'reminders', _PENDING)}"
                f" RETURNING {_COLUMNS}",
                (to_db_instant(at), reminder.id),
            ).fetchone()
            return None if row is None else _reminder(row)

        return await self.db.write(work)

    async def mark_sent(self, reminder: Reminder, message_id: str | None, at: datetime) -> None:
        """The message went out."""
        await self._update(
            reminder, "state = 'sent', sent_at = ?, message_id = ?, retry_at = NULL", to_db_instant(at), message_id
        )

    async def retry(self, reminder: Reminder, reason: str, at: datetime, *, release: bool) -> None:
        """Count a failure and look again at `at`; `release` (a send that surely made nothing) makes it pending."""
        state = ", state = 'pending'" if release else ""
        await self._update(
            reminder, f"failures = failures + 1, retry_at = ?, reason = ?{state}", to_db_instant(at), reason
        )

    async def end(self, reminder: Reminder, state: Literal["failed", "missed"], reason: str) -> None:
        """Give the reminder up for good, with the reason the member will be told."""
        await self._update(reminder, "state = ?, reason = ?, told = 0, retry_at = NULL", state, reason)

    async def _update(self, reminder: Reminder, assignments: str, *params: Any) -> None:
        await self.db.write(
            lambda conn: conn.execute(
                f"UPDATE reminders SET {assignments} WHERE id = ? AND state IN ('pending', 'sending')",
                (*params, reminder.id),
            )
        )


class ReminderJobs:
    """Reminders as a kind of job for the engine; see the module docstring for the guarantees."""

    name = "reminder"

    def __init__(self, store: ReminderStore, sender: ReminderSender, runtime: Runtime) -> None:
        self._store = store
        self._sender = sender
        self._runtime = runtime
        self._clock = runtime.clock
        self._config = runtime.config

    async def load(self) -> list[Reminder]:
        """Every waiting reminder of this platform."""
        return await self._store.waiting()

    async def get(self, job_id: int) -> Reminder | None:
        """One waiting reminder."""
        return await self._store.get(job_id)

    def later(self, job: Reminder, at: datetime) -> Reminder:
        """The reminder, looked at again at `at`."""
        return replace(job, retry_at=at)

    async def run(self, job: Reminder) -> Reminder | None:
        """Send the due reminder, or give it up with a reason."""
        now = self._clock.now()
        if now - job.due_at > self._config.grace:
            await self._store.end(
                job, "missed", f"it was due at {job.due_at:%Y-%m-%d %H:%M} UTC, while the bot was not running"
            )
            return None
        fresh = job.state == "pending"
        if not fresh and not self._may_resend(job):
            await self._give_up(job)
            return None
        if fresh:
            claimed = await self._store.claim(job, now)
            if claimed is None:
                return None
            job = claimed
        deadline = job.due_at + self._config.grace
        still_safe = None if fresh else lambda: self._may_resend(job)
        sender = self._sender
        try:
            if isinstance(sender, OpensConversations) and not sender.is_open(job):
                opened = await self._runtime.send(lambda: sender.open(job), deadline=deadline, still_safe=still_safe)
                if opened is None:
                    await self._give_up(job)
                    return None
            result = await self._runtime.send(
                lambda: sender.remind(job, job.nonce), deadline=deadline, still_safe=still_safe
            )
        except DirectMessagesClosed as closed:
            await self._store.end(job, "failed", closed.reason)
            return None
        except PostFailure as failure:
            await self._failed(job, failure, release=fresh and failure.certain)
            return None
        if result is None:
            await self._give_up(job)
            return None
        await self._store.mark_sent(
            job, None if result.message_id is None else str(result.message_id), self._clock.now()
        )
        return None

    def _may_resend(self, job: Reminder) -> bool:
        return job.claimed_at is not None and self._clock.now() - job.claimed_at < self._config.nonce_window

    async def _give_up(self, job: Reminder) -> None:
        log.warning("reminder %s: may or may not have been sent (outcome unknown); not sending it again", job.id)
        await self._store.end(
            job, "missed", "the bot stopped while sending it, and it was not sent again to avoid sending it twice"
        )

    async def _failed(self, job: Reminder, failure: PostFailure, *, release: bool) -> None:
        failures = job.failures + 1
        if failures >= self._config.max_failures:
            log.warning("reminder %s: given up after %d failures: %s", job.id, failures, failure.reason)
            await self._store.end(job, "failed", failure.reason)
            return
        retry_at = self._clock.now() + self._config.retry_delay(failures)
        log.info("reminder %s: failed (%s); retrying at %s", job.id, failure.reason, retry_at.isoformat())
        await self._store.retry(job, failure.reason, retry_at, release=release)


@dataclass(frozen=True, slots=True)
class Notice:
    """A reminder the member is told of once: failed or missed, and why."""

    title: str
    due_at: datetime
    state: ReminderState
    reason: str | None

    def text(self) -> str:
        """One line to show the member."""
        what = "could not be sent" if self.state == "failed" else "was missed"
        because = f": {self.reason}" if self.reason else ""
        return f"Your reminder for “{inert(self.title)[:150]}” ({self.due_at:%Y-%m-%d %H:%M} UTC) {what}{because}."


class RemindersService:
    """The use cases behind /remind and /reminders; the adapter says where a member's direct messages go."""

    def __init__(
        self, catalogue: CatalogueService, store: ReminderStore, settings: WatchlistStore, clock: Clock
    ) -> None:
        self.catalogue = catalogue
        self.store = store
        self.settings = settings
        self.clock = clock
        self.on_change: Any = None  # the scheduler's notify for reminders, once one runs

    async def remind(
        self,
        member: str,
        platform: Platform,
        address: str,
        ident: str,
        when: str,
        *,
        timezone: str | None = None,
        fallback_zone: str | None = None,
    ) -> tuple[Reminder, str]:
        """Set a reminder for a talk (by slug or title) at `when`; the reminder and the time zone it was read in.

        `timezone` is one the member gave now: it is remembered. Otherwise the member's remembered one is
        used, else `fallback_zone` (the platform's own for the member, as Slack knows it), which is then
        remembered. Raises WhenError (or NeedsTimezone) with a message for the member.
        """
        talk = await self.catalogue.talk(ident)
        now = self.clock.now()
        zone_name = await self._zone(member, timezone, fallback_zone)
        zone = ZoneInfo(zone_name) if zone_name else None
        due: Due = parse_when(when, now=now, zone=zone, starts_at=talk.starts_at, title=f"“{inert(talk.title)[:100]}”")
        reminder = Reminder(
            id=0, member=member, platform=platform, address=address, talk=talk.slug, title=talk.title,
            event_name=talk.event.name, starts_at=talk.starts_at, recording_url=talk.recording_url,
            due_at=due.at, before_start=due.before, state="pending",
        )  # fmt: skip
        stored = await self.store.add(reminder, now)
        if self.on_change is not None:
            self.on_change(stored.id)
        return stored, zone_name or "UTC"

    async def _zone(self, member: str, given: str | None, fallback: str | None) -> str | None:
        if given:
            return await self._remember(member, given)
        known = await self.settings.timezone(member)
        if known:
            return known
        if fallback:
            try:
                return await self._remember(member, fallback)
            except UserFacingError:
                return None
        return None

    async def _remember(self, member: str, zone_text: str) -> str:
        zone = parse_zone(zone_text)
        await self.settings.set_timezone(member, zone.key, self.clock.now())
        return zone.key

    async def waiting(self, member: str) -> list[Reminder]:
        """The member's waiting reminders, soonest first."""
        return await self.store.of_member(member)

    async def cancel(self, member: str, reminder_id: int) -> Reminder | None:
        """Cancel one of the member's pending reminders; None if there is no such reminder of theirs."""
        cancelled = await self.store.cancel(member, reminder_id)
        if cancelled is not None and self.on_change is not None:
            self.on_change(reminder_id)
        return cancelled

    async def notices(self, member: str) -> list[Notice]:
        """What the member has not been told yet (failed and missed reminders), once."""
        if not await self.store.has_untold(member):
            return []
        return [Notice(r.title, r.due_at, r.state, r.reason) for r in await self.store.untold(member)]

    async def zone_of(self, member: str) -> ZoneInfo | None:
        """The member's remembered time zone, for showing their reminders' times."""
        name = await self.settings.timezone(member)
        return ZoneInfo(name) if name else None


def local_time(at: datetime, zone: ZoneInfo | None) -> str:
    """'Sat 24 Dec 10:00 (Europe/Berlin)' for showing a reminder's time to its member."""
    shown = at.astimezone(zone) if zone else at
    return f"{shown:%a %d %b %Y %H:%M} ({zone.key if zone else 'UTC'})"


__all__ = [
    "MAX_PENDING",
    "DirectMessagesClosed",
    "Notice",
    "OpensConversations",
    "Reminder",
    "ReminderJobs",
    "ReminderSender",
    "ReminderStore",
    "RemindersService",
    "TooManyReminders",
    "local_time",
]
