"""Domain objects to Slack Block Kit messages: catalogue text made inert, clipped to Slack's limits.

Every message is `{"text": fallback, "blocks": [...]}`, plain dicts built with slack_sdk's models (which check
them as they are turned into dicts), ready to hand to slack-bolt's `say`, `respond` or `chat_postMessage`.

Slack's mrkdwn reads `<...>` as links and mentions (`<!channel>`, `<@U123>`, `<#C1>`), so `&`, `<` and `>` in
catalogue and member text are always written `&amp;`, `&lt;`, `&gt;`. It has no escape for its styling marks, so
`*`, `_`, `~` and backquotes in that text are replaced by look-alikes (∗ ˍ ∼ ˋ) that it does not read: a title
cannot make the rest of a card bold or turn it into code. Inside a word (`America/New_York`) a mark styles
nothing, so it stays as it is. A `|` in a link's label becomes `∣`, a leading `>` gets
an invisible soft hyphen before it (so it does not start a quote), and an `@` before a word gets a zero-width
space after it (so `@everyone` or `@here` is never read as a mention). Only http(s) addresses become links.

Lengths are counted in UTF-16 code units, which is never less than the characters Slack counts, and text is
clipped with "…" between whole characters and whole escapes, never inside `&amp;` or a link.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Option,
    PlainTextObject,
    StaticSelectElement,
)

from bot.domain.dates import day_label, event_dates, talk_dates
from bot.domain.languages import language_name
from bot.domain.models import Count, Event, PersonProfile, Talk
from bot.domain.text import fit_id, inert

if TYPE_CHECKING:
    from bot.catalogue.service import Result
    from bot.highlights.service import ScheduleInfo
    from bot.live.notices import ChangeNotice, UpNext
    from bot.recordings.announce import RecordingsNotice
    from bot.watchlist.reminders import Notice, Reminder
    from bot.watchlist.service import Forgotten, SavedTalk, WatchPage

# Slack's documented Block Kit limits.
SECTION_TEXT_LIMIT = 3000
SECTION_FIELD_LIMIT = 2000
SECTION_FIELDS = 10
CONTEXT_TEXT_LIMIT = 2000  # conservative: a context element's text object
CONTEXT_ELEMENTS = 10
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
ACTION_ID_LIMIT = 255
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150
OPTIONS_LIMIT = 100
PLACEHOLDER_LIMIT = 150
BLOCKS_LIMIT = 50
FALLBACK_LIMIT = 300  # the notification text: Slack allows far more, a notification shows far less
URL_LIMIT = 1000  # a longer address is not linked (real recordings and slides are under 200)

# The action ids the Slack app listens for.
MORE_LIKE_THIS = "more_like_this"
SHARE = "share"
PAGE_PREV = "page_prev"
PAGE_NEXT = "page_next"
PICK_SPEAKER = "pick_speaker"
SAVE = "save"  # a talk card's "Save" button: its value is the talk's id
PICK_SAVE = "pick_save"  # a menu whose picked option (a talk's id) is saved: /save's picker, a results page's
WATCHLIST_PREV = "watchlist_prev"
WATCHLIST_NEXT = "watchlist_next"
WATCHLIST_SHOW = {"all": "watchlist_all", "unwatched": "watchlist_unwatched", "watched": "watchlist_watched"}
WATCHLIST_MARK = "watchlist_mark"  # watched, or not watched again
WATCHLIST_REMOVE = "watchlist_remove"
FORGET_ME = "forget_me"
REMINDER_CANCEL = "reminder_cancel"  # a waiting reminder's "Cancel" button: its value names the reminder

SUMMARY_IN_CARD = 1500
REASONS_IN_CARD = 1000
REASONS_IN_LIST = 300
PROFILE_TALKS_SHOWN = 100
PEOPLE_LISTED = 10

# -- text ----------------------------------------------------------------------------------------------------

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Styling marks replaced by look-alikes Slack does not read (the full-width ones are read as marks too).
_LOOKALIKES = {
    "*": "\u2217",  # ∗ asterisk operator
    "_": "\u02cd",  # ˍ modifier letter low macron
    "~": "\u223c",  # ∼ tilde operator
    "`": "\u02cb",  # ˋ modifier letter grave accent
    "\uff0a": "\ufe61",  # ＊ -> ﹡ small asterisk
    "\uff3f": "\u2e0f",  # ＿ -> ⸏ paragraphos
    "\uff40": "\u02cb",  # ｀ -> ˋ
}
_TEXT = {**_ENTITIES, **_LOOKALIKES}
_LABEL = {**_TEXT, "|": "\u2223"}  # ∣ divides: a `|` would end a link's address early
_CODE = {**_ENTITIES, "`": "\u02cb"}  # inside a code span or block only the escapes matter, and its fence
_MENTION = "@\u200b"
_ZWJ = "\u200d"
_SOFT_HYPHEN = "\u00ad"
_ELLIPSIS = "…"
_HTTP_URL = re.compile(r"https?://[!-~]+", re.IGNORECASE)  # printable ASCII only: no spaces, no look-alikes
_URL_BREAKERS = frozenset('<>|"`\\')
_CODE_SPAN = re.compile(r"(`[^`\n]+`)")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{1,30}")
# The pieces a composed mrkdwn text may be cut between: a whole link or mention, a whole escape, one character.
_TOKEN = re.compile(r"<[^<>\n]*>|&(?:amp|lt|gt);|.", re.DOTALL)

Piece = tuple[str, str]  # (the character it stands for, what is written)


def units(text: str) -> int:
    """The length of `text` in UTF-16 code units: what the strictest reading of Slack's limits counts."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def _attached(char: str) -> bool:
    """Whether `char` belongs with the character before it (a mark, a joiner, a skin tone, an emoji tag)."""
    return (
        unicodedata.category(char).startswith("M")
        or char == _ZWJ
        or "\U0001f3fb" <= char <= "\U0001f3ff"
        or "\U000e0020" <= char <= "\U000e007f"
    )


def _regional(char: str) -> bool:
    return "\U0001f1e6" <= char <= "\U0001f1ff"


def _clip_pieces(pieces: Sequence[Piece], limit: int) -> str:
    """The pieces written out; when longer than `limit`, cut between whole characters, with an ellipsis."""
    whole = "".join(out for _, out in pieces)
    if units(whole) <= limit:
        return whole
    room = limit - units(_ELLIPSIS)
    used = cut = 0
    for _, out in pieces:
        size = units(out)
        if used + size > room:
            break
        used += size
        cut += 1
    # Keep what is drawn as one character together: a letter and its marks, an emoji sequence, a flag.
    while cut and (_attached(pieces[cut][0]) or pieces[cut - 1][0] == _ZWJ):
        cut -= 1
    run = 0
    while run < cut and _regional(pieces[cut - 1 - run][0]):
        run += 1
    cut -= run % 2
    return "".join(out for _, out in pieces[:cut]).rstrip() + _ELLIPSIS


