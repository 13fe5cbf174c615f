"""Importing a schedule file into the catalogue: detect its format, read it, apply it in one transaction.

`python -m bot import PATH` reads the file whole (after a size check), tells the format from the
content (never the file name), reads it into a `CatalogueDocument` and hands that to
`bot.catalogue.writer.apply_document`, which applies it in one transaction: a failure anywhere, or a killed
process, leaves the catalogue exactly as it was. Importing the same file again changes nothing.

For formats other than the bundled one, an event the catalogue already knows keeps what the file
does not say (its dates, place, link and parent event); `--event` may name it by id, name or short name.
A file that lists no talk of an event the catalogue holds talks of is refused unless `--allow-empty`:
an empty export (a schedule with no days yet) would otherwise withdraw the whole event.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import re
import secrets
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.text import Text

from bot.catalogue.export import export_document, resolve_event
from bot.catalogue.formats import FORMATS, csv_table, sched, schedule_json, schedule_xml, sessionize
from bot.catalogue.formats.document import CatalogueDocument, ReadSummary, TalkRecord
from bot.catalogue.formats.fields import MAX_LINE, MAX_SUMMARY, MAX_TITLE, MAX_URL, event_slug, load_json
from bot.catalogue.formats.options import ImportOptions, Progress
from bot.catalogue.native import dump_native, parse_native
from bot.catalogue.writer import ImportReport, WouldEmptyEvents, apply_document
from bot.db.dialect import ENGINE_ERRORS, database_file
from bot.domain.text import fold
from bot.errors import CatalogueFormatError, ConfigError, DatabaseError, EventNotFound

__all__ = [
    "FORMATS",
    "MAX_FILE_BYTES",
    "FileReport",
    "ImportOptions",
    "Progress",
    "add_export_arguments",
    "add_import_arguments",
    "database_for_import",
    "detect_format",
    "export_file",
    "format_report",
    "import_data",
    "import_file",
    "make_progress",
    "options_from_arguments",
    "parse_document",
    "read_document",
]

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 200 * 1024 * 1024  # a 100,000-talk CSV with abstracts is about 60 MB
PROGRESS_MIN_BYTES = 1024 * 1024  # smaller files import in well under a second: no progress shown
_NATIVE = re.compile(
    r"(?:\[\[?[ \t]*(?:talks|events|readings|topics)[ \t]*\]\]?|(?:talks|events|topics|readings)[ \t]*=)"
)


# Reading.
def detect_format(data: bytes, filename: str = "<input>") -> str:
    """The format of a file, told from its content: native, schedule-json, schedule-xml, sessionize, sched or csv."""
    return _detect(data, filename)[0]


def _detect(data: bytes, filename: str, options: ImportOptions | None = None) -> tuple[str, object | None]:
    """The format, from the file's opening only: what comes later may be any text (a CSV cell, a summary)."""
    head = data[:65536].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise CatalogueFormatError(f"{filename}: the file is empty")
    text = head.decode("utf-8", errors="replace")
    if head.startswith(b"<"):
        return "schedule-xml", None
    if head[:15].upper() == b"BEGIN:VCALENDAR":
        return "sched", None
    if _NATIVE.match(_first_statement(text)):  # before JSON: a TOML file may open with [[events]] too
        return "native", None
    if head.startswith((b"{", b"[")):
        root = load_json(data, filename)
        if isinstance(root, dict) and isinstance(root.get("schedule"), dict):
            return "schedule-json", root
        if isinstance(root, dict) and "sessions" in root:
            return "sessionize", root
        if isinstance(root, list) and sessionize.other_view(root, filename):
            return "sessionize", root  # Sessionize's other views: the reader explains what to export instead
        raise CatalogueFormatError(
            f"{filename}: JSON, but neither a frab/pretalx schedule.json (no 'schedule' object) "
            f"nor a Sessionize export (no 'sessions' list): it holds {_json_outline(root)}"
        )
    first_line = text.split("\n", 1)[0]
    if any(delimiter in first_line for delimiter in (",", ";", "\t")):
        return "csv", None
    option = (options or ImportOptions()).option("format")
    raise CatalogueFormatError(
        f"{filename}: cannot tell the format from the content; pass {option} ({', '.join(FORMATS)})"
    )


