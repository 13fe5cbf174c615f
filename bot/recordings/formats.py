"""Readers for lists of recordings, the format told from the content: each gives a `RecordingList`.

Formats: the YouTube Data API's `playlistItems` and `search` list responses (one page, or a list of pages);
`yt-dlp -J` (a playlist, flat or not, or one video) and `yt-dlp --dump-json` (one JSON object a line);
pyvideo.org's per-video JSON (one file, a list, or a folder of them); media.ccc.de's conference JSON
(`/public/conferences/<slug>`); the pretalx-youtube plugin's export (`/api/events/<event>/p/youtube/`, JSON
or its CSV of `submission,video_id`); a CSV with a url and a title column (speakers and date when present);
a schedule export whose talks carry recording links (frab/pentabarf/pretalx XML or JSON, Sessionize, Sched,
read by `bot.catalogue.formats`); and a file in the bundled TOML format, such as a review file written by
`python -m bot recordings --review-out`, whose `[[talks]]` give a recording to a talk by its id.

A video keeps the identifiers its source gives (a frab guid or slug, a pretalx code, a schedule id) and
the links its description holds, which may name the talk's own page. Anything that cannot be read fails
with one line naming the file, the record and the field.
"""

from __future__ import annotations

import csv
import html
import io
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.catalogue.formats.fields import MAX_SUMMARY, MAX_TITLE, MAX_URL, http_url, load_json
from bot.catalogue.formats.options import ImportOptions
from bot.catalogue.importer import MAX_FILE_BYTES, parse_document
from bot.domain.text import clean_line
from bot.errors import CatalogueFormatError

MAX_RECORDINGS = 200_000
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"')\]]{1,2000}")
_NATIVE = re.compile(r"^\s*(?:\[\[?\s*(?:talks|events|readings|topics)\s*\]\]?|(?:talks|events|topics)\s*=)", re.M)


@dataclass(frozen=True, slots=True)
class Recording:
    """One video as its source describes it.

    `keys` are identifiers shared with schedules (frab guid, slug or id, pretalx code); `links` the URLs in
    its description; `talk_id` a catalogue talk the source names outright (a review file); `replace` lets a
    reviewed entry replace a talk's other recording.
    """

    url: str
    title: str = ""
    description: str = ""
    speakers: tuple[str, ...] = ()
    date: str | None = None  # ISO date
    duration: int | None = None  # seconds
    keys: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    talk_id: str | None = None
    replace: bool = False


@dataclass(slots=True)
class RecordingList:
    """The videos of one file (or folder), with the name of the shape it had."""

    source: str
    shape: str
    recordings: list[Recording] = field(default_factory=list)
    skipped: int = 0  # entries without a video link (private or deleted videos, talks not recorded)


# -- reading -------------------------------------------------------------------------------------------------


def read_path(path: Path) -> RecordingList:
    """Read a file, or a folder of pyvideo JSON files (its `videos/` folder, or the JSON files in it)."""
    try:
        if path.is_dir():
            return _read_folder(path)
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CatalogueFormatError(f"{path}: the file is {size / 1e6:,.0f} MB; at most {MAX_FILE_BYTES / 1e6:,.0f}")
        return read_recordings(path.read_bytes(), str(path))
    except FileNotFoundError:
        raise CatalogueFormatError(f"{path}: no such file or folder") from None
    except PermissionError:
        raise CatalogueFormatError(f"{path}: not allowed to read it") from None


def _read_folder(folder: Path) -> RecordingList:
    inner = folder / "videos"
    files = sorted((inner if inner.is_dir() else folder).glob("*.json"))
    files = [f for f in files if f.name != "category.json"]
    if not files:
        raise CatalogueFormatError(f"{folder}: a folder with no JSON files (pyvideo keeps one per video)")
    found = RecordingList(source=str(folder), shape="pyvideo JSON, a folder")
    for path in files:
        root = load_json(path.read_bytes(), str(path))
        if not isinstance(root, dict) or not _is_pyvideo(root):
            raise CatalogueFormatError(f"{path}: not a pyvideo video (no 'title' and 'videos')")
        _add(found, _pyvideo(root, str(path), path.stem))
    return found