def _pieces(text: str, table: dict[str, str]) -> list[Piece]:
    """Each character of `text` with what stands for it in mrkdwn; an `@` before a word is defused."""
    pieces: list[Piece] = []
    for i, char in enumerate(text):
        if char == "@" and i + 1 < len(text) and (text[i + 1].isalnum() or text[i + 1] in "!_-"):
            pieces.append((char, _MENTION))
        elif char in _LOOKALIKES and 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum():
            pieces.append((char, char if char in table else table.get(char, char)))  # inside a word: no mark
        else:
            pieces.append((char, table.get(char, char)))
    if text[:1] in (">", "\uff1e"):
        pieces.insert(0, (_SOFT_HYPHEN, _SOFT_HYPHEN))  # `&gt;` starting a line would start a quote
    return pieces


def flat(text: str) -> str:
    """Display text on one line: control characters and bidirectional overrides dropped, spaces collapsed."""
    return " ".join(inert(text).split())


def _head(text: str, limit: int) -> str:
    """As much of `text` as could show within `limit` (every character takes at least one unit), and one more."""
    return text[: limit + 1]


_PLAIN_ENOUGH = re.compile(r"[&<>*_~`@|\uff0a\uff1e\uff3f\uff40]")  # what `_pieces` might rewrite


def mrkdwn(text: str, limit: int) -> str:
    """Catalogue or member text, on one line, made inert for mrkdwn and clipped to `limit`."""
    line = flat(text)
    if units(line) <= limit and not _PLAIN_ENOUGH.search(line):
        return line  # most names and titles: nothing to rewrite, nothing to clip (a third of an answer's time)
    return _clip_pieces(_pieces(_head(line, limit), _TEXT), limit)


def plain(text: str, limit: int, fallback: str = "—") -> str:
    """Text for a plain-text object (a header, a button, an option): one line, clipped, never empty."""
    pieces = [(char, char) for char in _head(flat(text) or fallback, limit)]
    return _clip_pieces(pieces, limit)


def safe_url(url: str | None) -> str | None:
    """`url` written for a mrkdwn link if it is an http(s) address that cannot break out of one, else None."""
    if not url:
        return None
    url = url.strip()
    if not _HTTP_URL.fullmatch(url) or _URL_BREAKERS & set(url):
        return None
    written = url.replace("&", "&amp;")
    return written if units(written) <= URL_LIMIT else None


def link(label: str, url: str | None, limit: int) -> str:
    """`<url|label>` for an http(s) address, the label inert and clipped to `limit`; else the label alone."""
    address = safe_url(url)
    if address is None:
        return mrkdwn(label, limit)
    text = _clip_pieces(_pieces(_head(flat(label), limit), _LABEL), limit) or "link"
    return f"<{address}|{text}>"


def _with_code(text: str, limit: int) -> str:
    """Text the bot wrote with `code` spans (an error, a usage line): the spans kept, everything made inert."""
    pieces: list[Piece] = []
    for part in _CODE_SPAN.split(_head(flat(text), limit)):
        if _CODE_SPAN.fullmatch(part):
            pieces.append(("`", "`" + "".join(out for _, out in _pieces(part[1:-1], _CODE)) + "`"))
        elif part:
            pieces.extend(_pieces(part, _TEXT))
    return _clip_pieces(pieces, limit)


def _code_block(text: str, limit: int) -> str:
    """Text in a code block, its lines kept, clipped so the fences always close."""
    lines = [" ".join(line.split()) for line in inert(text).splitlines()]
    body = "\n".join(line for line in lines if line) or "—"
    pieces = [(char, _MENTION if char == "@" else _CODE.get(char, char)) for char in _head(body, limit)]
    return "```" + _clip_pieces(pieces, limit - 6) + "```"


def fit(text: str, limit: int) -> str:
    """A composed mrkdwn text within `limit`, cut only between whole links, escapes and characters."""
    if units(text) <= limit:
        return text
    return _clip_pieces([(token[0], token) for token in _TOKEN.findall(text)], limit)


def _joined(parts: Sequence[str], limit: int, sep: str = ", ") -> str:
    """Parts joined while they fit in `limit`, then how many more there were."""
    out = ""
    for shown, part in enumerate(parts):
        candidate = part if not out else out + sep + part
        last = shown == len(parts) - 1
        if units(candidate) + (0 if last else len(f" and {len(parts)} more")) > limit:
            return fit(f"{out} and {len(parts) - shown} more" if out else f"{len(parts)} more", limit)
        out = candidate
    return out


def _bold(text: str) -> str:
    return f"*{text}*" if text else ""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# -- blocks --------------------------------------------------------------------------------------------------


# The blocks below are written as the dicts slack-sdk's models produce, without building the models: building
# and validating them was two thirds of a /recommend answer's time (0.9 of 1.1 ms, benchmarks/slack_bench.py
# and a profile). Every text is clipped to its limit here already; tests/slack/test_blocks.py puts every
# block of every message through slack-sdk's models, which must read it back unchanged.


