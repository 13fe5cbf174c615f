from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserFacingError
from bot.highlights.rules import (
    ScheduleError,
    ScheduleRule,
    UnknownTimeZone,
    due_at,
    next_slot,
    parse_time,
    parse_weekday,
    parse_zone,
    slot_key,
    suggest_zones,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def local(instant, zone):
    return instant.astimezone(zone)


# --- parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("9:00", time(9)), ("09:00", time(9)), (" 18:30 ", time(18, 30)), ("0:00", time(0)), ("23:59", time(23, 59))],
)
def test_parse_time_reads_24_hour_clock(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "24:00", "9:60", "900", "9", "9:5", "ab:cd", "", "9:00pm", "-1:00"])
def test_parse_time_rejects_what_is_not_a_time_of_day(text):
    with pytest.raises(ScheduleError) as caught:
        parse_time(text)
    assert "HH:MM" in caught.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Monday", 0), ("mon", 0), ("TU", 1), ("wed", 2), ("thursday", 3), ("fr", 4), ("sat", 5), ("Su", 6)],
)
def test_parse_weekday_reads_names_and_unambiguous_starts(text, expected):
    assert parse_weekday(text) == expected


@pytest.mark.parametrize("text", ["t", "s", "", "funday", "mondays"])
def test_parse_weekday_rejects_ambiguous_or_unknown_names(text):
    with pytest.raises(ScheduleError, match="Monday"):
        parse_weekday(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/BERLIN", "Europe/Berlin"),
        ("berlin", "Europe/Berlin"),
        ("America/New York", "America/New_York"),
        (" utc ", "UTC"),
    ],
)
def test_parse_zone_ignores_case_and_accepts_a_unique_city(text, expected):
    assert parse_zone(text) == ZoneInfo(expected)


def test_parse_zone_suggests_near_misses():
    with pytest.raises(UnknownTimeZone) as caught:
        parse_zone("Europe/Berln")
    assert isinstance(caught.value, UserFacingError)
    assert caught.value.suggestions[0] == "Europe/Berlin"
    assert "Did you mean Europe/Berlin" in caught.value.message


def test_parse_zone_offers_every_zone_a_shared_city_name_may_mean():
    with pytest.raises(UnknownTimeZone) as caught:
        parse_zone("Louisville")
    assert {"America/Louisville", "America/Kentucky/Louisville"} <= set(caught.value.suggestions)


def test_parse_zone_without_any_near_miss_says_what_to_do():
    with pytest.raises(UnknownTimeZone) as caught:
        parse_zone("qqqqqqqq")
    assert caught.value.suggestions == ()
    assert "pick a suggestion" in caught.value.message


def test_suggest_zones_puts_name_prefixes_before_part_prefixes():
    assert suggest_zones("europe/be") == ["Europe/Belfast", "Europe/Belgrade", "Europe/Berlin"]
    assert suggest_zones("ber") == ["Atlantic/Bermuda", "Europe/Berlin"]
    assert suggest_zones("new y") == ["America/New_York"]


def test_suggest_zones_respects_the_limit_and_returns_real_zones():
    found = suggest_zones("a", limit=25)
    assert len(found) == 25
    assert all(ZoneInfo(name) for name in found)
    assert len(suggest_zones("")) == 25
    assert suggest_zones("zzzz") == []


# --- rules and slots -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cadence", "weekday"), [("weekly", None), ("daily", 2), ("weekdays", 0), ("weekly", 7), ("weekly", -1)]
)
def test_rule_rejects_a_weekday_that_does_not_fit_its_cadence(cadence, weekday):
    with pytest.raises(ScheduleError):
        ScheduleRule(time(9), BERLIN, cadence, weekday)


def test_rule_rejects_an_aware_time():
    with pytest.raises(ValueError, match="wall-clock"):
        ScheduleRule(time(9, tzinfo=UTC), BERLIN)


def test_next_slot_needs_an_aware_instant():
    with pytest.raises(ValueError, match="aware"):
        next_slot(ScheduleRule(time(9), BERLIN), datetime(2025, 1, 1))  # noqa: DTZ001


def test_slot_key_is_the_local_date_or_the_iso_week():
    assert slot_key(ScheduleRule(time(9), BERLIN), date(2025, 12, 29)) == "2025-12-29"
    assert slot_key(ScheduleRule(time(9), BERLIN, "weekly", 0), date(2025, 12, 29)) == "2026-W01"


def test_nine_in_berlin_stays_nine_local_all_year():
    rule = ScheduleRule(time(9), BERLIN)
    after, days, utc_hours = utc(2025, 1, 1), [], set()
    for _ in range(365):
        slot = next_slot(rule, after)
        assert local(slot.due, BERLIN).time() == time(9)
        days.append(slot.day)
        utc_hours.add(slot.due.hour)
        after = slot.due
    assert days == [date(2025, 1, 1) + timedelta(days=i) for i in range(365)]
    assert utc_hours == {7, 8}  # summer and winter time


@pytest.mark.parametrize(
    ("zone", "day", "at", "due"),
    [
        # spring forward: the wall time does not exist, so the slot is due when the clocks jump
        (BERLIN, date(2025, 3, 30), time(2, 30), utc(2025, 3, 30, 1)),  # 03:00 CEST
        (NEW_YORK, date(2025, 3, 9), time(2, 30), utc(2025, 3, 9, 7)),  # 03:00 EDT
        # fall back: the wall time happens twice; the slot is due at the first
        (BERLIN, date(2025, 10, 26), time(2, 30), utc(2025, 10, 26, 0, 30)),  # 02:30 CEST
        (NEW_YORK, date(2025, 11, 2), time(1, 30), utc(2025, 11, 2, 5, 30)),  # 01:30 EDT
    ],
)
def test_dst_changes_give_one_slot_at_the_first_valid_instant(zone, day, at, due):
    rule = ScheduleRule(at, zone)
    slot = next_slot(rule, datetime.combine(day - timedelta(days=1), time(12), tzinfo=zone))
    assert (slot.day, slot.due) == (day, due)
    following = next_slot(rule, slot.due)  # the second occurrence of a fall-back time is not another slot
    assert following.day == day + timedelta(days=1)
    assert local(following.due, zone).time() == at


