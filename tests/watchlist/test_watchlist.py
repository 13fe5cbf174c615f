"""Members' watch lists on the bundled catalogue, in a real SQLite database through the gateway."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest

from bot.catalogue.formats.options import ImportOptions
from bot.errors import TalkNotFound, UserFacingError
from bot.highlights.rules import UnknownTimeZone
from bot.watchlist.service import Forgotten, WatchlistService, calendar_uid
from bot.watchlist.store import WatchlistFull, WatchlistStore
from tests.live.test_notices import programme

ALICE, BOB = "discord:1001", "slack:T1:U2002"
RUST = "why-the-future-of-the-cloud-will-be-built-on-rust"  # dated 2021-05-03, at Cloud Native Rust Day
RUST_PANEL = "panel-discussion-rust-in-the-cloud"  # dated 2021-05-03, at Cloud Native Rust Day
TAP = "tap-tap-debugging-an-app-with-your-service-mesh"  # no date of its own
COVID = "scheduling-68k-covid-tests-with-linkerd"
COVID_KEYNOTE = "keynote-linkerd-vs-covid-19"
OVERVIEW = "overview-and-state-of-linkerd"
RAPID = "rapid-experimentation-simplified-with-linkerd"  # observability and traffic splitting, as Tap Tap
START = datetime(2025, 3, 1, 12, tzinfo=UTC)

# A programme of Cloud Native Rust Day that lists only the panel: importing it removes Oliver Gould's talk.
RUST_DAY_WITHOUT_OLIVERS_TALK = b"""
[topics]
rust = "Rust"

[[events]]
id = "cloud-native-rust-day-2021"
name = "Cloud Native Rust Day 2021"
short_name = "Rust Day 2021"
start_date = 2021-05-03
end_date = 2021-05-03

