"""/catalog import with the options the command line has, and errors that name them as Discord shows them."""

from __future__ import annotations

import json
from pathlib import Path

from bot.db.connection import connect_sync
from emulator.interactions import Upload
from emulator.server import DiscordEmulator
from tests.e2e.conftest import StartBot, start_bot

from .conftest import SESSIONIZE_VIDEOS

__all__ = ["start_bot"]  # the fixture, shared with the end-to-end tests


def _rows(database: Path, sql: str) -> list[tuple[object, ...]]:
    conn = connect_sync(database)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def test_a_misspelt_timezone_is_named_as_the_discord_option(
    discord_emulator: DiscordEmulator, start_bot: StartBot
) -> None:
    upload = Upload("linz.json", content=SESSIONIZE_VIDEOS.read_bytes(), content_type="application/json")
    async with start_bot():
        handle = await discord_emulator.slash(
            "catalog import",
            {"file": upload, "event": "Cloud Day Linz", "timezone": "Mars/Olympus"},
            user=discord_emulator.world.owner,
        )
        reply = str(await handle.response())
    assert "timezone: 'Mars/Olympus' is not a time zone" in reply
    assert "--timezone" not in reply


async def test_sessionize_and_csv_options_reach_the_importer(
    discord_emulator: DiscordEmulator, start_bot: StartBot, bundled_db: Path
) -> None:
    owner = discord_emulator.world.owner
    linz = Upload("linz.json", content=SESSIONIZE_VIDEOS.read_bytes(), content_type="application/json")
    table = Upload("talks.csv", content=b"Session name,Presenters\r\nMeshes,Ann Lee|Bo Chen\r\n", content_type="text/csv")
    async with start_bot():
        handle = await discord_emulator.slash(
            "catalog import",
            {"file": linz, "event": "Cloud Day Linz 2025", "recording_question": "Short Title"},
            user=owner,
        )
        await handle.response()
        assert "added 7" in (await handle.followup(timeout=10)).content
        handle = await discord_emulator.slash(
            "catalog import",
            {"file": table, "format": "csv", "event": "Meetup", "columns": "title=Session name,speakers=Presenters",
             "separator": "|"},
            user=owner,
        )  # fmt: skip
        await handle.response()
        assert "added 1" in (await handle.followup(timeout=10)).content
    # "Short Title" holds no links, so the YouTube answers are not taken for recordings.
    assert _rows(bundled_db, "SELECT count(*) FROM talks WHERE recording_url LIKE '%youtube%'") == [(0,)]
    assert _rows(bundled_db, "SELECT p.name FROM talk_speakers ts JOIN people p ON p.id = ts.person_id"
                             " JOIN talks t ON t.id = ts.talk_id WHERE t.title = 'Meshes' ORDER BY ts.position") == [
        ("Ann Lee",), ("Bo Chen",)]  # fmt: skip


async def test_an_empty_export_is_refused_until_allow_empty_is_set(
    discord_emulator: DiscordEmulator, start_bot: StartBot, bundled_db: Path
) -> None:
    owner = discord_emulator.world.owner
    empty = json.dumps({"sessions": [], "speakers": [], "questions": [], "categories": [], "rooms": []}).encode()
    options: dict[str, object] = {"file": Upload("empty.json", content=empty), "event": "Cloud Native Rust Day 2021"}
    async with start_bot():
        handle = await discord_emulator.slash("catalog import", options, user=owner)
        await handle.response()
        refused = str((await handle.followup(timeout=10)).payload)
        assert "importing it would remove them all" in refused and "allow_empty: True" in refused
        assert "--allow-empty" not in refused
        handle = await discord_emulator.slash("catalog import", {**options, "allow_empty": True}, user=owner)
        await handle.response()
        assert "removed 2" in (await handle.followup(timeout=10)).content
    assert _rows(bundled_db, "SELECT count(*) FROM talks") == [(9,)]
