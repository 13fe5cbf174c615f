"""Domain objects to Discord embeds: escaped so catalogue text cannot break the layout, clipped to the limits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, tzinfo
from functools import lru_cache

import discord
from discord.utils import escape_markdown, escape_mentions

from bot.catalogue.service import Result
from bot.domain.dates import event_dates, talk_dates
from bot.domain.languages import language_name
from bot.domain.models import Count, Event, PersonProfile, Talk
from bot.domain.text import inert
from bot.highlights.service import ScheduleInfo
from bot.live.notices import ChangeNotice, UpNext
from bot.recordings.announce import RecordingsNotice
from bot.watchlist.reminders import Reminder
from bot.watchlist.service import Forgotten, WatchPage

# Discord's documented limits.
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
FIELD_COUNT_LIMIT = 25
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10

# Inside a link's text every character markdown could read is escaped: brackets and parentheses would end the
# link early, and a lone `*`, `_`, `~`, `|` or backquote could pair with one outside it; `<` would start a mention.
_LINK_TEXT_SYNTAX = re.compile(r"([\\*_~|`\[\]()<>])")

COLOUR = discord.Colour(0x2BEDA7)
SUMMARY_IN_LIST = 180
SUMMARY_IN_CARD = 900


def clip(text: str, limit: int) -> str:
    """Shorten to `limit` characters with an ellipsis, never leaving a dangling escape backslash."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)].rstrip()
    while cut.endswith("\\"):
        cut = cut[:-1]
    return cut + "…"


def safe(text: str, limit: int) -> str:
    """Catalogue text made inert (markdown escaped, mentions defused) and clipped."""
    return clip(escape_mentions(escape_markdown(" ".join(inert(text).split()))), limit)


def credits_line(talk: Talk, *, limit: int = FIELD_VALUE_LIMIT) -> str:
    """Speakers with their organisation at the time, moderators marked."""
    parts = []
    for credit in talk.speakers:
        text = escape_markdown(inert(credit.name))
        if credit.organization:
            text += f" ({escape_markdown(inert(credit.organization))})"
        if credit.role == "moderator":
            text += ", moderator"
        parts.append(text)
    return clip(escape_mentions(", ".join(parts)), limit) if parts else "—"


def event_line(talk: Talk) -> str:
    """The event and, when known, the date."""
    when = talk_dates(talk)
    return escape_mentions(escape_markdown(talk.event.name)) + (f" · {when}" if when else "")


def filled(text: str, fallback: str = "—") -> str:
    """Discord refuses empty (or blank) field names and values: show a dash instead."""
    return text if text.strip() else fallback


def safe_block(text: str) -> str:
    """Multi-line catalogue text made inert, line breaks kept."""
    return "\n".join(escape_mentions(escape_markdown(line)) for line in inert(text).splitlines())


def link_text(title: str, limit: int) -> str:
    """Catalogue text made safe as the text of a markdown link `[text](url)`, clipped to `limit`."""
    text = escape_mentions(" ".join(inert(title).split()))
    return filled(clip(_LINK_TEXT_SYNTAX.sub(r"\\\1", text), limit), "link")


def _link(title: str, url: str | None, limit: int) -> str:
    if url and url.startswith(("https://", "http://")) and ")" not in url and " " not in url:
        return f"[{link_text(title, limit)}]({url})"
    return safe(title, limit)


def fit(embed: discord.Embed) -> discord.Embed:
    """Trim the description (then fields) until the embed is within the 6,000-character total."""
    while len(embed) > EMBED_TOTAL_LIMIT:
        excess = len(embed) - EMBED_TOTAL_LIMIT
        if embed.description and len(embed.description) > excess + 1:
            embed.description = clip(embed.description, len(embed.description) - excess - 1)
        elif embed.fields:
            embed.remove_field(len(embed.fields) - 1)
        else:
            embed.title = clip(embed.title or "", max(1, len(embed.title or "") - excess - 1))
    return embed


