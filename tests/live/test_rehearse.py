"""The rehearsal replays an event's days on a simulated clock and prints what live mode would post, when."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from bot.catalogue.formats.options import ImportOptions
from bot.catalogue.service import CatalogueService
from bot.db.gateway import Database
from bot.errors import UserFacingError
from bot.live.rehearse import rehearse
from tests.live.test_notices import FIRST


@pytest.fixture
async def database(bundled_sqlite: Path, tmp_path: Path) -> Path:
    path = tmp_path / "bot.sqlite3"
    shutil.copy(bundled_sqlite, path)
    db = await Database.open(path)
    try:
        await (await CatalogueService.open(db)).import_data(FIRST, "meshcon.toml", ImportOptions())
    finally:
        await db.close()
    return path


async def test_an_instant_rehearsal_prints_every_notice_at_its_simulated_time(database: Path):
    before = await asyncio.to_thread(database.read_bytes)
    lines: list[str] = []
    posts = await rehearse(database, "meshcon-2026", None, speed=0, zone_name="Europe/Brussels", say=lines.append)
    assert posts == 2
    assert lines[0] == "Rehearsing meshcon-2026 from Sat 05 Dec 09:00 (Europe/Brussels), speed instant"
    assert lines[1] == "Sat 05 Dec 09:55:00  Starting in 5 minutes (Sat 10:00)"
    assert lines[2:4] == ["    Alpha - Speaker of Alpha", "    Beta - Speaker of Beta"]
    assert lines[4] == "Sat 05 Dec 10:55:00  Starting in 5 minutes (Sat 11:00)"
    assert lines[-1] == "2 posts"
    assert await asyncio.to_thread(database.read_bytes) == before  # the real database is not touched


async def test_a_fast_rehearsal_runs_on_a_scaled_clock(database: Path):
    lines: list[str] = []
    posts = await rehearse(
        database, "meshcon-2026", "2026-12-05 09:54", speed=3600, zone_name="Europe/Brussels", say=lines.append
    )
    assert posts == 2 and lines[1].startswith("Sat 05 Dec 09:55")  # within a simulated minute: 17 ms


async def test_an_event_without_times_cannot_be_rehearsed(database: Path):
    with pytest.raises(UserFacingError, match="no start times"):
        await rehearse(database, "kubecon", None, speed=0)


def test_the_command_line_rehearses_and_says_when_there_is_nothing(database: Path, capsys):
    from bot.__main__ import main

    assert (
        main(["--db", str(database), "rehearse", "meshcon-2026", "--speed", "0", "--timezone", "Europe/Brussels"]) == 0
    )
    out = capsys.readouterr().out
    assert "Sat 05 Dec 09:55:00  Starting in 5 minutes (Sat 10:00)" in out and "2 posts" in out
    assert main(["--db", str(database), "rehearse", "kubecon", "--speed", "0"]) == 1
    assert "no start times" in capsys.readouterr().err
    assert main(["--db", str(database), "rehearse", "meshcon-2026", "--timezone", "Mars/Olympus"]) == 2  # usage
    assert "Mars/Olympus" in capsys.readouterr().err
