"""Every slash command, autocomplete, button and select, through the real client and the emulator."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.db.connection import connect_sync
from bot.platforms.discord import embeds
from bot.platforms.discord.client import GENERIC_ERROR, HighlightsBot
from emulator.interactions import InteractionHandle
from emulator.model import InteractionContext
from emulator.server import DiscordEmulator
from tests.e2e.conftest import EPHEMERAL, StartBot, component
from tests.search.test_search import HOSTILE

TAP_TAP = "Tap Tap, Debugging an App with your Service Mesh"


def embed_of(body: dict) -> dict:
    return body["data"]["embeds"][0]


async def test_every_command_and_option_has_a_description(
    discord_emulator: DiscordEmulator, bot: HighlightsBot
) -> None:
    commands = discord_emulator.commands(discord_emulator.guild)
    names = {c["name"] for c in commands}
    assert {"recommend", "talk", "similar", "speaker", "topics", "events"} <= names

    def walk(options: list[dict]) -> None:
        for option in options:
            assert option["description"].strip() and option["description"] != "…", option
            walk(option.get("options") or [])

    for command in commands:
        assert command["description"].strip() and command["description"] != "…", command["name"]
        walk(command.get("options") or [])


async def test_read_only_commands_work_in_dms_and_as_a_user_install(
    discord_emulator: DiscordEmulator, bot: HighlightsBot
) -> None:
    globals_ = {c["name"]: c for c in discord_emulator.commands()}
    assert set(globals_["talk"]["integration_types"]) == {0, 1}
    assert set(globals_["talk"]["contexts"]) == {0, 1, 2}
    handle = await discord_emulator.slash("talk", {"title": "tap tap"}, context=InteractionContext.BOT_DM)
    assert embed_of(await handle.response())["title"] == TAP_TAP


async def test_recommend_pages_five_at_a_time_with_reasons_and_links(
    discord_emulator: DiscordEmulator, bot: HighlightsBot
) -> None:
    handle = await discord_emulator.slash("recommend", {"topic": "mtls"})
    body = await handle.response()
    assert body["type"] == 4
    assert body["data"]["allowed_mentions"] == {"parse": []}
    embed = embed_of(body)
    assert "Compliance the Easy Way" in embed["description"].split("\n")[0]
    assert "(https://youtu.be/KoweR6u0t8c)" in embed["description"]
    assert "topic: mTLS" in embed["description"]
    select = component(handle.original, kind=3)
    assert len(select["options"]) == 3  # three talks carry the mTLS topic


async def test_pages_turn_for_the_asker_and_refuse_everyone_else(
    discord_emulator: DiscordEmulator, bot: HighlightsBot
) -> None:
    handle = await discord_emulator.slash("recommend", {"topic": "linkerd"})
    first = embed_of(await handle.response())
    assert first["footer"]["text"].startswith("Page 1 of 2")
    message = handle.original
    next_id = component(message, label="Next")["custom_id"]

    stranger = discord_emulator.add_user("mallory")
    refused = await discord_emulator.click(message, next_id, user=stranger)
    answer = await refused.response()
    assert answer["type"] == 4 and answer["data"]["flags"] & EPHEMERAL
    assert "belong to the member who asked" in answer["data"]["content"]
    assert handle.original.embeds[0]["footer"]["text"].startswith("Page 1 of 2")

    turned = await discord_emulator.click(message, next_id)
    update = await turned.response()
    assert update["type"] == 7
    assert update["data"]["embeds"][0]["footer"]["text"].startswith("Page 2 of 2")
    assert handle.original.embeds[0]["footer"]["text"].startswith("Page 2 of 2")
    assert component(handle.original, label="Next")["disabled"] is True


async def test_more_like_this_from_a_list(discord_emulator: DiscordEmulator, bot: HighlightsBot) -> None:
    handle = await discord_emulator.slash("recommend", {"topic": "rust"})
    await handle.response()
    select = component(handle.original, kind=3)
    chosen = await discord_emulator.select(
        handle.original, select["custom_id"], ["why-the-future-of-the-cloud-will-be-built-on-rust"]
    )
    body = await chosen.response()
    embed = embed_of(body)
    assert embed["title"].startswith("More like")
    assert "Panel Discussion: Rust in the Cloud" in embed["description"]
    assert "Why the Future of the Cloud" not in embed["description"]


async def test_talk_by_typed_title_or_by_autocomplete_id(discord_emulator: DiscordEmulator, bot: HighlightsBot) -> None:
    typed = await discord_emulator.slash("talk", {"title": "tap tap"})
    embed = embed_of(await typed.response())
    assert embed["title"] == TAP_TAP and embed["url"] == "https://youtu.be/YJ8zP-lqB5E"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Speaker"] == "Jason Morgan (Buoyant)"
    suggested = await discord_emulator.autocomplete("talk", "title", "tap t")
    choices = (await suggested.response())["data"]["choices"]
    assert choices[0] == {"name": TAP_TAP, "value": "tap-tap-debugging-an-app-with-your-service-mesh"}
    by_id = await discord_emulator.slash("talk", {"title": choices[0]["value"]})
    assert embed_of(await by_id.response())["title"] == TAP_TAP
    more = await discord_emulator.click(by_id.original, component(by_id.original, label="More like this")["custom_id"])
    assert embed_of(await more.response())["title"].startswith("More like")


async def test_similar_never_lists_the_talk_itself(discord_emulator: DiscordEmulator, bot: HighlightsBot) -> None:
    handle = await discord_emulator.slash("similar", {"title": "panel-discussion-rust-in-the-cloud"})
    embed = embed_of(await handle.response())
    assert "Why the Future of the Cloud Will Be Built on Rust" in embed["description"].split("\n")[0]
    assert "](https://youtu.be/8oOiqbxGu0U)" not in embed["description"]


async def test_speaker_lists_two_morgans_then_shows_the_one_picked(
    discord_emulator: DiscordEmulator, bot: HighlightsBot
) -> None:
    handle = await discord_emulator.slash("speaker", {"name": "morgan"})
    embed = embed_of(await handle.response())
    assert [f["name"] for f in embed["fields"]] == ["William Morgan", "Jason Morgan"]
    select = component(handle.original, kind=3)
    picked = await discord_emulator.select(handle.original, select["custom_id"], ["jason-morgan"])
    card = embed_of(await picked.response())
    assert card["title"] == "Jason Morgan" and TAP_TAP.replace(",", "") in card["fields"][0]["value"].replace(",", "")
    single = await discord_emulator.slash("speaker", {"name": "Willam Morgn"})
    card = embed_of(await single.response())
    assert card["title"] == "William Morgan" and card["fields"][0]["name"] == "Talks (4)"
    suggested = await discord_emulator.autocomplete("speaker", "name", "mor")
    assert [c["name"] for c in (await suggested.response())["data"]["choices"]] == ["William Morgan", "Jason Morgan"]


async def test_topics_and_events_browse_with_counts(discord_emulator: DiscordEmulator, bot: HighlightsBot) -> None:
    topics = embed_of(await (await discord_emulator.slash("topics")).response())
    assert "**Linkerd** · 10 talks" in topics["description"]
    events = embed_of(await (await discord_emulator.slash("events")).response())
    assert "KubeCon + CloudNativeCon Europe 2021" in events["description"]
    assert "↳ **Cloud Native Rust Day 2021**" in events["description"]


async def test_recommend_autocompletes_topics_and_events(discord_emulator: DiscordEmulator, bot: HighlightsBot) -> None:
    handle = await discord_emulator.autocomplete("recommend", "topic", "obs")
    assert (await handle.response())["data"]["choices"][0] == {"name": "Observability", "value": "observability"}
    handle = await discord_emulator.autocomplete("recommend", "event", "", {"topic": "rust"})
    choices = (await handle.response())["data"]["choices"]
    assert {c["value"] for c in choices} == {"kubecon-eu-2021", "servicemeshcon-eu-2021", "cloud-native-rust-day-2021"}


ODD = [t for t in HOSTILE if t.strip() and "\x00" not in t]
# Free-text options, with the other options they need; None marks the odd string's place.
LOOKUP_OPTIONS = [
    ("recommend", {"topic": None}),
    ("recommend", {"topic": "rust", "event": None}),
    ("talk", {"title": None}),
    ("speaker", {"name": None}),
    ("similar", {"title": None}),
]
HIGHLIGHT_OPTIONS = [("highlight", {"topic": None}), ("highlight", {"event": None})]


async def answer_of(handle: InteractionHandle) -> dict:
    """The message the member sees: the callback's, or the follow-up's after a deferral."""
    body = await handle.response(timeout=5.0)
    if body["type"] == 5:
        return (await handle.followup(timeout=5.0)).payload
    assert body["type"] == 4, body
    return body["data"]


def assert_friendly_or_results(data: dict) -> None:
    """Either a private, friendly refusal, or real results; never the generic failure."""
    assert "Traceback" not in str(data) and GENERIC_ERROR not in str(data)
    embed = data["embeds"][0]
    if data.get("flags", 0) & EPHEMERAL:
        assert embed["description"].strip()
    else:
        assert embed.get("title", "").strip() and (embed.get("description") or embed.get("fields")), (
            f"a public answer that is not a result: {embed}"
        )


async def ask_with_odd_strings(
    emulator: DiscordEmulator, commands: list[tuple[str, dict[str, str | None]]], value: str
) -> None:
    for name, options in commands:
        values = {option: value if given is None else given for option, given in options.items()}
        odd = next(option for option, given in options.items() if given is None)
        handle = await emulator.slash(name, values)
        assert_friendly_or_results(await answer_of(handle))
        others = {option: given for option, given in values.items() if option != odd}
        complete = await emulator.autocomplete(name, odd, value, others)
        assert len((await complete.response())["data"]["choices"]) <= 25


@pytest.mark.parametrize("text", ODD)
async def test_odd_option_strings_always_get_a_friendly_answer(
    discord_emulator: DiscordEmulator, bot: HighlightsBot, text: str
) -> None:
    await ask_with_odd_strings(discord_emulator, LOOKUP_OPTIONS, text[:200])


@pytest.mark.parametrize("text", ODD)
async def test_odd_highlight_filters_get_a_private_refusal_or_a_highlight(
    discord_emulator: DiscordEmulator, bot: HighlightsBot, text: str
) -> None:
    await ask_with_odd_strings(discord_emulator, HIGHLIGHT_OPTIONS, text[:200])


async def test_a_stranger_cannot_use_the_more_like_this_menu_of_someone_elses_list(
    discord_emulator: DiscordEmulator, bot: HighlightsBot
) -> None:
    handle = await discord_emulator.slash("recommend", {"topic": "rust"})
    await handle.response()
    select = component(handle.original, kind=3)
    before = handle.original.payload
    stranger = discord_emulator.add_user("mallory")
    refused = await discord_emulator.select(
        handle.original, select["custom_id"], [select["options"][0]["value"]], user=stranger
    )
    answer = await refused.response()
    assert answer["type"] == 4 and answer["data"]["flags"] & EPHEMERAL
    assert "belong to the member who asked" in answer["data"]["content"]
    assert "embeds" not in answer["data"] or not answer["data"]["embeds"]
    assert handle.original.payload == before


async def stale_click(discord_emulator: DiscordEmulator) -> InteractionHandle:
    """A click on Next after the list's controls timed out, from a client that still shows them."""
    handle = await discord_emulator.slash("recommend", {"topic": "linkerd"})
    await handle.response()
    await discord_emulator.wait_for(
        lambda: all(c.get("disabled") for c in handle.original.iter_components() if c["type"] in (2, 3)) or None,
        timeout=3.0,
        what="the controls to be disabled",
    )
    return await discord_emulator.click(
        handle.original, component(handle.original, label="Next")["custom_id"], force=True
    )


