"""Reading a reminder's `when:`: relative and wall-clock times, the member's time zone, and hostile text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.watchlist.when import HORIZON, NeedsTimezone, WhenError, parse_when

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 3, 21, 30, tzinfo=UTC)  # a Thursday; 22:30 in Berlin


def at(text: str, *, zone: ZoneInfo | None = BERLIN, now: datetime = NOW, starts_at: datetime | None = None):
    return parse_when(text, now=now, zone=zone, starts_at=starts_at).at


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("in 2 hours", timedelta(hours=2)),
        ("in 90 minutes", timedelta(minutes=90)),
        ("in 1 hour 30 minutes", timedelta(minutes=90)),
        ("in 2h", timedelta(hours=2)),
        ("In 3 Days", timedelta(days=3)),
        ("in 1 week", timedelta(weeks=1)),
        ("  in   5   min ", timedelta(minutes=5)),
    ],
)
def test_relative_times_need_no_time_zone(text, delta):
    assert at(text, zone=None) == NOW + delta


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow 18:00", berlin(2026, 12, 4, 18, 0)),
        ("tomorrow at 6pm", berlin(2026, 12, 4, 18, 0)),
        ("saturday 10:00", berlin(2026, 12, 5, 10, 0)),
        ("sat 10am", berlin(2026, 12, 5, 10, 0)),
        ("thursday 09:00", berlin(2026, 12, 10, 9, 0)),  # today is Thursday: next week's
        ("2026-12-24 10:00", berlin(2026, 12, 24, 10, 0)),
        ("2026-12-24T10:00", berlin(2026, 12, 24, 10, 0)),
        ("23:15", berlin(2026, 12, 3, 23, 15)),  # later today
        ("08:00", berlin(2026, 12, 4, 8, 0)),  # already past today: tomorrow's
        ("tomorrow", berlin(2026, 12, 4, 9, 0)),
    ],
)
def test_wall_clock_times_are_read_in_the_members_zone(text, expected):
    assert at(text) == expected


def test_the_same_words_mean_another_instant_in_another_zone():
    assert at("tomorrow 18:00", zone=NEW_YORK) == datetime(2026, 12, 4, 23, 0, tzinfo=UTC)


def test_a_wall_clock_time_without_a_known_zone_asks_for_one():
    with pytest.raises(NeedsTimezone, match="timezone:"):
        at("tomorrow 18:00", zone=None)


def test_a_time_that_does_not_exist_on_a_daylight_saving_day_is_refused():
    now = datetime(2027, 3, 20, 12, tzinfo=UTC)
    with pytest.raises(WhenError, match="02:30 does not exist on Sunday 28 March 2027 in Europe/Berlin"):
        at("2027-03-28 02:30", now=now)
    assert at("2027-03-28 03:30", now=now) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


def test_a_time_that_happens_twice_is_the_first():
    now = datetime(2026, 10, 20, 12, tzinfo=UTC)
    assert at("2026-10-25 02:30", now=now) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # still summer time


def test_before_is_ten_minutes_before_the_talk_starts():
    start = NOW + timedelta(days=2)
    due = parse_when("before", now=NOW, zone=None, starts_at=start)
    assert (due.at, due.before) == (start - timedelta(minutes=10), True)


@pytest.mark.parametrize(
    ("starts_at", "message"),
    [
        (None, "no start time"),
        (NOW - timedelta(hours=1), "already started"),
        (NOW + timedelta(minutes=5), "less than ten minutes"),
    ],
)
def test_before_needs_a_start_time_far_enough_ahead(starts_at, message):
    with pytest.raises(WhenError, match=message):
        at("before", starts_at=starts_at)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "When should I remind you"),
        ("whenever you like", "can't read"),
        ("9999-12-31 23:59", "too far ahead"),
        ("0001-01-01 00:00", "already passed"),
        ("2026-02-30 10:00", "not a date in the calendar"),
        ("2025-12-24 10:00", "already passed"),
        ("in 400 days", "too far ahead"),
        ("in 99999 weeks", "too far ahead"),
        ("in 3 fortnights", "minutes, hours, days or weeks"),
        ("25:00", "not a time of day"),
        ("13pm", "not a time of day"),
        ("tomorrow 18", "write it as"),
        ("x" * 6000, "too long"),
        ("@everyone tomorrow", "can't read"),
        ("🕙 tomorrow", "can't read"),
        ("غدا 10:00", "can't read"),
    ],
)
def test_hostile_or_impossible_text_gets_a_reason(text, message):
    with pytest.raises(WhenError, match=message) as raised:
        at(text)
    shown = str(raised.value)
    assert len(shown) < 400  # never the whole 6,000 characters back
    assert "\u202e" not in shown


def test_right_to_left_overrides_are_not_echoed():
    with pytest.raises(WhenError) as raised:
        at("\u202etomorrow 18:00")
    assert "\u202e" not in str(raised.value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_future_instant_within_a_year_or_a_friendly_error(text):
    try:
        due = at(text)
    except WhenError:
        return
    assert NOW < due <= NOW + HORIZON
