"""Giving talks their recordings: read a list, match it to the catalogue, write the links in one transaction.

`import_recordings` (for the running bot, through the gateway's write path) and `apply_recordings` (on a
connection of the command line's own) do the same: the talks are read, matched and written in one
transaction, so a failure leaves the catalogue exactly as it was, and the catalogue's version is bumped
when a link was written, so that every process reloads its search index. A talk never silently gets a second
recording nor loses one: a talk whose recording is another video is a conflict, reported and left alone,
unless a reviewed entry says `replace = true`. Running the same list twice changes nothing the second time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from bot.catalogue.export import resolve_event
from bot.db.connection import atomic
from bot.db.dialect import ENGINE_ERRORS, text_agg
from bot.errors import ConfigError, DatabaseError
from bot.recordings.formats import Recording, RecordingList, read_recordings, same_video, video_key
from bot.recordings.matcher import DEFAULT_MIN_CONFIDENCE, Candidate, Decision, Matcher, TalkEntry

if TYPE_CHECKING:
    from bot.db.gateway import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RecordingOptions:
    """How to match: `event` keeps to one event (by id, name or short name) and its co-located events."""

    event: str | None = None
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    interface: Literal["cli", "discord", "slack"] = "cli"

    def check(self) -> None:
        """Fail clearly on a threshold outside 0-1."""
        if not 0 < self.min_confidence <= 1:
            where = "--min-confidence" if self.interface == "cli" else "min_confidence"
            raise ConfigError(f"{where} {self.min_confidence}: must be more than 0 and at most 1 (default 0.85)")


@dataclass(frozen=True, slots=True)
class Match:
    """A video given to a talk (`added`), or one the talk already had (`kept`)."""

    talk: TalkEntry
    recording: Recording
    confidence: float
    reason: str
    status: Literal["added", "kept"]


@dataclass(frozen=True, slots=True)
class Conflict:
    """A match that was not written: the talk has another recording, or the video is another talk's."""

    talk: TalkEntry
    recording: Recording
    confidence: float
    reason: str
    why: str


@dataclass(slots=True)
class RecordingReport:
    """What a list of recordings did (or, in a dry run, would do) to the catalogue."""

    source: str
    shape: str
    videos: int
    skipped: int = 0
    matched: list[Match] = field(default_factory=list)
    ambiguous: list[Decision] = field(default_factory=list)
    unmatched: list[Decision] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    dry_run: bool = False
    min_confidence: float = DEFAULT_MIN_CONFIDENCE

    @property
    def added(self) -> list[Match]:
        """The talks that got (or would get) a recording."""
        return [m for m in self.matched if m.status == "added"]

    @property
    def touched(self) -> bool:
        """Whether the catalogue changed (or would have)."""
        return bool(self.added)


# -- reading the catalogue ---------------------------------------------------------------------------------------


def load_talks(conn: sqlite3.Connection, event: str | None = None) -> tuple[list[TalkEntry], list[str]]:
    """The talks to match against (of `event` and its co-located events, or all) and the events' names."""
    rows = list(conn.execute("SELECT id, slug, name, short_name, parent_id FROM events"))
    chosen: set[int] | None = None
    if event:
        root = resolve_event(conn, event)
        chosen = {event_id for event_id, slug, *_ in rows if slug == root}
        while True:
            more = {event_id for event_id, _, _, _, parent in rows if parent in chosen} - chosen
            if not more:
                break
            chosen |= more
    names = [text for _, _, name, short, _ in rows for text in (name, short) if text]
    slugs = {event_id: slug for event_id, slug, *_ in rows}
    # One row per talk, its people and organisations joined by a unit separator (SQLite does the grouping).
    people: dict[int, tuple[str, str]] = {
        talk_id: (speakers or "", organizations or "")
        for talk_id, speakers, organizations in conn.execute(
            f"SELECT ts.talk_id, {text_agg(conn, 'p.name', '?')}, {text_agg(conn, 'o.name', '?')}"
            " FROM talk_speakers ts JOIN people p ON p.id = ts.person_id"
            " LEFT JOIN organizations o ON o.id = ts.organization_id GROUP BY ts.talk_id",
            ("\x1f", "\x1f"),
        )
    }
    talks = []
    for talk_id, slug, title, event_id, date, recording, source_id in conn.execute(
        "SELECT id, slug, title, event_id, date, recording_url, source_id FROM talks ORDER BY id"
    ):
        if chosen is not None and event_id not in chosen:
            continue
        speakers, organizations = people.get(talk_id, ("", ""))
        talks.append(
            TalkEntry(
                id=talk_id,
                slug=slug,
                title=title,
                event=slugs[event_id],
                date=date,
                recording_url=recording,
                speakers=tuple(speakers.split("\x1f")) if speakers else (),
                organizations=tuple(dict.fromkeys(organizations.split("\x1f"))) if organizations else (),
                keys=(source_id,) if source_id else (),
            )
        )
    return talks, names