def _markdown(text: str) -> dict[str, Any]:
    # verbatim: Slack does not link bare addresses or channel names, nor read mentions, in the text itself
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _plain_text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _section(text: str, *, fields: Sequence[str] = (), accessory: dict[str, Any] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": _markdown(fit(text, SECTION_TEXT_LIMIT) or " ")}
    if fields:
        block["fields"] = [_markdown(fit(f, SECTION_FIELD_LIMIT)) for f in fields[:SECTION_FIELDS]]
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _context(*texts: str) -> dict[str, Any]:
    elements = [_markdown(fit(t, CONTEXT_TEXT_LIMIT)) for t in texts if t][:CONTEXT_ELEMENTS]
    return {"type": "context", "elements": elements or [_markdown(" ")]}


def _header(text: str, fallback: str) -> dict[str, Any]:
    return {"type": "header", "text": _plain_text(plain(text, HEADER_LIMIT, fallback))}


def _divider() -> dict[str, Any]:
    return {"type": "divider"}


def _button(label: str, action_id: str, value: str | None, *, style: str | None = None) -> dict[str, Any] | None:
    """A button, or None when its value would not fit (a cut value would do the wrong thing when pressed)."""
    if not value or units(value) > BUTTON_VALUE_LIMIT or len(action_id) > ACTION_ID_LIMIT:
        return None
    button = {"type": "button", "text": _plain_text(plain(label, BUTTON_TEXT_LIMIT)), "action_id": action_id}
    button["value"] = value
    if style is not None:
        button["style"] = style
    return button


def _actions(*buttons: dict[str, Any] | None) -> list[dict[str, Any]]:
    """An actions block for the buttons there are; none when there are none (Slack refuses an empty one)."""
    elements = [b for b in buttons if b is not None]
    return [{"type": "actions", "elements": elements}] if elements else []


def _message(fallback: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"text": mrkdwn(fallback, FALLBACK_LIMIT) or "Talk highlights", "blocks": blocks[:BLOCKS_LIMIT]}


def _line_sections(lines: Sequence[str], room: int) -> tuple[list[dict[str, Any]], int]:
    """Lines gathered into as few sections as fit `room` blocks; also how many lines did not fit."""
    blocks: list[dict[str, Any]] = []
    text = ""
    for shown, line in enumerate(lines):
        line = fit(line, SECTION_TEXT_LIMIT)
        if text and units(text) + 1 + units(line) > SECTION_TEXT_LIMIT:
            if len(blocks) + 1 >= room:
                blocks.append(_section(text))
                return blocks, len(lines) - shown
            blocks.append(_section(text))
            text = ""
        text = f"{text}\n{line}" if text else line
    if text:
        blocks.append(_section(text))
    return blocks, 0


# -- talks ---------------------------------------------------------------------------------------------------


def _title(talk: Talk, limit: int) -> str:
    """The title in bold, linked to the recording when there is a safe one."""
    return _bold(link(flat(talk.title) or "Untitled talk", talk.recording_url, limit))


def credits_line(talk: Talk, limit: int) -> str:
    """Speakers with their organisation at the time, moderators marked."""
    parts = []
    for credit in talk.speakers:
        text = mrkdwn(credit.name, 120) or "—"
        if credit.organization and flat(credit.organization):
            text += f" ({mrkdwn(credit.organization, 120)})"
        if credit.role == "moderator":
            text += ", moderator"
        parts.append(text)
    return _joined(parts, limit) if parts else "—"


def _language(talk: Talk, usual_language: str | None) -> str | None:
    """The talk's language when it is not the catalogue's usual one."""
    if talk.language and talk.language != usual_language:
        return language_name(talk.language)
    return None


def event_line(talk: Talk, *, language: str | None = None, limit: int = 400) -> str:
    """The event, the date when known, and `language` (the talk's, when unusual) if given."""
    parts = [mrkdwn(talk.event.name, 200) or "—"]
    if when := talk_dates(talk):
        parts.append(when)
    if language:
        parts.append(f"in {language}")
    return fit(" · ".join(parts), limit)


def _reasons(reasons: Sequence[str], limit: int) -> str:
    return mrkdwn("; ".join(flat(r) for r in reasons if flat(r)), limit)


def _compact_text(talk: Talk, usual_language: str | None, reasons: Sequence[str]) -> str:
    lines = [
        _title(talk, 250),
        credits_line(talk, 800),
        f"_{event_line(talk, language=_language(talk, usual_language))}_",
    ]
    if why := _reasons(reasons, REASONS_IN_LIST):
        lines.append(f"Why: {why}")
    return "\n".join(lines)


def talk_card(
    talk: Talk, *, usual_language: str | None = None, reasons: Sequence[str] = (), full: bool = True
) -> list[dict[str, Any]]:
    """One talk: linked title, speakers, event and date, language when unusual, and why it was picked.

    `full` adds the format, track, the summary (clipped), the topics, the recording and slides links and the id;
    without it the card is one section, as in a list of results.
    """
    if not full:
        return [_section(_compact_text(talk, usual_language, reasons))]
    speakers = "Speakers" if len(talk.credits) != 1 else "Speaker"
    main = "\n".join(
        [_title(talk, 250), f"*{speakers}:* {credits_line(talk, 1200)}", f"*Event:* {event_line(talk, limit=500)}"]
    )
    fields = []
    if talk.kind != "talk":
        fields.append(f"*Format*\n{mrkdwn(talk.kind.capitalize(), 100)}")
    if language := _language(talk, usual_language):
        fields.append(f"*Language*\n{language}")
    if talk.track and flat(talk.track):
        fields.append(f"*Track*\n{mrkdwn(talk.track, 200)}")
    blocks = [_section(main, fields=fields)]
    if why := _reasons(reasons, REASONS_IN_CARD):
        blocks.append(_section(f"*Why this talk:* {why}"))
    if summary := mrkdwn(talk.summary, SUMMARY_IN_CARD):
        blocks.append(_section(summary))
    links = [link(label, url, 20) for label, url in (("Recording", talk.recording_url), ("Slides", talk.slides_url))]
    topics = _joined([mrkdwn(t.name, 100) for t in talk.topics if flat(t.name)], 1000)
    blocks.append(
        _context(
            f"Topics: {topics}" if topics else "",
            " · ".join(x for x in links if x.startswith("<")),  # a link that is not http(s) is left out
            f"id: {mrkdwn(talk.slug, 200)}",
        )
    )
    return blocks


def talk_message(
    talk: Talk,
    *,
    usual_language: str | None,
    more_value: str,
    share_value: str | None,
    save_value: str | None = None,
) -> dict[str, Any]:
    """One talk in full, with "More like this", "Save" and, when it can be shared, "Share in channel".

    "Save" comes with `save_value` (the talk's id): whoever presses it saves the talk to their watch list.
    """
    blocks = talk_card(talk, usual_language=usual_language)
    blocks += _actions(
        _button("More like this", MORE_LIKE_THIS, more_value),
        _button("Save", SAVE, save_value),
        _button("Share in channel", SHARE, share_value),
    )
    return _message(_talk_fallback(talk), blocks)


def _talk_fallback(talk: Talk) -> str:
    names = ", ".join(flat(c.name) for c in talk.speakers[:3])
    return f"{flat(talk.title) or 'Untitled talk'}" + (f" by {names}" if names else "")


# Header, note, actions and page line around the results; each result takes a section and a divider.
RESULTS_SHOWN = (BLOCKS_LIMIT - 4) // 2


def results_message(
    heading: str,
    results: Sequence[Result],
    *,
    note: str = "",
    usual_language: str | None,
    page: int,
    pages: int | None,
    prev_value: str | None,
    next_value: str | None,
    share_value: str | None,
    save: bool = False,
) -> dict[str, Any]:
    """A page of results: each talk compact, with why it was picked and "More like this"; then paging buttons.

    With `save`, a menu of the page's talks follows, to save one to the member's watch list (`PICK_SAVE`): after
    the paging buttons, so each result keeps one button and the page stays within Slack's blocks. At most
    `RESULTS_SHOWN` results (one fewer with `save`) fit in Slack's 50 blocks; any beyond them are left out.
    """
    blocks = [_header(heading, "Talks")]
    if note and flat(note):
        blocks.append(_context(mrkdwn(note, CONTEXT_TEXT_LIMIT)))
    if not results:
        blocks.append(_section("No talks to show."))
    shown = results[: RESULTS_SHOWN - 1 if save else RESULTS_SHOWN]
    for result in shown:
        more = _button("More like this", MORE_LIKE_THIS, result.talk.slug)
        blocks.append(_section(_compact_text(result.talk, usual_language, result.reasons), accessory=more))
        blocks.append(_divider())
    blocks += _actions(
        _button("Previous", PAGE_PREV, prev_value),
        _button("Next", PAGE_NEXT, next_value),
        _button("Share in channel", SHARE, share_value),
    )
    blocks.append(_context(f"Page {page} of {pages}" if pages is not None else f"Page {page}"))
    if save and shown:
        blocks.append(save_menu([result.talk for result in shown]))
    return _message(heading or "Talks", blocks)


def save_menu(talks: Sequence[Talk]) -> dict[str, Any]:
    """A section offering to save one of `talks` to the member's watch list (a menu of their titles)."""
    options: list[dict[str, Any]] = []
    for talk in talks:
        choice = option(talk.slug, flat(talk.title) or "Untitled talk")
        if all(choice["value"] != known["value"] for known in options) and len(options) < OPTIONS_LIMIT:
            options.append(choice)
    menu = {
        "type": "static_select",
        "action_id": PICK_SAVE,
        "placeholder": _plain_text("Pick a talk"),
        "options": options,
    }
    return _section(":bookmark: Save one for later, on your watch list:", accessory=menu)


# -- people --------------------------------------------------------------------------------------------------


def _newest_first(talks: Iterable[Talk]) -> list[Talk]:
    return sorted(talks, key=lambda t: t.when or date.min, reverse=True)


def _profile_line(talk: Talk) -> str:
    when = f" ({talk.when.year})" if talk.when else ""
    return (
        f"• {link(flat(talk.title) or 'Untitled talk', talk.recording_url, 150)} — {mrkdwn(talk.event.label, 80)}{when}"
    )


def _profile(profile: PersonProfile) -> dict[str, Any]:
    blocks = [_header(profile.name, "Someone")]
    if profile.organizations:
        blocks.append(_context(mrkdwn(" → ".join(flat(o) for o in profile.organizations), CONTEXT_TEXT_LIMIT)))
    heading = f"*Talks ({profile.talk_count})*"
    lines: list[str] = []
    size = units(heading)
    for talk in _newest_first(profile.talks)[:PROFILE_TALKS_SHOWN]:
        line = _profile_line(talk)
        if size + 1 + units(line) > SECTION_TEXT_LIMIT - 40:  # room for "…and N more"
            break
        lines.append(line)
        size += 1 + units(line)
    if len(lines) < profile.talk_count:
        lines.append(f"…and {profile.talk_count - len(lines)} more")
    blocks.append(_section("\n".join([heading, *lines]) if lines else f"{heading}\nNone recorded."))
    return _message(profile.name or "A speaker", blocks)


def _person_label(profile: PersonProfile) -> str:
    orgs = ", ".join(flat(o) for o in profile.organizations if flat(o))
    return f"{flat(profile.name)} ({orgs})" if orgs else flat(profile.name)


def profiles_message(profiles: Sequence[PersonProfile], query: str, *, select_value_prefix: str = "") -> dict[str, Any]:
    """One person's card; or, when several match `query`, a short list and a "Which one?" menu to pick from.

    The menu's option values are `select_value_prefix` + the person's slug (shortened by `fit_id` should that
    ever pass Slack's 150 characters).
    """
    if len(profiles) == 1:
        return _profile(profiles[0])
    quoted = f"“{flat(query)}”"
    if not profiles:
        return _message(f"No one matches {quoted}", [_section(f"No one matches {mrkdwn(quoted, 300)}.")])
    lines = []
    for profile in profiles[:PEOPLE_LISTED]:
        orgs = ", ".join(flat(o) for o in profile.organizations if flat(o)) or "organisation not recorded"
        detail = mrkdwn(f"{orgs} · {_plural(profile.talk_count, 'talk')}", 200)
        lines.append(f"• {_bold(mrkdwn(profile.name, 100) or '—')} — {detail}")
    if len(profiles) > PEOPLE_LISTED:
        lines.append(f"…and {len(profiles) - PEOPLE_LISTED} more in the menu")
    options: list[dict[str, Any]] = []
    seen: set[str] = set()
    for profile in profiles:
        choice = option(select_value_prefix + profile.slug, _person_label(profile))
        if choice["value"] not in seen and len(options) < OPTIONS_LIMIT:
            seen.add(choice["value"])
            options.append(choice)
    menu = StaticSelectElement(
        placeholder=PlainTextObject(text="Which one?"), action_id=PICK_SPEAKER, options=[Option(**o) for o in options]
    )
    heading = f"{len(profiles)} people match {quoted}"
    blocks = [
        _header(heading, "Several people match"),
        _section("\n".join(lines)),
        _section("Which one? Pick a name to see their talks."),
        ActionsBlock(elements=[menu]).to_dict(),
    ]
    return _message(heading, blocks)


# -- browsing ------------------------------------------------------------------------------------------------


def topics_message(topics: Sequence[Count]) -> dict[str, Any]:
    """Topics with their number of talks, narrower topics indented under broader ones."""
    lines = []
    for topic in topics:
        indent = "\u2003" * min(topic.depth, 8) + "↳ " if topic.depth > 0 else ""
        name = mrkdwn(topic.name, 100) or mrkdwn(topic.slug, 100) or "—"
        lines.append(f"{indent}{_bold(name)} · {_plural(topic.talks, 'talk')}")
    blocks = [_header("Topics", "Topics")]
    if not lines:
        blocks.append(_section("No topics yet."))
    sections, left = _line_sections(lines, BLOCKS_LIMIT - 2)
    blocks += sections
    blocks.append(_context(f"…and {left} more topics" if left else _plural(len(topics), "topic")))
    return _message("Topics", blocks)


def _under_parents(events: Sequence[tuple[Event, int]]) -> list[tuple[Event, int, int]]:
    """Events with their depth, each co-located event right after its parent when the parent is listed."""
    listed = {event.slug for event, _ in events}
    children: dict[str, list[tuple[Event, int]]] = {}
    roots = []
    for event, count in events:
        if event.parent and event.parent in listed and event.parent != event.slug:
            children.setdefault(event.parent, []).append((event, count))
        else:
            roots.append((event, count))
    ordered: list[tuple[Event, int, int]] = []
    placed: set[str] = set()

    def place(event: Event, count: int, depth: int) -> None:
        if event.slug in placed:
            return
        placed.add(event.slug)
        ordered.append((event, count, depth))
        for child, child_count in children.get(event.slug, []):
            place(child, child_count, depth + 1)

    for event, count in roots:
        place(event, count, 0)
    for event, count in events:  # in a loop of parents: shown anyway, at the top level
        place(event, count, 0)
    return ordered


def events_message(events: Sequence[tuple[Event, int]]) -> dict[str, Any]:
    """Events with their dates, place and number of talks; co-located events under their parent."""
    lines = []
    for event, count, depth in _under_parents(events):
        prefix = "\u2003" * min(depth - 1, 8) + "↳ " if depth else ""
        detail = " · ".join(
            x for x in (event_dates(event), mrkdwn(event.location or "", 100), _plural(count, "talk")) if x
        )
        lines.append(f"{prefix}{_bold(link(flat(event.name) or event.slug, event.url, 150))}\n{prefix}{detail}")
    blocks = [_header("Events", "Events")]
    if not lines:
        blocks.append(_section("No events yet."))
    sections, left = _line_sections(lines, BLOCKS_LIMIT - 2)
    blocks += sections
    blocks.append(_context(f"…and {left} more events" if left else _plural(len(events), "event")))
    return _message("Events", blocks)


# -- errors --------------------------------------------------------------------------------------------------


def error_message(message: str, suggestions: Sequence[str] = ()) -> dict[str, Any]:
    """A short, friendly error (its `code` spans kept), with things to try as a short list."""
    blocks = [_section(f":warning: {_with_code(message, 2500) or 'Something went wrong.'}")]
    tries = [f"• {mrkdwn(s, 150)}" for s in suggestions[:8] if flat(s)]
    if tries:
        blocks.append(_section("*Did you mean:*\n" + "\n".join(tries)))
    return _message(message or "Something went wrong.", blocks)


def usage_message(usage: str) -> dict[str, Any]:
    """How to write a command, after a mistake in its text: the usage in a code block (or with its own spans)."""
    shown = _with_code(usage, 2800) if "`" in usage else _code_block(usage, 2800)
    blocks = [_section("That command didn't read right. Write it like this:"), _section(shown)]
    return _message("That command didn't read right: " + flat(usage), blocks)


def option(key: str, label: str) -> dict[str, Any]:
    """One option, for a menu or an external select's answer: the label clipped, the value within 150."""
    value = key if units(key) <= OPTION_VALUE_LIMIT else fit_id(key, OPTION_VALUE_LIMIT // 2)
    text = plain(label, OPTION_TEXT_LIMIT, fallback=plain(key, OPTION_TEXT_LIMIT))
    return Option(value=value, text=PlainTextObject(text=text)).to_dict()


# -- what highlights.py asks for: small pieces and the schedules -------------------------------------------


def escape(text: str, limit: int = 500) -> str:
    """Catalogue or member text made inert, to place in a mrkdwn text the caller composes (`notice_message`)."""
    return mrkdwn(text, limit)


def context_block(text: str) -> dict[str, Any]:
    """A line of small print; `text` is shown as written (escaped), not read as mrkdwn."""
    return _context(mrkdwn(text, CONTEXT_TEXT_LIMIT) or "—")


def notice_message(text: str) -> dict[str, Any]:
    """A short confirmation. `text` is mrkdwn the caller composed: any catalogue text in it goes through `escape`."""
    shown = fit(text, SECTION_TEXT_LIMIT) or "Done."
    return {"text": fit(shown, FALLBACK_LIMIT), "blocks": [_section(shown)]}


def _channel(channel_id: int, channels: dict[int, str]) -> str:
    """A schedule's channel as a Slack channel link, when its Slack id is known and well formed."""
    slack = channels.get(channel_id)
    return f"<#{slack}>" if slack and _CHANNEL_ID.fullmatch(slack) else "a channel no longer known"


def _when(instant: datetime | None, zone: tzinfo) -> str:
    """An instant in the schedule's zone, and in each reader's own zone (Slack's date formatting)."""
    if instant is None:
        return "—"
    local = instant.astimezone(zone)
    shown = f"{local:%a} {local.day} {local:%b %H:%M} {local.tzname() or ''}".strip()
    return f"{shown} · <!date^{int(instant.timestamp())}^{{date_short_pretty}} {{time}}|{shown}> your time"


def schedule_lines(info: ScheduleInfo, channels: dict[int, str]) -> str:
    """One schedule in a few lines: where, when, what, and how it is doing."""
    saved = " · members' saved talks first" if info.prefer_saved else ""
    lines = [
        f"{_channel(info.channel_id, channels)} · {mrkdwn(info.rule_text, 200)}",
        f"Talks: {mrkdwn(info.filter_text, 300)}{saved}",
    ]
    if info.paused:
        lines.append(f":double_vertical_bar: Paused: {mrkdwn(info.paused_reason or 'paused', 300)}")
    else:
        lines.append(f"Next: {_when(info.next_post_at, info.rule.zone)}")
    if info.failures and not info.paused:
        lines.append(f":warning: Failing ({info.failures} in a row): {mrkdwn(info.last_failure or '', 300)}")
    return "\n".join(lines)


def schedule_message(info: ScheduleInfo, channels: dict[int, str], *, title: str | None = None) -> dict[str, Any]:
    """One schedule in full: where and when it posts, what it draws from, its last post and last failure."""
    heading = title or f"Highlight schedule #{info.id}"
    last = _when(info.last_post_at, info.rule.zone) if info.last_post_at else "nothing posted yet"
    if info.last_talk:
        last += f"\n{mrkdwn(info.last_talk, 200)}"
    blocks = [_header(heading, "Highlight schedule"), _section(schedule_lines(info, channels))]
    blocks.append(_section(f"*Last post*\n{last}"))
    if info.last_failure:
        failure = f"{mrkdwn(info.last_failure, 600)}\n{_when(info.last_failure_at, info.rule.zone)}"
        blocks.append(_section(f"*Last failure*\n{failure}"))
    return _message(heading, blocks)


def schedules_message(infos: Sequence[ScheduleInfo], channels: dict[int, str]) -> dict[str, Any]:
    """The workspace's highlight schedules, one section each."""
    blocks = [_header("Highlight schedules", "Highlight schedules")]
    if not infos:
        blocks.append(_section("None yet. Add one with `/highlights setup`."))
    room = BLOCKS_LIMIT - 2
    for info in infos[:room]:
        blocks.append(_section(f"*#{info.id}*\n{schedule_lines(info, channels)}"))
    if len(infos) > room:
        blocks.append(_context(f"…and {len(infos) - room} more"))
    return _message("Highlight schedules", blocks)


# -- App Home and the search modal -----------------------------------------------------------------------------

VIEW_BLOCKS_LIMIT = 100  # the Home tab and modals
HOME_SEARCH = "home_search"
SEARCH_MODAL = "search_modal"
SEARCH_INPUT = "query"
HOME_EVENTS = 10
HOME_TOPICS = 15


def home_view(
    talks: int,
    latest: Sequence[Talk],
    events: Sequence[tuple[Event, int]],
    topics: Sequence[Count],
    *,
    usual_language: str | None,
) -> dict[str, Any]:
    """The App Home tab: how much the catalogue holds, a search button, the latest highlights, events, topics."""
    blocks: list[dict[str, Any]] = [_header("Talk highlights", "Talk highlights")]
    summary = f"{_plural(talks, 'talk')} from {_plural(len(events), 'event')}. Search them, or try `/recommend mtls`."
    search = _button("Search talks", HOME_SEARCH, "search", style="primary")
    blocks.append(_section(summary, accessory=search))
    blocks += [_divider(), _section("*Latest highlights*")]
    if latest:
        for talk in latest[:5]:
            blocks += talk_card(talk, usual_language=usual_language, full=False)
    else:
        blocks.append(_context("None posted here yet: a workspace admin can add a schedule with `/highlights setup`."))
    blocks += [_divider(), _section("*Events*")]
    blocks += events_message(events[:HOME_EVENTS])["blocks"][1:]
    blocks += [_divider(), _section("*Topics*")]
    blocks += topics_message(topics[:HOME_TOPICS])["blocks"][1:]
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS_LIMIT]}


