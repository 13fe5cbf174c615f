"""The sandbox: the same bot, driven from a terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import UserFacingError
from bot.sandbox.session import Sandbox, parse

ROOT = Path(__file__).resolve().parents[2]
KNOWN = {"talk": {"title"}, "recommend": {"topic", "event"}, "highlights setup": {"channel", "time"}}


@pytest.mark.parametrize(
    ("line", "path", "options"),
    [
        ("/talk title:tap tap", "talk", {"title": "tap tap"}),
        (
            "/recommend topic:service mesh event:kubecon-eu-2021",
            "recommend",
            {"topic": "service mesh", "event": "kubecon-eu-2021"},
        ),
        ('/recommend topic:"a: b"', "recommend", {"topic": "a: b"}),
        ("/highlights setup channel:#general time:09:00", "highlights setup", {"channel": "#general", "time": "09:00"}),
        ("/talk", "talk", {}),
    ],
)
def test_typed_commands_are_read_as_discord_would_send_them(line: str, path: str, options: dict[str, str]) -> None:
    typed = parse(line, KNOWN)
    assert (typed.path, typed.options) == (path, options)


@pytest.mark.parametrize(
    ("line", "message"), [("talk x", "start with a slash"), ("/nope", "There is no /nope"), ("/", "after the slash")]
)
def test_mistyped_commands_get_a_friendly_error(line: str, message: str) -> None:
    with pytest.raises(UserFacingError, match=message):
        parse(line, KNOWN)


async def test_a_session_sends_commands_clicks_numbers_and_suggests(bundled_db: Path) -> None:
    async with Sandbox(bundled_db) as sandbox:
        reply = await sandbox.send("/recommend topic:linkerd")
        assert reply.payload["embeds"][0]["footer"]["text"].startswith("Page 1 of 2")
        next_button = next(c for c in reply.controls if c.label.endswith("Next"))
        turned = await sandbox.click(next_button.number)
        assert turned.payload["embeds"][0]["footer"]["text"].startswith("Page 2 of 2")
        assert ("Observability", "observability") in await sandbox.suggest("/recommend topic:obs")
        with pytest.raises(UserFacingError, match="needs title"):
            await sandbox.send("/talk")
        with pytest.raises(UserFacingError, match="no option colour"):
            await sandbox.send("/talk title:x colour:red")


def run_cli(*argv: str, stdin: str | None = None, database: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "BOT_DATABASE": str(database), "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv], input=stdin, capture_output=True, text=True, env=env, timeout=60,
        check=False, cwd=database.parent,
    )  # fmt: skip


def test_one_command_prints_the_rendered_reply(bundled_db: Path) -> None:
    result = run_cli("sandbox", "--command", "/speaker name:morgan", database=bundled_db)
    assert result.returncode == 0, result.stderr
    assert "William Morgan" in result.stdout and "Jason Morgan" in result.stdout
    assert "[1]" in result.stdout and "[2]" in result.stdout


def test_json_prints_the_raw_payload_the_bot_sent(bundled_db: Path) -> None:
    result = run_cli("sandbox", "--command", "/talk title:tap tap", "--json", database=bundled_db)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["type"] == 4
    assert body["data"]["embeds"][0]["url"] == "https://youtu.be/YJ8zP-lqB5E"
    assert body["data"]["allowed_mentions"] == {"parse": []}


def test_the_prompt_runs_commands_and_clicks_until_quit(bundled_db: Path) -> None:
    result = run_cli("sandbox", stdin="help\n/recommend topic:linkerd\n2\n/topics\nquit\n", database=bundled_db)
    assert result.returncode == 0, result.stderr
    assert "Page 1 of 2" in result.stdout and "Page 2 of 2" in result.stdout
    assert "Topics" in result.stdout


def test_start_without_a_token_opens_the_sandbox(bundled_db: Path) -> None:
    result = run_cli("start", stdin="/speaker name:gould\n", database=bundled_db)
    assert result.returncode == 0, result.stderr
    assert "sandbox" in result.stdout.lower() and "Oliver Gould" in result.stdout