def test_spring_forward_slot_posts_at_three_local():
    slot = next_slot(ScheduleRule(time(2, 30), BERLIN), utc(2025, 3, 29, 12))
    assert local(slot.due, BERLIN).replace(tzinfo=None) == datetime(2025, 3, 30, 3)  # noqa: DTZ001


def test_weekdays_skip_the_weekend():
    rule = ScheduleRule(time(9), BERLIN, "weekdays")
    friday_after = datetime(2025, 1, 10, 10, tzinfo=BERLIN)
    slots = [next_slot(rule, friday_after)]
    for _ in range(5):
        slots.append(next_slot(rule, slots[-1].due))
    assert [s.day.weekday() for s in slots] == [0, 1, 2, 3, 4, 0]
    assert slots[0].day == date(2025, 1, 13)


def test_weekly_posts_once_a_week_on_its_day_keyed_by_iso_week():
    rule = ScheduleRule(time(18, 30), NEW_YORK, "weekly", 2)
    slot = next_slot(rule, datetime(2025, 1, 1, 19, tzinfo=NEW_YORK))  # a Wednesday, after 18:30
    assert slot.day == date(2025, 1, 8)
    assert slot.key == "2025-W02"
    assert next_slot(rule, slot.due).day == date(2025, 1, 15)
    before = next_slot(rule, datetime(2025, 1, 1, 18, tzinfo=NEW_YORK))
    assert (before.day, before.key) == (date(2025, 1, 1), "2025-W01")


def test_a_day_that_a_zone_skipped_entirely_still_has_one_slot():
    apia = ZoneInfo("Pacific/Apia")  # Samoa skipped 30 December 2011
    rule = ScheduleRule(time(9), apia)
    skipped = next_slot(rule, utc(2011, 12, 29, 20))
    assert skipped.day == date(2011, 12, 30)
    assert local(skipped.due, apia).replace(tzinfo=None) == datetime(2011, 12, 31)  # noqa: DTZ001
    assert next_slot(rule, skipped.due).day == date(2011, 12, 31)


# --- properties ------------------------------------------------------------------------------------

ZONES = sorted(suggest_zones("", limit=10_000))
DST_ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Pacific/Apia"]


def transitions(zone_name, years=range(2008, 2028)):
    """(zone, UTC hour) pairs just after the zone's offset changed, found hour by hour around each change."""
    zone, found = ZoneInfo(zone_name), []
    day = utc(years[0], 1, 1)
    while day.year in years:
        if day.astimezone(zone).utcoffset() != (day + timedelta(days=1)).astimezone(zone).utcoffset():
            hours = [day + timedelta(hours=h) for h in range(25)]
            found += [
                (zone_name, b)
                for a, b in pairwise(hours)
                if a.astimezone(zone).utcoffset() != b.astimezone(zone).utcoffset()
            ]
        day += timedelta(days=1)
    return found


TRANSITIONS = [t for name in DST_ZONES for t in transitions(name)]


def check_next_slot(rule, after):
    slot = next_slot(rule, after)
    assert slot.due > after
    assert slot.due.tzinfo is UTC
    assert rule.runs_on(slot.day)
    wanted = datetime.combine(slot.day, rule.at)
    wall = slot.due.astimezone(rule.zone)
    just_before = (slot.due - timedelta(seconds=1)).astimezone(rule.zone)
    assert wall.fold == 0
    if wall.replace(tzinfo=None) != wanted:  # only when that wall time did not exist that day
        round_trip = datetime.combine(slot.day, rule.at, tzinfo=rule.zone).astimezone(UTC).astimezone(rule.zone)
        assert round_trip.replace(tzinfo=None) != wanted
    assert just_before.replace(tzinfo=None) < wanted <= wall.replace(tzinfo=None)
    # and no slot was skipped on the way
    day = after.astimezone(rule.zone).date() - timedelta(days=1)
    while day < slot.day:
        assert not rule.runs_on(day) or due_at(rule, day) <= after
        day += timedelta(days=1)


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    at=st.times(),
    cadence=st.sampled_from(["daily", "weekdays", "weekly"]),
    weekday=st.integers(0, 6),
    after=st.datetimes(datetime(1972, 1, 1), datetime(2060, 1, 1), timezones=st.just(UTC)),  # noqa: DTZ001
)
def test_next_slot_is_the_first_instant_the_wall_clock_reaches_the_rules_time(zone, at, cadence, weekday, after):
    check_next_slot(ScheduleRule(at, ZoneInfo(zone), cadence, weekday if cadence == "weekly" else None), after)


@settings(max_examples=300, deadline=None)
@given(
    transition=st.sampled_from(TRANSITIONS),
    shift=st.integers(-150 * 60, 150 * 60),
    lead=st.integers(0, 2 * 24 * 3600),
)
def test_next_slot_around_dst_changes(transition, shift, lead):
    name, change = transition
    at = (change.astimezone(ZoneInfo(name)) + timedelta(seconds=shift)).time()
    check_next_slot(ScheduleRule(at, ZoneInfo(name)), change - timedelta(seconds=lead))