def talk_embed(
    talk: Talk, *, reasons: Sequence[str] = (), heading: str | None = None, usual_language: str | None = None
) -> discord.Embed:
    """One talk: linked title, speakers, event and date, topics, a summary, and why it was picked.

    The talk's language is shown when the programme gives one other than `usual_language` (the catalogue's).
    """
    embed = discord.Embed(
        title=filled(safe(talk.title, TITLE_LIMIT), "Untitled talk"),
        url=talk.recording_url if talk.recording_url and talk.recording_url.startswith("http") else None,
        description=safe(talk.summary, SUMMARY_IN_CARD) if talk.summary else None,
        colour=COLOUR,
    )
    if heading:
        embed.set_author(name=clip(heading, AUTHOR_LIMIT))
    embed.add_field(
        name="Speakers" if len(talk.credits) != 1 else "Speaker", value=filled(credits_line(talk)), inline=False
    )
    embed.add_field(name="Event", value=filled(clip(event_line(talk), FIELD_VALUE_LIMIT)), inline=True)
    if talk.kind != "talk":
        embed.add_field(name="Format", value=talk.kind.capitalize(), inline=True)
    if talk.language and talk.language != usual_language:
        embed.add_field(name="Language", value=language_name(talk.language), inline=True)
    if talk.topics:
        embed.add_field(
            name="Topics", value=safe(", ".join(t.name for t in talk.topics), FIELD_VALUE_LIMIT), inline=False
        )
    if reasons:
        embed.add_field(name="Why this talk", value=filled(safe("; ".join(reasons), FIELD_VALUE_LIMIT)), inline=False)
    links = []
    if talk.recording_url:
        links.append(_link("Recording", talk.recording_url, 20))
    if talk.slides_url:
        links.append(_link("Slides", talk.slides_url, 20))
    if links:
        embed.add_field(name="Watch", value=" · ".join(links), inline=False)
    embed.set_footer(text=clip(f"id: {talk.slug}", FOOTER_LIMIT))
    return fit(embed)


@lru_cache(maxsize=4096)
def _result_parts(talk: Talk) -> tuple[str, str, str]:
    """A listed talk's escaped link, credits and event line: the same every time the talk is listed."""
    return _link(talk.title, talk.recording_url, 200), credits_line(talk, limit=300), event_line(talk)


def results_embed(
    title: str,
    results: Sequence[Result],
    *,
    page: int,
    pages: int,
    total: int,
    first_rank: int,
    note: str = "",
    usual_language: str | None = None,
) -> discord.Embed:
    """A page of ranked talks, each with a link, speakers, event (language, if unusual) and why it was picked."""
    lines = []
    for rank, result in enumerate(results, start=first_rank):
        link, credits, event = _result_parts(result.talk)
        language = result.talk.language
        if language and language != usual_language:
            event = f"{event} · in {language_name(language)}"
        entry = f"**{rank}. {link}**\n{credits}\n*{event}*"
        if result.reasons:
            entry += f" · {safe('; '.join(result.reasons), 200)}"
        lines.append(entry)
    description = (note + "\n\n" if note else "") + "\n\n".join(lines)
    embed = discord.Embed(
        title=safe(title, TITLE_LIMIT), description=clip(description, DESCRIPTION_LIMIT), colour=COLOUR
    )
    talks = "talk" if total == 1 else "talks"
    embed.set_footer(text=f"Page {page} of {pages} · {total} {talks}")
    return fit(embed)


def speaker_embed(profile: PersonProfile) -> discord.Embed:
    """A speaker card: organisations over time and every talk, newest first, with links."""
    embed = discord.Embed(title=filled(safe(profile.name, TITLE_LIMIT)), colour=COLOUR)
    if profile.organizations:
        embed.description = safe(" → ".join(profile.organizations), 500)
    lines = []
    for talk in profile.talks:
        when = f" ({talk.when.year})" if talk.when else ""
        lines.append(f"• {_link(talk.title, talk.recording_url, 150)} — {safe(talk.event.label, 80)}{when}")
    value = ""
    shown = 0
    for line in lines:
        if len(value) + len(line) + 1 > FIELD_VALUE_LIMIT - 40:
            break
        value += line + "\n"
        shown += 1
    if shown < profile.talk_count:
        value += f"…and {profile.talk_count - shown} more"
    embed.add_field(name=f"Talks ({profile.talk_count})", value=value.strip() or "—", inline=False)
    embed.set_footer(text=clip(f"id: {profile.slug}", FOOTER_LIMIT))
    return fit(embed)