def read_recordings(data: bytes, filename: str) -> RecordingList:
    """Read a list of recordings from a file's bytes, its format told from the content."""
    head = data[:65536].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise CatalogueFormatError(f"{filename}: the file is empty")
    if head.startswith(b"<") or head[:15].upper() == b"BEGIN:VCALENDAR":
        return _schedule(data, filename)
    text_head = head.decode("utf-8", errors="replace")
    if _NATIVE.match(text_head.lstrip()) or _first_statement(text_head).startswith(("[[talks]]", "[[ talks ]]")):
        return _toml(data, filename)
    if head.startswith((b"{", b"[")):
        return _json(data, filename)
    return _csv(data, filename)


def _first_statement(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped
    return ""


def _add(found: RecordingList, recording: Recording | None) -> None:
    if recording is None:
        found.skipped += 1
        return
    if len(found.recordings) >= MAX_RECORDINGS:
        raise CatalogueFormatError(f"{found.source}: more than {MAX_RECORDINGS:,} recordings; split the list")
    found.recordings.append(recording)


def _json(data: bytes, filename: str) -> RecordingList:
    lines = [line for line in data.splitlines() if line.strip()]
    if len(lines) > 1 and all(line.lstrip().startswith(b"{") and line.rstrip().endswith(b"}") for line in lines[:3]):
        try:
            root: Any = load_json(data, filename)
        except CatalogueFormatError:  # JSON lines: yt-dlp --dump-json
            return _json_lines(lines, filename)
    else:
        root = load_json(data, filename)
    return _json_object(root, filename)


def _json_lines(lines: list[bytes], filename: str) -> RecordingList:
    found = RecordingList(source=filename, shape="yt-dlp JSON lines")
    for number, line in enumerate(lines, start=1):
        item = load_json(line, f"{filename}, line {number}")
        if not isinstance(item, dict):
            raise CatalogueFormatError(f"{filename}, line {number}: must be a JSON object")
        _add(found, _ytdlp(item, f"{filename}, line {number}"))
    return found


def _json_object(root: Any, filename: str) -> RecordingList:
    if isinstance(root, dict):
        kind = str(root.get("kind") or "")
        if kind.startswith("youtube#") or (isinstance(root.get("items"), list) and "pageInfo" in root):
            return _youtube([root], filename)
        if root.get("_type") in ("playlist", "multi_video") or isinstance(root.get("entries"), list):
            found = RecordingList(source=filename, shape="yt-dlp playlist (-J)")
            for index, entry in enumerate(_entries(root)):
                _add(found, _ytdlp(entry, f"{filename}: entries[{index}]"))
            return found
        if root.get("_type") == "video" or "webpage_url" in root or "extractor" in root:
            found = RecordingList(source=filename, shape="yt-dlp video (-J)")
            _add(found, _ytdlp(root, filename))
            return found
        if isinstance(root.get("events"), list) and ("acronym" in root or "slug" in root):
            return _media_ccc(root, filename)
        if isinstance(root.get("results"), list) and _pretalx_youtube_entries(root["results"]):
            return _pretalx_youtube(root["results"], filename)
        if "submission" in root and ("video_id" in root or "youtube_link" in root):
            return _pretalx_youtube([root], filename)
        if _is_pyvideo(root):
            found = RecordingList(source=filename, shape="pyvideo JSON")
            _add(found, _pyvideo(root, filename, Path(filename).stem))
            return found
        if isinstance(root.get("schedule"), dict) or "sessions" in root:
            return _schedule_object(root, filename)
    if isinstance(root, list) and root and all(isinstance(item, dict) for item in root):
        first = root[0]
        if str(first.get("kind") or "").startswith("youtube#") and "items" in first:
            return _youtube(root, filename)
        if _pretalx_youtube_entries(root):
            return _pretalx_youtube(root, filename)
        if all(_is_pyvideo(item) for item in root):
            found = RecordingList(source=filename, shape="pyvideo JSON, a list")
            for index, item in enumerate(root):
                _add(found, _pyvideo(item, f"{filename}: [{index}]", None))
            return found
        if all("webpage_url" in item or ("url" in item and "title" in item) for item in root):
            found = RecordingList(source=filename, shape="yt-dlp entries")
            for index, item in enumerate(root):
                _add(found, _ytdlp(item, f"{filename}: [{index}]"))
            return found
    raise CatalogueFormatError(
        f"{filename}: JSON, but not a list of recordings this bot reads (YouTube API, yt-dlp, pyvideo, "
        f"media.ccc.de, pretalx-youtube, a schedule export): it holds {_outline(root)}"
    )


def _outline(root: object) -> str:
    if isinstance(root, dict):
        keys = ", ".join(repr(str(key)[:30]) for key in list(root)[:5]) + (", …" if len(root) > 5 else "")
        return f"an object with {keys}" if keys else "an empty object"
    if isinstance(root, list):
        return f"a list of {len(root)}"
    return "a single value"


# -- field helpers -------------------------------------------------------------------------------------------


def _text(item: dict[str, Any], key: str, where: str, limit: int = MAX_TITLE) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CatalogueFormatError(f"{where}: field '{key}' must be text, not {type(value).__name__}")
    if len(value) > limit:
        raise CatalogueFormatError(f"{where}: field '{key}' is {len(value):,} characters long; at most {limit:,}")
    return value


def _title(item: dict[str, Any], key: str, where: str) -> str:
    return clean_line(html.unescape(_text(item, key, where)))


def _day(value: object) -> str | None:
    """An ISO date from the ways sources write one: 2024-07-10, 2024-07-10T09:30:00Z, 20240710."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if re.fullmatch(r"\d{8}", value):
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    if re.match(r"\d{4}-\d{2}-\d{2}", value):
        return value[:10]
    return None


def _seconds(value: object) -> int | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return int(value)
    return None


def _links(text: str) -> tuple[str, ...]:
    found = []
    for match in _URL_IN_TEXT.finditer(text[:MAX_SUMMARY]):
        url = match.group(0).rstrip(".,;:!?")
        if url not in found:
            found.append(url)
    return tuple(found)


def _url(value: object, where: str, key: str) -> str:
    url = http_url(value if isinstance(value, str) else None)
    if url is None:
        raise CatalogueFormatError(f"{where}: field '{key}' must be an http(s) link (got {str(value)[:80]!r})")
    return url


def _keys(*values: object) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(v).strip() for v in values if isinstance(v, str | int) and str(v).strip()))


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(n for n in (clean_line(part) for part in re.split(r"\s*[;,]\s*|\s+&\s+|\s+and\s+", value)) if n)
    if isinstance(value, list):
        names = []
        for item in value:
            name = item.get("name") or item.get("public_name") if isinstance(item, dict) else item
            if isinstance(name, str) and clean_line(name):
                names.append(clean_line(name))
        return tuple(names)
    return ()


# -- YouTube Data API ----------------------------------------------------------------------------------------


def _youtube(pages: list[Any], filename: str) -> RecordingList:
    kinds = {str(page.get("kind")) for page in pages if isinstance(page, dict)}
    shape = "YouTube search list" if kinds == {"youtube#searchListResponse"} else "YouTube playlistItems list"
    found = RecordingList(source=filename, shape=shape)
    for number, page in enumerate(pages):
        items = page.get("items") if isinstance(page, dict) else None
        if not isinstance(items, list):
            raise CatalogueFormatError(f"{filename}: page {number + 1}: field 'items' must be a list")
        for index, item in enumerate(items):
            where = f"{filename}: items[{index}]" + (f" of page {number + 1}" if len(pages) > 1 else "")
            if not isinstance(item, dict):
                raise CatalogueFormatError(f"{where}: must be an object")
            _add(found, _youtube_item(item, where))
    return found


def _youtube_item(item: dict[str, Any], where: str) -> Recording | None:
    snippet = item.get("snippet") or {}
    details = item.get("contentDetails") or {}
    ident = item.get("id")
    if not isinstance(snippet, dict) or not isinstance(details, dict):
        raise CatalogueFormatError(f"{where}: fields 'snippet' and 'contentDetails' must be objects")
    video = None
    if isinstance(ident, dict):  # a search result: {"kind": "youtube#video", "videoId": ...}
        if ident.get("kind") not in (None, "youtube#video"):
            return None  # a channel or a playlist among the results
        video = ident.get("videoId")
    resource = snippet.get("resourceId")
    if video is None and isinstance(resource, dict):
        video = resource.get("videoId")
    video = video or details.get("videoId")
    if not isinstance(video, str) or not re.fullmatch(r"[\w-]{6,20}", video):
        raise CatalogueFormatError(f"{where}: no video id (snippet.resourceId.videoId or id.videoId)")
    title = _title(snippet, "title", where)
    if title in ("Private video", "Deleted video"):
        return None
    description = _text(snippet, "description", where, MAX_SUMMARY)
    return Recording(
        url=f"https://www.youtube.com/watch?v={video}",
        title=title,
        description=description,
        date=_day(details.get("videoPublishedAt") or snippet.get("publishedAt")),
        links=_links(description),
    )


# -- yt-dlp --------------------------------------------------------------------------------------------------


def _entries(root: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for entry in root.get("entries") or []:
        if isinstance(entry, dict) and entry.get("_type") == "playlist":
            yield from _entries(entry)
        elif isinstance(entry, dict):
            yield entry
        elif entry is not None:
            raise CatalogueFormatError("yt-dlp entries must be objects")


def _ytdlp(item: dict[str, Any], where: str) -> Recording | None:
    url = item.get("webpage_url") or item.get("original_url") or item.get("url")
    ident = item.get("id")
    if not isinstance(url, str) and isinstance(ident, str) and str(item.get("ie_key", "")).lower() == "youtube":
        url = f"https://www.youtube.com/watch?v={ident}"
    extractor = str(item.get("ie_key") or item.get("extractor_key") or "").lower()
    if isinstance(url, str) and extractor == "youtube" and "://" not in url and isinstance(ident, str):
        url = f"https://www.youtube.com/watch?v={ident}"
    if url is None:
        return None
    title = _title(item, "title", where)
    if title in ("[Private video]", "[Deleted video]"):
        return None
    description = _text(item, "description", where, MAX_SUMMARY)
    return Recording(
        url=_url(url, where, "webpage_url"),
        title=title,
        description=description,
        speakers=_names(item.get("artists") or item.get("creators") or []),
        date=_day(item.get("upload_date") or item.get("release_date")),
        duration=_seconds(item.get("duration")),
        links=_links(description),
    )


# -- pyvideo -------------------------------------------------------------------------------------------------


def _is_pyvideo(item: dict[str, Any]) -> bool:
    return "title" in item and isinstance(item.get("videos"), list)


def _pyvideo(item: dict[str, Any], where: str, stem: str | None) -> Recording | None:
    videos = [v for v in item["videos"] if isinstance(v, dict) and isinstance(v.get("url"), str)]
    if not videos:
        return None
    description = _text(item, "description", where, MAX_SUMMARY)
    related = [r.get("url") for r in item.get("related_urls") or [] if isinstance(r, dict)]
    keys = [item.get("slug")]
    url = _url(videos[0]["url"], where, "videos[0].url")
    file_stem = urlsplit(url).path.rsplit("/", 1)[-1].split(".", 1)[0]
    if file_stem and "youtube" not in url:
        keys.append(file_stem)  # video.fosdem.org names files after the schedule's slug
    return Recording(
        url=url,
        title=_title(item, "title", where),
        description=description,
        speakers=_names(item.get("speakers") or []),
        date=_day(item.get("recorded")),
        duration=_seconds(item.get("duration")),
        keys=_keys(*keys),
        links=tuple(dict.fromkeys([*_links(description), *(u for u in related if isinstance(u, str))])),
    )


# -- media.ccc.de --------------------------------------------------------------------------------------------


def _media_ccc(root: dict[str, Any], filename: str) -> RecordingList:
    found = RecordingList(source=filename, shape="media.ccc.de conference JSON")
    for index, item in enumerate(root["events"]):
        where = f"{filename}: events[{index}]"
        if not isinstance(item, dict):
            raise CatalogueFormatError(f"{where}: must be an object")
        page = item.get("frontend_link") or item.get("url")
        if page is None:
            found.skipped += 1
            continue
        title = _title(item, "title", where)
        subtitle = _title(item, "subtitle", where)
        description = _text(item, "description", where, MAX_SUMMARY)
        link = item.get("link")
        _add(
            found,
            Recording(
                url=_url(page, where, "frontend_link"),
                title=f"{title}: {subtitle}" if subtitle and subtitle.casefold() not in title.casefold() else title,
                description=description,
                speakers=_names(item.get("persons") or []),
                date=_day(item.get("date")),
                duration=_seconds(item.get("duration") or item.get("length")),
                keys=_keys(item.get("guid"), item.get("slug")),
                links=tuple(dict.fromkeys([*([link] if isinstance(link, str) else []), *_links(description)])),
            ),
        )
    return found


# -- pretalx-youtube ---------------------------------------------------------------------------------------------


def _pretalx_youtube_entries(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and "submission" in i for i in items)


def _pretalx_youtube(items: list[Any], filename: str) -> RecordingList:
    found = RecordingList(source=filename, shape="pretalx-youtube export")
    for index, item in enumerate(items):
        where = f"{filename}: results[{index}]"
        code = item.get("submission")
        if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z0-9]{4,16}", code):
            raise CatalogueFormatError(f"{where}: field 'submission' must be a pretalx code like DPC6RT")
        link, video = item.get("youtube_link"), item.get("video_id")
        if isinstance(video, str) and re.fullmatch(r"[\w-]{6,20}", video):
            url = f"https://www.youtube.com/watch?v={video}"
        elif link:
            url = _url(link, where, "youtube_link")
        else:
            found.skipped += 1
            continue
        _add(found, Recording(url=url, keys=(code,)))
    return found


# -- schedules with recording links, and the bundled format -----------------------------------------------------


def _schedule(data: bytes, filename: str) -> RecordingList:
    return _from_document(parse_document(data, filename, ImportOptions()), filename)


def _schedule_object(root: dict[str, Any], filename: str) -> RecordingList:
    import json

    return _schedule(json.dumps(root).encode(), filename)


def _from_document(document: Any, filename: str) -> RecordingList:
    shape = document.summary.shape if document.summary else "schedule export"
    found = RecordingList(source=filename, shape=f"{shape} with recording links")
    for talk in document.talks:
        if not talk.recording_url:
            found.skipped += 1
            continue
        ident = talk.slug.rsplit("-", 1)[-1]
        _add(
            found,
            Recording(
                url=talk.recording_url,
                title=talk.title,
                description=talk.summary,
                speakers=tuple(s.name for s in talk.speakers),
                date=_day(talk.date),
                keys=_keys(talk.source_id, ident),
                talk_id=talk.slug,
            ),
        )
    return found


def _toml(data: bytes, filename: str) -> RecordingList:
    try:
        root = tomllib.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise CatalogueFormatError(f"{filename}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueFormatError(f"{filename}: not valid TOML: {exc}") from None
    talks = root.get("talks")
    if not isinstance(talks, list):
        raise CatalogueFormatError(f"{filename}: no [[talks]] entries: nothing to give recordings to")
    found = RecordingList(source=filename, shape="bundled-format file ([[talks]] with recording_url)")
    for index, item in enumerate(talks):
        where = f"{filename}: talks #{index + 1}"
        if not isinstance(item, dict):
            raise CatalogueFormatError(f"{where}: must be a table")
        ident = item.get("id")
        if not isinstance(ident, str) or not ident.strip():
            raise CatalogueFormatError(f"{where}: field 'id' (the talk this recording is for) is missing")
        if item.get("recording_url") is None:
            found.skipped += 1
            continue
        replace = item.get("replace", False)
        if not isinstance(replace, bool):
            raise CatalogueFormatError(f"{where} ({ident!r}): field 'replace' must be true or false")
        speakers = item.get("speakers") or []
        _add(
            found,
            Recording(
                url=_url(item.get("recording_url"), f"{where} ({ident!r})", "recording_url"),
                title=_title(item, "title", where),
                speakers=_names(speakers if isinstance(speakers, list) else []),
                keys=_keys(item.get("source_id")),
                talk_id=ident.strip(),
                replace=replace,
            ),
        )
    return found


# -- CSV -----------------------------------------------------------------------------------------------------

_URL_COLUMNS = ("url", "video", "video url", "video_url", "recording", "recording url", "recording_url", "link",
                "youtube", "youtube url", "youtube_link", "webpage_url")  # fmt: skip
_TITLE_COLUMNS = ("title", "name", "video title", "talk", "talk title")
_SPEAKER_COLUMNS = ("speakers", "speaker", "presenters", "presenter", "authors", "author")
_DATE_COLUMNS = ("date", "recorded", "published", "upload date", "upload_date", "published at")
_KEY_COLUMNS = ("code", "submission", "guid", "slug", "id", "talk id", "session id")


def _csv(data: bytes, filename: str) -> RecordingList:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogueFormatError(f"{filename}: not UTF-8 text (byte {exc.start})") from None
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    if first.count(delimiter) == 0:
        raise CatalogueFormatError(
            f"{filename}: cannot tell the format from the content: not JSON, XML or TOML, and not a CSV with "
            "a header (url, title)"
        )
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [clean_line(h).casefold() for h in next(rows)]
    column = _columns(header)
    if "submission" in header and "video_id" in header:
        items = [dict(zip(header, row, strict=False)) for row in rows]
        return _pretalx_youtube(items, filename)
    if column["url"] is None:
        raise CatalogueFormatError(
            f"{filename}: a CSV without a column of video links (one of: {', '.join(_URL_COLUMNS[:6])}); "
            f"its columns are {', '.join(header[:8])}"
        )
    found = RecordingList(source=filename, shape="CSV of recordings")
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{filename}, line {number}"

        def cell(name: str, row: list[str] = row) -> str:
            index = column[name]
            return row[index].strip() if index is not None and index < len(row) else ""

        url = cell("url")
        if not url:
            found.skipped += 1
            continue
        title = clean_line(html.unescape(cell("title")))
        if len(title) > MAX_TITLE or len(url) > MAX_URL:
            raise CatalogueFormatError(f"{where}: a field is too long")
        _add(
            found,
            Recording(
                url=_url(url, where, header[column["url"] or 0]),
                title=title,
                speakers=_names(cell("speakers")),
                date=_day(cell("date")),
                keys=_keys(cell("key")),
            ),
        )
    return found


def _columns(header: list[str]) -> dict[str, int | None]:
    def find(names: Iterable[str]) -> int | None:
        return next((header.index(n) for n in names if n in header), None)

    return {
        "url": find(_URL_COLUMNS),
        "title": find(_TITLE_COLUMNS),
        "speakers": find(_SPEAKER_COLUMNS),
        "date": find(_DATE_COLUMNS),
        "key": find(_KEY_COLUMNS),
    }


def video_id(url: str) -> str | None:
    """The YouTube video id of a link, in any of its spellings (watch?v=, youtu.be/, /live/, /embed/)."""
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.").removeprefix("m.")
    if host == "youtu.be":
        return parts.path.strip("/").split("/")[0] or None
    if host.endswith("youtube.com"):
        query = parse_qs(parts.query).get("v")
        if query:
            return query[0]
        pieces = parts.path.strip("/").split("/")
        if len(pieces) >= 2 and pieces[0] in ("live", "embed", "shorts", "v"):
            return pieces[1]
    return None


def video_key(url: str) -> str:
    """What a link is the same video as: YouTube's spellings of one id are one video; otherwise the address."""
    if "youtu" in url:
        ident = video_id(url)
        if ident:
            return f"youtube:{ident}"
    return url.split("://", 1)[-1].rstrip("/")


def same_video(first: str, second: str) -> bool:
    """Whether two links are the same video (see `video_key`)."""
    return first == second or video_key(first) == video_key(second)


__all__ = ["Recording", "RecordingList", "read_path", "read_recordings", "same_video", "video_id", "video_key"]