def search_modal(
    query: str = "", results: Sequence[Result] = (), *, usual_language: str | None = None
) -> dict[str, Any]:
    """The search modal: a box for words, and once submitted, what they found (cards without buttons)."""
    box: dict[str, Any] = {
        "type": "input",
        "block_id": SEARCH_INPUT,
        "label": {"type": "plain_text", "text": "Words, a topic, a speaker"},
        "element": {
            "type": "plain_text_input",
            "action_id": SEARCH_INPUT,
            "max_length": 200,
            "placeholder": {"type": "plain_text", "text": "debugging in production"},
        },
    }
    if query:
        box["element"]["initial_value"] = flat(query)[:200]
    blocks: list[dict[str, Any]] = [box]
    if query and not results:
        blocks.append(_context(f"No talk matches “{mrkdwn(query, 200)}”. Try a broader word."))
    for result in results[:10]:
        blocks.append(_divider())
        blocks += talk_card(result.talk, usual_language=usual_language, reasons=result.reasons, full=False)
    return {
        "type": "modal",
        "callback_id": SEARCH_MODAL,
        "title": {"type": "plain_text", "text": "Search talks"},
        "submit": {"type": "plain_text", "text": "Search"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": blocks[:VIEW_BLOCKS_LIMIT],
    }


# -- pickers: Slack's answer to autocomplete -------------------------------------------------------------------


def picker_message(prompt: str, action_id: str, placeholder: str) -> dict[str, Any]:
    """A command typed without its words: a menu that suggests as the member types (an external select)."""
    select = {
        "type": "external_select",
        "action_id": action_id,
        "placeholder": {"type": "plain_text", "text": plain(placeholder, PLACEHOLDER_LIMIT)},
        "min_query_length": 1,
    }
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(prompt, 300)}, "accessory": select}]
    return {"text": mrkdwn(prompt, FALLBACK_LIMIT), "blocks": blocks}