def people_embed(profiles: Sequence[PersonProfile], query: str) -> discord.Embed:
    """Several people matched: a short list to pick from."""
    embed = discord.Embed(
        title=safe(f"{len(profiles)} people match “{query}”", TITLE_LIMIT),
        description="Pick one below to see their talks.",
        colour=COLOUR,
    )
    for profile in profiles[:FIELD_COUNT_LIMIT]:
        orgs = ", ".join(profile.organizations) or "organisation not recorded"
        talks = "talk" if profile.talk_count == 1 else "talks"
        embed.add_field(
            name=filled(safe(profile.name, FIELD_NAME_LIMIT)),
            value=filled(safe(f"{orgs} · {profile.talk_count} {talks}", FIELD_VALUE_LIMIT)),
            inline=False,
        )
    return fit(embed)


def topics_embed(topics: Sequence[Count], *, page: int, pages: int) -> discord.Embed:
    """Topics with their number of talks."""
    lines = []
    for t in topics:
        indent = "\u2003" * t.depth + "↳ " if t.depth else ""
        lines.append(f"{indent}**{safe(t.name, 100)}** · {t.talks} talk{'s' if t.talks != 1 else ''}")
    embed = discord.Embed(title="Topics", description=clip("\n".join(lines), DESCRIPTION_LIMIT), colour=COLOUR)
    embed.set_footer(text=f"Page {page} of {pages} · try /recommend with any of them")
    return fit(embed)


def events_embed(events: Sequence[tuple[Event, int]], *, page: int, pages: int) -> discord.Embed:
    """Events with dates, place and number of talks; co-located events under their parent."""
    lines = []
    for event, count in events:
        dates = event_dates(event)
        where = event.location or ""
        detail = " · ".join(x for x in (dates, safe(where, 60), f"{count} talk{'s' if count != 1 else ''}") if x)
        prefix = "↳ " if event.parent else ""
        lines.append(f"{prefix}**{safe(event.name, 150)}**\n{prefix}{detail}")
    embed = discord.Embed(title="Events", description=clip("\n".join(lines), DESCRIPTION_LIMIT), colour=COLOUR)
    embed.set_footer(text=f"Page {page} of {pages}")
    return fit(embed)


def error_embed(message: str, suggestions: Sequence[str] = ()) -> discord.Embed:
    """A short, friendly error, with things to try."""
    embed = discord.Embed(
        description=clip(escape_mentions(inert(message)), DESCRIPTION_LIMIT), colour=discord.Colour.orange()
    )
    if suggestions:
        embed.add_field(
            name="Did you mean", value=filled(safe(" · ".join(suggestions[:8]), FIELD_VALUE_LIMIT)), inline=False
        )
    return embed


def _when(instant: datetime | None, zone: tzinfo) -> str:
    """An instant in the schedule's zone and as a Discord timestamp (shown in each reader's own zone)."""
    if instant is None:
        return "—"
    local = instant.astimezone(zone)
    return f"{local:%a %-d %b %H:%M} {local.tzname()} · {discord.utils.format_dt(instant, 'R')}"


def schedule_lines(info: ScheduleInfo) -> str:
    """One schedule in a few lines: where, when, what, and how it is doing."""
    saved = " · members' saved talks first" if info.prefer_saved else ""
    lines = [f"<#{info.channel_id}> · {info.rule_text}", f"Talks: {safe(info.filter_text, 300)}{saved}"]
    if info.paused:
        lines.append(f"⏸ Paused: {safe(info.paused_reason or 'paused', 300)}")
    else:
        lines.append(f"Next: {_when(info.next_post_at, info.rule.zone)}")
    if info.failures and not info.paused:
        lines.append(f"⚠ Failing ({info.failures} in a row): {safe(info.last_failure or '', 300)}")
    return "\n".join(lines)


