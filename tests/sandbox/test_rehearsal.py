"""`rehearse EVENT` at the sandbox's prompt: live notices on a simulated clock, posted by the bot itself."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from bot.errors import UserFacingError
from bot.platforms.slack.posting import LIVE_EVENT_TYPE
from bot.sandbox.rehearsal import rehearsal_line, rehearse_in_sandbox
from bot.sandbox.repl import run_once
from bot.sandbox.session import Sandbox
from bot.sandbox.slack import GENERAL, SlackSandbox
from bot.sandbox.slack import run_once as slack_run_once
from tests.live.test_rehearse import database  # noqa: F401 - the fixture: the bundled catalogue and MeshCon 2026


def console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=120, color_system=None), out


@pytest.mark.parametrize(
    ("line", "arguments"),
    [("rehearse meshcon-2026 speed:60", "meshcon-2026 speed:60"), ("/rehearse x", "x"), ("rehearse", "")],
)
def test_rehearse_lines_are_told_from_commands(line: str, arguments: str) -> None:
    assert rehearsal_line(line) == arguments
    assert rehearsal_line("/recommend topic:rehearse") is None
    assert rehearsal_line("rehearsed") is None


async def test_the_bot_posts_each_notice_into_the_sandbox_channel(database: Path) -> None:  # noqa: F811
    before = await asyncio.to_thread(database.read_bytes)
    shown, out = console()
    async with Sandbox(database) as sandbox:
        posted = await rehearse_in_sandbox(sandbox, "meshcon-2026 timezone:Europe/Brussels", shown)
        messages = sandbox.emulator.posts(sandbox.emulator.channel)
        sent = [r for r in sandbox.emulator.requests if r.route == "/channels/{channel_id}/messages"]
    assert posted == 2 and len(messages) == 2
    first = messages[0].payload
    assert "Starting in 5 minutes" in first["embeds"][0]["title"]  # the bot's own embed
    assert "Alpha" in str(first["embeds"]) and "Gamma" not in str(first["embeds"])
    assert [r.body["allowed_mentions"] for r in sent] == [{"parse": []}] * 2  # they ping nobody, rehearsed or not
    text = out.getvalue()
    assert "Sat 05 Dec 09:55:00  #" in text and "Speaker of Alpha" in text and "2 posts" in text
    assert await asyncio.to_thread(database.read_bytes) == before  # a rehearsal changes nothing


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("", "Usage: rehearse EVENT"),
        ("meshcon-2026 speed:fast", "speed: takes a number"),
        ("meshcon-2026 lead:0", "between 1 and 120"),
        ("meshcon-2026 colour:red", "no option colour"),
        ("meshcon-2026 timezone:Mars/Olympus", "Mars/Olympus"),
        ("kubecon", "no start times"),
        ("nope-2031", "nope-2031"),
    ],
)
async def test_a_rehearsal_that_cannot_run_says_why(database: Path, arguments: str, message: str) -> None:  # noqa: F811
    shown, _ = console()
    async with Sandbox(database) as sandbox:
        with pytest.raises(UserFacingError, match=message):
            await rehearse_in_sandbox(sandbox, arguments, shown)
        assert sandbox.emulator.posts(sandbox.emulator.channel) == []


async def test_rehearse_works_as_a_one_shot_sandbox_command_and_again(database: Path) -> None:  # noqa: F811
    shown, out = console()
    async with Sandbox(database) as sandbox:
        assert await run_once(sandbox, "rehearse meshcon-2026", shown, as_json=False) == 0
        assert await run_once(sandbox, "rehearse meshcon-2026", shown, as_json=False) == 0
        assert await run_once(sandbox, "rehearse kubecon", shown, as_json=False) == 1
        assert len(sandbox.emulator.posts(sandbox.emulator.channel)) == 4  # the second is not taken for a repeat
    assert "Starting in 5 minutes" in out.getvalue() and "no start times" in out.getvalue()


async def test_the_slack_app_posts_each_notice_into_general_and_a_second_rehearsal_posts_again(
    database: Path,  # noqa: F811
) -> None:
    shown, out = console()
    async with SlackSandbox(database) as sandbox:
        assert (
            await slack_run_once(sandbox, "rehearse meshcon-2026 timezone:Europe/Brussels", shown, as_json=False) == 0
        )
        assert await slack_run_once(sandbox, "rehearse meshcon-2026", shown, as_json=False) == 0
        posted = [m for m in sandbox.emulator.channels[GENERAL].messages if m.metadata]
        assert await slack_run_once(sandbox, "rehearse kubecon", shown, as_json=False) == 1
    assert len(posted) == 4  # two notices, rehearsed twice: the second rehearsal is not taken for a repeat
    assert {m.metadata["event_type"] for m in posted} == {LIVE_EVENT_TYPE}
    body = json.dumps(posted[0].blocks, ensure_ascii=False)
    assert "Starting in 5 minutes" in body and "Alpha" in body and "Gamma" not in body
    text = out.getvalue()
    assert "Sat 05 Dec 09:55:00  #general" in text and "Posted in #general" in text and "no start times" in text