# -- matching and writing ----------------------------------------------------------------------------------------


def apply_recordings(
    conn: sqlite3.Connection,
    recordings: RecordingList,
    options: RecordingOptions | None = None,
    *,
    dry_run: bool = False,
) -> RecordingReport:
    """Match the list to the catalogue and write the links, in one transaction (rolled back when `dry_run`)."""
    options = options or RecordingOptions()
    options.check()
    report = RecordingReport(
        source=recordings.source,
        shape=recordings.shape,
        videos=len(recordings.recordings),
        skipped=recordings.skipped,
        dry_run=dry_run,
        min_confidence=options.min_confidence,
    )
    try:
        with atomic(conn, keep=not dry_run):
            talks, names = load_talks(conn, options.event)
            matcher = Matcher(talks, event_words=names, min_confidence=options.min_confidence)
            decisions = matcher.match_all(recordings.recordings)
            _write(conn, decisions, report)
    except ENGINE_ERRORS as exc:
        raise DatabaseError(f"{recordings.source}: the recordings were not written, nothing changed ({exc}).") from exc
    log.info(
        "%s%s: %d added, %d kept, %d ambiguous, %d unmatched, %d conflicts",
        "dry run of " if dry_run else "",
        recordings.source,
        len(report.added),
        len(report.matched) - len(report.added),
        len(report.ambiguous),
        len(report.unmatched),
        len(report.conflicts),
    )
    return report


def _write(conn: sqlite3.Connection, decisions: list[Decision], report: RecordingReport) -> None:
    holders: dict[str, str] = {}  # video -> the talk whose recording it is
    current: dict[str, str] = {}  # talk -> its recording
    for slug, url in conn.execute("SELECT slug, recording_url FROM talks WHERE recording_url IS NOT NULL"):
        holders[video_key(url)] = slug
        current[slug] = url
    changed = 0
    for decision in decisions:
        best = decision.best
        if decision.status == "unmatched":
            report.unmatched.append(decision)
            continue
        if decision.status == "ambiguous" or best is None:
            report.ambiguous.append(decision)
            continue
        recording, talk = decision.recording, best.talk
        now = current.get(talk.slug)
        if now is not None and same_video(now, recording.url):
            report.matched.append(Match(talk, recording, best.confidence, best.reason, "kept"))
            continue
        holder = holders.get(video_key(recording.url))
        if holder is not None and holder != talk.slug:
            why = f"the video is already the recording of {holder}"
            report.conflicts.append(Conflict(talk, recording, best.confidence, best.reason, why))
            continue
        if now is not None and not recording.replace:
            why = f"the talk already has another recording ({now})"
            report.conflicts.append(Conflict(talk, recording, best.confidence, best.reason, why))
            continue
        conn.execute("UPDATE talks SET recording_url = ? WHERE id = ?", (recording.url, talk.id))
        if now is not None:
            holders.pop(video_key(now), None)
        holders[video_key(recording.url)] = talk.slug
        current[talk.slug] = recording.url
        changed += 1
        report.matched.append(Match(talk, recording, best.confidence, best.reason, "added"))
    if changed:
        conn.execute("UPDATE catalogue_state SET version = version + 1 WHERE id = 1")


def import_recordings_data(
    conn: sqlite3.Connection,
    data: bytes,
    filename: str,
    options: RecordingOptions | None = None,
    *,
    dry_run: bool = False,
) -> RecordingReport:
    """Read a file's bytes as a list of recordings and apply it (see `apply_recordings`)."""
    return apply_recordings(conn, read_recordings(data, filename), options, dry_run=dry_run)


async def import_recordings(
    db: Database, data: bytes, filename: str, options: RecordingOptions | None = None, *, dry_run: bool = False
) -> RecordingReport:
    """For the running bot: read an uploaded list in a worker thread, match and write it as one piece of work.

    The catalogue's version is bumped when a link is written, so `CatalogueService.refresh` reloads the index.
    """
    recordings = await asyncio.to_thread(read_recordings, data, filename)
    return await db.write(lambda conn: apply_recordings(conn, recordings, options, dry_run=dry_run))