def schedules_embed(infos: Sequence[ScheduleInfo]) -> discord.Embed:
    """The server's highlight schedules."""
    embed = discord.Embed(title="Highlight schedules", colour=COLOUR)
    if not infos:
        embed.description = "None yet. Add one with /highlights setup."
    for info in infos[:FIELD_COUNT_LIMIT]:
        embed.add_field(name=f"#{info.id}", value=clip(schedule_lines(info), FIELD_VALUE_LIMIT), inline=False)
    return fit(embed)


def schedule_status_embed(info: ScheduleInfo) -> discord.Embed:
    """One schedule in full: next post, last post, last failure."""
    embed = discord.Embed(title=f"Highlight schedule #{info.id}", description=schedule_lines(info), colour=COLOUR)
    last = _when(info.last_post_at, info.rule.zone) if info.last_post_at else "nothing posted yet"
    if info.last_talk:
        last += f"\n{safe(info.last_talk, 200)}"
    embed.add_field(name="Last post", value=clip(last, FIELD_VALUE_LIMIT), inline=False)
    if info.last_failure:
        failure = f"{safe(info.last_failure, 600)}\n{_when(info.last_failure_at, info.rule.zone)}"
        embed.add_field(name="Last failure", value=clip(failure, FIELD_VALUE_LIMIT), inline=False)
    return fit(embed)


_WATCH_FILTERS = {"all": "", "unwatched": " to watch", "watched": " watched"}


def watchlist_embed(page: WatchPage) -> discord.Embed:
    """A page of a member's watch list: each talk linked to its recording, its event, and how it stands."""
    title = f"Your watch list{_WATCH_FILTERS.get(page.state, '')}"
    embed = discord.Embed(title=title, colour=COLOUR)
    if not page.items:
        embed.description = (
            "Nothing here yet. Press 🔖 Save under a talk, or use `/save`."
            if page.state == "all"
            else "No talks here. `/watchlist show` lists every saved talk."
        )
        return embed
    lines = []
    for number, item in enumerate(page.items, start=page.offset + 1):
        talk = item.talk
        url = talk.recording_url if talk is not None else item.recording_url
        name = _link(talk.title if talk is not None else item.title, url, 200)
        marks = []
        if item.watched:
            marks.append("✓ watched")
        if item.gone:
            marks.append("no longer in the catalogue")
        event = safe(talk.event.name if talk is not None else item.event_name, 120)
        suffix = f" · {' · '.join(marks)}" if marks else ""
        lines.append(f"**{number}.** {name}\n{event}{suffix}")
    embed.description = clip("\n\n".join(lines), DESCRIPTION_LIMIT)
    shown = f"{page.offset + 1}–{page.offset + len(page.items)} of {page.total}"
    embed.set_footer(text=f"{shown} · /watchlist export gives a calendar file")
    return fit(embed)


def forgotten_text(forgotten: Forgotten) -> str:
    """What /forget-me deleted, in a sentence."""
    if not forgotten.anything:
        return "The bot kept nothing about you: there was nothing to delete."
    return "Deleted " + ", ".join(forgotten.parts()) + ". The bot keeps nothing else about you."


# -- reminders ------------------------------------------------------------------------------------------------


def _stamp(at: datetime, style: str = "F") -> str:
    """A Discord timestamp: each reader sees it in their own time zone and language."""
    return f"<t:{int(at.timestamp())}:{style}>"


def reminder_embed(reminder: Reminder, talk: Talk | None) -> discord.Embed:
    """The direct message a reminder sends: the talk's card while it is in the catalogue, else what was kept."""
    heading = "⏰ Your reminder"
    if reminder.before_start and reminder.starts_at is not None:
        heading = "⏰ Starting in ten minutes"
    if talk is not None:
        embed = talk_embed(talk, heading=heading)
    else:
        embed = discord.Embed(
            title=filled(safe(reminder.title, TITLE_LIMIT), "Untitled talk"),
            url=reminder.recording_url if (reminder.recording_url or "").startswith("http") else None,
            description="This talk is no longer in the catalogue.",
            colour=COLOUR,
        )
        embed.set_author(name=heading)
        embed.add_field(name="Event", value=filled(safe(reminder.event_name, FIELD_VALUE_LIMIT)), inline=True)
    if reminder.starts_at is not None:
        embed.add_field(name="Starts", value=f"{_stamp(reminder.starts_at)} ({_stamp(reminder.starts_at, 'R')})")
    return fit(embed)