[[talks]]
id = "panel-discussion-rust-in-the-cloud"
title = "Panel Discussion: Rust in the Cloud"
event = "cloud-native-rust-day-2021"
kind = "panel"
date = 2021-05-03
topics = ["rust"]
speakers = [{ name = "Oliver Gould", organization = "Buoyant", role = "panellist" }]
"""


class TickingClock:
    """A clock a second further on each time it is read, so that every save has an instant of its own."""

    def __init__(self, start: datetime = START) -> None:
        self.at = start

    def now(self) -> datetime:
        self.at += timedelta(seconds=1)
        return self.at

    async def sleep_until(self, instant: datetime) -> None:
        self.at = max(self.at, instant)


@pytest.fixture
def store(db) -> WatchlistStore:
    return WatchlistStore(db)


@pytest.fixture
def watchlist(catalogue, store) -> WatchlistService:
    return WatchlistService(catalogue, store, clock=TickingClock())


async def save_all(watchlist: WatchlistService, member: str, *slugs: str) -> None:
    for slug in slugs:
        await watchlist.save(member, slug)


async def slugs_of(watchlist: WatchlistService, member: str, **options) -> list[str]:
    return [item.slug for item in (await watchlist.list(member, limit=25, **options)).items]


# --- saving, removing, watching -------------------------------------------------------------------------------


async def test_saving_keeps_what_the_list_shows_of_the_talk(watchlist):
    saved, new = await watchlist.save(ALICE, RUST)
    assert new
    assert (saved.slug, saved.title) == (RUST, "Why the Future of the Cloud Will Be Built on Rust")
    assert (saved.event_name, saved.event_slug) == ("Cloud Native Rust Day 2021", "cloud-native-rust-day-2021")
    assert saved.date == date(2021, 5, 3)
    assert saved.recording_url == "https://youtu.be/BWL4889RKhU"
    assert saved.saved_at == START + timedelta(seconds=1)
    assert saved.watched_at is None
    assert saved.talk is not None and saved.talk.slug == RUST
    assert not saved.gone


async def test_a_talk_is_saved_by_part_of_its_title_and_an_unknown_one_is_not_found(watchlist):
    saved, _ = await watchlist.save(ALICE, "tap tap debugging")
    assert saved.slug == TAP
    with pytest.raises(TalkNotFound):
        await watchlist.save(ALICE, "no-such-talk-anywhere")
    assert await slugs_of(watchlist, ALICE) == [TAP]


async def test_saving_twice_is_harmless(watchlist):
    first, new = await watchlist.save(ALICE, RUST)
    assert new
    assert await watchlist.mark_watched(ALICE, RUST)
    again, new = await watchlist.save(ALICE, RUST)
    assert not new
    assert again.saved_at == first.saved_at  # it keeps its place on the list
    assert again.watched_at is not None  # and stays watched
    page = await watchlist.list(ALICE)
    assert page.total == 1
    assert [item.slug for item in page.items] == [RUST]


async def test_removing_a_talk(watchlist):
    await save_all(watchlist, ALICE, RUST, TAP)
    assert await watchlist.remove(ALICE, RUST)
    assert not await watchlist.remove(ALICE, RUST)
    assert not await watchlist.remove(ALICE, "never-saved")
    assert await slugs_of(watchlist, ALICE) == [TAP]


async def test_marking_watched_and_unwatched(watchlist):
    await save_all(watchlist, ALICE, RUST)
    assert await watchlist.mark_watched(ALICE, RUST)
    first = (await watchlist.list(ALICE)).items[0].watched_at
    assert first is not None
    assert await watchlist.mark_watched(ALICE, RUST)  # again: the first time is kept
    assert (await watchlist.list(ALICE)).items[0].watched_at == first
    assert await watchlist.mark_watched(ALICE, RUST, watched=False)
    assert (await watchlist.list(ALICE)).items[0].watched_at is None
    assert not await watchlist.mark_watched(ALICE, TAP)  # not on the list: nothing to mark
    assert await slugs_of(watchlist, ALICE) == [RUST]


async def test_a_full_list_says_so(catalogue, db):
    watchlist = WatchlistService(catalogue, WatchlistStore(db, max_saved=2), clock=TickingClock())
    await save_all(watchlist, ALICE, RUST, TAP)
    with pytest.raises(WatchlistFull, match="full"):
        await watchlist.save(ALICE, COVID)
    assert not (await watchlist.save(ALICE, RUST))[1]  # saving one already there is still fine
    await watchlist.save(BOB, COVID)  # another member's list is another list
    assert await slugs_of(watchlist, ALICE) == [TAP, RUST]


# --- listing ----------------------------------------------------------------------------------------------------


async def test_the_list_is_newest_first_filtered_by_state_and_paged(watchlist):
    order = [RUST, TAP, COVID, OVERVIEW, RUST_PANEL, COVID_KEYNOTE]
    await save_all(watchlist, ALICE, *order)
    await watchlist.mark_watched(ALICE, TAP)
    await watchlist.mark_watched(ALICE, OVERVIEW)
    newest_first = order[::-1]
    assert await slugs_of(watchlist, ALICE) == newest_first
    assert await slugs_of(watchlist, ALICE, state="unwatched") == [s for s in newest_first if s not in (TAP, OVERVIEW)]
    assert await slugs_of(watchlist, ALICE, state="watched") == [OVERVIEW, TAP]

    first = await watchlist.list(ALICE, limit=4)
    assert (first.total, first.offset, first.limit, first.state) == (6, 0, 4, "all")
    assert [item.slug for item in first.items] == newest_first[:4]
    assert first.has_more
    second = await watchlist.list(ALICE, offset=4, limit=4)
    assert [item.slug for item in second.items] == newest_first[4:]
    assert not second.has_more
    unwatched = await watchlist.list(ALICE, state="unwatched", offset=2, limit=2)
    assert (unwatched.total, [i.slug for i in unwatched.items]) == (4, [COVID, RUST])
    assert (await watchlist.list(ALICE, offset=10)).items == ()
    assert (await watchlist.list(ALICE, limit=0)).limit == 1
    assert (await watchlist.list(ALICE, limit=1000)).limit == 25


async def test_a_list_state_that_is_none_of_the_three_is_refused(watchlist):
    with pytest.raises(UserFacingError, match="unwatched"):
        await watchlist.list(ALICE, state="seen")  # type: ignore[arg-type]


async def test_an_empty_list(watchlist):
    page = await watchlist.list(ALICE)
    assert (page.items, page.total, page.has_more) == ((), 0, False)


async def test_a_talk_an_import_removes_stays_listed_as_gone(watchlist, catalogue):
    await save_all(watchlist, ALICE, RUST, RUST_PANEL, TAP)
    report = await catalogue.import_data(RUST_DAY_WITHOUT_OLIVERS_TALK, "rust-day.toml", ImportOptions())
    assert [slug for slug, _ in report.removed] == [RUST]
    assert await catalogue.talk_by_slug(RUST) is None

    page = await watchlist.list(ALICE)
    assert [item.slug for item in page.items] == [TAP, RUST_PANEL, RUST]
    gone = page.items[2]
    assert gone.gone and gone.talk is None
    assert gone.title == "Why the Future of the Cloud Will Be Built on Rust"  # as it was when saved
    assert (gone.event_name, gone.date, gone.recording_url) == (
        "Cloud Native Rust Day 2021",
        date(2021, 5, 3),
        "https://youtu.be/BWL4889RKhU",
    )
    assert not page.items[0].gone and not page.items[1].gone
    # It can still be marked, exported and removed; recommendations start from the talks that remain.
    assert await watchlist.mark_watched(ALICE, RUST)
    calendar = icalendar.Calendar.from_ical((await watchlist.export_ics(ALICE))[0])
    assert "Why the Future of the Cloud Will Be Built on Rust" in {str(e["SUMMARY"]) for e in calendar.walk("VEVENT")}
    assert RUST not in {r.talk.slug for r in await watchlist.recommend_for(ALICE)}
    assert await watchlist.remove(ALICE, RUST)


# --- members' lists are their own -----------------------------------------------------------------------------------


async def test_one_member_never_sees_or_changes_another_members_list(watchlist):
    await save_all(watchlist, ALICE, RUST, TAP)
    await watchlist.set_timezone(ALICE, "Europe/Berlin")
    assert (await watchlist.list(BOB)).total == 0
    assert not await watchlist.remove(BOB, RUST)
    assert not await watchlist.mark_watched(BOB, TAP)
    assert await watchlist.timezone(BOB) is None
    assert (await watchlist.export_ics(BOB))[1] == []
    assert await watchlist.recommend_for(BOB) == []
    assert await watchlist.forget(BOB) == Forgotten(0, 0)

    _, new = await watchlist.save(BOB, RUST)
    assert new  # Bob's own list did not have it
    await watchlist.mark_watched(BOB, RUST)
    assert await slugs_of(watchlist, ALICE, state="watched") == []
    assert await slugs_of(watchlist, ALICE) == [TAP, RUST]
    assert await slugs_of(watchlist, BOB) == [RUST]
    assert await watchlist.timezone(ALICE) == "Europe/Berlin"


async def test_an_empty_member_key_is_a_bug_not_a_list(watchlist):
    with pytest.raises(ValueError, match="member"):
        await watchlist.list(" ")


async def test_forget_deletes_everything_about_the_member_and_says_what(watchlist, db):
    await save_all(watchlist, ALICE, RUST, TAP, COVID)
    await save_all(watchlist, BOB, RUST)
    await watchlist.set_timezone(ALICE, "berlin")
    forgotten = await watchlist.forget(ALICE)
    assert forgotten == Forgotten(saved=3, settings=1)
    assert forgotten.anything
    assert (await watchlist.list(ALICE)).total == 0
    assert await watchlist.timezone(ALICE) is None
    rows = await db.read(
        lambda conn: [
            conn.execute("SELECT COUNT(*) FROM saved_talks WHERE member = ?", (ALICE,)).fetchone()[0],
            conn.execute("SELECT COUNT(*) FROM member_settings WHERE member = ?", (ALICE,)).fetchone()[0],
        ]
    )
    assert rows == [0, 0]
    assert await slugs_of(watchlist, BOB) == [RUST]  # nobody else's
    again = await watchlist.forget(ALICE)
    assert again == Forgotten(0, 0) and not again.anything


async def test_saved_counts_count_members_and_name_none(watchlist):
    await save_all(watchlist, ALICE, RUST, TAP)
    await save_all(watchlist, BOB, RUST)
    assert await watchlist.saved_counts([RUST, TAP, COVID, RUST]) == {RUST: 2, TAP: 1, COVID: 0}
    assert await watchlist.saved_counts([]) == {}
    await watchlist.forget(BOB)
    assert await watchlist.saved_counts([RUST]) == {RUST: 1}


# --- the calendar ----------------------------------------------------------------------------------------------------


async def test_the_calendar_holds_the_dated_talks_with_stable_uids_that_name_no_member(watchlist):
    await save_all(watchlist, ALICE, RUST, TAP, RUST_PANEL, COVID)
    data, undated = await watchlist.export_ics(ALICE)
    calendar = icalendar.Calendar.from_ical(data)
    assert calendar.name == "VCALENDAR"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"])
    events = {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {"Why the Future of the Cloud Will Be Built on Rust", "Panel Discussion: Rust in the Cloud"}
    olivers = events["Why the Future of the Cloud Will Be Built on Rust"]
    assert olivers.decoded("DTSTART") == date(2021, 5, 3)  # all day: a date, no time
    assert olivers.decoded("DTEND") == date(2021, 5, 4)
    assert str(olivers["URL"]) == "https://youtu.be/BWL4889RKhU"
    assert "https://youtu.be/BWL4889RKhU" in str(olivers["DESCRIPTION"])
    assert "Cloud Native Rust Day 2021" in str(olivers["DESCRIPTION"])
    assert "DTSTAMP" in olivers
    assert {item.slug for item in undated} == {TAP, COVID}

    uids = {str(e["SUMMARY"]): str(e["UID"]) for e in calendar.walk("VEVENT")}
    assert len(set(uids.values())) == 2
    for uid in uids.values():
        assert "1001" not in uid and "discord" not in uid
    again = icalendar.Calendar.from_ical((await watchlist.export_ics(ALICE))[0])
    assert {str(e["SUMMARY"]): str(e["UID"]) for e in again.walk("VEVENT")} == uids  # the same in every export
    key = await watchlist.store.calendar_key(ALICE, watchlist.clock.now())
    assert uids["Panel Discussion: Rust in the Cloud"] == calendar_uid(key, RUST_PANEL)
    await watchlist.save(BOB, RUST_PANEL)
    bobs = icalendar.Calendar.from_ical((await watchlist.export_ics(BOB))[0])
    assert [str(e["UID"]) for e in bobs.walk("VEVENT")] != [uids["Panel Discussion: Rust in the Cloud"]]


TIMED = programme(
    ("timed-talk", "A Talk With a Time", "10:00", "Hall 1", "10:30"),
    ("open-ended-talk", "A Talk With Only a Start", "11:00"),
)


async def test_a_talk_with_a_start_time_is_exported_at_that_time_in_its_room(watchlist, catalogue):
    await catalogue.import_data(TIMED, "meshcon.toml", ImportOptions())
    await save_all(watchlist, ALICE, "timed-talk", "open-ended-talk", RUST)
    data, undated = await watchlist.export_ics(ALICE)
    events = {str(e["SUMMARY"]): e for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}
    timed = events["A Talk With a Time"]
    assert timed.decoded("DTSTART") == datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # 10:00 at +01:00
    assert timed.decoded("DTEND") == datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
    assert str(timed["LOCATION"]) == "Hall 1"
    started = events["A Talk With Only a Start"]
    assert started.decoded("DTSTART") == datetime(2026, 12, 5, 10, 0, tzinfo=UTC) and "DTEND" not in started
    assert events["Why the Future of the Cloud Will Be Built on Rust"].decoded("DTSTART") == date(2021, 5, 3)
    assert undated == []


async def test_an_empty_list_exports_an_empty_calendar(watchlist):
    data, undated = await watchlist.export_ics(ALICE)
    calendar = icalendar.Calendar.from_ical(data)
    assert calendar.walk("VEVENT") == [] and undated == []


# --- more like what the member saved ------------------------------------------------------------------------------


async def test_nothing_saved_nothing_recommended(watchlist):
    assert await watchlist.recommend_for(ALICE) == []


async def test_recommendations_are_like_the_saved_talks(watchlist):
    await watchlist.save(ALICE, RUST)
    rust = await watchlist.recommend_for(ALICE, limit=3)
    assert rust[0].talk.slug == RUST_PANEL  # the other Rust talk, with the same speaker
    assert any("Rust" in reason for reason in rust[0].reasons)

    await watchlist.save(BOB, COVID)
    covid = await watchlist.recommend_for(BOB, limit=3)
    assert covid[0].talk.slug == COVID_KEYNOTE  # the other talk about Linkerd against COVID-19
    assert any("COVID-19" in reason for reason in covid[0].reasons)


async def test_recommendations_never_hold_a_saved_or_watched_talk(watchlist, catalogue):
    await save_all(watchlist, ALICE, RUST, TAP, COVID)
    await watchlist.mark_watched(ALICE, TAP)
    results = await watchlist.recommend_for(ALICE, limit=20)
    found = [r.talk.slug for r in results]
    assert found and not {RUST, TAP, COVID} & set(found)
    assert len(found) == len(set(found))
    assert 5 <= len(found) <= await catalogue.talk_count() - 3
    assert len(await watchlist.recommend_for(ALICE, limit=2)) == 2


async def test_each_saved_talk_pulls_up_the_talks_like_it(watchlist):
    # Taken together: a member who saved the Rust talk and the Linkerd debugging demo gets the talks on
    # observability sooner than one who saved the Rust talk alone; the Rust panel stays first for both.
    await save_all(watchlist, ALICE, RUST)
    await save_all(watchlist, BOB, RUST, TAP)
    alone = [r.talk.slug for r in await watchlist.recommend_for(ALICE, limit=10)]
    together = [r.talk.slug for r in await watchlist.recommend_for(BOB, limit=10)]
    assert alone[0] == together[0] == RUST_PANEL
    assert together.index(RAPID) < alone.index(RAPID)
    reasons = {r.talk.slug: r.reasons for r in await watchlist.recommend_for(BOB)}
    assert "shares Linkerd, Observability" in reasons[RAPID]


# --- time zone ----------------------------------------------------------------------------------------------------


async def test_a_time_zone_is_read_in_any_case_or_as_a_city(watchlist):
    assert await watchlist.timezone(ALICE) is None
    assert await watchlist.set_timezone(ALICE, "europe/BERLIN") == "Europe/Berlin"
    assert await watchlist.timezone(ALICE) == "Europe/Berlin"
    assert await watchlist.set_timezone(ALICE, "  tokyo ") == "Asia/Tokyo"
    assert await watchlist.timezone(ALICE) == "Asia/Tokyo"
    assert await watchlist.set_timezone(ALICE, "UTC") == "UTC"


async def test_a_time_zone_that_is_none_says_so_clearly(watchlist):
    await watchlist.set_timezone(ALICE, "Europe/Berlin")
    with pytest.raises(UnknownTimeZone, match="isn't a time zone I know") as raised:
        await watchlist.set_timezone(ALICE, "Berlinn")
    assert isinstance(raised.value, UserFacingError)
    assert "Europe/Berlin" in raised.value.suggestions
    with pytest.raises(UserFacingError, match="isn't a time zone"):
        await watchlist.set_timezone(ALICE, "not a zone at all ✨")
    with pytest.raises(UserFacingError, match="Name a time zone"):
        await watchlist.set_timezone(ALICE, "   ")
    assert await watchlist.timezone(ALICE) == "Europe/Berlin"  # unchanged


# --- the tables ---------------------------------------------------------------------------------------------------------


@pytest.mark.sqlite_only(reason="reads the table's columns with PRAGMA table_info")
async def test_the_migration_makes_a_talk_unique_per_member(db):
    def columns(conn, table):
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]

    saved, settings = await db.read(lambda conn: (columns(conn, "saved_talks"), columns(conn, "member_settings")))
    assert {"member", "talk", "title", "event_name", "event_slug", "date", "recording_url", "saved_at",
            "watched_at"} <= set(saved)  # fmt: skip
    assert settings == ["member", "timezone", "calendar_key", "created_at", "updated_at"]
    insert = "INSERT INTO saved_talks (member, talk, title, event_name, event_slug, saved_at) VALUES (?, ?, 't', 'e', 'e', 'x')"
    await db.write(lambda conn: conn.execute(insert, (ALICE, RUST)))
    with pytest.raises(Exception, match="UNIQUE"):
        await db.write(lambda conn: conn.execute(insert, (ALICE, RUST)))
    await db.write(lambda conn: conn.execute(insert, (BOB, RUST)))


@pytest.mark.sqlite_only(reason="reads SQLite's query plans")
async def test_each_state_of_a_list_is_counted_from_the_index_alone(watchlist, store, db):
    await save_all(watchlist, ALICE, RUST, TAP, COVID)
    await watchlist.mark_watched(ALICE, TAP)
    counts = {state: (await watchlist.list(ALICE, state=state)).total for state in ("all", "unwatched", "watched")}
    assert counts == {"all": 3, "unwatched": 2, "watched": 1}
    from bot.watchlist.store import _COUNTS

    for state, sql in _COUNTS.items():
        plan = " ".join(row[3] for row in await db.read(lambda conn, sql=sql: conn.execute(
            "EXPLAIN QUERY PLAN " + sql, {"member": ALICE}).fetchall()))  # fmt: skip
        assert "COVERING INDEX" in plan, (state, plan)
