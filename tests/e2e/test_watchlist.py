"""Members' own lists on Discord: Save buttons, /save, /watchlist, /recommend for:me, /settings, /forget-me."""

from __future__ import annotations

import icalendar

from bot.catalogue.formats.options import ImportOptions
from bot.platforms.discord.client import HighlightsBot
from emulator.model import InteractionContext
from emulator.server import DiscordEmulator
from tests.e2e.conftest import EPHEMERAL, component

TAP_TAP = "Tap Tap, Debugging an App with your Service Mesh"
RUST_PANEL = "panel-discussion-rust-in-the-cloud"


def embed_of(body: dict) -> dict:
    return body["data"]["embeds"][0]


async def show(emulator: DiscordEmulator, user=None, **options) -> tuple[dict, object]:
    handle = await emulator.slash("watchlist show", options, user=user)
    body = await handle.response()
    assert body["data"]["flags"] & EPHEMERAL  # a member's list is theirs alone
    return embed_of(body), handle.original


async def test_save_from_a_card_and_by_command_then_list_newest_first(
    discord_emulator: DiscordEmulator, bot: HighlightsBot
):
    card = await discord_emulator.slash("talk", {"title": "tap tap"})
    await card.response()
    other = discord_emulator.add_user("bob")
    for user in (None, other):  # anyone may save from a card in the channel, each to their own list
        saved = await discord_emulator.click(
            card.original, component(card.original, label="Save")["custom_id"], user=user
        )
        body = await saved.response()
        assert body["data"]["flags"] & EPHEMERAL and "Saved" in body["data"]["content"]
    again = await discord_emulator.click(card.original, component(card.original, label="Save")["custom_id"])
    assert "already" in (await again.response())["data"]["content"]
    by_command = await discord_emulator.slash("save", {"title": RUST_PANEL})
    assert "Saved" in (await by_command.response())["data"]["content"]
    embed, _ = await show(discord_emulator)
    assert embed["description"].index("Rust in the Cloud") < embed["description"].index("Tap Tap")  # newest first
    theirs, _ = await show(discord_emulator, user=other)
    assert "Rust in the Cloud" not in theirs["description"]  # lists are separate


async def test_watched_and_remove_and_the_filters(discord_emulator: DiscordEmulator, bot: HighlightsBot):
    for title in ("tap tap", RUST_PANEL):
        await (await discord_emulator.slash("save", {"title": title})).response()
    _, message = await show(discord_emulator)
    watched = component(message, kind=3)
    done = await discord_emulator.select(message, watched["custom_id"], [RUST_PANEL])
    assert "✓ watched" in embed_of(await done.response())["description"]
    unwatched, _ = await show(discord_emulator, show="unwatched")
    assert "Tap Tap" in unwatched["description"] and "Rust in the Cloud" not in unwatched["description"]
    _, message = await show(discord_emulator)
    remove = [item for item in message.iter_components() if item.get("type") == 3][1]
    gone = await discord_emulator.select(message, remove["custom_id"], [RUST_PANEL])
    assert "Rust in the Cloud" not in embed_of(await gone.response())["description"]


async def test_a_talk_an_import_removes_stays_listed_as_gone(discord_emulator: DiscordEmulator, bot: HighlightsBot):
    await (await discord_emulator.slash("save", {"title": "tap tap"})).response()
    talk = await bot.services.catalogue.talk("tap tap")
    # The event's programme now lists only one other talk: the saved one leaves the catalogue.
    table = "title,speakers\nA Brand New Talk,Ada Lovelace\n"
    options = ImportOptions(event=talk.event.name, allow_empty=True)
    await bot.services.catalogue.import_data(table.encode(), "programme.csv", options)
    embed, _ = await show(discord_emulator)
    assert "Tap Tap" in embed["description"] and "no longer in the catalogue" in embed["description"]


