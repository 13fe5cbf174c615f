"""The bundled catalogue format: a TOML file people edit and review (see bot/data/catalogue.toml)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import tomli_w

from bot.catalogue.formats.document import CatalogueDocument, EventRecord, ReadingRecord, SpeakerRecord, TalkRecord
from bot.data import CATALOGUE
from bot.domain.languages import language_code
from bot.domain.models import ROLES, TALK_KINDS
from bot.domain.text import TALK_ID_MAX
from bot.errors import CatalogueFormatError

BUNDLED_CATALOGUE = CATALOGUE
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class _Reader:
    """Checks one file's records, naming the file, the record and the field in every error."""

    def __init__(self, text: str, filename: str) -> None:
        self.filename = filename
        self.lines = text.splitlines()

    def fail(self, section: str, index: int, record: Mapping[str, Any] | None, problem: str) -> CatalogueFormatError:
        where = f"{section} #{index + 1}"
        ident = record.get("id") if record else None
        if isinstance(ident, str):
            where += f" ({ident!r})"
        line = self._header_line(section, index)
        at = f", line {line}" if line else ""
        return CatalogueFormatError(f"{self.filename}{at}: {where}: {problem}")

    def _header_line(self, section: str, index: int) -> int | None:
        header = re.compile(rf"^\s*\[\[\s*{section}\s*\]\]")
        seen = -1
        for number, line in enumerate(self.lines, start=1):
            if header.match(line):
                seen += 1
                if seen == index:
                    return number
        return None

    def text(
        self, section: str, index: int, record: Mapping[str, Any], key: str, *, required: bool = False
    ) -> str | None:
        value = record.get(key)
        if value is None:
            if required:
                raise self.fail(section, index, record, f"missing required field '{key}'")
            return None
        if not isinstance(value, str):
            raise self.fail(section, index, record, f"field '{key}' must be text, not {type(value).__name__}")
        value = value.strip()
        if required and not value:
            raise self.fail(section, index, record, f"field '{key}' must not be empty")
        return value or None

    def slug(self, section: str, index: int, record: Mapping[str, Any], key: str = "id") -> str:
        value = self.text(section, index, record, key, required=True)
        assert value is not None  # noqa: S101 - required=True guarantees it
        if not _SLUG.match(value):
            raise self.fail(
                section,
                index,
                record,
                f"field '{key}' must be lower-case letters, digits and dashes (got {value!r})",
            )
        if len(value) > TALK_ID_MAX:  # ids ride in Discord's button ids and autocomplete values
            raise self.fail(
                section, index, record, f"field '{key}' must be at most {TALK_ID_MAX} characters (it has {len(value)})"
            )
        return value

    def moment(self, section: str, index: int, record: Mapping[str, Any], key: str) -> str | None:
        """A date, or a date-time with its UTC offset (a time without one would name no moment)."""
        value = record.get(key)
        if value is None:
            return None
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.isoformat()
        if isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, str):
            text = value.strip()
            try:
                if len(text) == 10:
                    return date.fromisoformat(text).isoformat()
                parsed = datetime.fromisoformat(text)
                if parsed.tzinfo is not None:
                    return parsed.isoformat()
            except ValueError:
                pass
        raise self.fail(
            section, index, record,
            f"field '{key}' must be a date like 2021-05-04 or a date-time with offset like "
            f"2021-05-04T09:30:00+02:00 (got {value!r})",
        )  # fmt: skip

    def url(self, section: str, index: int, record: Mapping[str, Any], key: str) -> str | None:
        value = self.text(section, index, record, key)
        if value is not None and not value.startswith(("https://", "http://")):
            raise self.fail(section, index, record, f"field '{key}' must be a http(s) link (got {value!r})")
        return value

    def day(self, section: str, index: int, record: Mapping[str, Any], key: str) -> date | None:
        value = record.get(key)
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise self.fail(section, index, record, f"field '{key}' must be a date like 2021-05-04 (got {value!r})")

    def records(self, data: Mapping[str, Any], section: str) -> list[Mapping[str, Any]]:
        value = data.get(section, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise CatalogueFormatError(f"{self.filename}: '{section}' must be a list of [[{section}]] tables")
        return value


def parse_native(text: str, filename: str = "<catalogue>") -> CatalogueDocument:
    """Read a catalogue in the bundled format; raise CatalogueFormatError naming file, record and field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueFormatError(f"{filename}: not valid TOML: {exc}") from exc
    reader = _Reader(text, filename)
    document = CatalogueDocument(source="bundled")

    topics = data.get("topics", {})
    if not isinstance(topics, dict):
        raise CatalogueFormatError(f'{filename}: [topics] must be a table of id = "Name" pairs')
    for slug, name in topics.items():
        if not _SLUG.match(slug) or not isinstance(name, str) or not name.strip():
            raise CatalogueFormatError(f"{filename}: [topics]: {slug!r} must be an id mapped to a display name")
        document.topics[slug] = name.strip()

    for index, record in enumerate(reader.records(data, "events")):
        document.events.append(
            EventRecord(
                slug=reader.slug("events", index, record),
                name=_required(reader.text("events", index, record, "name", required=True)),
                short_name=reader.text("events", index, record, "short_name"),
                start_date=reader.day("events", index, record, "start_date"),
                end_date=reader.day("events", index, record, "end_date"),
                location=reader.text("events", index, record, "location"),
                url=reader.url("events", index, record, "url"),
                parent=reader.text("events", index, record, "parent"),
            )
        )
    events = {event.slug: index for index, event in enumerate(document.events)}
    if len(events) != len(document.events):
        _duplicate(reader, "events", [e.slug for e in document.events])
    for index, event in enumerate(document.events):
        if event.parent is not None and event.parent not in events:
            raise reader.fail("events", index, {"id": event.slug}, f"field 'parent': no event with id {event.parent!r}")
        if event.start_date and event.end_date and event.end_date < event.start_date:
            raise reader.fail("events", index, {"id": event.slug}, "field 'end_date' is before 'start_date'")

    for index, record in enumerate(reader.records(data, "talks")):
        document.talks.append(_talk(reader, index, record, events, document.topics))
    if len({t.slug for t in document.talks}) != len(document.talks):
        _duplicate(reader, "talks", [t.slug for t in document.talks])

    for index, record in enumerate(reader.records(data, "readings")):
        document.readings.append(
            ReadingRecord(
                slug=reader.slug("readings", index, record),
                title=_required(reader.text("readings", index, record, "title", required=True)),
                url=reader.url("readings", index, record, "url"),
                author=reader.text("readings", index, record, "author"),
                summary=reader.text("readings", index, record, "summary") or "",
                topics=tuple(_topics(reader, "readings", index, record, document.topics)),
            )
        )
    return document


def _talk(
    reader: _Reader,
    index: int,
    record: Mapping[str, Any],
    events: Mapping[str, int],
    topics: Mapping[str, str],
) -> TalkRecord:
    event = _required(reader.text("talks", index, record, "event", required=True))
    if event not in events:
        raise reader.fail("talks", index, record, f"field 'event': no event with id {event!r} in this file")
    kind = reader.text("talks", index, record, "kind") or "talk"
    if kind not in TALK_KINDS:
        raise reader.fail("talks", index, record, f"field 'kind' must be one of {', '.join(TALK_KINDS)} (got {kind!r})")
    day = reader.moment("talks", index, record, "date")
    speakers = record.get("speakers", [])
    if not isinstance(speakers, list):
        raise reader.fail("talks", index, record, "field 'speakers' must be a list of { name = ... } tables")
    credits: list[SpeakerRecord] = []
    for position, speaker in enumerate(speakers, start=1):
        field = f"speakers[{position}]"
        if not isinstance(speaker, dict):
            raise reader.fail("talks", index, record, f"field '{field}' must be a table like {{ name = \"...\" }}")
        name = speaker.get("name")
        if not isinstance(name, str) or not name.strip():
            raise reader.fail("talks", index, record, f"field '{field}.name' is missing")
        role = speaker.get("role", "speaker")
        if role not in ROLES:
            raise reader.fail("talks", index, record, f"field '{field}.role' must be one of {', '.join(ROLES)}")
        organization = speaker.get("organization")
        key = speaker.get("id")
        if organization is not None and not isinstance(organization, str):
            raise reader.fail("talks", index, record, f"field '{field}.organization' must be text")
        if key is not None and (not isinstance(key, str) or not _SLUG.match(key)):
            raise reader.fail("talks", index, record, f"field '{field}.id' must be an id like jane-doe")
        credits.append(SpeakerRecord(" ".join(name.split()), (organization or "").strip() or None, role, key))
    if len({c.person_slug for c in credits}) != len(credits):
        raise reader.fail("talks", index, record, "field 'speakers' names the same person twice")
    summary = reader.text("talks", index, record, "summary") or ""
    return TalkRecord(
        slug=reader.slug("talks", index, record),
        title=_required(reader.text("talks", index, record, "title", required=True)),
        event=event,
        kind=kind,
        summary=" ".join(summary.split()),
        date=day,
        track=reader.text("talks", index, record, "track"),
        recording_url=reader.url("talks", index, record, "recording_url"),
        slides_url=reader.url("talks", index, record, "slides_url"),
        speakers=tuple(credits),
        topics=tuple(_topics(reader, "talks", index, record, topics)),
        source_id=reader.text("talks", index, record, "source_id"),
        language=_language(reader, index, record),
        ends_at=_ends_at(reader, index, record, day),
        room=reader.text("talks", index, record, "room"),
        stream_url=reader.url("talks", index, record, "stream_url"),
    )


def _ends_at(reader: _Reader, index: int, record: Mapping[str, Any], starts: str | None) -> str | None:
    """The talk's end, a date-time with offset, not before its start."""
    value = reader.moment("talks", index, record, "ends_at")
    if value is None:
        return None
    if len(value) == 10:
        raise reader.fail("talks", index, record, "field 'ends_at' must be a date-time with offset, not a date")
    if starts and len(starts) > 10 and datetime.fromisoformat(value) < datetime.fromisoformat(starts):
        raise reader.fail("talks", index, record, "field 'ends_at' is before the talk's 'date'")
    return value


def _language(reader: _Reader, index: int, record: Mapping[str, Any]) -> str | None:
    value = reader.text("talks", index, record, "language")
    if value is None:
        return None
    code = language_code(value)
    if code is None:
        raise reader.fail("talks", index, record, "field 'language' must be a language code such as en or de")
    return code


def _topics(
    reader: _Reader, section: str, index: int, record: Mapping[str, Any], known: Mapping[str, str]
) -> list[str]:
    value = record.get("topics", [])
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise reader.fail(section, index, record, "field 'topics' must be a list of topic ids")
    for topic in value:
        if topic not in known:
            raise reader.fail(section, index, record, f"field 'topics': {topic!r} is not declared under [topics]")
    return list(dict.fromkeys(value))


def _duplicate(reader: _Reader, section: str, slugs: list[str]) -> None:
    seen: set[str] = set()
    for index, slug in enumerate(slugs):
        if slug in seen:
            raise reader.fail(section, index, {"id": slug}, "this id is used twice")
        seen.add(slug)


def _required(value: str | None) -> str:
    if value is None:  # pragma: no cover - the reader raises first
        raise ValueError("required value missing")
    return value


def load_native(path: Path) -> CatalogueDocument:
    """Read a catalogue file in the bundled format."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CatalogueFormatError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise CatalogueFormatError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    return parse_native(text, str(path))


def dump_native(document: CatalogueDocument) -> str:
    """Write a catalogue in the bundled format, stable and diff-friendly."""
    data: dict[str, Any] = {"topics": dict(sorted(document.topics.items()))}
    data["events"] = [
        _drop_none(
            {
                "id": e.slug,
                "name": e.name,
                "short_name": e.short_name,
                "start_date": e.start_date,
                "end_date": e.end_date,
                "location": e.location,
                "url": e.url,
                "parent": e.parent,
            }
        )
        for e in document.events
    ]
    talks = []
    for t in document.talks:
        entry = _drop_none(
            {
                "id": t.slug,
                "title": t.title,
                "event": t.event,
                "kind": None if t.kind == "talk" else t.kind,
                "date": (date.fromisoformat(t.date) if len(t.date) == 10 else datetime.fromisoformat(t.date))
                if t.date
                else None,
                "ends_at": datetime.fromisoformat(t.ends_at) if t.ends_at else None,
                "room": t.room,
                "stream_url": t.stream_url,
                "track": t.track,
                "recording_url": t.recording_url,
                "slides_url": t.slides_url,
                "source_id": t.source_id,
                "language": t.language,
                "topics": list(t.topics) or None,
            }
        )
        entry["speakers"] = [
            _drop_none(
                {
                    "name": s.name,
                    "organization": s.organization,
                    "role": None if s.role == "speaker" else s.role,
                    "id": s.key,
                }
            )
            for s in t.speakers
        ]
        if t.summary:
            entry["summary"] = t.summary
        talks.append(entry)
    data["talks"] = talks
    if document.readings:
        data["readings"] = [
            _drop_none(
                {
                    "id": r.slug,
                    "title": r.title,
                    "author": r.author,
                    "url": r.url,
                    "topics": list(r.topics) or None,
                    "summary": r.summary or None,
                }
            )
            for r in document.readings
        ]
    header = (
        "# Talk highlights catalogue, written by `python -m bot export`.\n"
        "# The format is described at the top of bot/data/catalogue.toml.\n\n"
    )
    return header + tomli_w.dumps(data, multiline_strings=True)


def _drop_none(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not None}
