"""What the scheduler needs from the outside world: a store, a poster and a clock, and the records they share.

How a slot is posted once and only once
---------------------------------------
Each slot of a schedule has a key (`Slot.key`: its local date, or ISO week). Posting goes:

1. **claim** the slot: the store records an attempt as "sending" under the unique key (schedule, slot key).
   A second claim of a slot that is sending or sent fails, so two workers or two processes never both
   start a slot. The attempt is durable before anything reaches Discord.
2. **post** with a nonce derived from the key (`Attempt.nonce`). The Discord poster sends it with
   `enforce_nonce`: for a few minutes Discord answers a repeated create with the same nonce by returning
   the message it already made instead of making another.
3. **mark sent**: the attempt becomes sent and the schedule's cursor moves to its next slot, together.

A post that failed with an answer from Discord (channel gone, permission missing, rate limited, server
error) certainly made no message: its attempt is marked failed and may be claimed again later. A crash
between 2 and 3, or a post whose outcome is unknown (a timeout after the request left), leaves the
attempt "sending". Such an attempt is retried with the same nonce, so Discord deduplicates, but only while
`claimed_at` is within the nonce window (`SchedulerConfig.nonce_window`, shorter than Discord's). After
that nobody can tell whether the message exists, so the slot is given up with a warning rather than risk
a second post: a double post is never possible; a miss is possible only for a crash mid-send followed by a
restart after the window, and is logged, never silent. Stopping the scheduler cancels posts in flight; they
are settled the same way on the next start.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol

from bot.highlights.rotation import Pick, next_talk
from bot.highlights.rules import ScheduleRule, Slot


@dataclass(frozen=True, slots=True)
class Attempt:
    """A claimed slot: the talk chosen for it and when its first send may have reached Discord."""

    schedule_id: int
    slot_key: str
    talk: str
    round: int
    claimed_at: datetime

    @property
    def nonce(self) -> str:
        """The message nonce for this slot: the same on every retry; 24 characters (Discord allows 25)."""
        return hashlib.blake2b(f"{self.schedule_id}/{self.slot_key}".encode(), digest_size=12).hexdigest()


@dataclass(frozen=True, slots=True)
class Schedule:
    """An enabled schedule as the scheduler sees it: where it posts, its rule and its next slot."""

    id: int
    guild_id: int
    channel_id: int
    rule: ScheduleRule
    next_slot: Slot
    failures: int = 0  # consecutive failed posts
    retry_at: datetime | None = None
    attempt: Attempt | None = None  # next_slot's attempt when left "sending" (a send may have gone out)

    @property
    def due(self) -> datetime:
        """When the scheduler should next look at this schedule."""
        return self.retry_at or self.next_slot.due


@dataclass(frozen=True, slots=True)
class RotationState:
    """A schedule's talk pool in catalogue order, the current round and what that round has posted."""

    pool: tuple[str, ...]
    posted: frozenset[str]
    round: int = 0
    last: str | None = None  # the talk posted most recently
    saved: Mapping[str, int] = field(default_factory=dict)  # talks members saved, when the schedule prefers them

    def pick(self, seed: int) -> Pick | None:
        """The next talk of this rotation (see `bot.highlights.rotation.next_talk`)."""
        return next_talk(self.pool, self.posted, self.round, seed, self.last, self.saved)


@dataclass(frozen=True, slots=True)
class PostResult:
    """A post that went out; `message_id` is None when Discord says the nonce's message was deleted since."""

    message_id: int | None


class PostFailure(Exception):
    """A post that failed; `reason` is safe to show to the server's admins."""

    certain: ClassVar[bool] = True  # no message was made

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChannelGone(PostFailure):
    """The channel was deleted or cannot be seen."""

    def __init__(self) -> None:
        super().__init__("the channel no longer exists or the bot can't see it")


class GuildGone(PostFailure):
    """The bot is no longer in the server."""

    def __init__(self) -> None:
        super().__init__("the bot is no longer in this server")


class MissingPermissions(PostFailure):
    """The bot lacks permissions in the channel; `missing` names them."""

    def __init__(self, missing: tuple[str, ...]) -> None:
        super().__init__(f"the bot is missing permissions in the channel: {', '.join(missing)}")
        self.missing = missing


