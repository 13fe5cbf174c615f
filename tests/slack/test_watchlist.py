"""Watch lists in Slack end to end: the real slack-bolt app and slack-sdk client against the Slack emulator."""

from __future__ import annotations

import json
from typing import Any

import icalendar

from bot.catalogue.formats.options import ImportOptions
from bot.platforms.slack import blocks
from bot.platforms.slack.app import BOT_SCOPES, member_key
from bot.services.container import Services
from bot.watchlist.store import State
from emulator.slack import Channel, File, Message, SlackEmulator
from tests.slack.test_app import HOSTILE, buttons, markup, texts
from tests.watchlist.test_watchlist import (
    COVID,
    COVID_KEYNOTE,
    OVERVIEW,
    RAPID,
    RUST,
    RUST_DAY_WITHOUT_OLIVERS_TALK,
    RUST_PANEL,
    TAP,
)

TEAM = "T0EMULATOR"
ADA, GRACE = member_key(TEAM, "U1"), member_key(TEAM, "U2")


def elements(message: Message, action_id: str) -> list[dict[str, Any]]:
    """Every element of a message with this action id, in order."""
    found = []
    for block in message.blocks:
        for element in [*block.get("elements", []), block.get("accessory")]:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                found.append(element)
    return found


def listed(message: Message) -> list[str]:
    """The talks a watch list page shows, in order (read from their "Remove" buttons)."""
    return [json.loads(e["value"])["s"] for e in elements(message, blocks.WATCHLIST_REMOVE)]


def control(message: Message, action_id: str, slug: str) -> str:
    """The value of the `action_id` button of one talk on a watch list page."""
    return next(e["value"] for e in elements(message, action_id) if json.loads(e["value"])["s"] == slug)


async def save_all(slack: SlackEmulator, *slugs: str, user: str = "U1") -> None:
    for slug in slugs:
        reply = await slack.slash("/save", slug, user=user)
        assert "to your watch list" in texts(reply.last), texts(reply.last)


async def saved(services: Services, member: str = ADA, state: State = "all") -> list[str]:
    page = await services.watchlist.list(member, state=state, limit=25)
    return [item.slug for item in page.items]


# -- saving --------------------------------------------------------------------------------------------------


async def test_save_under_a_talk_answers_whoever_pressed_it_privately(slack, services):
    card = (await slack.slash("/talk", "rapid experimentation")).last
    assert buttons(card)["save"] == RAPID
    pressed = await slack.click(card, "save", value=RAPID)
    answer = pressed.last
    assert answer.ephemeral and answer.user == "U1" and answer.ts != card.ts
    assert not card.replaced  # the card stays as it was
    assert "Saved “Rapid Experimentation Simplified with Linkerd” to your watch list" in texts(answer)
    assert "/watchlist" in texts(answer)
    again = (await slack.click(card, "save", value=RAPID)).last
    assert "already on your watch list" in texts(again)
    assert await saved(services) == [RAPID]

    shared = (await slack.click(card, "share", value=buttons(card)["share"])).last
    assert not shared.ephemeral and buttons(shared)["save"] == RAPID
    other = (await slack.click(shared, "save", user="U2", value=RAPID)).last
    assert other.ephemeral and other.user == "U2" and "Saved" in texts(other)
    assert await saved(services, GRACE) == [RAPID]
    assert await saved(services) == [RAPID]


async def test_a_highlight_and_a_results_page_offer_save_too(slack, services):
    highlight = (await slack.slash("/highlight", "")).last
    slug = buttons(highlight)["save"]
    assert "Saved" in texts((await slack.click(highlight, "save", value=slug)).last)

    page = (await slack.slash("/recommend", "linkerd")).last
    [menu] = elements(page, blocks.PICK_SAVE)
    options = [option["value"] for option in menu["options"]]
    assert len(options) == len(elements(page, "more_like_this")) == 5  # one entry per talk on the page
    assert options == [e["value"] for e in elements(page, "more_like_this")]
    picked = (await slack.click(page, blocks.PICK_SAVE, selected=options[1])).last
    assert picked.ephemeral and picked.ts != page.ts and "Saved" in texts(picked)
    assert not page.replaced  # the results stay, to save another
    assert await saved(services) == [options[1], slug]