def reminder_set_text(reminder: Reminder, zone: str) -> str:
    """What /remind answers: the talk and when, in the member's own zone (Discord renders the timestamp)."""
    when = "ten minutes before it starts" if reminder.before_start else "then"
    return (
        f"⏰ I'll remind you of “{safe(reminder.title, 200)}” in a direct message on {_stamp(reminder.due_at)}"
        f" ({_stamp(reminder.due_at, 'R')}), {when}. Times are read in {zone}; `/reminders` lists or cancels it."
    )


def reminders_embed(reminders: Sequence[Reminder]) -> discord.Embed:
    """The member's waiting reminders, soonest first, numbered as the cancel menu numbers them."""
    embed = discord.Embed(title="Your reminders", colour=COLOUR)
    if not reminders:
        embed.description = "No reminders waiting. Set one with `/remind`."
        return embed
    lines = [
        f"**{number}.** {safe(r.title, 150)}\n{_stamp(r.due_at)} ({_stamp(r.due_at, 'R')})"
        + (" · before it starts" if r.before_start else "")
        for number, r in enumerate(reminders, start=1)
    ]
    embed.description = clip("\n\n".join(lines), DESCRIPTION_LIMIT)
    return fit(embed)


# -- live mode ------------------------------------------------------------------------------------------------


def _live_line(talk: Talk) -> str:
    where = [safe(talk.room, 60)] if talk.room else []
    if talk.stream_url and talk.stream_url.startswith("http"):
        where.append(_link("Watch live", talk.stream_url, 20))
    speakers = credits_line(talk, limit=200)
    return f"**{safe(talk.title, 200)}**\n{speakers}" + (f"\n{' · '.join(where)}" if where else "")


def up_next_embed(notice: UpNext) -> discord.Embed:
    """The "Starting in 5 minutes" notice: each talk with its speakers, room and live stream."""
    embed = discord.Embed(title=f"⏱ {notice.heading}", colour=COLOUR)
    embed.description = clip("\n\n".join(_live_line(t) for t in notice.talks), DESCRIPTION_LIMIT)
    start = notice.start
    embed.set_footer(text=clip(f"{notice.event_name} · {start:%a %H:%M}", FOOTER_LIMIT))
    embed.timestamp = start
    return fit(embed)


def changes_embed(notice: ChangeNotice) -> discord.Embed:
    """A batch of programme changes, each with its talk's title and speakers."""
    embed = discord.Embed(title=clip(f"Programme changes: {safe(notice.event_name, 200)}", TITLE_LIMIT), colour=COLOUR)
    lines = []
    for line in notice.lines:
        who = f" ({safe(', '.join(line.speakers), 200)})" if line.speakers else ""
        detail = f": {safe(line.detail, 200)}" if line.detail else ""
        lines.append(f"**{line.label}**{detail}\n{safe(line.title, 200)}{who}")
    embed.description = clip("\n\n".join(lines), DESCRIPTION_LIMIT)
    return fit(embed)


# -- new recordings ---------------------------------------------------------------------------------------------


def recordings_embed(notice: RecordingsNotice) -> discord.Embed:
    """The "5 new recordings from KubeCon EU 2021" message: each event's talks linked to their videos."""
    embed = discord.Embed(title=clip(f"🎬 {safe(notice.heading, 240)}", TITLE_LIMIT), colour=COLOUR)
    sections = []
    for event in notice.events:
        lines = [f"• {_link(talk.title, talk.url, 200)}" for talk in event.talks]
        if event.more:
            lines.append(f"…and {event.more} more")
        heading = f"**{safe(event.heading, 200)}**\n" if len(notice.events) > 1 else ""
        sections.append(heading + "\n".join(lines))
    embed.description = clip("\n\n".join(sections), DESCRIPTION_LIMIT)
    return fit(embed)
