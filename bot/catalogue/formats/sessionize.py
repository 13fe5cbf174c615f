"""Sessionize "All data" exports (`GET /api/v2/<endpoint>/view/All`): sessions, speakers, categories, rooms.

Sessionize leaves several things to each organiser, so this reader decides them as follows; each
decision has an option for when the guess is wrong:

- Event: the export does not name it, so `--event NAME` is required (its id is the slug of the name).
- Tracks (`--track-group TITLE`): the session category group whose title mentions "track" (or
  "stream"); its item names become the track and a topic. Without such a group, talks have no track.
- Recordings (`--recording-question TITLE`): `recordingUrl` when set, else the answer to the custom
  question whose title mentions recording, video or YouTube. Answers that are not links are ignored.
- Times (`--timezone ZONE`): Sessionize writes local times without an offset. With --timezone they are
  stored with that zone's offset; without it, only the dates are kept and a warning says so, and the
  talks' ends (`endsAt`) are not kept at all.
- Rooms and streams: `roomId` names one of the export's `rooms`; `liveUrl` is the live stream.
- Organisations: a speaker question about their company when there is one, else the tag line, read
  by `organisation_from_tagline` (left empty when the tag line is not clear).
- Kinds: the category group about the session's format or type ("20 min lightning talk"), else the
  title's label ("Keynote: …", "… Workshop").
- Language: the category group or custom question whose title mentions the language ("Language",
  "Sprache"), when its value names one language ("English", "German", "EN"); otherwise unknown.
- Skipped: service sessions (breaks, lunch); refused: sessions whose status says they were not
  accepted. The import's report counts both.

Sessionize's other views ("Sessions", "GridSmart", "Speakers") lack the speakers' tag lines, the
custom questions or the category groups, so they are refused with a hint to export "All data".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from bot.catalogue.formats.document import CatalogueDocument, EventRecord, ReadSummary, TalkRecord
from bot.catalogue.formats.fields import (
    MAX_TITLE,
    Record,
    day_of,
    distinct_speakers,
    end_moment,
    event_slug,
    guess_kind,
    http_url,
    language_code,
    load_json,
    source_person,
    source_person_keys,
    speaker,
    talk_slug,
    topic_for,
    warn_dropped_times,
)
from bot.catalogue.formats.options import ImportOptions, Progress, Ticker
from bot.domain.text import fold, words
from bot.errors import CatalogueFormatError

log = logging.getLogger(__name__)

SOURCE = "sessionize"
_TRACK_WORDS = {"track", "tracks", "stream", "streams"}
_FORMAT_WORDS = {"format", "type", "kind", "length", "duration"}
_RECORDING_WORDS = {"recording", "recordings", "video", "youtube", "vimeo", "aufzeichnung"}
_SLIDES_WORDS = {"slides", "slide", "folien", "deck", "presentation"}
_LANGUAGE_WORDS = {"language", "languages", "sprache", "langue", "idioma", "lingua"}
_COMPANY_WORDS = {"company", "organisation", "organization", "employer", "affiliation", "firma", "unternehmen"}
_NOT_ACCEPTED = {"declined", "nominated", "waitlisted", "wait-listed", "rejected", "withdrawn", "cancelled", "canceled"}


def parse(
    data: bytes | str, filename: str, options: ImportOptions, *, progress: Progress | None = None
) -> CatalogueDocument:
    """Read a Sessionize "All data" export."""
    return parse_object(load_json(data, filename), filename, options, progress=progress)


def parse_object(
    root: object, filename: str, options: ImportOptions, *, progress: Progress | None = None
) -> CatalogueDocument:
    """Read an already parsed Sessionize export."""
    if isinstance(root, list):
        raise CatalogueFormatError(other_view(root, filename) or f"{filename}: not a Sessionize export: a list")
    if not isinstance(root, dict) or "sessions" not in root:
        raise CatalogueFormatError(f"{filename}: not a Sessionize export: no 'sessions' list at the top")
    top = Record(filename, "export", root)
    if not options.event:
        option = options.option("event")
        raise CatalogueFormatError(
            f"{filename}: a Sessionize export does not name its event; pass {option} NAME "
            f"(for example {option} {_event_example(filename, root.get('sessions'))!r})"
        )
    zone = options.zone()
    speakers = _speakers(top, filename)
    people = source_person_keys((name, ident, None) for ident, (name, _, _) in speakers.items())
    categories = _categories(top)
    questions = _questions(top)
    track_items = _track_items(categories, options, filename)
    format_items = _format_items(categories, track_items)
    recording_questions = _question_ids(
        questions, options.recording_question, _RECORDING_WORDS, f"{filename}: {options.option('recording_question')}"
    )
    slides_questions = _question_ids(questions, None, _SLIDES_WORDS, filename)
    company_questions = _question_ids(questions, None, _COMPANY_WORDS, filename)
    language_items = _language_items(categories)
    language_questions = _question_ids(questions, None, _LANGUAGE_WORDS, filename)

    rooms = _rooms(top)
    slug = event_slug(options.event)
    sessions = top.items("sessions")
    summary = ReadSummary(shape="Sessionize (All data)", sessions=len(sessions))
    document = CatalogueDocument(source=SOURCE, summary=summary)
    tick = Ticker(progress, "parse", len(sessions))
    seen: dict[str, str] = {}
    dropped = 0
    for position, item in enumerate(sessions, start=1):
        tick(position)
        if not isinstance(item, dict):
            raise CatalogueFormatError(f"{filename}: session #{position}: must be an object")
        ident = item.get("id")
        label = f"session #{position}" + (f" (id {str(ident)[:40]!r})" if isinstance(ident, str | int) else "")
        record = Record(filename, label, item)
        source_id = record.line("id", required=True, numbers=True, limit=64) or ""
        if source_id in seen:
            raise record.fail("id", f"repeats {seen[source_id]} (id {source_id!r})")
        seen[source_id] = label
        status = fold(record.line("status") or "")
        if item.get("isServiceSession") is True:
            summary.skip("service sessions")
            continue
        if status in _NOT_ACCEPTED:
            summary.refuse(f"not accepted: {status}")
            continue
        title = record.line("title", required=True, limit=MAX_TITLE) or ""
        when, lost_time = record.moment("startsAt", zone)
        ends, _ = record.moment("endsAt", zone)
        dropped += lost_time
        chosen = _category_ids(record)
        track = next((track_items[i] for i in chosen if i in track_items), None)
        answers = _answers(record)
        recording = http_url(record.raw("recordingUrl", limit=4000)) or _first_link(answers, recording_questions)
        credits = []
        for index, speaker_id in enumerate(record.items("speakers")):
            if not isinstance(speaker_id, str | int) or str(speaker_id) not in speakers:
                raise record.fail(f"speakers[{index + 1}]", f"names no speaker of the export ({speaker_id!r})")
            name, tagline, speaker_answers = speakers[str(speaker_id)]
            company = next((speaker_answers[q] for q in company_questions if speaker_answers.get(q)), None)
            credit = speaker(name, company or organisation_from_tagline(tagline))
            credits.append(source_person(credit, str(speaker_id), people))
        topic = topic_for(track)
        if topic:
            document.topics.setdefault(*topic)
        document.talks.append(
            TalkRecord(
                slug=talk_slug(slug, source_id),
                title=title,
                event=slug,
                kind=guess_kind(next((format_items[i] for i in chosen if i in format_items), None), title),
                summary=record.summary("description"),
                date=when,
                track=track,
                recording_url=recording,
                slides_url=_first_link(answers, slides_questions),
                speakers=distinct_speakers(credits),
                topics=(topic[0],) if topic else (),
                source_id=source_id,
                language=_language(chosen, language_items, answers, language_questions),
                ends_at=end_moment(when, ends),
                room=rooms.get(str(item.get("roomId"))) if item.get("roomId") is not None else None,
                stream_url=http_url(record.raw("liveUrl", limit=4000)),
            )
        )
    tick.finish(len(sessions))
    days = sorted(day for talk in document.talks if (day := day_of(talk.date)))
    document.events.append(
        EventRecord(
            slug=slug,
            name=options.event,
            start_date=days[0] if days else None,
            end_date=days[-1] if days else None,
        )
    )
    warn_dropped_times(filename, dropped)
    return document


_VIEWS = (
    ("GridSmart", ("date", "rooms", "timeSlots")),
    ("Sessions", ("groupName", "sessions")),
    ("Speakers", ("fullName", "sessions")),
)


def other_view(root: list[Any], filename: str) -> str | None:
    """The hint for an export of one of Sessionize's other views, or None when the list is none of them."""
    first = root[0] if root and isinstance(root[0], dict) else {} if not root else None
    if first is None:
        return None
    view = next((name for name, keys in _VIEWS if all(key in first for key in keys)), None)
    if view is None and first:
        return None
    ids = {
        str(session.get("id"))
        for part in root
        if isinstance(part, dict)
        for session in _view_sessions(part)
        if isinstance(session, dict)
    }
    held = f"; this file holds {len(ids)} sessions, none imported" if ids else ""
    return (
        f"{filename}: this is Sessionize's '{view or 'Sessions'}' view; export the 'All data' view "
        f"(/api/v2/<endpoint>/view/All), which also lists speakers and categories{held}"
    )


