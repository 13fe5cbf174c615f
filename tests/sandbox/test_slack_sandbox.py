"""The Slack sandbox: the real Slack app against the Slack emulator, driven from a terminal."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from rich.console import Console

from bot.catalogue.service import CatalogueService
from bot.domain.models import Event
from bot.errors import UserFacingError
from bot.platforms.slack import app
from bot.sandbox.slack import (
    GENERAL,
    USER,
    SlackSandbox,
    completions,
    interact,
    local_zone,
    message_view,
    mrkdwn_text,
    read_command,
    run_slack_sandbox,
)
from emulator.slack import Message

EVIL_TITLE = "Evil \x1b[31mred\x1b[0m \x9b2J <!channel> talk"


def capture() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=100, force_terminal=False), out


async def test_a_command_prints_the_talks_and_numbered_buttons(bundled_db: Path) -> None:
    console, out = capture()
    assert await run_slack_sandbox(bundled_db, console, "/recommend linkerd", as_json=False) == 0
    shown = out.getvalue()
    assert "Only you can see this" in shown
    assert "Talks for “linkerd”" in shown and "Overview and State of Linkerd" in shown
    assert "[1] More like this" in shown and "[6] Next" in shown and "[7] Share in channel" in shown
    assert "Page 1 of 2" in shown
    assert "*" not in shown and "<https" not in shown  # mrkdwn drawn, not shown as written


async def test_json_prints_what_the_bot_sent(bundled_db: Path) -> None:
    console, out = capture()
    assert await run_slack_sandbox(bundled_db, console, "/recommend linkerd", as_json=True) == 0
    sent = json.loads(out.getvalue())
    assert sent["response_type"] == "ephemeral"
    texts = json.dumps(sent["blocks"], ensure_ascii=False)
    assert "Overview and State of Linkerd" in texts and "page_next" in texts


async def test_a_slow_answer_is_waited_for_after_working_on_it(
    bundled_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = CatalogueService.events

    async def slow_events(self: CatalogueService) -> list[tuple[Event, int]]:
        await asyncio.sleep(0.3)  # longer than the app waits before acknowledging with "Working on it…"
        return await events(self)

    monkeypatch.setattr(app, "ACK_BUDGET", 0.05)
    monkeypatch.setattr(CatalogueService, "events", slow_events)
    console, out = capture()
    assert await run_slack_sandbox(bundled_db, console, "/events", as_json=False) == 0
    shown = out.getvalue()
    assert shown.index("Working on it") < shown.index("KubeCon + CloudNativeCon Europe 2021")


async def test_a_mistyped_command_fails_kindly(bundled_db: Path) -> None:
    console, out = capture()
    assert await run_slack_sandbox(bundled_db, console, "/recomend linkerd", as_json=False) == 1
    assert "/recomend is not a command here" in out.getvalue()


async def test_typing_a_number_presses_next_and_shows_page_two(bundled_db: Path) -> None:
    console, out = capture()
    async with SlackSandbox(bundled_db) as sandbox:

        async def lines() -> AsyncIterator[str]:
            yield "/recommend linkerd"
            assert sandbox.current is not None
            yield str(next(c.number for c in sandbox.current.controls if c.label == "Next"))

        assert await interact(sandbox, console, lines()) == 0
    shown = out.getvalue()
    first, second = shown.split("> 6\n")
    assert "Page 1 of 2" in first
    assert "updated in place" in second and "Page 2 of 2" in second and "Previous" in second


async def test_a_menu_entry_is_picked_by_its_number(bundled_db: Path) -> None:
    console, out = capture()
    async with SlackSandbox(bundled_db) as sandbox:
        await interact(sandbox, console, ["/speaker morgan", "2"])
    picked = out.getvalue().split("> 2\n")[1]
    assert "Jason Morgan" in picked and "Talks (1)" in picked


async def test_a_searching_menu_is_answered_with_question_mark_and_a_number(bundled_db: Path) -> None:
    console, out = capture()
    async with SlackSandbox(bundled_db) as sandbox:
        assert sandbox.bot is not None
        menu = {
            "type": "external_select",
            "action_id": "pick_topic",
            "placeholder": {"type": "plain_text", "text": "Pick a topic"},
            "min_query_length": 0,
        }
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Or pick a topic:"}, "accessory": menu}]
        await sandbox.bot.client.chat_postEphemeral(channel=GENERAL, user=USER, text="Pick a topic", blocks=blocks)

        picked_number: list[int] = []

        async def lines() -> AsyncIterator[str]:
            yield "help"  # the posted menu is shown after it, as anything the bot posts on its own
            yield "? observ"
            picked_number.append(next(c.number for c in sandbox.suggested if c.label == "Observability"))
            yield str(picked_number[0])

        await interact(sandbox, console, lines())
    shown = out.getvalue()
    assert "Pick a topic ▾" in shown and "? words to search" in shown
    listed, picked = shown.split("> ? observ\n")[1].split(f"> {picked_number[0]}\n")
    assert f"[{picked_number[0]}] Observability" in listed
    assert "Talks for “observability”" in picked and "updated in place" in picked


async def test_catalogue_text_cannot_drive_the_terminal_or_ping(bundled_db: Path) -> None:
    with sqlite3.connect(bundled_db) as conn:
        conn.execute("UPDATE talks SET title = ? WHERE slug = 'overview-and-state-of-linkerd'", (EVIL_TITLE,))
    conn.close()
    console, out = capture()
    assert await run_slack_sandbox(bundled_db, console, "/talk overview-and-state-of-linkerd", as_json=False) == 0
    shown = out.getvalue()
    assert "\x1b" not in shown and "\x9b" not in shown
    assert "Evil [31mred[0m 2J <!channel> talk" in shown  # the bot escaped the mention: shown as typed
    assert "@channel" not in shown
    console, out = capture()
    await run_slack_sandbox(bundled_db, console, "/talk overview-and-state-of-linkerd", as_json=True)
    assert "\x1b" not in out.getvalue() and "\x9b" not in out.getvalue()
    assert "Evil" in json.loads(out.getvalue())["text"]


def test_what_the_sandbox_draws_is_stripped_of_control_characters() -> None:
    evil = "x\x1b]8;;https://evil.example\x07y\x9b31m\u202ez\r\x00"
    message = Message(
        ts="1.000001",
        channel=GENERAL,
        user=USER,
        ephemeral=True,
        blocks=[
            {"type": "header", "text": {"type": "plain_text", "text": evil}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{evil}* <https://a.example|{evil}>"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": evil}]},
            {
                "type": "actions",
                "elements": [{"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": evil}}],
            },
        ],
    )
    console, out = capture()
    console.print(message_view(message, channels={GENERAL: "gen\x1b[2Jeral"}))
    shown = out.getvalue()
    for bad in ("\x1b", "\x07", "\x9b", "\u202e", "\r", "\x00"):
        assert bad not in shown
    assert "x]8;;https://evil.exampley31mz" in shown and "#gen[2Jeral" in shown


def test_mrkdwn_is_drawn_readably() -> None:
    text = (
        "*<https://x.example/?a=1&amp;b=2|A &amp; B>* &lt;!channel&gt; <!here> in <#C0GENERAL> by <@U0SANDBOX> "
        "at <!date^1700000000^{date_short}|14 Nov 2023> _quiet_ ~gone~ `co*de*` America/New_York"
    )
    drawn = mrkdwn_text(text, {"C0GENERAL": "general"}, {"U0SANDBOX": "you"})
    assert drawn.plain == (
        "A & B (https://x.example/?a=1&b=2) <!channel> @here in #general by @you at 14 Nov 2023 quiet gone co*de* "
        "America/New_York"
    )
    styles = {drawn.plain[span.start : span.end]: str(span.style) for span in drawn.spans}
    assert "bold" in styles["A & B"] and styles["quiet"] == "italic" and styles["gone"] == "strike"


async def test_highlights_setup_is_refused_to_members_and_works_for_admins(bundled_db: Path) -> None:
    console, out = capture()
    async with SlackSandbox(bundled_db, zone="Europe/Berlin") as sandbox:
        await interact(
            sandbox,
            console,
            [
                "/highlights setup time:09:00",
                "admin on",
                "/highlights setup time:09:00",
                "admin off",
                "/highlights pause 1",
            ],
        )
        assert not sandbox.admin
    refused, _, allowed, _, refused_again = out.getvalue().split("\n> ")
    assert "Only the workspace's admins" in refused
    assert "Scheduled: highlight #1" in allowed and "#general" in allowed and "Europe/Berlin" in allowed
    assert "Only the workspace's admins" in refused_again
    console, out = capture()
    assert await run_slack_sandbox(bundled_db, console, "/highlights setup time:10:00", as_json=False, admin=True) == 0
    assert "Scheduled: highlight #2" in out.getvalue()


async def test_a_channel_is_typed_as_in_slack(bundled_db: Path) -> None:
    console, out = capture()
    async with SlackSandbox(bundled_db, admin=True) as sandbox:
        assert sandbox.typed_text("channel:#random time:09:00 #nope") == "channel:<#C0RANDOM|random> time:09:00 #nope"
        await interact(sandbox, console, ["/highlights setup channel:#random time:09:00"])
    assert "I'm not in that channel" in out.getvalue()


@pytest.mark.parametrize(
    ("line", "message"),
    [("recommend x", "start with a slash"), ("/", "after the slash"), ("/nope x", "/nope is not a command")],
)
def test_lines_that_are_not_commands_get_a_friendly_error(line: str, message: str) -> None:
    with pytest.raises(UserFacingError, match=message):
        read_command(line)


def test_commands_keep_their_text() -> None:
    assert read_command('/Recommend  service mesh event:"kubecon eu" ') == (
        "recommend",
        'service mesh event:"kubecon eu"',
    )
    assert read_command("/events") == ("events", "")


def test_tab_completes_commands_subcommands_and_option_names() -> None:
    assert completions("/rec") == ["/recommend "]
    assert completions("/highlights se") == ["/highlights setup "]
    assert completions("/recommend mtls ev") == ["/recommend mtls event:"]
    assert completions("/highlights setup time:09:00 time") == ["/highlights setup time:09:00 timezone:"]
    assert completions("/recommend mtls event:kub") == []


def test_the_local_zone_is_read_from_tz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", ":America/New_York")
    assert local_zone() == "America/New_York"
    monkeypatch.setenv("TZ", "/usr/share/zoneinfo/Europe/Berlin")
    assert local_zone() == "Europe/Berlin"
    monkeypatch.setenv("TZ", "Not/AZone")
    assert local_zone()  # the system's zone, or UTC


def test_every_emoji_shortcode_the_app_writes_is_drawn() -> None:
    from bot.sandbox.slack import _EMOJI

    written = set()
    for path in (Path(__file__).resolve().parents[2] / "bot" / "platforms" / "slack").glob("*.py"):
        written |= set(re.findall(r"(?<![\w:{]):([a-z][a-z0-9_]+):(?![\w{])", path.read_text(encoding="utf-8")))
    assert "stopwatch" in written  # the scan finds them
    assert sorted(written - set(_EMOJI)) == []