def code_section(text: str) -> dict[str, Any]:
    """Text shown as it is, in a code block (an import's report)."""
    return _section(_code_block(text, SECTION_TEXT_LIMIT - 10))


# -- watch lists ---------------------------------------------------------------------------------------------

GONE_NOTE = "no longer in the catalogue"
UNDATED_LISTED = 20  # saved talks without a date named beside an exported calendar
_STATE_NAMES = {"all": "All", "unwatched": "Unwatched", "watched": "Watched"}


def saved_message(title: str, newly: bool) -> dict[str, Any]:
    """What pressing "Save" answers the member: saved, or on their list already."""
    quoted = f"“{mrkdwn(title, 200) or 'Untitled talk'}”"
    if newly:
        return notice_message(f":bookmark: Saved {quoted} to your watch list (`/watchlist`).")
    return notice_message(f":bookmark: {quoted} is already on your watch list (`/watchlist`).")


def _slack_date(instant: datetime, prefix: str) -> str:
    """`prefix` and a day, in each reader's own zone (Slack's date formatting), with a fallback in UTC."""
    fallback = f"{prefix} {day_label(instant.date())}"
    return f"<!date^{int(instant.timestamp())}^{prefix} {{date_short_pretty}}|{fallback}>"


def _saved_day(item: SavedTalk) -> str:
    talk = item.talk
    if talk is not None:
        return talk_dates(talk)
    return day_label(item.date) if item.date else ""


