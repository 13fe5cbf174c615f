"""Dates as people read them: a talk's own date when known, else its event's dates, never a guess."""

from __future__ import annotations

from datetime import date

from bot.domain.models import Event, Talk


def day_label(value: date) -> str:
    """'3 May 2021'."""
    return f"{value.day} {value:%B %Y}"


def event_dates(event: Event) -> str:
    """'3 May 2021', '5–7 May 2021', '30 Apr – 2 May 2021', or '' when the event's dates are not recorded."""
    start, end = event.start_date, event.end_date
    if start is None:
        return ""
    if end is None or end == start:
        return day_label(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{day_label(end)}"
    if start.year == end.year:
        return f"{start.day} {start:%b} – {day_label(end)}"
    return f"{day_label(start)} – {day_label(end)}"


def talk_dates(talk: Talk) -> str:
    """The talk's date, or its event's dates when the talk's own day is not known."""
    return day_label(talk.date) if talk.date else event_dates(talk.event)