async def test_export_gives_a_calendar_file(discord_emulator: DiscordEmulator, bot: HighlightsBot):
    await (await discord_emulator.slash("save", {"title": RUST_PANEL})).response()
    await (await discord_emulator.slash("save", {"title": "tap tap"})).response()
    handle = await discord_emulator.slash("watchlist export", {})
    body = await handle.response()
    assert body["data"]["flags"] & EPHEMERAL
    [attachment] = handle.original.payload["attachments"]
    assert attachment["filename"] == "talks-to-watch.ics"
    calendar = icalendar.Calendar.from_ical(discord_emulator.world.files[int(attachment["id"])])
    assert [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")] == ["Panel Discussion: Rust in the Cloud"]
    assert "Tap Tap" in body["data"]["content"]  # undated: listed instead


async def test_recommend_for_me_suggests_like_the_saved_never_the_watched(
    discord_emulator: DiscordEmulator, bot: HighlightsBot
):
    empty = await discord_emulator.slash("recommend", {})
    assert "Save a few talks first" in embed_of(await empty.response())["description"]
    await (await discord_emulator.slash("save", {"title": RUST_PANEL})).response()
    handle = await discord_emulator.slash("recommend", {"for": "me"})
    body = await handle.response()
    embed = embed_of(body)
    assert body["data"]["flags"] & EPHEMERAL and embed["title"].startswith("Talks for you")
    assert "[Panel Discussion: Rust in the Cloud](" not in embed["description"]  # never what was saved
    assert "like “Panel Discussion: Rust in the Cloud”" in embed["description"]  # and says why


async def rotations(bot: HighlightsBot) -> list[str]:
    """Whose /highlight rotations are kept."""
    sql = "SELECT DISTINCT scope FROM adhoc_picks ORDER BY scope"
    return await bot.services.catalogue.db.read(lambda conn: [row[0] for row in conn.execute(sql)])


async def test_settings_and_forget_me(discord_emulator: DiscordEmulator, bot: HighlightsBot):
    wrong = await discord_emulator.slash("settings", {"timezone": "Mars/Olympus_Mons"})
    assert (await wrong.response())["data"]["flags"] & EPHEMERAL
    ok = await discord_emulator.slash("settings", {"timezone": "berlin"})
    assert "Europe/Berlin" in (await ok.response())["data"]["content"]
    await (await discord_emulator.slash("save", {"title": "tap tap"})).response()
    other = discord_emulator.add_user("bob")
    await (await discord_emulator.slash("save", {"title": "tap tap"}, user=other)).response()
    for who in (None, other):  # /highlight in direct messages: each member's own rotation
        shown = await discord_emulator.slash("highlight", {}, context=InteractionContext.BOT_DM, user=who)
        await shown.followup()
    assert await rotations(bot) == [f"discord:{discord_emulator.user.id}", f"discord:{other.id}"]
    asked = await discord_emulator.slash("forget-me", {})
    await asked.response()
    confirm = component(asked.original, label="Delete everything the bot keeps about me")
    done = await discord_emulator.click(asked.original, confirm["custom_id"])
    said = (await done.response())["data"]["content"]
    assert "1 saved talk" in said and "settings" in said and "direct messages" in said
    assert await rotations(bot) == [f"discord:{other.id}"]
    embed, _ = await show(discord_emulator)
    assert "Nothing here yet" in embed["description"]
    theirs, _ = await show(discord_emulator, user=other)
    assert "Tap Tap" in theirs["description"]  # another member's list is untouched


async def test_anyone_saves_a_talk_from_a_page_of_results_to_their_own_list(
    discord_emulator: DiscordEmulator, bot: HighlightsBot
):
    results = await discord_emulator.slash("recommend", {"topic": "rust"})
    await results.response()
    menus = {item.get("placeholder"): item for item in results.original.iter_components() if item.get("type") == 3}
    save = menus["🔖 Save one for later…"]
    assert [o["value"] for o in save["options"]] == [o["value"] for o in menus["More like this…"]["options"]]
    talk = save["options"][0]["value"]
    other = discord_emulator.add_user("bob")
    picked = await discord_emulator.select(results.original, save["custom_id"], [talk], user=other)
    body = await picked.response()
    assert body["data"]["flags"] & EPHEMERAL and "Saved" in body["data"]["content"]  # to bob alone
    theirs, _ = await show(discord_emulator, user=other)
    mine, _ = await show(discord_emulator)
    assert save["options"][0]["label"][:20] in theirs["description"] and "Nothing here yet" in mine["description"]
    refused = await discord_emulator.select(
        results.original, menus["More like this…"]["custom_id"], [talk], user=other
    )  # the pages and "more like this" stay the asker's
    assert "belong to the member who asked" in (await refused.response())["data"]["content"]