def watchlist_item_text(item: SavedTalk) -> str:
    """One saved talk: its title linked to the recording, its event and date, and when it was saved or watched."""
    talk = item.talk
    title = flat(talk.title if talk is not None else item.title) or "Untitled talk"
    recording = talk.recording_url if talk is not None else item.recording_url
    event = flat(talk.event.name if talk is not None else item.event_name)
    lines = [_bold(link(title, recording, 250))]
    where = " · ".join(part for part in (mrkdwn(event, 200), _saved_day(item)) if part)
    if where:
        lines.append(f"_{where}_")
    status = [
        f":white_check_mark: {_slack_date(item.watched_at, 'Watched')}"
        if item.watched_at is not None
        else _slack_date(item.saved_at, "Saved")
    ]
    if item.gone:
        status.append(f":warning: _{GONE_NOTE}_")
    lines.append(" · ".join(status))
    return "\n".join(lines)


def watchlist_message(
    page: WatchPage,
    *,
    mark_value: Callable[[SavedTalk], str],
    remove_value: Callable[[SavedTalk], str],
    prev_value: str | None,
    next_value: str | None,
    show_values: dict[str, str],
) -> dict[str, Any]:
    """A page of the member's watch list, newest saved first, each talk with "Mark watched" and "Remove".

    A talk marked watched has "Not watched" instead. Previous and Next follow, and buttons that show the list's
    other states (`show_values`: state -> value).
    """
    state = page.state
    heading = "Your watch list" if state == "all" else f"Your watch list: {state}"
    blocks = [_header(heading, "Your watch list")]
    if not page.items:
        if page.total:
            empty = "Nothing on this page: go back a page."
        elif state == "all":
            empty = "Nothing saved yet. Press *Save* under a talk, or type `/save` and a talk's title."
        else:
            empty = f"No {state} talks on your watch list."
        blocks.append(_section(empty))
    for item in page.items[: (BLOCKS_LIMIT - 5) // 3]:
        blocks.append(_section(watchlist_item_text(item)))
        quoted = plain(item.title, 200, "this talk")
        remove = _button("Remove", WATCHLIST_REMOVE, remove_value(item), style="danger")
        if remove is not None:
            remove["confirm"] = {
                "title": _plain_text("Remove this talk?"),
                "text": _plain_text(plain(f"“{quoted}” comes off your watch list.", 300)),
                "confirm": _plain_text("Remove"),
                "deny": _plain_text("Keep it"),
                "style": "danger",
            }
        blocks += _actions(
            _button("Not watched" if item.watched else "Mark watched", WATCHLIST_MARK, mark_value(item)), remove
        )
        blocks.append(_divider())
    blocks += _actions(
        _button("Previous", WATCHLIST_PREV, prev_value),
        _button("Next", WATCHLIST_NEXT, next_value),
        *(_button(f"Show {_STATE_NAMES[s].lower()}", WATCHLIST_SHOW[s], v) for s, v in show_values.items()),
    )
    if page.items:
        first = page.offset + 1
        counted = f"{first}–{page.offset + len(page.items)} of {page.total}"
        shown = f"{_plural(page.total, 'talk')}" if page.total <= len(page.items) and not page.offset else counted
        blocks.append(_context(f"{shown} · `/watchlist export` for a calendar of them"))
    return _message(heading, blocks)


def settings_message(zone: str | None, *, changed: bool = False) -> dict[str, Any]:
    """The member's settings: their time zone."""
    if changed and zone:
        return notice_message(f":white_check_mark: Your time zone is now *{mrkdwn(zone, 100)}*.")
    if zone:
        text = f"Your time zone is *{mrkdwn(zone, 100)}*. Change it with `/settings timezone:Europe/Berlin`."
    else:
        text = "You have not set a time zone. Set one with `/settings timezone:Europe/Berlin` (or a city)."
    return notice_message(text)


def forget_confirm_message(value: str) -> dict[str, Any]:
    """Asks the member to confirm deleting everything the bot keeps about them."""
    text = (
        "This deletes your watch list (every saved talk, watched or not), your reminders and your settings, for good."
    )
    blocks = [_section(f":warning: {text}")]
    blocks += _actions(_button("Delete everything the bot keeps about me", FORGET_ME, value, style="danger"))
    return _message("Delete everything the bot keeps about you?", blocks)


def forgotten_message(forgotten: Forgotten) -> dict[str, Any]:
    """What forgetting the member deleted."""
    if not forgotten.anything:
        return notice_message("The bot kept nothing about you: there was nothing to delete.")
    deleted = ", ".join(forgotten.parts())
    return notice_message(f":wastebasket: Deleted {deleted}. The bot keeps nothing else about you.")


def calendar_comment(dated: int, undated: Sequence[SavedTalk]) -> str:
    """The comment beside an exported calendar file: what it holds, and the saved talks left out of it (mrkdwn).

    At most `UNDATED_LISTED` of those are named, as Discord's export names them.
    """
    if dated:
        lines = [
            f"*Your watch list as a calendar*: {_plural(dated, 'talk')}, one all-day event per talk on its day. "
            "Import the file into your calendar; exporting again updates those events."
        ]
    else:
        lines = ["*Your watch list as a calendar*: none of your saved talks has a date, so it holds no events."]
    if undated:
        lines.append(f"*Not in the calendar (no date): {len(undated)}*")
        for item in undated[:UNDATED_LISTED]:
            event = mrkdwn(item.talk.event.name if item.talk is not None else item.event_name, 150)
            title = item.talk.title if item.talk is not None else item.title
            url = item.talk.recording_url if item.talk is not None else item.recording_url
            lines.append(f"• {link(flat(title) or 'Untitled talk', url, 150)} — {event or '—'}")
        if len(undated) > UNDATED_LISTED:
            lines.append(f"…and {len(undated) - UNDATED_LISTED} more")
    return "\n".join(lines)


# -- reminders -----------------------------------------------------------------------------------------------

REMINDERS_SHOWN = (BLOCKS_LIMIT - 3) // 2  # a section and its Cancel button each, under a header and a note


def local_time(instant: datetime, zone: tzinfo | None) -> str:
    """An instant as the member's zone reads it: "Sat 24 Dec 2026 10:00 CET" (UTC without a zone)."""
    shown = instant.astimezone(zone) if zone is not None else instant
    return f"{shown:%a} {shown.day} {shown:%b %Y %H:%M} {shown.tzname() or 'UTC'}"


def slack_time(instant: datetime, zone: tzinfo | None = None) -> str:
    """An instant in each reader's own zone (Slack's date formatting), falling back to it in `zone`."""
    return f"<!date^{int(instant.timestamp())}^{{date_long}} at {{time}}|{local_time(instant, zone)}>"


def reminder_set_message(reminder: Reminder, zone: tzinfo | None, zone_name: str) -> dict[str, Any]:
    """What /remind-me answers: the talk and when (shown in the reader's zone), and how to list or cancel it."""
    title = mrkdwn(reminder.title, 200) or "Untitled talk"
    before = ", ten minutes before it starts" if reminder.before_start else ""
    text = (
        f":alarm_clock: I'll remind you of “{title}” in a direct message on {slack_time(reminder.due_at, zone)}"
        f"{before}. `/reminders` lists your reminders and cancels one."
    )
    blocks = [_section(text), _context(f"Times you type are read in {mrkdwn(zone_name, 100)}.")]
    return _message(f"I'll remind you of “{flat(reminder.title)}”", blocks)


def reminders_message(
    reminders: Sequence[Reminder],
    *,
    cancel_value: Callable[[Reminder], str],
    zone: tzinfo | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The member's waiting reminders, soonest first, each with a "Cancel" button (`note`: mrkdwn, escaped)."""
    blocks = [_header("Your reminders", "Your reminders")]
    if note:
        blocks.append(_section(note))
    if not reminders:
        blocks.append(_section("No reminders waiting. Set one with `/remind-me` and a talk's title, `when:in 1 hour`."))
    for reminder in reminders[:REMINDERS_SHOWN]:
        before = " · ten minutes before it starts" if reminder.before_start else ""
        line = f"{_bold(mrkdwn(reminder.title, 250) or 'Untitled talk')}\n{slack_time(reminder.due_at, zone)}{before}"
        quoted = plain(reminder.title, 200, "this talk")
        cancel = _button("Cancel", REMINDER_CANCEL, cancel_value(reminder), style="danger")
        if cancel is not None:
            cancel["confirm"] = {
                "title": _plain_text("Cancel this reminder?"),
                "text": _plain_text(plain(f"You will not be reminded of “{quoted}”.", 300)),
                "confirm": _plain_text("Cancel it"),
                "deny": _plain_text("Keep it"),
                "style": "danger",
            }
        blocks.append(_section(line, accessory=cancel))
    if len(reminders) > REMINDERS_SHOWN:
        blocks.append(_context(f"…and {len(reminders) - REMINDERS_SHOWN} more, later"))
    return _message("Your reminders", blocks)


def reminder_message(reminder: Reminder, talk: Talk | None, *, usual_language: str | None) -> dict[str, Any]:
    """A reminder's direct message: the talk's card (with Save) while it is in the catalogue, else what was kept."""
    heading = ":alarm_clock: Your reminder"
    if reminder.before_start and reminder.starts_at is not None:
        heading = ":alarm_clock: Starting in ten minutes"
    starts = f"Starts {slack_time(reminder.starts_at)}" if reminder.starts_at is not None else ""
    top = [_section(f"*{heading}*")]
    if talk is not None:
        card = talk_message(
            talk, usual_language=usual_language, more_value=talk.slug, share_value=None, save_value=talk.slug
        )
        body = top + ([_context(starts)] if starts else []) + card["blocks"]
        return _message(f"Reminder: {card['text']}", body)
    title = _bold(link(flat(reminder.title) or "Untitled talk", reminder.recording_url, 250))
    lines = [title, f"_{mrkdwn(reminder.event_name, 200) or '—'}_", f":warning: _This talk is {GONE_NOTE}._"]
    blocks = [*top, _section("\n".join(lines))]
    if starts:
        blocks.append(_context(starts))
    return _message(f"Reminder: {flat(reminder.title) or 'Untitled talk'}", blocks)


def notices_message(notices: Sequence[Notice]) -> dict[str, Any]:
    """Reminders the member is told of once: missed, or not delivered, and why."""
    lines = [f"• {mrkdwn(notice.text(), 600)}" for notice in notices[:10]]
    if len(notices) > 10:
        lines.append(f"…and {len(notices) - 10} more")
    return notice_message(":bell: " + "\n".join(lines))


# -- live mode -----------------------------------------------------------------------------------------------

LIVE_TALK_LIMIT = 900  # one talk of an "up next" notice: title, speakers, room and stream
LIVE_CHANGE_LIMIT = 700  # one change: what changed, the title and the speakers


def _live_talk(talk: Talk) -> str:
    """A talk about to start: its title, its speakers, and its room and live stream when the programme gives them."""
    where = [mrkdwn(talk.room, 60)] if talk.room and flat(talk.room) else []
    stream = link("Watch live", talk.stream_url, 20)
    if stream.startswith("<"):  # only an http(s) address becomes a link; anything else is left out
        where.append(stream)
    lines = [_bold(mrkdwn(talk.title, 250) or "Untitled talk"), credits_line(talk, 400)]
    if where:
        lines.append(" · ".join(where))
    return fit("\n".join(lines), LIVE_TALK_LIMIT) + "\n"


def _more(blocks: list[dict[str, Any]], left: int, noun: str) -> None:
    if left:
        blocks.append(_context(f"…and {_plural(left, noun)} more"))


def up_next_message(notice: UpNext) -> dict[str, Any]:
    """The "Starting in 5 minutes" notice: every talk of the slot (many rooms share one), within Block Kit's limits."""
    heading = f":stopwatch: {notice.heading}"
    when = f"{notice.start:%a %H:%M}"
    footer = " · ".join(x for x in (mrkdwn(notice.event_name, 200), when) if x)
    sections, left = _line_sections([_live_talk(t) for t in notice.talks], BLOCKS_LIMIT - 3)
    blocks = [_section(f"*{heading}*"), *sections]
    _more(blocks, left, "talk")
    blocks.append(_context(footer))
    titles = ", ".join(flat(t.title) for t in notice.talks[:5]) + ("…" if len(notice.talks) > 5 else "")
    return _message(f"{notice.heading}: {titles}" if titles else notice.heading, blocks)


def _change_line(kind: str, detail: str, title: str, speakers: Sequence[str]) -> str:
    said = f"*{kind}*" + (f": {mrkdwn(detail, 200)}" if flat(detail) else "")
    who = _joined([mrkdwn(s, 120) for s in speakers if flat(s)], 300)
    talk = mrkdwn(title, 250) or "Untitled talk"
    return fit(f"{said}\n{talk}" + (f" ({who})" if who else ""), LIVE_CHANGE_LIMIT) + "\n"


def changes_message(notice: ChangeNotice) -> dict[str, Any]:
    """A batch of programme changes, one message, each change with its talk's title and speakers."""
    event = flat(notice.event_name)
    heading = f"Programme changes: {event}" if event else "Programme changes"
    lines = [_change_line(line.label, line.detail, line.title, line.speakers) for line in notice.lines]
    sections, left = _line_sections(lines, BLOCKS_LIMIT - 2)
    blocks = [_header(heading, "Programme changes"), *sections]
    _more(blocks, left, "change")
    return _message(heading, blocks)


# -- new recordings ------------------------------------------------------------------------------------------


def recordings_message(notice: RecordingsNotice) -> dict[str, Any]:
    """The "5 new recordings from KubeCon EU 2021" message: each event's talks linked to their videos."""
    lines: list[str] = []
    for event in notice.events:
        if len(notice.events) > 1:
            lines.append(_bold(mrkdwn(event.heading, 250)))
        lines.extend(f"• {link(flat(t.title) or 'Untitled talk', t.url, 250)}" for t in event.talks)
        if event.more:
            lines.append(f"…and {event.more} more")
    sections, left = _line_sections(lines, BLOCKS_LIMIT - 2)
    blocks = [_section(f"*:clapper: {mrkdwn(notice.heading, 250)}*"), *sections]
    _more(blocks, left, "line")
    return _message(notice.heading, blocks)


def lines_message(heading: str, lines: Sequence[str]) -> dict[str, Any]:
    """A heading and lines of mrkdwn the caller composed (catalogue text in them through `escape`)."""
    sections, left = _line_sections(lines, BLOCKS_LIMIT - 2)
    blocks = [_header(heading, heading or "Talk highlights"), *sections]
    _more(blocks, left, "line")
    return _message(heading, blocks)
