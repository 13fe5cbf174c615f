"""A catalogue as read from a file, before it meets the database: what every importer produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.domain.text import name_key, slugify


@dataclass(frozen=True, slots=True)
class SpeakerRecord:
    """A person credited on a talk; `key` (a slug) tells apart two people of the same name."""

    name: str
    organization: str | None = None
    role: str = "speaker"
    key: str | None = None

    @property
    def person_slug(self) -> str:
        """The person's stable identifier."""
        return self.key or slugify(self.name)

    @property
    def name_key(self) -> str:
        """The folded form of the name."""
        return name_key(self.name)


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An event as a file describes it."""

    slug: str
    name: str
    short_name: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    location: str | None = None
    url: str | None = None
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class TalkRecord:
    """A talk as a file describes it; `topics` are topic slugs."""

    slug: str
    title: str
    event: str
    kind: str = "talk"
    summary: str = ""
    date: str | None = None  # ISO date, or date-time with offset
    track: str | None = None
    recording_url: str | None = None
    slides_url: str | None = None
    speakers: tuple[SpeakerRecord, ...] = ()
    topics: tuple[str, ...] = ()
    source_id: str | None = None
    language: str | None = None  # the language the talk is given in, a lower-case ISO 639-1 code ("en", "de")
    ends_at: str | None = None  # date-time with offset, when the programme gives the end or a duration
    room: str | None = None
    stream_url: str | None = None  # the room's or talk's live stream, when the programme links one


@dataclass(frozen=True, slots=True)
class ReadingRecord:
    """Related reading kept beside the talks."""

    slug: str
    title: str
    url: str | None = None
    author: str | None = None
    summary: str = ""
    topics: tuple[str, ...] = ()


@dataclass(slots=True)
class ReadSummary:
    """What a reader found in a file beside the records it made, for the import's report.

    `sessions` counts every session the file holds (talks, breaks, service sessions); each one is
    imported, skipped (`skipped`: why -> how many; breaks and service sessions) or refused (`refused`:
    why -> how many; not accepted, no title). `unused` names the columns or fields nothing read.
    """

    shape: str = ""
    sessions: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    unused: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def skip(self, why: str) -> None:
        """Count one session left out on purpose."""
        self.skipped[why] = self.skipped.get(why, 0) + 1

    def refuse(self, why: str) -> None:
        """Count one session that could not be taken."""
        self.refused[why] = self.refused.get(why, 0) + 1


@dataclass(slots=True)
class CatalogueDocument:
    """Everything one file holds: events, the talks of those events, topic names and readings."""

    source: str
    events: list[EventRecord] = field(default_factory=list)
    talks: list[TalkRecord] = field(default_factory=list)
    topics: dict[str, str] = field(default_factory=dict)  # slug -> display name
    readings: list[ReadingRecord] = field(default_factory=list)
    summary: ReadSummary | None = None  # what the file held, for exports read by bot.catalogue.formats