# -- reports: JSON and the review file ----------------------------------------------------------------------


def _candidate(candidate: Candidate) -> dict[str, Any]:
    return {
        "talk_id": candidate.talk.slug,
        "title": candidate.talk.title,
        "confidence": round(candidate.confidence, 3),
        "reason": candidate.reason,
    }


def _video(recording: Recording) -> dict[str, Any]:
    return {"url": recording.url, "title": recording.title}


def report_document(report: RecordingReport) -> dict[str, Any]:
    """The report as one JSON-ready document: matched, ambiguous (with candidates), unmatched, conflicts."""
    return {
        "source": report.source,
        "format": report.shape,
        "dry_run": report.dry_run,
        "min_confidence": report.min_confidence,
        "videos": report.videos,
        "skipped": report.skipped,
        "matched": [
            {
                "talk_id": m.talk.slug,
                "title": m.talk.title,
                "video_url": m.recording.url,
                "video_title": m.recording.title,
                "confidence": round(m.confidence, 3),
                "reason": m.reason,
                "status": m.status if not report.dry_run or m.status == "kept" else "would add",
            }
            for m in report.matched
        ],
        "ambiguous": [
            {**_video(d.recording), "note": d.note, "candidates": [_candidate(c) for c in d.candidates]}
            for d in report.ambiguous
        ],
        "unmatched": [_video(d.recording) for d in report.unmatched],
        "conflicts": [
            {
                "talk_id": c.talk.slug,
                "title": c.talk.title,
                "video_url": c.recording.url,
                "video_title": c.recording.title,
                "confidence": round(c.confidence, 3),
                "reason": c.reason,
                "why": c.why,
            }
            for c in report.conflicts
        ],
    }


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def _comment(text: str) -> str:
    return " ".join(text.split())


def review_file(report: RecordingReport) -> str:
    """The videos left for review, in the bundled format: edit the ids, then read the file back.

    Each ambiguous video and each conflict is a `[[talks]]` entry with the likeliest talk's `id` and the
    video as `recording_url`, its candidates listed above it; unmatched videos are listed, commented out.
    """
    lines = [
        "# Recordings to review, in the bundled catalogue format (bot/data/catalogue.toml).",
        "# Each [[talks]] entry gives the video `recording_url` to the talk `id`. Check each one: set `id` to the",
        "# right talk (candidates are listed above it), or delete the entry to leave the video out. A talk that",
        "# has another recording keeps it unless the entry says replace = true. Then read this file back:",
        "#   python -m bot recordings THIS_FILE",
        "",
    ]

    def entry(talk: str, recording: Recording, comments: list[str], *, replace: bool = False) -> None:
        lines.extend(f"# {_comment(text)}" for text in comments)
        lines.append("[[talks]]")
        lines.append(f"id = {_toml_string(talk)}")
        lines.append(f"recording_url = {_toml_string(recording.url)}")
        if recording.title:
            lines.append(f"title = {_toml_string(recording.title)}")
        if replace:
            lines.append("replace = true")
        lines.append("")

    for decision in report.ambiguous:
        best = decision.best
        comments = [f"Video: {decision.recording.title or decision.recording.url}", f"Why: {decision.note}"]
        comments += [
            f"  candidate {c.talk.slug} ({c.confidence:.2f}, {c.reason}): {c.talk.title}" for c in decision.candidates
        ]
        entry(best.talk.slug if best else "", decision.recording, comments)
    for conflict in report.conflicts:
        comments = [
            f"Video: {conflict.recording.title or conflict.recording.url}",
            f"Conflict: {conflict.why}; set replace = true to give the talk this video instead",
            f"  candidate {conflict.talk.slug} ({conflict.confidence:.2f}, {conflict.reason}): {conflict.talk.title}",
        ]
        entry(conflict.talk.slug, conflict.recording, comments)
    if report.unmatched:
        lines.append("# Videos that match no talk (add an id and remove the # to give one a talk):")
        for decision in report.unmatched:
            lines.append(
                f'# [[talks]]  id = ""  recording_url = {_toml_string(decision.recording.url)}'
                f"  # {_comment(decision.recording.title)}"
            )
    return "\n".join(lines) + "\n"