def _json_outline(root: object) -> str:
    """What a JSON document holds at the top, in a few words."""
    if isinstance(root, dict):
        keys = ", ".join(repr(str(key)[:30]) for key in list(root)[:5]) + (", …" if len(root) > 5 else "")
        return f"an object with {keys}" if keys else "an empty object"
    if isinstance(root, list):
        return f"a list of {len(root)}"
    return "a single value"


def _first_statement(text: str) -> str:
    """The first line that is neither blank nor a comment: a bundled file opens with comments."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped
    return ""


def parse_document(
    data: bytes, filename: str, options: ImportOptions | None = None, *, progress: Progress | None = None
) -> CatalogueDocument:
    """Read a file's bytes in the given (or detected) format, and check the sizes of its fields."""
    options = options or ImportOptions()
    chosen = options.format
    parsed: object | None = None
    if chosen == "auto":
        chosen, parsed = _detect(data, filename, options)
    elif chosen not in FORMATS:
        raise ConfigError(f"{options.option('format')} {chosen!r}: use auto or one of {', '.join(FORMATS)}")
    if chosen == "native":
        document = _native(data, filename, options)
    elif chosen == "schedule-json":
        document = (
            schedule_json.parse_object(parsed, filename, options, progress=progress)
            if parsed is not None
            else schedule_json.parse(data, filename, options, progress=progress)
        )
    elif chosen == "sessionize":
        document = (
            sessionize.parse_object(parsed, filename, options, progress=progress)
            if parsed is not None
            else sessionize.parse(data, filename, options, progress=progress)
        )
    elif chosen == "schedule-xml":
        document = schedule_xml.parse(data, filename, options, progress=progress)
    elif chosen == "sched":
        document = sched.parse(data, filename, options, progress=progress)
    else:
        document = csv_table.parse(data, filename, options, progress=progress)
    check_read(document, filename)
    check_sizes(document, filename)
    return document


def check_read(document: CatalogueDocument, filename: str) -> None:
    """Fail when the file holds sessions and none became a talk, none being a break either.

    Such a file is one whose shape the reader does not know; importing it would leave an empty event.
    """
    summary = document.summary
    if summary is None or document.talks or not summary.sessions or summary.skipped:
        return
    why = f" ({_reasons(summary.refused)})" if summary.refused else ""
    raise CatalogueFormatError(
        f"{filename}: {_counted(summary.sessions, 'session')} in a {summary.shape}, but none could be read{why}; "
        "nothing was imported"
    )


def read_document(
    path: Path, options: ImportOptions | None = None, *, progress: Progress | None = None
) -> CatalogueDocument:
    """Read a schedule file (see `parse_document`), refusing files larger than MAX_FILE_BYTES."""
    return parse_document(_read(path), str(path), options, progress=progress)


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise CatalogueFormatError(f"{path}: is a folder; name a schedule file")
        if size > MAX_FILE_BYTES:
            raise CatalogueFormatError(
                f"{path}: the file is {size / 1e6:,.0f} MB; an import reads at most "
                f"{MAX_FILE_BYTES / 1e6:,.0f} MB. Split it (for example by event) and import the parts."
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise CatalogueFormatError(f"{path}: no such file") from None
    except PermissionError:
        raise CatalogueFormatError(f"{path}: not allowed to read this file") from None


def _native(data: bytes, filename: str, options: ImportOptions) -> CatalogueDocument:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogueFormatError(f"{filename}: not UTF-8 text (byte {exc.start})") from None
    _check_lines(text, filename)
    document = parse_native(text, filename)
    if not options.event:
        return document
    wanted = fold(options.event.strip())
    root = next((e.slug for e in document.events if wanted in (e.slug, fold(e.name), fold(e.short_name or ""))), None)
    if root is None:
        names = ", ".join(e.slug for e in document.events) or "none"
        raise CatalogueFormatError(
            f"{filename}: {options.option('event')} {options.event!r}: no such event in the file (events: {names})"
        )
    chosen = {root}
    while True:
        more = {e.slug for e in document.events if e.parent in chosen} - chosen
        if not more:
            break
        chosen |= more
    document.events = [e for e in document.events if e.slug in chosen]
    document.talks = [t for t in document.talks if t.event in chosen]
    document.readings = []
    return document


def _check_lines(text: str, filename: str) -> None:
    """Refuse a TOML line longer than any field may be before parsing it (tomllib takes seconds on those)."""
    limit = MAX_SUMMARY + 1000
    if len(text) <= limit:
        return
    start = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) > limit:
            tables = re.findall(r"^[ \t]*\[\[[ \t]*(\w+)[ \t]*\]\]", text[:start], re.M)
            where = f" (in [[{tables[-1]}]] #{tables.count(tables[-1])})" if tables else ""
            raise CatalogueFormatError(
                f"{filename}, line {number}{where}: the line is {len(line):,} characters long; "
                f"no field may be longer than {MAX_SUMMARY:,}"
            )
        start += len(line) + 1


