"""A real discord.py bot against the emulator: login, sync, commands, components, follow-ups, posts."""

from __future__ import annotations

import asyncio

import discord
import pytest

from emulator.interactions import Upload
from emulator.model import InteractionContext, Permission
from emulator.server import DiscordEmulator
from tests.emulator.testbot import PAGES, EmulatorTestBot


async def test_login_reaches_ready_with_the_guild_and_its_channels(emulator: DiscordEmulator, bot: EmulatorTestBot):
    assert bot.user is not None and bot.user.id == emulator.bot.id
    assert bot.application_id == emulator.application_id
    guild = bot.get_guild(emulator.guild.id)
    assert guild is not None and guild.me is not None
    assert {c.name for c in guild.text_channels} == {"general", "highlights"}
    assert emulator.gateway.identifies == 1


async def test_command_sync_is_captured_with_ids(emulator: DiscordEmulator, bot: EmulatorTestBot):
    guild_names = {c["name"] for c in emulator.commands(emulator.guild)}
    assert {"ping", "fruit", "pages", "highlights"} <= guild_names
    assert [c["name"] for c in emulator.commands()] == ["whoami"]
    assert all(c["id"].isdigit() for c in emulator.commands(emulator.guild))
    assert [s.guild_id for s in emulator.world.command_syncs] == [emulator.guild.id, None]


async def test_slash_command_gets_a_channel_message(emulator: DiscordEmulator, bot: EmulatorTestBot):
    handle = await emulator.slash("ping")
    assert await handle.response() == {"type": 4, "data": {"tts": False, "content": "pong"}}
    assert handle.original is not None and handle.original.content == "pong"
    assert not handle.original.ephemeral


async def test_ephemeral_reply_carries_the_flag(emulator: DiscordEmulator, bot: EmulatorTestBot):
    handle = await emulator.slash("secret")
    assert (await handle.response())["data"]["flags"] == 64
    assert handle.original is not None and handle.original.ephemeral


async def test_autocomplete_returns_matching_choices(emulator: DiscordEmulator, bot: EmulatorTestBot):
    handle = await emulator.autocomplete("fruit", "name", "ap")
    body = await handle.response()
    assert body["type"] == 8
    assert [c["value"] for c in body["data"]["choices"]] == ["apple", "apricot"]
    assert handle.payload["data"]["options"] == [{"name": "name", "type": 3, "value": "ap", "focused": True}]


async def test_button_click_updates_the_message_in_place(emulator: DiscordEmulator, bot: EmulatorTestBot):
    command = await emulator.slash("pages")
    await command.response()
    message = command.original
    assert message is not None and message.custom_ids() == ["pager:next", "pager:later"]

    click = await emulator.click(message, "pager:next")
    assert (await click.response())["type"] == 7
    assert emulator.message(message.id).content == PAGES[1]

    second = await emulator.click(message, "pager:next")
    await second.response()
    assert emulator.message(message.id).content == PAGES[2]
    assert [version["content"] for version in message.history] == [PAGES[0], PAGES[1]]


async def test_deferred_update_then_edit_of_the_original(emulator: DiscordEmulator, bot: EmulatorTestBot):
    command = await emulator.slash("pages")
    await command.response()
    assert command.original is not None
    click = await emulator.click(command.original, "pager:later")
    assert (await click.response()) == {"type": 6}
    edit = await click.edit()
    assert edit["content"] == "edited after a deferred update"
    assert click.original is not None and click.original.id == command.original.id
    assert emulator.message(command.original.id).content == "edited after a deferred update"


async def test_select_sends_the_chosen_values(emulator: DiscordEmulator, bot: EmulatorTestBot):
    command = await emulator.slash("pick")
    await command.response()
    assert command.original is not None
    choice = await emulator.select(command.original, "fruit:pick", ["mango", "apple"])
    body = await choice.response()
    assert body["data"]["content"] == "picked mango, apple"
    assert body["data"]["flags"] == 64
    with pytest.raises(ValueError, match="not options"):
        await emulator.select(command.original, "fruit:pick", ["durian"])


async def test_defer_then_followups_complete_the_thinking_message(emulator: DiscordEmulator, bot: EmulatorTestBot):
    handle = await emulator.slash("slow")
    assert await handle.response() == {"type": 5}
    first = await handle.followup(0)
    second = await handle.followup(1)
    assert handle.original is not None and first.id == handle.original.id
    assert first.content == "done later" and not first.flags & 128
    assert second.content == "and one more" and second.ephemeral


async def test_subcommand_with_typed_and_resolved_options(emulator: DiscordEmulator, bot: EmulatorTestBot):
    target = emulator.guild.text_channels()[1]
    handle = await emulator.slash("highlights setup", {"channel": target, "count": 3, "enabled": False})
    assert (await handle.response())["data"]["content"] == "#highlights x3 off"
    data = handle.payload["data"]
    assert data["guild_id"] == str(emulator.guild.id)
    assert data["options"][0]["name"] == "setup"
    assert data["options"][0]["options"][0] == {"name": "channel", "type": 7, "value": str(target.id)}
    assert str(target.id) in data["resolved"]["channels"]


async def test_option_bounds_are_enforced_like_discords_client(emulator: DiscordEmulator, bot: EmulatorTestBot):
    with pytest.raises(ValueError, match="outside the bounds"):
        await emulator.slash("highlights setup", {"channel": emulator.channel, "count": 11})
    with pytest.raises(ValueError, match="required"):
        await emulator.slash("highlights setup", {"count": 2})
    with pytest.raises(LookupError, match="no command"):
        await emulator.slash("nope")