async def test_save_by_title_and_from_a_menu_when_no_title_is_given(slack, services):
    by_title = (await slack.slash("/save", "tap tap")).last
    assert by_title.ephemeral and "Saved “Tap Tap" in texts(by_title)
    unknown = (await slack.slash("/save", "zzzz qqqq")).last
    assert "No talk matches" in texts(unknown)

    menu = (await slack.slash("/save", "", channel="U1")).last  # in the member's DM with the app
    assert blocks.PICK_SAVE in buttons(menu)
    [first, *_] = await slack.suggest(blocks.PICK_SAVE, "covid", message=menu)
    picked = (await slack.click(menu, blocks.PICK_SAVE, selected=first["value"])).last
    assert "Saved" in texts(picked) and "COVID" in texts(picked)
    assert await saved(services) == [first["value"], TAP]


# -- the list ------------------------------------------------------------------------------------------------


async def test_the_list_is_newest_first_five_a_page_with_recording_links(slack, services):
    slugs = (RUST, RUST_PANEL, TAP, COVID, COVID_KEYNOTE, OVERVIEW, RAPID)
    await save_all(slack, *slugs)
    first = (await slack.slash("/watchlist", "")).last
    assert first.ephemeral and first.user == "U1"
    assert listed(first) == list(reversed(slugs))[:5]
    assert "1–5 of 7" in texts(first)
    rapid = await services.catalogue.talk(RAPID)
    assert f"<{rapid.recording_url}|{rapid.title}>" in markup(first)
    assert blocks.WATCHLIST_PREV not in buttons(first)

    second = (await slack.click(first, blocks.WATCHLIST_NEXT)).last
    assert second.ts == first.ts  # turned in place
    assert listed(second) == [RUST_PANEL, RUST]
    assert blocks.WATCHLIST_NEXT not in buttons(second)
    back = (await slack.click(second, blocks.WATCHLIST_PREV)).last
    assert listed(back) == list(reversed(slugs))[:5]

    empty = (await slack.slash("/watchlist", "", user="U2")).last
    assert "Nothing saved yet" in texts(empty) and not listed(empty)


async def test_watched_and_remove_change_the_list_and_the_filters_follow(slack, services):
    await save_all(slack, RUST, TAP, COVID)
    page = (await slack.slash("/watchlist", "")).last
    assert listed(page) == [COVID, TAP, RUST]
    marked = (await slack.click(page, blocks.WATCHLIST_MARK, value=control(page, blocks.WATCHLIST_MARK, TAP))).last
    assert marked.ts == page.ts and listed(marked) == [COVID, TAP, RUST]
    assert [e["text"]["text"] for e in elements(marked, blocks.WATCHLIST_MARK)] == [
        "Mark watched", "Not watched", "Mark watched",
    ]  # fmt: skip
    assert await saved(services, state="watched") == [TAP]

    unwatched = (await slack.slash("/watchlist", "unwatched")).last
    assert listed(unwatched) == [COVID, RUST] and "unwatched" in texts(unwatched)
    watched = (await slack.slash("/watchlist", "watched")).last
    assert listed(watched) == [TAP]

    # Marking one watched in the unwatched view takes it off that view; the buttons keep the view.
    value = control(unwatched, blocks.WATCHLIST_MARK, RUST)
    after = (await slack.click(unwatched, blocks.WATCHLIST_MARK, value=value)).last
    assert listed(after) == [COVID]
    shown = (await slack.click(after, blocks.WATCHLIST_SHOW["watched"])).last
    assert listed(shown) == [TAP, RUST]  # newest saved first
    again = (await slack.click(shown, blocks.WATCHLIST_MARK, value=control(shown, blocks.WATCHLIST_MARK, TAP))).last
    assert listed(again) == [RUST]

    [remove] = elements(again, blocks.WATCHLIST_REMOVE)
    assert remove["confirm"]["confirm"]["text"] == "Remove"  # Slack asks before removing
    removed = (await slack.click(again, blocks.WATCHLIST_REMOVE, value=remove["value"])).last
    assert not listed(removed) and "No watched talks" in texts(removed)
    assert await saved(services) == [COVID, TAP]

    wrong = (await slack.slash("/watchlist", "sometimes")).last
    assert "/watchlist" in texts(wrong) and "unwatched" in texts(wrong)


async def test_removing_the_last_talk_of_the_last_page_shows_the_page_before(slack, services):
    await save_all(slack, RUST, RUST_PANEL, TAP, COVID, COVID_KEYNOTE, OVERVIEW)
    second = (await slack.click((await slack.slash("/watchlist", "")).last, blocks.WATCHLIST_NEXT)).last
    assert listed(second) == [RUST]
    value = control(second, blocks.WATCHLIST_REMOVE, RUST)
    back = (await slack.click(second, blocks.WATCHLIST_REMOVE, value=value)).last
    assert listed(back) == [OVERVIEW, COVID_KEYNOTE, COVID, TAP, RUST_PANEL]