def check_sizes(document: CatalogueDocument, filename: str) -> None:
    """Fail when any field is too large to be real (the readers check their own; this covers every format)."""
    for event in document.events:
        for field, value in (("name", event.name), ("short_name", event.short_name), ("location", event.location)):
            _limit(filename, f"event {event.slug!r}", field, value, MAX_LINE if field != "name" else MAX_TITLE)
        _limit(filename, f"event {event.slug!r}", "url", event.url, MAX_URL)
    for talk in document.talks:
        where = f"talk {talk.slug!r}"
        _limit(filename, where, "title", talk.title, MAX_TITLE)
        _limit(filename, where, "summary", talk.summary, MAX_SUMMARY)
        _limit(filename, where, "track", talk.track, MAX_LINE)
        _limit(filename, where, "recording_url", talk.recording_url, MAX_URL)
        _limit(filename, where, "slides_url", talk.slides_url, MAX_URL)
        for position, credit in enumerate(talk.speakers, start=1):
            _limit(filename, where, f"speakers[{position}].name", credit.name, MAX_LINE)
            _limit(filename, where, f"speakers[{position}].organization", credit.organization, MAX_LINE)
    for reading in document.readings:
        _limit(filename, f"reading {reading.slug!r}", "summary", reading.summary, MAX_SUMMARY)
        _limit(filename, f"reading {reading.slug!r}", "title", reading.title, MAX_TITLE)
    for slug, name in document.topics.items():
        _limit(filename, f"topic {slug!r}", "name", name, MAX_LINE)


