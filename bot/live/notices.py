"""What live mode posts, before any platform formats it: "Starting in 5 minutes" and what changed.

Times are shown in the programme's own offset (the conference's local time, as its schedule gives it):
"Thu 13:00–13:30".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from bot.domain.models import Talk
from bot.highlights.ports import PostResult

LineKind = Literal["moved", "room_changed", "cancelled", "added", "retitled", "correction"]
CHANGE_LABELS: dict[LineKind, str] = {
    "moved": "Time changed",
    "room_changed": "Room changed",
    "cancelled": "Cancelled",
    "added": "New talk",
    "retitled": "Renamed",
    "correction": "Correction",
}


def span(start: datetime | None, end: datetime | None) -> str:
    """'Thu 13:00–13:30' (or 'Thu 13:00' without an end; '?' without a start), in the programme's offset."""
    if start is None:
        return "?"
    text = f"{start:%a %H:%M}"
    if end is not None:
        text += f"–{end:%H:%M}" if end.date() == start.date() else f"–{end:%a %H:%M}"
    return text


@dataclass(frozen=True, slots=True)
class UpNext:
    """The talks starting at one time, announced `lead_minutes` before."""

    start: datetime
    lead_minutes: int
    talks: tuple[Talk, ...]
    event_name: str

    @property
    def heading(self) -> str:
        """'Starting in 5 minutes'."""
        minutes = self.lead_minutes
        return f"Starting in {minutes} minute{'s' * (minutes != 1)}"


@dataclass(frozen=True, slots=True)
class ChangeLine:
    """One change: what kind, the talk's title and speakers, and the detail ("S1 -> S2")."""

    kind: LineKind
    title: str
    speakers: tuple[str, ...]
    detail: str = ""

    @property
    def label(self) -> str:
        """'Time changed', 'Cancelled'..."""
        return CHANGE_LABELS[self.kind]


@dataclass(frozen=True, slots=True)
class ChangeNotice:
    """One batch of changes to an event's programme, posted as one message."""

    event_name: str
    lines: tuple[ChangeLine, ...]


class LivePoster(Protocol):
    """Posts live notices to a channel (a platform adapter implements it); the same failures as highlights."""

    async def up_next(self, guild_id: int, channel_id: int, notice: UpNext, nonce: str) -> PostResult:
        """Post "Starting in N minutes" with its talks."""
        ...

    async def changes(self, guild_id: int, channel_id: int, notice: ChangeNotice, nonce: str) -> PostResult:
        """Post a batch of changes."""
        ...