def _view_sessions(part: dict[str, Any]) -> list[Any]:
    sessions = part.get("sessions")
    if isinstance(sessions, list):
        return sessions
    found: list[Any] = []
    for room in part.get("rooms") or ():
        if isinstance(room, dict) and isinstance(room.get("sessions"), list):
            found.extend(room["sessions"])
    return found


def _rooms(top: Record) -> dict[str, str]:
    """Room id (as text) -> the room's name."""
    names = {}
    for room in top.children("rooms"):
        ident = room.data.get("id")
        name = room.line("name")
        if isinstance(ident, int | str) and not isinstance(ident, bool) and name:
            names[str(ident)] = name
    return names


def _language_items(groups: list[tuple[Record, list[tuple[int, str]]]]) -> dict[int, str]:
    """Category item id -> language code, from the group whose title says it holds the language.

    Of the groups with such a title, the one whose items name the most languages: "Languages &
    frameworks" (Python, React) names none and does not hide "Session language" (English, German).
    """
    best: dict[int, str] = {}
    for group, items in groups:
        if set(words(group.line("title") or "")) & _LANGUAGE_WORDS:
            found = {ident: code for ident, name in items if (code := language_code(name))}
            if len(found) > len(best):
                best = found
    return best


def _language(
    chosen: list[int], items: Mapping[int, str], answers: Mapping[int, str], questions: list[int]
) -> str | None:
    codes = {items[ident] for ident in chosen if ident in items}
    codes |= {code for question in questions if (code := language_code(answers.get(question)))}
    return codes.pop() if len(codes) == 1 else None


