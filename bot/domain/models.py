"""The catalogue's records, as the domain and its callers see them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

TALK_KINDS = ("talk", "keynote", "panel", "lightning", "workshop", "tutorial", "other")
ROLES = ("speaker", "panellist", "moderator")


@dataclass(frozen=True, slots=True)
class Event:
    """A conference, or a co-located event under one (its `parent`)."""

    slug: str
    name: str
    short_name: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    location: str | None = None
    url: str | None = None
    parent: str | None = None  # the parent event's slug

    @property
    def label(self) -> str:
        """The short name when there is one."""
        return self.short_name or self.name


@dataclass(frozen=True, slots=True)
class Credit:
    """A person on a talk, with their role and their organisation at the time of that talk."""

    person: str  # slug
    name: str
    role: str = "speaker"
    organization: str | None = None


@dataclass(frozen=True, slots=True)
class Topic:
    """A subject talks are filed under."""

    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Talk:
    """One talk, with everything needed to show it."""

    slug: str
    title: str
    event: Event
    kind: str = "talk"
    summary: str = ""
    date: dt.date | None = None
    track: str | None = None
    recording_url: str | None = None
    slides_url: str | None = None
    credits: tuple[Credit, ...] = ()
    topics: tuple[Topic, ...] = ()
    language: str | None = None  # ISO 639-1 code, when the programme says
    starts_at: dt.datetime | None = None  # aware; when the programme gives the talk's time as well as its day
    ends_at: dt.datetime | None = None  # aware, when the programme gives it
    room: str | None = None
    stream_url: str | None = None  # the live stream, when the programme links one

    @property
    def speakers(self) -> tuple[Credit, ...]:
        """Everyone credited, moderators last."""
        return tuple(sorted(self.credits, key=lambda c: c.role == "moderator"))

    @property
    def when(self) -> dt.date | None:
        """The talk's date, else its event's first day."""
        return self.date or self.event.start_date


@dataclass(frozen=True, slots=True)
class PersonProfile:
    """A person, the organisations they spoke for over time, and their talks, newest first."""

    slug: str
    name: str
    organizations: tuple[str, ...]
    talks: tuple[Talk, ...] = field(default=())
    total: int | None = None  # how many talks they gave, when `talks` holds only the newest of them

    @property
    def talk_count(self) -> int:
        """How many talks the person gave (all of them, even when only the newest are held)."""
        return len(self.talks) if self.total is None else self.total


@dataclass(frozen=True, slots=True)
class Count:
    """A topic or event with how many talks it holds."""

    slug: str
    name: str
    talks: int
    detail: str = ""
    depth: int = 0  # in a tree of topics: how many broader topics above this entry
