"""Turning a source's raw fields into catalogue values: checked text, plain summaries, kinds, links, dates.

Every reader goes through `Record`, so a wrong type, an empty required field or a field of fifty
megabytes fails the same way everywhere: naming the file, the record (its position and id) and the field.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

from bot.catalogue.formats.document import SpeakerRecord
from bot.domain.languages import language_code as domain_language_code
from bot.domain.text import clean_line, fit_id, fold, name_key, slugify, words
from bot.errors import CatalogueFormatError

log = logging.getLogger(__name__)

# Generous for real schedules (the longest abstract in the shared datasets is under 10,000 characters),
# small enough that one bad field cannot fill the database or the bot's replies.
MAX_TITLE = 1_000
MAX_SUMMARY = 100_000
MAX_LINE = 500  # names, organisations, tracks, types, ids
MAX_URL = 2_000


def json_type(value: object) -> str:
    """How a JSON reader would name the type of a value."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Record:
    """One record of a source file: typed access to its fields, and errors naming file, record and field."""

    def __init__(self, filename: str, label: str, data: Mapping[str, Any], prefix: str = "") -> None:
        self.filename = filename
        self.label = label
        self.data = data
        self.prefix = prefix

    def fail(self, key: str, problem: str) -> CatalogueFormatError:
        """An error about one field of this record."""
        return CatalogueFormatError(f"{self.filename}: {self.label}: field '{self.prefix}{key}' {problem}")

    def child(self, key: str, index: int, data: object) -> Record:
        """The record of one item of a list field (a person of an event, say)."""
        if not isinstance(data, Mapping):
            raise self.fail(f"{key}[{index + 1}]", f"must be an object, not {json_type(data)}")
        return Record(self.filename, self.label, data, f"{self.prefix}{key}[{index + 1}].")

    def raw(self, key: str, *, required: bool = False, limit: int = MAX_LINE, numbers: bool = False) -> str | None:
        """The field as text (numbers too when `numbers`), unchanged; None when missing or empty."""
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise self.fail(key, "is missing")
            return None
        if numbers and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise self.fail(key, f"must be text, not {json_type(value)}")
        if len(value) > limit:
            raise self.fail(key, f"is {len(value):,} characters long; at most {limit:,} are allowed")
        return value

    def line(self, key: str, *, required: bool = False, limit: int = MAX_LINE, numbers: bool = False) -> str | None:
        """The field as one line of display text."""
        value = clean_line(self.raw(key, required=required, limit=limit, numbers=numbers) or "")
        if required and not value:
            raise self.fail(key, "is empty")
        return value or None

    def summary(self, key: str) -> str:
        """The field as plain text (HTML and Markdown removed, whitespace collapsed)."""
        return plain_text(self.raw(key, limit=MAX_SUMMARY) or "")

    def items(self, key: str) -> list[Any]:
        """A list field; missing means empty."""
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list, not {json_type(value)}")
        return value

    def children(self, key: str) -> Iterator[Record]:
        """The records of a list-of-objects field."""
        for index, item in enumerate(self.items(key)):
            yield self.child(key, index, item)

    def moment(self, key: str, zone: tzinfo | None, *, required: bool = False) -> tuple[str | None, bool]:
        """The field as an ISO date or date-time with offset (see `moment`), and whether a time was dropped."""
        text = self.raw(key, required=required, limit=64)
        if text is None:
            return None, False
        try:
            return moment(text, zone)
        except ValueError:
            raise self.fail(
                key, f"must be a date like 2024-04-20 or 2024-04-20T09:00:00+02:00 (got {text[:40]!r})"
            ) from None

    def url(self, key: str, base: str | None = None) -> str | None:
        """The field as an absolute http(s) link, or None when it is no such link."""
        return http_url(self.raw(key, limit=MAX_URL), base)


def moment(text: str, zone: tzinfo | None) -> tuple[str, bool]:
    """An ISO date, or a date-time with its offset; a time without offset takes `zone`, else keeps its date.

    Returns the value and whether a time was dropped; raises ValueError when the text is no date.
    """
    text = text.strip()
    if len(text) == 10:
        return date.fromisoformat(text).isoformat(), False
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        if zone is None:
            return parsed.date().isoformat(), True
        parsed = parsed.replace(tzinfo=zone)
    return parsed.isoformat(), False