def _speakers(top: Record, filename: str) -> dict[str, tuple[str, str, dict[int, str]]]:
    """Speaker id -> (name, tag line, question id -> answer)."""
    found: dict[str, tuple[str, str, dict[int, str]]] = {}
    for position, item in enumerate(top.items("speakers"), start=1):
        if not isinstance(item, dict):
            raise CatalogueFormatError(f"{filename}: speaker #{position}: must be an object")
        record = Record(filename, f"speaker #{position}", item)
        ident = record.line("id", required=True, numbers=True, limit=64) or ""
        record.label += f" (id {ident!r})"
        if ident in found:
            raise record.fail("id", "repeats an earlier speaker's id")
        name = record.line("fullName") or " ".join(filter(None, (record.line("firstName"), record.line("lastName"))))
        if not name:
            raise record.fail("fullName", "is missing (and so are firstName and lastName)")
        found[ident] = (name, record.line("tagLine") or "", _answers(record))
    return found


def _categories(top: Record) -> list[tuple[Record, list[tuple[int, str]]]]:
    """The session category groups, each with its (item id, item name) pairs."""
    groups = []
    for group in top.children("categories"):
        group.label = f"category group {group.data.get('title')!r}"[:80]
        if group.line("type") not in (None, "session", "Session"):
            continue
        items = []
        for item in group.children("items"):
            ident = item.data.get("id")
            name = item.line("name")
            if isinstance(ident, int) and name:
                items.append((ident, name))
        groups.append((group, items))
    return groups