async def test_controls_switch_off_when_they_time_out_and_a_late_click_is_answered_kindly(
    discord_emulator: DiscordEmulator, start_bot: StartBot
) -> None:
    async with start_bot(view_timeout=0.2):
        click = await stale_click(discord_emulator)  # fails unless the controls were switched off
        answer = await click.response(timeout=3.0)
        assert answer["type"] == 4 and answer["data"]["flags"] & EPHEMERAL
        assert "timed out" in str(answer["data"])
        after = await discord_emulator.slash("talk", {"title": "tap tap"})
        assert embed_of(await after.response())["title"] == TAP_TAP


async def test_catalogue_text_cannot_ping_or_break_the_layout(
    discord_emulator: DiscordEmulator, start_bot: StartBot, bundled_db: Path
) -> None:
    conn = connect_sync(bundled_db)
    conn.execute(
        "INSERT INTO talks (slug, title, summary, event_id) VALUES ('ping', '@everyone **free** `pizza` <@&1>', ?, 1)",
        ("x" * 9000,),
    )
    conn.execute("UPDATE catalogue_state SET version = version + 1")
    conn.commit()
    conn.close()
    async with start_bot():
        handle = await discord_emulator.slash("talk", {"title": "ping"})
        body = await handle.response()
        assert body["data"]["allowed_mentions"] == {"parse": []}
        embed = embed_of(body)
        assert "@everyone" not in embed["title"] and "\\*\\*free\\*\\*" in embed["title"]
        assert len(embed["description"]) <= embeds.SUMMARY_IN_CARD