async def test_a_talk_an_import_removed_is_listed_as_no_longer_in_the_catalogue(slack, services):
    await save_all(slack, RUST, TAP)
    await services.catalogue.import_data(RUST_DAY_WITHOUT_OLIVERS_TALK, "rust-day.toml", ImportOptions())
    page = (await slack.slash("/watchlist", "")).last
    assert listed(page) == [TAP, RUST]
    [tap, rust] = [b["text"]["text"] for b in page.blocks if b["type"] == "section"]
    assert "Why the Future of the Cloud Will Be Built on Rust" in rust and "Cloud Native Rust Day" in rust
    assert blocks.GONE_NOTE in rust and blocks.GONE_NOTE not in tap
    gone = (await slack.slash("/save", RUST)).last
    assert "No talk matches" in texts(gone)  # it cannot be saved again, but stays on the list
    removed = await slack.click(page, blocks.WATCHLIST_REMOVE, value=control(page, blocks.WATCHLIST_REMOVE, RUST))
    assert listed(removed.last) == [TAP]


async def test_hostile_titles_on_a_list_are_shown_as_text(slack, services):
    table = f'title,speakers,summary\n"{HOSTILE * 3}","Ada <!here>","x"\n'
    await services.catalogue.import_data(table.encode(), "hostile.csv", ImportOptions(event="Hostile Conf 2026"))
    answer = (await slack.slash("/save", "channel bold code")).last
    page = (await slack.slash("/watchlist", "")).last
    for shown in (markup(answer), markup(page)):
        for ping in ("<!channel>", "<!here>", "<@U2>", "@everyone", "‮"):
            assert ping not in shown
    assert len(listed(page)) == 1


# -- recommendations from the list ---------------------------------------------------------------------------


async def test_recommend_for_me_ranks_by_the_saved_talks_and_never_shows_them(slack, services):
    nothing = (await slack.slash("/recommend", "for:me")).last
    assert "Save a few talks first" in texts(nothing)

    await save_all(slack, TAP, COVID)
    await services.watchlist.mark_watched(ADA, TAP)
    page = (await slack.slash("/recommend", "for:me")).last
    assert page.ephemeral and "Recommended for you" in texts(page)
    assert "share" not in buttons(page)  # what a member saved stays theirs
    shown = [e["value"] for e in elements(page, "more_like_this")]
    while blocks.PAGE_NEXT in buttons(page):
        page = (await slack.click(page, blocks.PAGE_NEXT, value=buttons(page)[blocks.PAGE_NEXT])).last
        shown += [e["value"] for e in elements(page, "more_like_this")]
    expected = [result.talk.slug for result in await services.watchlist.recommend_for(ADA, limit=25)]
    assert shown == expected and len(shown) > 5
    assert TAP not in shown and COVID not in shown

    assert "pick_topic" in buttons((await slack.slash("/recommend", "")).last)  # no words: the topic menu
    refused = (await slack.slash("/recommend", "mtls for:me")).last
    assert "for:me goes alone" in texts(refused)
    odd = (await slack.slash("/recommend", "for:you")).last
    assert "for: takes only" in texts(odd)
    bare = (await slack.slash("/recommend", "event:kubecon")).last
    assert "needs topic" in texts(bare)


# -- the calendar --------------------------------------------------------------------------------------------


def calendar_of(file: File) -> icalendar.Calendar:
    """An uploaded file's bytes read as iCalendar."""
    assert file.data is not None, f"{file.id} was announced but never sent"
    return icalendar.Calendar.from_ical(file.data)


def summaries(calendar: icalendar.Calendar) -> list[str]:
    return sorted(str(event["summary"]) for event in calendar.walk("VEVENT"))


async def titles(services: Services, *slugs: str) -> list[str]:
    return sorted([(await services.catalogue.talk(slug)).title for slug in slugs])


