"""/catalog import: the owner loads a schedule export from Discord; everyone else is refused."""

from __future__ import annotations

from pathlib import Path

from bot.db.connection import connect_sync
from emulator.interactions import Upload
from emulator.model import InteractionContext, Permission
from emulator.server import DiscordEmulator
from tests.e2e.conftest import EPHEMERAL, StartBot

# A pretalx schedule.json written for the tests (see tests/fixtures/README.md): 8 talks of "Winter Channels".
SCHEDULE = Path(__file__).resolve().parents[1] / "fixtures" / "pretalx-schedule.json"


def talks(database: Path) -> int:
    conn = connect_sync(database)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM talks").fetchone()[0])
    finally:
        conn.close()


async def test_the_owner_imports_a_file_and_the_bot_sees_it_at_once(
    discord_emulator: DiscordEmulator, start_bot: StartBot, bundled_db: Path
) -> None:
    owner = discord_emulator.world.owner
    upload = Upload("winter.json", content=SCHEDULE.read_bytes(), content_type="application/json")
    async with start_bot():
        dry = await discord_emulator.slash(
            "catalog import", {"file": upload, "dry_run": True}, user=owner, context=InteractionContext.BOT_DM
        )
        assert (await dry.response())["type"] == 5
        assert "would add 8" in (await dry.followup(timeout=10)).content
        assert talks(bundled_db) == 11

        real = await discord_emulator.slash("catalog import", {"file": upload}, user=owner)
        await real.response()
        assert "added 8" in (await real.followup(timeout=10)).content
        assert talks(bundled_db) == 19

        found = await discord_emulator.slash("talk", {"title": "winter channels opening"})
        embeds = (await found.response())["data"]["embeds"]
        assert embeds and "Winter Channels Opening" in str(embeds)


async def test_anyone_but_the_owner_is_refused(
    discord_emulator: DiscordEmulator, start_bot: StartBot, bundled_db: Path
) -> None:
    admin = discord_emulator.add_user("admin", permissions=int(Permission.ADMINISTRATOR))
    async with start_bot():
        handle = await discord_emulator.slash("catalog import", {"file": Upload("x.json", content=b"{}")}, user=admin)
        body = await handle.response()
        assert body["data"]["flags"] & EPHEMERAL
        assert "Only the bot's owner" in str(body)
    assert talks(bundled_db) == 11


async def test_a_broken_upload_is_a_clear_error_and_changes_nothing(
    discord_emulator: DiscordEmulator, start_bot: StartBot, bundled_db: Path
) -> None:
    content = SCHEDULE.read_bytes()
    broken = Upload("broken.json", content=content[: len(content) // 2], content_type="application/json")
    async with start_bot():
        handle = await discord_emulator.slash("catalog import", {"file": broken}, user=discord_emulator.world.owner)
        await handle.response()
        reply = await handle.followup(timeout=10)
        assert "broken.json" in str(reply.payload) and "Traceback" not in str(reply.payload)
    assert talks(bundled_db) == 11


async def test_the_owner_matches_a_list_of_recordings_to_the_talks(
    discord_emulator: DiscordEmulator, start_bot: StartBot, bundled_db: Path
) -> None:
    videos = (
        "url,title\n"
        "https://videos.example/tap,Tap Tap - Debugging an App with your Service Mesh - KubeCon EU 2021\n"
        "https://videos.example/other,Cooking pasta at home\n"
    )
    owner = discord_emulator.world.owner
    async with start_bot():
        handle = await discord_emulator.slash(
            "catalog recordings", {"file": Upload("videos.csv", content=videos.encode()), "dry_run": True}, user=owner
        )
        await handle.response()
        said = (await handle.followup(timeout=10)).content
        assert "2 videos" in said and "unmatched" in said and "no talk matches" in said
        refused = await discord_emulator.slash(
            "catalog recordings",
            {"file": Upload("videos.csv", content=videos.encode())},
            user=discord_emulator.add_user("admin", permissions=int(Permission.ADMINISTRATOR)),
        )
        assert "Only the bot's owner" in str(await refused.response())