def _track_items(
    groups: list[tuple[Record, list[tuple[int, str]]]], options: ImportOptions, filename: str
) -> dict[int, str]:
    wanted = options.track_group
    if wanted:
        for group, items in groups:
            title = fold(group.line("title") or "")
            if str(group.data.get("id")) == wanted.strip() or fold(wanted.strip()) in title:
                return dict(items)
        titles = ", ".join(repr(group.line("title")) for group, _ in groups) or "none"
        raise CatalogueFormatError(
            f"{filename}: {options.option('track_group')} {wanted!r}: no session category group has that title or id "
            f"(the groups are: {titles})"
        )
    for group, items in sorted(groups, key=lambda pair: _sort_key(pair[0])):
        if set(words(group.line("title") or "")) & _TRACK_WORDS:
            return dict(items)
    return {}


def _format_items(groups: list[tuple[Record, list[tuple[int, str]]]], tracks: Mapping[int, str]) -> dict[int, str]:
    for group, items in groups:
        ids = {ident for ident, _ in items}
        if not ids & set(tracks) and set(words(group.line("title") or "")) & _FORMAT_WORDS:
            return dict(items)
    return {}


def _questions(top: Record) -> list[tuple[int, str, object]]:
    found = []
    for question in top.children("questions"):
        ident = question.data.get("id")
        title = question.line("question")
        if isinstance(ident, int) and title:
            found.append((ident, title, question.data.get("sort", 0)))
    return found


def _question_ids(
    questions: list[tuple[int, str, object]], wanted: str | None, hints: set[str], where: str
) -> list[int]:
    """The questions `wanted` names (`where` says where it was asked for), else those whose title has a hint."""
    if wanted:
        chosen = [ident for ident, title, _ in questions if str(ident) == wanted.strip() or fold(wanted) in fold(title)]
        if not chosen:
            titles = ", ".join(repr(title) for _, title, _ in questions) or "none"
            raise CatalogueFormatError(
                f"{where} {wanted!r}: no question has that title or id (the questions are: {titles})"
            )
        return chosen
    return [ident for ident, title, _ in questions if set(words(title)) & hints]


# Words in the names Sessionize and browsers give downloaded exports, which say nothing of the event.
_EXPORT_WORDS = {"sessionize", "export", "all", "data", "view", "api", "v2", "sessions", "speakers", "schedule",
                 "json", "download", "copy", "file"}  # fmt: skip


def _event_example(filename: str, sessions: object) -> str:
    """A name to suggest for --event: from the file's name when it says more than "sessionize", else neutral.

    The neutral one carries the year of the first session, so it reads like the name of an edition.
    """
    parts = [part for part in re.split(r"[\W_]+", PurePath(filename).stem) if part]
    named = [part for part in parts if part.isalpha() and part.lower() not in _EXPORT_WORDS]
    if named:
        years = [part for part in parts if re.fullmatch(r"(?:19|20)\d\d", part)]
        return " ".join([part.capitalize() if part.islower() else part for part in named] + years[:1])
    for session in sessions if isinstance(sessions, list) else ():
        starts = session.get("startsAt") if isinstance(session, dict) else None
        if isinstance(starts, str) and re.match(r"(?:19|20)\d\d-", starts):
            return f"Conference Name {starts[:4]}"
    return "Conference Name"


def _sort_key(group: Record) -> int:
    sort = group.data.get("sort")
    return sort if isinstance(sort, int) else 0


def _category_ids(record: Record) -> list[int]:
    return [item for item in record.items("categoryItems") if isinstance(item, int)]


def _answers(record: Record) -> dict[int, str]:
    answers = {}
    for answer in record.children("questionAnswers"):
        question = answer.data.get("questionId")
        value = answer.raw("answerValue", limit=4000)
        if isinstance(question, int) and value:
            answers[question] = value.strip()
    return answers


def _first_link(answers: Mapping[int, str], questions: list[int]) -> str | None:
    for question in questions:
        link = http_url(answers.get(question))
        if link:
            return link
    return None