def _limit(filename: str, where: str, field: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise CatalogueFormatError(
            f"{filename}: {where}: field '{field}' is {len(value):,} characters long; at most {limit:,} are allowed"
        )


# Importing.
def import_file(
    conn: sqlite3.Connection,
    path: Path,
    options: ImportOptions | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one file in one transaction (rolled back after reporting when `dry_run`)."""
    return import_data(conn, _read(path), str(path), options, dry_run, progress)


def import_data(
    conn: sqlite3.Connection,
    data: bytes,
    filename: str,
    options: ImportOptions | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a file's bytes (from disk or a chat upload) in one transaction; `filename` names it in errors."""
    options = options or ImportOptions()
    if len(data) < PROGRESS_MIN_BYTES:
        progress = None
    document = parse_document(data, filename, options, progress=progress)
    return apply_import(conn, document, filename, options, dry_run, progress)


def apply_import(
    conn: sqlite3.Connection,
    document: CatalogueDocument,
    filename: str,
    options: ImportOptions | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> FileReport:
    """Write a parsed file's document in one transaction (a savepoint, inside the caller's) and report it."""
    options = options or ImportOptions()
    path = filename
    if document.source != "bundled":
        _keep_known_event_facts(conn, document, options.event)
    if progress is not None:
        progress("write", 0, None)
    try:
        report = apply_document(conn, document, dry_run=dry_run, allow_empty=options.allow_empty)
    except WouldEmptyEvents as exc:
        allow = "--allow-empty" if options.interface == "cli" else f"{options.option('allow_empty')}: True"
        raise CatalogueFormatError(
            f"{path}: {exc.message}. Nothing was changed; if the event really has no talks now, import "
            f"again with {allow}."
        ) from exc
    except ENGINE_ERRORS as exc:
        raise DatabaseError(f"{path}: the import failed and nothing was changed ({exc}).") from exc
    if progress is not None:
        progress("write", len(document.talks), len(document.talks))
    report = FileReport.of(report, document)
    log.info(
        "%s%s: %d added, %d changed, %d removed, %d unchanged",
        "dry run of " if dry_run else "",
        path,
        len(report.added),
        len(report.changed),
        len(report.removed),
        report.unchanged,
    )
    return report


def _keep_known_event_facts(conn: sqlite3.Connection, document: CatalogueDocument, named: str | None) -> None:
    """Keep what the catalogue knows of the document's events and the file does not say.

    When --event names an event the catalogue has (by id, name or short name), the talks join that event
    under its id and name. Known events keep their short name, dates, place, link and parent when the
    file gives none (a Sessionize export or a CSV knows nothing of where an event took place).
    """
    adopted = None
    if named:
        try:
            adopted = resolve_event(conn, named)
        except EventNotFound:
            adopted = None
        own = event_slug(named)
        if adopted is not None and adopted != own and any(e.slug == own for e in document.events):
            _rename_event(document, own, adopted)
    for index, event in enumerate(document.events):
        row = conn.execute(
            "SELECT e.name, e.short_name, e.start_date, e.end_date, e.location, e.url, p.slug FROM events e"
            " LEFT JOIN events p ON p.id = e.parent_id WHERE e.slug = ?",
            (event.slug,),
        ).fetchone()
        if row is None:
            continue
        name, short, start, end, location, url, parent = row
        start_date = event.start_date or _date(start)
        end_date = event.end_date or _date(end)
        if start_date and end_date and end_date < start_date:
            start_date, end_date = event.start_date, event.end_date
        document.events[index] = replace(
            event,
            name=name if event.slug == adopted else event.name,
            short_name=event.short_name or short,
            start_date=start_date,
            end_date=end_date,
            location=event.location or location,
            url=event.url or url,
            parent=event.parent or parent,
        )


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _rename_event(document: CatalogueDocument, old: str, new: str) -> None:
    document.events = [replace(e, slug=new) if e.slug == old else e for e in document.events]
    document.talks = [_moved(t, old, new) if t.event == old else t for t in document.talks]


def _moved(talk: TalkRecord, old: str, new: str) -> TalkRecord:
    slug = new + talk.slug[len(old) :] if talk.slug.startswith(f"{old}-") else talk.slug
    return replace(talk, event=new, slug=slug)


# Reporting.
@dataclass(slots=True)
class FileReport(ImportReport):
    """An ImportReport with what the file held: its sessions, and those imported, skipped and refused."""

    summary: ReadSummary | None = None
    talks: int = 0

    @classmethod
    def of(cls, report: ImportReport, document: CatalogueDocument) -> FileReport:
        """The report with the document's summary."""
        values = {item.name: getattr(report, item.name) for item in fields(ImportReport)}
        return cls(**values, summary=document.summary, talks=len(document.talks))


def summary_lines(summary: ReadSummary, imported: int) -> list[str]:
    """What the file held and what became of it, and the columns or fields nothing read."""
    skipped, refused = sum(summary.skipped.values()), sum(summary.refused.values())
    parts = [f"{imported} imported", f"{skipped} skipped", f"{refused} refused"]
    if summary.skipped:
        parts[1] += f" ({_reasons(summary.skipped)})"
    if summary.refused:
        parts[2] += f" ({_reasons(summary.refused)})"
    lines = [f"{summary.shape}: {_counted(summary.sessions, 'session')} in the file, {', '.join(parts)}."]
    if summary.unused:
        noun = "Columns" if summary.shape.startswith("CSV") else "Fields"
        lines.append(f"{noun} nothing read: {', '.join(summary.unused)}.")
    lines.extend(summary.notes)
    return lines


def _reasons(counts: dict[str, int]) -> str:
    """Why sessions were left out: "breaks", or "breaks: 3, service sessions: 2" when there are several reasons."""
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{why}: {count}" for why, count in counts.items())


def format_report(report: ImportReport, *, limit: int = 20) -> list[str]:
    """Lines for the command line: the counts, what the file held, then which talks were added, changed and removed."""
    verbs = ("would add", "would change", "would remove") if report.dry_run else ("added", "changed", "removed")
    summary = (
        f"{verbs[0]} {len(report.added)}, {verbs[1]} {len(report.changed)}, {verbs[2]} {len(report.removed)}"
        f", unchanged {report.unchanged}"
    )
    extras = []
    if report.events_added:
        extras.append(f"new events: {', '.join(report.events_added)}")
    if report.events_changed:
        label = "events that would change" if report.dry_run else "changed events"
        extras.append(f"{label}: {', '.join(report.events_changed)}")
    if report.topics_added:
        extras.append(_counted(len(report.topics_added), "new topic"))
    if report.topics_renamed:
        extras.append(f"renamed topics: {', '.join(report.topics_renamed)}")
    if report.readings_changed:
        extras.append(_counted(len(report.readings_changed), "new or changed reading"))
    if report.people_added:
        extras.append(f"{report.people_added} new people")
    lines = [
        ("Dry run, nothing was changed: " if report.dry_run else "")
        + summary
        + (f" ({'; '.join(extras)})" if extras else "")
    ]
    if isinstance(report, FileReport) and report.summary is not None:
        lines.extend(summary_lines(report.summary, report.talks))
    for mark, verb, talks, cap in (
        ("+", verbs[0], report.added, limit),
        ("~", verbs[1], report.changed, limit),
        ("-", verbs[2], report.removed, None),  # removals are always listed in full
    ):
        if not talks:
            continue
        lines.append(f"{verb.capitalize()}:")
        shown = talks if cap is None else talks[:cap]
        lines.extend(f"  {mark} {slug}  {title}" for slug, title in shown)
        if len(talks) > len(shown):
            lines.append(f"  … and {len(talks) - len(shown)} more")
    if not report.touched:
        lines.append("Nothing to change: the catalogue already matches the file.")
    return lines


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# Progress on the command line.
class ProgressDisplay:
    """A `Progress` that draws itself on a console; use it as a context manager around the import."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        return None

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        raise NotImplementedError


_STAGES = {"parse": "Reading", "write": "Writing"}


class _BarDisplay(ProgressDisplay):
    """A rich progress bar per stage, for terminals."""

    def __init__(self, console: Console) -> None:
        self.bars = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> Self:
        self.bars.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.bars.stop()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bars.add_task(_STAGES.get(stage, stage), total=total)
        self.bars.update(self.tasks[stage], completed=done, total=total)


class _LineDisplay(ProgressDisplay):
    """Plain lines at every tenth of a stage, for logs and pipes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.shown: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        label = _STAGES.get(stage, stage)
        if not total:
            if stage not in self.shown:
                self.shown[stage] = -1
                self.console.print(Text(f"{label}…"), highlight=False)
            return
        tenth = min(10, done * 10 // total)
        if tenth > self.shown.get(stage, -1):
            self.shown[stage] = tenth
            self.console.print(Text(f"{label}: {done:,} of {total:,} ({tenth * 10}%)"), highlight=False)


def make_progress(console: Console) -> ProgressDisplay:
    """A progress display: a bar on a terminal, plain lines otherwise."""
    return _BarDisplay(console) if console.is_terminal else _LineDisplay(console)


# Exporting.
def export_file(conn: sqlite3.Connection, path: Path, event: str | None = None) -> CatalogueDocument:
    """Write the catalogue, or one event (by id, name or short name) and its co-located events, to `path`."""
    document = export_document(conn, resolve_event(conn, event) if event else None)
    text = dump_native(document)
    _write_atomically(path, text)
    return document


def _write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file beside `path`, so a reader never sees half a file.

    The file gets the mode an ordinary new file gets (0666 less the umask), or keeps the mode of the
    file it replaces: exports are meant to be committed and shared, which mkstemp's 0600 would hinder.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = _create_beside(path, ".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            with suppress(FileNotFoundError):
                os.fchmod(stream.fileno(), stat.S_IMODE(path.stat().st_mode))
            stream.write(text)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _create_beside(path: Path, suffix: str) -> tuple[int, Path]:
    """Create a new, hidden file with a random name in `path`'s folder; mode 0666 less the umask."""
    while True:
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}")
        try:
            return os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), candidate
        except FileExistsError:
            continue


# The database an import works on.
@contextmanager
def database_for_import(
    path: Path | str, prepare: Callable[[Path | str], object], *, keep: bool = True
) -> Iterator[Path | str]:
    """The database an import works on, made ready by `prepare` (migrations, the bundled catalogue).

    A database that exists is used where it is: the import's one transaction keeps it whole. One that
    does not exist yet is built under a temporary name beside it, and takes its name only when the block
    ends without an error and `keep` is true (it is not for a dry run): neither a failed import nor a dry
    run leaves a new database behind. Connections to it must be closed when the block ends.
    """
    file = database_file(path)
    if file is None or file.exists():  # PostgreSQL's (on a server) always exists once prepared
        prepare(path)
        yield path
        return
    path = file
    created = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.new")
    kept = False
    try:
        prepare(temporary)
        yield temporary
        if keep:
            _claim(temporary, path)
            kept = True
    finally:
        for leftover in (temporary, *(Path(f"{temporary}{end}") for end in ("-wal", "-shm", "-journal"))):
            leftover.unlink(missing_ok=True)
        if not kept:
            for folder in created:  # innermost first; only the empty ones this call made
                with suppress(OSError):
                    folder.rmdir()


def _claim(temporary: Path, path: Path) -> None:
    """Give the finished database its name, unless a database of that name appeared meanwhile."""
    try:
        os.link(temporary, path)  # unlike a rename, fails rather than replace a file made meanwhile
    except FileExistsError:
        raise DatabaseError(
            f"{path} was created by something else during the import; nothing was imported. Import again."
        ) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        temporary.replace(path)  # a file system without hard links


# The command line's options.
def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `python -m bot import`."""
    parser.add_argument("path", type=Path, help="the schedule file to import")
    parser.add_argument(
        "--format",
        choices=("auto", *FORMATS),
        default="auto",
        help="the file's format (default: told from the content)",
    )
    parser.add_argument(
        "--event",
        metavar="NAME",
        help="the event: overrides the file's; needed for Sessionize; the event of CSV rows without one "
        "and of a Sched calendar; "
        "picks one event out of a bundled-format file",
    )
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="IANA zone for times written without an offset (Sessionize, CSV), e.g. Europe/London",
    )
    parser.add_argument(
        "--track-group", metavar="TITLE", help="Sessionize: the category group that holds tracks (title or id)"
    )
    parser.add_argument(
        "--recording-question",
        metavar="TITLE",
        help="Sessionize: the custom question that holds recording links (title or id)",
    )
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="CSV: read FIELD from COLUMN (repeat, or join with commas; FIELD= switches a field off); fields: "
        + ", ".join(csv_table.COLUMNS),
    )
    parser.add_argument(
        "--separator", default=";", metavar="TEXT", help="CSV: what separates speakers and topics in a cell (default ;)"
    )
    parser.add_argument(
        "--date-format",
        metavar="FORMAT",
        help="CSV: how dates are written, e.g. %%d/%%m/%%y (default: ISO, or day-first/month-first as the file shows)",
    )
    parser.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="let the file remove every talk of an event the catalogue has (refused otherwise, "
        "as an empty export is usually a mistake)",
    )


def options_from_arguments(args: argparse.Namespace) -> ImportOptions:
    """The ImportOptions the parsed `import` arguments ask for."""
    options = ImportOptions(
        format=args.format,
        event=args.event,
        timezone=args.timezone,
        track_group=args.track_group,
        recording_question=args.recording_question,
        csv_map=csv_table.parse_map(args.map),
        separator=args.separator,
        date_format=args.date_format,
        allow_empty=args.allow_empty,
    )
    options.zone()  # fail now on a misspelt zone, before any file is read
    return options


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `python -m bot export`."""
    parser.add_argument("path", type=Path, help="the file to write, in the bundled format")
    parser.add_argument(
        "--event", metavar="NAME", help="only this event (id, name or short name) and its co-located events"
    )