async def test_export_uploads_one_calendar_file_to_the_members_direct_messages(slack, services):
    empty = (await slack.slash("/watchlist", "export")).last
    assert "nothing to export" in texts(empty)
    assert "DU1" not in slack.channels and not slack.files

    await save_all(slack, RUST, TAP, RUST_PANEL)
    reply = await slack.slash("/watchlist", "export")
    [answer] = [m for m in reply.messages if m.ephemeral]
    assert answer.user == "U1" and "direct message" in texts(answer) and "2 dated talks" in texts(answer)
    assert "without a date is listed with it" in texts(answer)

    [file] = slack.shared_files("U1")
    assert file.completed and file.channels == ["DU1"] and file.team == TEAM
    assert file.name.endswith(".ics") and file.title == "Your watch list"
    assert file.data is not None and len(file.data) == file.length
    calendar = calendar_of(file)
    assert summaries(calendar) == await titles(services, RUST, RUST_PANEL)
    assert {event.decoded("dtstart").isoformat() for event in calendar.walk("VEVENT")} == {"2021-05-03"}

    # The DM shows the file with its comment, which names the talk left out for want of a date.
    [shared] = slack.channels["DU1"].messages
    assert shared in reply.messages and not shared.ephemeral
    assert [entry["id"] for entry in shared.files] == [file.id]
    assert shared.files[0]["filetype"] == "ics" and shared.files[0]["size"] == len(file.data)
    assert "Not in the calendar (no date): 1" in shared.text and "Tap Tap" in shared.text
    assert "2 talks" in shared.text
    methods = [method for method, _ in slack.calls]
    assert methods[-4:] == [
        "conversations.open", "files.getUploadURLExternal", "upload", "files.completeUploadExternal",
    ]  # fmt: skip
    assert "chat.postMessage" not in methods

    again = await slack.slash("/watchlist", "watched export")
    assert "direct message" in texts(again.messages[0])  # the whole list, whatever the first word
    assert len(slack.shared_files("U1")) == 2
    assert summaries(calendar_of(slack.shared_files("U1")[-1])) == summaries(calendar)


async def test_each_member_exports_only_their_own_talks(slack, services):
    await save_all(slack, RUST, TAP)
    await save_all(slack, RUST_PANEL, COVID, user="U2")
    [other] = [m for m in (await slack.slash("/watchlist", "export", user="U2")).messages if m.ephemeral]
    assert other.user == "U2" and "direct message" in texts(other)
    assert "DU1" not in slack.channels  # nothing went to the other member
    [theirs] = slack.shared_files("U2")
    assert theirs.channels == ["DU2"]
    dated = [slug for slug in (RUST_PANEL, COVID) if (await services.catalogue.talk(slug)).date is not None]
    assert RUST_PANEL in dated
    assert summaries(calendar_of(theirs)) == await titles(services, *dated)

    await slack.slash("/watchlist", "export")
    [mine] = slack.shared_files("U1")
    assert summaries(calendar_of(mine)) == await titles(services, RUST)
    assert [file.id for file in slack.shared_files("U2")] == [theirs.id]


async def test_undated_talks_in_the_comment_are_text_and_ping_nobody(slack, services):
    table = f'title,speakers,summary\n"{HOSTILE * 3}","Ada <!here>","x"\n'
    await services.catalogue.import_data(table.encode(), "hostile.csv", ImportOptions(event="Hostile Conf 2026"))
    await slack.slash("/save", "channel bold code")
    reply = await slack.slash("/watchlist", "export")
    assert "0 dated talks" in texts(reply.messages[0])
    [file] = slack.shared_files("U1")
    assert summaries(calendar_of(file)) == []  # a calendar with no events, as Discord's export sends
    [shared] = slack.channels["DU1"].messages
    assert "none of your saved talks has a date" in shared.text
    for ping in ("<!channel>", "<!here>", "<@U2>", "@everyone", "\u202e"):
        assert ping not in shared.text


async def test_an_install_without_the_file_scopes_is_told_to_reinstall(slack, services, caplog):
    await save_all(slack, RUST, TAP)
    for missing in ("files:write", "im:write"):
        slack.set_scopes([scope for scope in BOT_SCOPES if scope != missing])
        answer = (await slack.slash("/watchlist", "export")).last
        assert answer.ephemeral and answer.user == "U1"
        assert "reinstall the app" in texts(answer) and "went wrong" not in texts(answer)
        assert not [file for file in slack.files.values() if file.completed]
    assert not slack.channels.get("DU1", Channel("DU1", "")).messages
    assert slack.token not in caplog.text and "xoxb" not in caplog.text

    slack.set_scopes(BOT_SCOPES)  # reinstalled: the export works
    assert "direct message" in texts((await slack.slash("/watchlist", "export")).messages[0])
    assert len(slack.shared_files("U1")) == 1