@pytest.mark.parametrize(
    ("command", "options", "method"), [("talk", {"title": "tap"}, "talk"), ("recommend", {"topic": "mtls"}, "recommend")]
)
async def test_an_unexpected_failure_is_answered_privately_and_logged(
    discord_emulator: DiscordEmulator,
    bot: HighlightsBot,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    options: dict[str, str],
    method: str,
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(bot.services.catalogue, method, broken)
    with caplog.at_level(logging.ERROR, logger="bot.platforms.discord.client"):
        handle = await discord_emulator.slash(command, options)
        body = await handle.response()
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert "database on fire" not in str(body) and "Traceback" not in str(body)
    assert "Something went wrong" in str(body)
    assert any(str(handle.id) in record.getMessage() and record.exc_info for record in caplog.records)


async def test_the_bot_resumes_after_the_gateway_drops_and_answers_what_came_meanwhile(
    discord_emulator: DiscordEmulator, bot: HighlightsBot
) -> None:
    async with discord_emulator.faults.hold_reconnects():
        await discord_emulator.faults.close_gateway(4000)
        handle = await discord_emulator.slash("talk", {"title": "tap tap"})
    assert embed_of(await handle.response(timeout=5.0))["title"] == TAP_TAP
    assert discord_emulator.gateway.resumes >= 1
    after = await discord_emulator.slash("speaker", {"name": "gould"})
    assert embed_of(await after.response())["title"] == "Oliver Gould"


async def test_new_talks_are_seen_without_a_restart(
    discord_emulator: DiscordEmulator, bot: HighlightsBot, bundled_db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    conn = connect_sync(bundled_db)
    conn.execute(
        "INSERT INTO talks (slug, title, event_id) VALUES ('brand-new-talk', 'Zebra Crossings in the Mesh', 1)"
    )
    conn.execute("UPDATE catalogue_state SET version = version + 1")
    conn.commit()
    conn.close()
    with caplog.at_level(logging.INFO, logger="bot.catalogue.service"):
        handle = await discord_emulator.slash("talk", {"title": "zebra crossings"})
        # The reload may take a while on a big catalogue, so the bot defers first, then follows up.
        assert (await handle.response(timeout=5.0))["type"] == 5
        followup = await handle.followup(timeout=5.0)
    assert followup.embeds[0]["title"] == "Zebra Crossings in the Mesh"
    assert any("reloaded" in r.getMessage() for r in caplog.records)