def day_of(value: str | None) -> date | None:
    """The calendar date of an ISO date or date-time, as written (local to the event)."""
    return date.fromisoformat(value[:10]) if value else None


def warn_dropped_times(filename: str, dropped: int) -> None:
    """Say once per file that times without an offset kept only their dates."""
    if dropped:
        log.warning(
            "%s: %d talk times carry no UTC offset, so only their dates were kept. "
            "Pass --timezone (for example Europe/London) to keep the times.",
            filename,
            dropped,
        )


def load_json(data: bytes | str, filename: str) -> Any:
    """Parse JSON, failing with the line and column of the first problem."""
    try:
        return json.loads(data, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        # Some of the json module's messages end in "starting at" ("Unterminated string starting at").
        joined = f"{exc.msg} {where}" if exc.msg.endswith(" at") else f"{exc.msg} at {where}"
        raise CatalogueFormatError(f"{filename}: not valid JSON: {joined}") from None
    except UnicodeDecodeError as exc:
        raise CatalogueFormatError(f"{filename}: not UTF-8 text (byte {exc.start})") from None
    except RecursionError:
        raise CatalogueFormatError(f"{filename}: not a schedule: the JSON is nested too deeply") from None
    except ValueError as exc:  # an integer of thousands of digits, NaN
        raise CatalogueFormatError(f"{filename}: not valid JSON: {exc}") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


# Plain text from HTML and Markdown. Every pattern is bounded, so a hostile field costs linear time.
_AUTOLINK = re.compile(r"<(https?://[^>\s]{1,2000})>")
_BLOCK_TAG = re.compile(r"</?(?:p|br|div|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|pre|hr)\b[^<>]{0,2000}>", re.I)
_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,2000}>|<!--.{0,10000}?-->", re.S)
_MD_IMAGE = re.compile(r"!\[([^\]\n]{0,500})\]\([^)\s]{0,2000}(?:\s+\"[^\"\n]{0,500}\")?\)")
_MD_LINK = re.compile(r"\[([^\]\n]{1,500})\]\([^)\s]{0,2000}(?:\s+\"[^\"\n]{0,500}\")?\)")
_MD_STRONG = re.compile(r"(\*\*|__)(?=\S)([^\n]{1,500}?)(?<=\S)\1")
_MD_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]{1,500}?)(?<=\S)\*(?![\w*])")
_MD_LINE_START = re.compile(r"^[ \t]{0,12}(?:#{1,6}[ \t]+|>[ \t]?|[-*+•][ \t]+|\d{1,3}[.)][ \t]+)", re.M)
_MD_RULE = re.compile(r"^[ \t]*(?:[-*_][ \t]*){3,}$", re.M)
_MARKUP = re.compile(r"[<>\[\]*_`&\n\r]")  # without any of these, a text has no markup to remove