async def test_a_direct_message_that_cannot_be_opened_or_shared_is_told_kindly(slack, services, caplog):
    await save_all(slack, RUST)
    slack.fail_next("conversations.open", "user_disabled")
    refused = (await slack.slash("/watchlist", "export")).last
    assert "could not send you" in texts(refused) and "Messages tab" in texts(refused)
    slack.fail_next("files.completeUploadExternal", "not_in_channel")
    unshared = (await slack.slash("/watchlist", "export")).last
    assert "could not send you" in texts(unshared) and "went wrong" not in texts(unshared)
    slack.fail_next("files.getUploadURLExternal", "ratelimited")
    busy = (await slack.slash("/watchlist", "export")).last
    assert "try the export again in a minute" in texts(busy)
    assert not slack.shared_files("U1")
    assert slack.token not in caplog.text


# -- settings and forgetting ---------------------------------------------------------------------------------


async def test_settings_show_and_set_the_time_zone_kindly(slack, services):
    assert "have not set a time zone" in texts((await slack.slash("/settings", "")).last)
    refused = (await slack.slash("/settings", "timezone:Mars/Olympus")).last
    assert "isn't a time zone I know" in texts(refused) and "went wrong" not in texts(refused)
    assert await services.watchlist.timezone(ADA) is None
    done = (await slack.slash("/settings", "timezone:berlin")).last
    assert "Europe/Berlin" in texts(done)
    assert "Your time zone is *Europe/Berlin*" in texts((await slack.slash("/settings", "", channel="U1")).last)
    assert await services.watchlist.timezone(ADA) == "Europe/Berlin"
    assert await services.watchlist.timezone(GRACE) is None


async def picks(services) -> list[str]:
    """Whose /highlight rotations are kept: a member's key in DMs, a channel's elsewhere."""
    return await services.catalogue.db.read(
        lambda conn: [row[0] for row in conn.execute("SELECT DISTINCT scope FROM adhoc_picks ORDER BY scope")]
    )


async def test_forget_me_asks_then_deletes_only_the_asker(slack, services):
    await save_all(slack, RUST, TAP)
    await save_all(slack, COVID, user="U2")
    await slack.slash("/settings", "timezone:Europe/Berlin")
    await slack.slash("/highlight", "", channel="U1")  # in a DM: the rotation is the member's own
    await slack.slash("/highlight", "", channel="U2", user="U2")
    await slack.slash("/highlight", "")  # in #general: the channel's, not the member's
    assert await picks(services) == ["slack:T0EMULATOR:C1", ADA, GRACE]
    asked = (await slack.slash("/forget-me", "")).last
    assert asked.ephemeral
    [button] = elements(asked, blocks.FORGET_ME)
    assert button["text"]["text"] == "Delete everything the bot keeps about me"
    assert await saved(services) == [TAP, RUST]  # nothing happens before the button

    done = (await slack.click(asked, blocks.FORGET_ME)).last
    assert done.ts == asked.ts  # the question is replaced by the answer, without its button
    assert "2 saved talks" in texts(done) and "your settings" in texts(done) and "direct messages" in texts(done)
    assert await picks(services) == ["slack:T0EMULATOR:C1", GRACE]
    assert blocks.FORGET_ME not in buttons(done)
    assert await saved(services) == [] and await services.watchlist.timezone(ADA) is None
    assert await saved(services, GRACE) == [COVID]
    assert listed((await slack.slash("/watchlist", "", user="U2")).last) == [COVID]

    nothing = (await slack.click((await slack.slash("/forget-me", "")).last, blocks.FORGET_ME)).last
    assert "nothing to delete" in texts(nothing)


async def test_members_of_other_workspaces_have_lists_of_their_own(slack, services):
    slack.add_workspace("T2", "other")
    await slack.slash("/save", TAP, team="T2")
    await save_all(slack, RUST)
    assert await saved(services, member_key("T2", "U1")) == [TAP]
    assert listed((await slack.slash("/watchlist", "")).last) == [RUST]
    assert listed((await slack.slash("/watchlist", "", team="T2")).last) == [TAP]


async def test_a_scheduled_highlight_can_be_saved_by_whoever_sees_it(slack, services):
    from bot.services.ids import SlackIds

    ids = SlackIds(services.db)
    team = await ids.number(slack.team_id)
    info = await services.highlights.setup(team, await ids.number("C2"), "09:00", "UTC")
    reply = await slack.slash("/highlights", f"now {info.id}", user="U2", channel="C2")
    assert reply.ack["text"].startswith("Posted")
    [post] = [m for m in slack.channels["C2"].messages if m.metadata]
    save = next(e for b in post.blocks for e in b.get("elements", []) if e.get("action_id") == "save")
    pressed = await slack.click(post, "save", value=save["value"], user="U1")
    assert pressed.last.ephemeral and pressed.last.user == "U1" and "Saved" in pressed.last.text