async def test_attachment_user_role_and_number_options(emulator: DiscordEmulator, bot: EmulatorTestBot):
    bob = emulator.add_user("bob")
    role = await emulator.add_role(emulator.guild, "speakers")
    handle = await emulator.slash(
        "inspect", {"file": Upload("talk.pdf", size=2048), "who": bob, "role": role, "ratio": 0.5}
    )
    await handle.response()
    assert handle.original is not None
    assert handle.original.content == "talk.pdf:2048 bob speakers 0.5"
    assert [a["filename"] for a in handle.original.payload["attachments"]] == ["notes.txt"]


async def test_dm_context_uses_the_global_command(emulator: DiscordEmulator, bot: EmulatorTestBot):
    handle = await emulator.slash("whoami", context=InteractionContext.BOT_DM)
    assert (await handle.response())["data"]["content"] == "alice in dm"
    assert "member" not in handle.payload and handle.payload["user"]["username"] == "alice"
    assert handle.payload["context"] == 1
    private = await emulator.slash("whoami", context=InteractionContext.PRIVATE_CHANNEL)
    assert (await private.response())["data"]["content"] == "alice in dm"
    assert private.payload["authorizing_integration_owners"] == {"1": str(emulator.user.id)}
    with pytest.raises(LookupError):
        await emulator.slash("ping", context=InteractionContext.BOT_DM)


async def test_background_channel_post_is_recorded(emulator: DiscordEmulator, bot: EmulatorTestBot):
    channel = bot.get_channel(emulator.channel.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("scheduled hello", embed=discord.Embed(title="Today", description="talks"))
    post = await emulator.next_post(emulator.channel)
    assert post.id == sent.id and post.content == "scheduled hello"
    assert post.embeds[0]["title"] == "Today"
    edited = await sent.edit(content="updated")
    assert edited.content == "updated" and emulator.message(sent.id).content == "updated"
    fetched = await channel.fetch_message(sent.id)
    assert fetched.content == "updated"


async def test_post_without_permission_raises_forbidden(emulator: DiscordEmulator, bot: EmulatorTestBot):
    await emulator.set_bot_permissions(emulator.channel, Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES)
    channel = bot.get_channel(emulator.channel.id)
    assert isinstance(channel, discord.TextChannel)
    await emulator.wait_for(
        lambda: True if not channel.permissions_for(channel.guild.me).embed_links else None, what="CHANNEL_UPDATE"
    )
    with pytest.raises(discord.Forbidden) as caught:
        await channel.send(embed=discord.Embed(title="no embeds here"))
    assert caught.value.code == 50013
    await channel.send("plain text is fine")
    assert [p.content for p in emulator.posts(emulator.channel)] == ["plain text is fine"]


async def test_post_to_a_deleted_channel_raises_not_found(emulator: DiscordEmulator, bot: EmulatorTestBot):
    channel = bot.get_channel(emulator.channel.id)
    assert isinstance(channel, discord.TextChannel)
    await emulator.remove_channel(emulator.channel)
    with pytest.raises(discord.NotFound) as caught:
        await channel.send("hello?")
    assert caught.value.code == 10003
    await emulator.wait_for(lambda: True if bot.get_channel(channel.id) is None else None, what="CHANNEL_DELETE")


async def test_guild_join_and_removal_reach_the_bot(emulator: DiscordEmulator, bot: EmulatorTestBot):
    joined = asyncio.create_task(bot.wait_for("guild_join", timeout=2))
    await asyncio.sleep(0)
    extra = await emulator.add_guild("Second", channels=("lobby",))
    assert (await joined).id == extra.id
    removed = asyncio.create_task(bot.wait_for("guild_remove", timeout=2))
    await asyncio.sleep(0)
    await emulator.remove_guild(extra)
    assert (await removed).id == extra.id


async def test_too_long_content_is_refused_and_recorded(emulator: DiscordEmulator, bot: EmulatorTestBot):
    handle = await emulator.slash("shout", {"size": 2001})
    await emulator.wait_for(lambda: bot.command_errors or None, what="the bot's error")
    assert isinstance(bot.command_errors[0], discord.HTTPException)
    assert bot.command_errors[0].code == 50035
    assert handle.callback is None
    [violation] = emulator.violations
    assert violation.route == "/interactions/{interaction_id}/{interaction_token}/callback"
    assert any("data.content" in problem for problem in violation.problems)
    emulator.violations.clear()


async def test_autocomplete_needs_an_autocomplete_option(emulator: DiscordEmulator, bot: EmulatorTestBot):
    with pytest.raises(ValueError, match="no autocomplete"):
        await emulator.autocomplete("shout", "size", "1")


async def test_a_disabled_control_is_clicked_only_when_forced(emulator: DiscordEmulator, bot: EmulatorTestBot):
    command = await emulator.slash("pages")
    await command.response()
    message = command.original
    assert message is not None
    message.component("pager:next")["disabled"] = True  # as after an edit the user's client has not seen yet
    with pytest.raises(ValueError, match="disabled"):
        await emulator.click(message, "pager:next")
    stale = await emulator.click(message, "pager:next", force=True)
    assert stale.payload["data"]["custom_id"] == "pager:next"
    assert (await stale.response())["type"] == 7
    picker = await emulator.slash("pick")
    await picker.response()
    assert picker.original is not None
    picker.original.component("fruit:pick")["disabled"] = True
    with pytest.raises(ValueError, match="disabled"):
        await emulator.select(picker.original, "fruit:pick", ["mango"])
    chosen = await emulator.select(picker.original, "fruit:pick", ["mango"], force=True)
    assert (await chosen.response())["data"]["content"] == "picked mango"