def plain_text(text: str) -> str:
    """Text without HTML tags, entities or Markdown markup, whitespace collapsed to single spaces."""
    if not text:
        return ""
    if not _MARKUP.search(text) and not _MD_LINE_START.match(text):
        return clean_line(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _AUTOLINK.sub(r"\1", text)
    text = _BLOCK_TAG.sub("\n", text)
    text = _TAG.sub("", text)
    text = _MD_IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_RULE.sub("", text)
    text = _MD_LINE_START.sub("", text)
    text = _MD_STRONG.sub(r"\2", text)
    text = _MD_EMPHASIS.sub(r"\1", text)
    text = text.replace("`", "")
    return clean_line(html.unescape(text))


def full_title(title: str, subtitle: str | None) -> str:
    """A title with its subtitle, when there is one that the title does not already hold."""
    if not subtitle or fold(subtitle) in fold(title):
        return title
    joiner = " " if title.endswith((":", "?", "!", ".", "–", "-")) else ": "
    return f"{title}{joiner}{subtitle}"


# Kinds. A source's own type wins when it names one; then the title's label ("Keynote: …", "… Workshop").
_KIND_WORDS = (
    ("keynote", "keynote"),
    ("lightning", "lightning"),
    ("panel", "panel"),
    ("podium", "panel"),
    ("fireside", "panel"),
    ("roundtable", "panel"),
    ("workshop", "workshop"),
    ("hands-on", "workshop"),
    ("tutorial", "tutorial"),
)
_TITLE_KINDS = {
    "keynote": "keynote",
    "panel": "panel",
    "lightning": "lightning",
    "workshop": "workshop",
    "tutorial": "tutorial",
}
# Whole words of a session type that mean "not a talk" ("Break", "Meetup"; a "breakout session" is a talk).
_OTHER_WORDS = frozenset(
    ["performance", "performances", "concert", "party", "ceremony", "meetup", "meetups", "meeting", "other",
     "break", "breaks", "game", "games"]
)  # fmt: skip


def guess_kind(type_text: str | None, title: str) -> str:
    """The catalogue kind (talk, keynote, panel, lightning, workshop, tutorial, other) of a session."""
    folded = fold(type_text or "")
    for word, kind in _KIND_WORDS:
        if word in folded:
            return kind
    label, colon, _ = title.partition(":")
    title_words = words(title)
    candidates = words(label) if colon else []
    if title_words:
        candidates.append(title_words[-1])
    for word in candidates:
        if word in _TITLE_KINDS:
            return _TITLE_KINDS[word]
    if _OTHER_WORDS.intersection(words(folded)):
        return "other"
    return "talk"


# Links.
# "Video" alone is not enough: schedules link videos *about* a project as often as the talk's recording.
_RECORDING_WORDS = {"recording", "recordings", "recorded", "aufzeichnung", "mitschnitt"}
_RECORDING_HOSTS = ("media.ccc.de",)
_SLIDES_WORDS = {
    "slides",
    "slide",
    "slidedeck",
    "folien",
    "foliensatz",
    "presentation",
    "praesentation",
    "prasentation",
}
_SLIDES_HOSTS = ("speakerdeck.com", "slideshare.net", "slides.com", "docs.google.com/presentation")
_SPACE = re.compile(r"\s")
_VIDEO_HOSTS = ("youtube.com", "www.youtube.com", "youtu.be", "vimeo.com", "media.ccc.de")


def http_url(value: str | None, base: str | None = None) -> str | None:
    """An absolute http(s) link (a path is resolved against `base`); None for anything else."""
    if not value:
        return None
    value = value.strip()
    if base and value.startswith("/"):
        value = urljoin(base, value)
    if len(value) > MAX_URL or not value.startswith(("http://", "https://")) or _SPACE.search(value):
        return None
    host = value.split("://", 1)[1].split("/", 1)[0]
    return value if host and not host.startswith((":", "?", "#")) else None


def classify_links(
    links: Iterable[tuple[str | None, str | None]], base: str | None = None
) -> tuple[str | None, str | None]:
    """The first recording link and the first slides link among (url, title) pairs, judged by title and host."""
    recording = slides = None
    for raw_url, title in links:
        url = http_url(raw_url, base)
        if url is None:
            continue
        host_and_path = url.split("://", 1)[1].lower()
        title_words = set(words(title or ""))
        file_words = set(words(url.rsplit("/", 1)[-1]))
        if recording is None and (host_and_path.startswith(_RECORDING_HOSTS) or title_words & _RECORDING_WORDS):
            recording = url
        elif (
            slides is None
            and not host_and_path.startswith(_VIDEO_HOSTS)
            and (host_and_path.startswith(_SLIDES_HOSTS) or (title_words | file_words) & _SLIDES_WORDS)
        ):
            slides = url
    return recording, slides


# People and identifiers.
def speaker(name: str | None, organization: str | None = None, role: str = "speaker") -> SpeakerRecord | None:
    """A speaker record from raw text; None when the name has no letters or digits.

    A name that makes no slug (written only in, say, Chinese characters) gets an explicit id derived from
    its folded form, so two such people are never taken for one.
    """
    name = clean_line(name or "")
    key = _identity(name)
    if key is None:
        return None
    return SpeakerRecord(name=name, organization=clean_line(organization or "") or None, role=role, key=key or None)


@lru_cache(maxsize=65_536)
def _identity(name: str) -> str | None:
    """Empty when the name's slug identifies the person, else an explicit id; None when there is no name."""
    if slugify(name):
        return ""
    folded = name_key(name)
    return "person-" + _digest(folded) if folded else None


@lru_cache(maxsize=65_536)
def _folded(name: str) -> str:
    return name_key(name)


@lru_cache(maxsize=65_536)
def _organization_slug(name: str) -> str:
    return slugify(name)


def distinct_speakers(speakers: Iterable[SpeakerRecord | None]) -> tuple[SpeakerRecord, ...]:
    """The speakers in order, each person once: the same folded name with no conflicting organisation or id."""
    given = [credit for credit in speakers if credit is not None]
    if len(given) < 2:
        return tuple(given)
    kept: list[SpeakerRecord] = []
    for credit in given:
        for index, other in enumerate(kept):
            if (
                _folded(other.name) == _folded(credit.name)
                and (
                    other.organization is None
                    or credit.organization is None
                    or _organization_slug(other.organization) == _organization_slug(credit.organization)
                )
                and (other.key is None or credit.key is None or other.key == credit.key)
            ):
                if other.organization is None and credit.organization is not None:
                    kept[index] = replace(other, organization=credit.organization)
                break
        else:
            kept.append(credit)
    return tuple(kept)


SourcePeople = dict[tuple[str, str], str]  # (person id the name gives, source id) -> explicit person id
SourcePerson = tuple[str | None, str | None, str | None]  # (name, source id, the source's number for the person)


def source_person_keys(people: Iterable[SourcePerson]) -> SourcePeople:
    """Explicit person ids for namesakes that the source itself keeps apart, by (person id, source id).

    `people` are the (name, source person id, person number) triples of one file. A name (or two
    spellings that give the same person id, "Raketen Papa" and "Raketen.Papa") that comes with two or
    more source ids names that many people to the source (Camp 2019 has a "mo" and a "Mo" with talks
    that have nothing in common): the first of them keeps the id the name alone would give, and each
    other adds its number (else its source id) to it. A name with one source id, or none, is left to the
    name rules of bot.catalogue.writer, so "William Morgan" and "william morgan" stay one person.

    The order is the source's numbering (frab's and pentabarf's `id`, see `source_person_number`), so a
    person keeps their id when a namesake joins a later export: the older "Mo" (id 1) stays `mo` and the
    newer (id 2) is `mo-2`, even where the source id is a random guid. Without numbers, source ids are
    ordered as numbers first, then as text.
    """
    ids: dict[str, dict[str, str | None]] = defaultdict(dict)
    for name, ident, number in people:
        credit = speaker(name) if ident else None
        if credit is None or ident is None:
            continue
        found = ids[credit.person_slug]
        if found.get(ident) is None:
            found[ident] = number
    keys: SourcePeople = {}
    for slug, found in ids.items():
        if len(found) < 2:
            continue
        numbers = [number for number in found.values() if number is not None]
        if len(set(numbers)) != len(numbers):  # one number for two people: the numbers tell no one apart
            found = dict.fromkeys(found)
        first, *others = sorted(found, key=lambda ident: _namesake_order(ident, found[ident]))
        keys[(slug, first)] = slug
        for ident in others:
            own = found[ident] or ident
            keys[(slug, ident)] = f"{slug}-{_slug(own, 40) or _digest(own)}"[:100]
    return keys


def _namesake_order(ident: str, number: str | None) -> tuple[int, int, str]:
    if number is not None:
        return (0, int(number), "")
    return (1, len(ident), ident)  # numbers in numeric order


def source_person_number(data: Mapping[str, Any]) -> str | None:
    """A person's number in the source (frab's and pentabarf's `id`), or None when there is none."""
    value = data.get("id")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return str(int(value.strip()))
    return None


def source_person(credit: SpeakerRecord | None, ident: str | None, keys: SourcePeople) -> SpeakerRecord | None:
    """The credit with the explicit id `source_person_keys` gave its source id, if any."""
    if credit is None or ident is None or not keys:
        return credit
    key = keys.get((credit.person_slug, ident))
    return credit if key is None else replace(credit, key=key)


def source_person_id(data: Mapping[str, Any], fields: Iterable[str] = ("guid", "id", "code")) -> str | None:
    """A person's id in the source, or None; odd values are ignored.

    The export's own identifiers are taken in this order: the guid (c3voc hub, frab), then the id
    (frab's and pentabarf's number) or the code (pretalx); without any, the name alone identifies the person.
    """
    for field in fields:
        value = data.get(field)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()[:64]
    return None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


_CLEAN_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _slug(text: str, max_length: int = 60) -> str:
    """`slugify`, skipping the work for text that is already a slug (most source ids)."""
    if len(text) <= max_length and _CLEAN_SLUG.fullmatch(text):
        return text
    return slugify(text, max_length=max_length)


@lru_cache(maxsize=4096)
def event_slug(name: str) -> str:
    """The id of an event named `name`."""
    return _slug(name) or "event-" + _digest(fold(name))


def talk_slug(event: str, source_id: str) -> str:
    """A talk id that stays the same as long as the source keeps its own id: event id + source id."""
    own = _slug(source_id) or _digest(source_id)
    return fit_id(own if own.startswith(f"{event}-") else f"{event}-{own}")


@lru_cache(maxsize=65_536)
def topic_for(track: str | None) -> tuple[str, str] | None:
    """The topic (id, name) a track is filed under, so tracks can be browsed as topics."""
    if not track:
        return None
    slug = _slug(track)
    return (slug, track) if slug else None


# Languages. Schedules write a talk's language as a code ("en", "de-DE") or a name ("German", "Deutsch").
_MIXED = re.compile(r"[,;/&+|]|\s(?:and|und|et|y|or|oder|ou)\s")
_IN_BRACKETS = re.compile(r"\(([^()]{1,20})\)")


def language_code(value: object) -> str | None:
    """A talk's language as a lower-case ISO 639-1 code; None when unknown, empty or mixed ("de, en").

    Codes ("en", "EN", "de-DE", "pt_BR") and names ("German", "Deutsch") are read by
    `bot.domain.languages`; here also "English (EN)" and "German language", and a value naming two
    languages is no language.
    """
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    if not text or len(text) > 60 or _MIXED.search(fold(text)):
        return None
    bracketed = _IN_BRACKETS.search(text)
    if bracketed:
        inner, outer = language_code(bracketed.group(1)), language_code(_IN_BRACKETS.sub(" ", text))
        return None if inner and outer and inner != outer else inner or outer
    words_of = text.split()
    if len(words_of) == 2 and fold(words_of[1]) in ("language", "sprache", "langue"):
        text = words_of[0]
    return domain_language_code(text)


# The live programme: ends and streams.
_DURATION = re.compile(r"(\d{1,3}):([0-5]\d)(?::([0-5]\d))?")
_ISO_DURATION = re.compile(r"PT(?:(\d{1,3})H)?(?:(\d{1,4})M)?(?:(\d{1,5})S)?", re.I)
_STREAM_WORDS = {"stream", "livestream", "live", "streaming", "broadcast"}
_STREAM_HOSTS = ("live.fosdem.org", "streaming.media.ccc.de")


def duration_minutes(value: object) -> int | None:
    """A session's length in minutes: "HH:MM", "HH:MM:SS", "PT1H30M", or minutes; None when unreadable."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value < 10_000 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isdigit():
        return duration_minutes(int(text))
    match = _DURATION.fullmatch(text) or _ISO_DURATION.fullmatch(text)
    if match is None:
        return None
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    minutes = hours * 60 + minutes + round(seconds / 60)
    return minutes or None


def end_of(starts: str | None, minutes: int | None) -> str | None:
    """The end of a session that starts at `starts` (ISO date-time with offset) and lasts `minutes`."""
    if not starts or len(starts) <= 10 or not minutes:
        return None
    start = datetime.fromisoformat(starts)
    if start.tzinfo is None:
        return None
    return (start + timedelta(minutes=minutes)).isoformat()


def end_moment(starts: str | None, ends: str | None) -> str | None:
    """`ends` (an ISO date-time with offset) when it is one and not before `starts`; else None."""
    if not ends or len(ends) <= 10 or not starts or len(starts) <= 10:
        return None
    end, start = datetime.fromisoformat(ends), datetime.fromisoformat(starts)
    if end.tzinfo is None or start.tzinfo is None or end < start:
        return None
    return end.isoformat()


def stream_link(links: Iterable[tuple[str | None, str | None]], base: str | None = None) -> str | None:
    """The first link among (url, title) pairs that is a live stream, by its title, type or host."""
    for raw_url, title in links:
        url = http_url(raw_url, base)
        if url is None:
            continue
        host = url.split("://", 1)[1].split("/", 1)[0].lower()
        said = set(words(title or ""))
        if host in _STREAM_HOSTS or (said & _STREAM_WORDS and not said & _RECORDING_WORDS):
            return url
    return None