# Organisations from tag lines. Tag lines are free text ("Senior Architect @ Contoso | Azure MVP"), so
# the rules are deliberately narrow: a clear "at"/"@"/"bei" phrase, or exactly a role and an
# organisation around one comma or dash. Anything else leaves the organisation empty, because a wrong
# organisation splits one person in two (see the identity policy in bot.catalogue.writer).
_AT = re.compile(r"\s@\s?|(?<=\w)@\s|\s(?:at|bei|an der|an dem|am)\s")
_CUT = re.compile(r",|;|\s/\s|\s\|\s|\s[-–—]\s|\(|\s(?:and|und|working|in|with|for|on|as|since|where|who)\s")
_PHRASE = re.compile(r"\s(?:and|or|und|with|to|your|my|our|others)(?:\s|$)")  # a sentence, not a name
_ROLE_WORDS = {
    "architect",
    "architekt",
    "engineer",
    "developer",
    "entwickler",
    "consultant",
    "berater",
    "manager",
    "director",
    "lead",
    "leader",
    "head",
    "advocate",
    "evangelist",
    "ceo",
    "cto",
    "cfo",
    "coo",
    "cio",
    "ciso",
    "founder",
    "cofounder",
    "co",
    "owner",
    "principal",
    "scientist",
    "specialist",
    "trainer",
    "teacher",
    "lehrer",
    "officer",
    "vp",
    "president",
    "partner",
    "analyst",
    "designer",
    "expert",
    "technologist",
    "programmer",
    "researcher",
    "professor",
    "student",
    "tester",
    "administrator",
    "admin",
    "mentor",
    "coach",
    "strategist",
    "advisor",
    "adviser",
    "chief",
    "chair",
    "geschaftsfuhrer",
    "intern",
    "fellow",
    "staff",
    "senior",
    "junior",
    "associate",
    "executive",
}
_CREDENTIAL_WORDS = {
    "mvp",
    "mct",
    "rd",
    "cissp",
    "ccsp",
    "certified",
    "former",
    "speaker",
    "blogger",
    "author",
    "podcaster",
    "podcast",
    "youtuber",
    "she",
    "her",
    "he",
    "him",
    "they",
    "them",
    "community",
    "enthusiast",
    "nerd",
}


def organisation_from_tagline(tagline: str) -> str | None:
    """The organisation in a Sessionize tag line, when the line says it plainly; else None.

    "Title @ Org", "Title at Org", "Title bei Org" (first clear one wins, cut at the next comma, dash,
    slash, bar or linking word); in one "|"-separated part, "Role, Org", "Org, Role", "Role - Org" or
    "Role - Role - Org" where the role side has role words and the organisation side has none.
    """
    parts = [part.strip() for part in tagline.split("|") if part.strip()]
    for part in parts:
        match = _AT.search(part)
        if match:
            rest = _CUT.split(part[match.end() :], maxsplit=1)[0]
            candidate = _organisation(rest)
            if candidate and _has_words(part[: match.start()], _ROLE_WORDS | _CREDENTIAL_WORDS):
                return candidate
    for part in parts:
        for separator in (r"\s[-–—]\s", r",\s*"):
            pieces = [piece.strip() for piece in re.split(separator, part) if piece.strip()]
            if len(pieces) == 2:
                first, second = pieces
                if _has_words(first, _ROLE_WORDS) and (org := _organisation(second)):
                    return org
                if _has_words(second, _ROLE_WORDS) and (org := _organisation(first)):
                    return org
            elif (
                len(pieces) == 3
                and separator != r",\s*"
                and _has_words(pieces[1], _ROLE_WORDS)
                and (org := _organisation(pieces[2]))
            ):
                return org
    return None


def _has_words(text: str, vocabulary: set[str]) -> bool:
    return bool(set(words(text.replace("-", ""))) & vocabulary or set(words(text)) & vocabulary)


def _organisation(text: str) -> str | None:
    text = text.strip(" .,;:!-–—")
    found = words(text)
    if not found or len(found) > 6 or len(text) > 60 or any(mark in text for mark in ",|/()"):
        return None
    if set(found) & (_ROLE_WORDS | _CREDENTIAL_WORDS) or _PHRASE.search(text):
        return None
    return text