class RateLimited(PostFailure):
    """Discord answered 429; try again after `retry_after` seconds (for every request when `is_global`)."""

    def __init__(self, retry_after: float, *, is_global: bool = False) -> None:
        super().__init__(f"rate limited by Discord for {retry_after:.1f} s")
        self.retry_after = retry_after
        self.is_global = is_global


class TalkGone(PostFailure):
    """The talk picked for the slot left the catalogue before it was sent; nothing was posted."""

    def __init__(self, talk: str) -> None:
        super().__init__(f"the talk picked ({talk}) was removed from the catalogue; another will be picked")
        self.talk = talk


class TransientError(PostFailure):
    """Discord answered with a server error; nothing was posted."""


class UnknownOutcome(PostFailure):
    """The request may or may not have made a message (a timeout or dropped connection after sending)."""

    certain = False


class Clock(Protocol):
    """Where time comes from."""

    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        ...

    async def sleep_until(self, instant: datetime) -> None:
        """Return at or after `instant`; at once if it has passed."""
        ...


class Poster(Protocol):
    """Sends a highlight to a schedule's channel."""

    async def post(self, schedule: Schedule, talk: str, nonce: str) -> PostResult:
        """Post `talk` with `nonce` (and `enforce_nonce`); raise a PostFailure subclass if that fails.

        Must not hang: bound the request with a timeout and raise UnknownOutcome when it expires.
        """
        ...


class ScheduleStore(Protocol):
    """Durable schedules, attempts and rotations.

    A database implementation must guarantee:

    - attempts are unique on (schedule_id, slot_key); `claim` is one atomic statement (an upsert whose update
      applies only to a failed attempt, with RETURNING), so of two concurrent claims at most one succeeds;
    - every method commits before it returns; `mark_sent` writes its attempt, the rotation and the schedule's
      next slot in one transaction (so no crash leaves a sent slot looking unsent), and `mark_failed` and
      `pause` write the released attempt and the schedule in one;
    - the next slot is stored as given (local date, due instant in UTC, key), never recomputed;
    - schedule ids are never reused (AUTOINCREMENT): attempts and nonces are keyed on them;
    - an attempt's state moves only none/failed -> sending (`claim`), sending -> sent (`mark_sent`) and
      sending -> failed (`release`, which the scheduler passes only for a send that surely made nothing);
    - `list_enabled` and `get` return neither paused nor disabled schedules, and fill `Schedule.attempt` with
      next_slot's attempt exactly when that attempt is "sending";
    - the rotation's pool is in catalogue order; `round` is the highest round of a sent attempt, `posted` the
      talks of that round's sent attempts and `last` the talk of the latest one.
    Whoever adds a schedule, changes its rule or resumes it sets its next slot to `next_slot(rule, now)`, clears
    its failures and retry time, then calls `Scheduler.notify_changed`.
    """

    async def list_enabled(self) -> list[Schedule]:
        """Every schedule that is neither paused nor disabled."""
        ...

    async def get(self, schedule_id: int) -> Schedule | None:
        """One schedule, or None if it is gone, paused or disabled."""
        ...

    async def rotation(self, schedule_id: int) -> RotationState:
        """The schedule's pool, its current round and the talks that round has posted."""
        ...

    async def claim(self, schedule_id: int, slot: Slot, pick: Pick, at: datetime) -> Attempt | None:
        """Record an attempt at `slot` as sending, or return None if that slot is already sending or sent."""
        ...

    async def mark_sent(self, attempt: Attempt, message_id: int | None, next_slot: Slot) -> None:
        """Record the attempt as sent and its talk as posted; move on to `next_slot`, clearing failures."""
        ...

    async def mark_failed(
        self, schedule_id: int, reason: str, retry_at: datetime, *, release: Attempt | None = None
    ) -> None:
        """Count a failure, keeping its reason to show, and retry at `retry_at`.

        `release` is an attempt that surely made no message: it becomes failed and may be claimed again.
        Without it, the slot's attempt stays as it is.
        """
        ...

    async def pause(self, schedule_id: int, reason: str, *, release: Attempt | None = None) -> None:
        """Stop the schedule until someone resumes it, keeping the reason; `release` as for mark_failed."""
        ...

    async def advance(self, schedule_id: int, next_slot: Slot, *, skipped: str | None = None) -> None:
        """Move past the current slot without posting it, keeping the failure count; clears the retry time.

        `skipped` says why a slot was not posted, for the schedule's status (kept as its last failure).
        """
        ...
