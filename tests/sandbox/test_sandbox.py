"""The sandbox: the same bot, driven from a terminal."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot.catalogue.service import CatalogueService
from bot.errors import UserFacingError
from bot.sandbox.options import add_sandbox_arguments
from bot.sandbox.repl import Completion, admin_switch, value_candidates
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


async def test_the_sandbox_waits_for_on_ready_before_commands_and_closing(
    bundled_db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    counted: list[int] = []
    count = CatalogueService.talk_count

    async def slow_count(self: CatalogueService) -> int:
        await asyncio.sleep(0.2)  # a big catalogue takes a while to count
        counted.append(await count(self))
        return counted[-1]

    monkeypatch.setattr(CatalogueService, "talk_count", slow_count)
    with caplog.at_level(logging.ERROR):
        async with Sandbox(bundled_db):
            assert counted, "on_ready was still running when the sandbox took commands"
    assert not [r for r in caplog.records if "Ignoring exception" in r.getMessage()]


async def test_a_disabled_control_says_it_is_disabled(bundled_db: Path) -> None:
    async with Sandbox(bundled_db) as sandbox:
        reply = await sandbox.send("/recommend topic:linkerd")
        previous = next(c for c in reply.controls if c.label.endswith("Previous"))
        with pytest.raises(UserFacingError, match="disabled") as refused:
            await sandbox.click(previous.number)
        assert "timed out" not in refused.value.message


async def test_highlights_need_admin_and_are_refused_kindly_without_it(bundled_db: Path) -> None:
    async with Sandbox(bundled_db) as sandbox:
        with pytest.raises(UserFacingError, match=r"Manage Server.*admin on"):
            await sandbox.send("/highlights list")
        with pytest.raises(UserFacingError, match="Manage Server"):
            await sandbox.suggest("/highlights status schedule:")
        assert "Manage Server" in (admin_switch(sandbox, "admin on") or "")
        created = await sandbox.send("/highlights setup channel:#highlights time:09:00 timezone:UTC")
        assert "Scheduled: highlight #1" in str(created.payload)
        posted = await sandbox.send("/highlights now schedule:1")
        assert "Posted" in posted.payload["content"]
        assert admin_switch(sandbox, "admin off") is not None and not sandbox.admin
        with pytest.raises(UserFacingError, match="Manage Server"):
            await sandbox.send("/highlights list")
    async with Sandbox(bundled_db, admin=True) as sandbox:
        listed = await sandbox.send("/highlights list")
        assert listed.payload["embeds"][0]["title"] == "Highlight schedules"


async def test_a_number_option_refuses_words_kindly(bundled_db: Path) -> None:
    async with Sandbox(bundled_db) as sandbox:
        with pytest.raises(UserFacingError, match="page takes a whole number"):
            await sandbox.send("/events page:abc")
        assert "Page 1" in str((await sandbox.send("/events page:1")).payload)


@pytest.mark.parametrize(
    ("line", "choices", "expected"),
    [
        ("/speaker name:jas", [("Jason Morgan", "jason-morgan")], ["/speaker name:jason-morgan"]),
        (
            "/speaker name:morg",
            [("William Morgan", "william-morgan"), ("Jason Morgan", "jason-morgan")],
            ["/speaker name:morg", "/speaker name:morg "],
        ),
        (
            "/speaker name:",
            [("William Morgan", "william-morgan"), ("Jason Morgan", "jason-morgan")],
            ["/speaker name:william-morgan", "/speaker name:jason-morgan"],
        ),
        (
            "/speaker name:Wil",
            [("William Morgan", "william-morgan"), ("Willa Cather", "willa-cather"), ("Bill Wil", "bill-wil")],
            ["/speaker name:Wil", "/speaker name:Wil ", "/speaker name:William Morgan", "/speaker name:Willa Cather"],
        ),
        ("/talk title:x", [("Why? A talk: x", "a: b c:d")], ['/talk title:"a: b c:d"']),
        ("/talk title:x", [], []),
    ],
)
def test_completions_keep_what_was_typed_unless_one_value_replaces_it(
    line: str, choices: list[tuple[str, str]], expected: list[str]
) -> None:
    found = value_candidates(line, choices)
    assert found == expected
    if len(found) > 1:
        assert all(candidate.startswith(line) for candidate in found)


async def test_tab_lists_the_bots_suggestions_by_name_and_inserts_a_value_it_accepts(bundled_db: Path) -> None:
    async with Sandbox(bundled_db) as sandbox:
        completion = Completion(sandbox, asyncio.get_running_loop())
        found = await asyncio.to_thread(completion.candidates, "/speaker name:morg")
        assert all(candidate.startswith("/speaker name:morg") for candidate in found)
        assert completion.labels == ["William Morgan", "Jason Morgan"]
        (single,) = await asyncio.to_thread(completion.candidates, "/speaker name:jason m")
        assert completion.labels == ["Jason Morgan"]
        reply = await sandbox.send(single)
        assert reply.payload["embeds"][0]["title"] == "Jason Morgan"
        assert await asyncio.to_thread(completion.candidates, "/spe") == ["/speaker "]
        assert await asyncio.to_thread(completion.candidates, "/recommend topic:rust ") == [
            "/recommend topic:rust event:", "/recommend topic:rust language:", "/recommend topic:rust for:"
        ]


def test_the_admin_option_is_documented() -> None:
    parser = argparse.ArgumentParser(prog="sandbox")
    add_sandbox_arguments(parser)
    assert "Manage Server" in parser.format_help() and "--admin" in parser.format_help()
    assert parser.parse_args(["--admin", "--command", "/highlights list"]).admin


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


def test_the_prompt_can_become_admin_and_a_refusal_is_never_a_traceback(bundled_db: Path) -> None:
    result = run_cli("sandbox", stdin="/highlights list\nadmin on\n/highlights list\nquit\n", database=bundled_db)
    assert result.returncode == 0, result.stderr
    assert "needs the Manage Server permission" in result.stdout
    assert "None yet" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("line", "said"),
    [("/highlights list", "needs the Manage Server permission"), ("/events page:abc", "page takes a whole number")],
)
def test_a_refused_command_prints_one_friendly_line(bundled_db: Path, line: str, said: str) -> None:
    result = run_cli("sandbox", "--command", line, database=bundled_db)
    assert result.returncode == 1
    assert said in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "Ignoring exception" not in result.stderr


def test_the_sandbox_command_takes_admin_and_it_opens_highlights(bundled_db: Path) -> None:
    result = run_cli("sandbox", "--admin", "--command", "/highlights list", database=bundled_db)
    assert result.returncode == 0, result.stderr
    assert "Highlight schedules" in result.stdout


def test_start_without_a_token_opens_the_sandbox(bundled_db: Path) -> None:
    result = run_cli("start", stdin="/speaker name:gould\n", database=bundled_db)
    assert result.returncode == 0, result.stderr
    assert "sandbox" in result.stdout.lower() and "Oliver Gould" in result.stdout
