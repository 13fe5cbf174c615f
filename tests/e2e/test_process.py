"""`python -m bot run` as an operator starts it: a separate process, configured by the environment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from emulator.server import DiscordEmulator

ROOT = Path(__file__).resolve().parents[2]


def environment(emulator: DiscordEmulator, database: Path | str, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "BOT_", "DEV_GUILD", "DATABASE_URL"))}
    # A PostgreSQL database's URL (TEST_ENGINE=postgresql), or a SQLite file.
    env.update({"DATABASE_URL": database} if isinstance(database, str) else {"BOT_DATABASE": str(database)})
    env.update(
        DISCORD_TOKEN=token,
        DISCORD_API_BASE_URL=emulator.api_base_url,
        DISCORD_GATEWAY_URL=emulator.gateway_url,
        DEV_GUILD_ID=str(emulator.guild.id),
        LOG_LEVEL="INFO",
        PYTHONPATH=str(ROOT),
    )
    return env


@contextlib.asynccontextmanager
async def running(
    emulator: DiscordEmulator, database: Path, folder: Path, token: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m bot run` in `folder`, pointed at the emulator, its output piped; killed if a test leaves it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        cwd=folder, env=environment(emulator, database, token),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def assert_one_clear_line(process: asyncio.subprocess.Process, output: str, said: str, secret: str) -> None:
    """The run ended with status 1 and one line saying `said`: no traceback, no token."""
    assert process.returncode == 1
    assert f"error: {said}" in output
    assert "Traceback" not in output and secret not in output


async def read_until(stream: asyncio.StreamReader, needle: str, seen: list[str], timeout: float) -> None:  # noqa: ASYNC109
    async def scan() -> None:
        while True:
            line = (await stream.readline()).decode()
            if not line:
                raise AssertionError(f"the bot exited before logging {needle!r}:\n{''.join(seen)}")
            seen.append(line)
            if needle in line:
                return

    await asyncio.wait_for(scan(), timeout)


async def test_the_bot_runs_as_its_own_process_and_answers(
    discord_emulator: DiscordEmulator, bundled_db: Path, tmp_path: Path
) -> None:
    async with running(discord_emulator, bundled_db, tmp_path, discord_emulator.token) as process:
        assert process.stderr is not None
        log: list[str] = []
        try:
            await read_until(process.stderr, "Ready as", log, timeout=30)
            assert "with 11 talks in the catalogue" in log[-1]
            handle = await discord_emulator.slash("talk", {"title": "tap tap"})
            body = await handle.response(timeout=5)
            assert body["data"]["embeds"][0]["title"] == "Tap Tap, Debugging an App with your Service Mesh"
        finally:
            process.send_signal(signal.SIGINT)
            _, rest = await asyncio.wait_for(process.communicate(), 30)
    output = "".join(log) + rest.decode()
    assert process.returncode in (0, 130)
    assert discord_emulator.token not in output
    assert "Traceback" not in output, output


async def test_a_refused_token_ends_with_one_clear_line(
    discord_emulator: DiscordEmulator, bundled_db: Path, tmp_path: Path
) -> None:
    wrong = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gwrong.thisisnotthetokenyouarelookingfor00"
    async with running(discord_emulator, bundled_db, tmp_path, wrong) as process:
        _, err = await asyncio.wait_for(process.communicate(), 30)
    assert_one_clear_line(process, err.decode(), "Discord refused DISCORD_TOKEN", wrong)


async def test_discord_failing_at_login_ends_with_one_clear_line(
    discord_emulator: DiscordEmulator, bundled_db: Path, tmp_path: Path
) -> None:
    discord_emulator.faults.fail("GET", "/users/@me", 500, times=10)  # discord.py retries a 5xx a few times
    async with running(discord_emulator, bundled_db, tmp_path, discord_emulator.token) as process:
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert_one_clear_line(process, err.decode(), "Discord is having trouble (it answered 500", discord_emulator.token)


async def test_the_gateway_refusing_the_session_ends_with_one_clear_line(
    discord_emulator: DiscordEmulator, bundled_db: Path, tmp_path: Path
) -> None:
    async with running(discord_emulator, bundled_db, tmp_path, discord_emulator.token) as process:
        assert process.stderr is not None
        log: list[str] = []
        await read_until(process.stderr, "Ready as", log, timeout=30)
        await discord_emulator.faults.close_gateway(4004)  # what a gateway does with a token it will not take
        _, rest = await asyncio.wait_for(process.communicate(), 30)
    output = "".join(log) + rest.decode()
    assert_one_clear_line(process, output, "Discord's gateway refused DISCORD_TOKEN", discord_emulator.token)


async def test_sync_publishes_the_commands_globally(
    discord_emulator: DiscordEmulator, bundled_db: Path, tmp_path: Path
) -> None:
    env = environment(discord_emulator, bundled_db, discord_emulator.token)
    del env["DEV_GUILD_ID"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sync",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    names = {c["name"] for c in discord_emulator.commands()}
    assert {
        "recommend",
        "talk",
        "similar",
        "speaker",
        "highlight",
        "highlights",
        "topics",
        "events",
        "catalog",
    } <= names
    assert f"Synced {len(names)} commands globally" in out.decode()
    assert (
        discord_emulator.commands(discord_emulator.guild) == []
    )  # a plain start never syncs; only DEV_GUILD_ID copies
