"""The app manifest in the repository creates the app the code serves: its commands, scopes and events."""

from __future__ import annotations

import re
from pathlib import Path

from bot.platforms.slack.app import BOT_SCOPES, COMMANDS, INSTALL_PATH, REDIRECT_PATH

MANIFEST = Path(__file__).resolve().parents[2] / "slack-manifest.yml"
# Slack's own slash commands, which no app may declare ("the slash command has an invalid name"); the list
# of NousResearch/hermes-agent#18456, which hit the same refusal.
SLACK_BUILT_IN = frozenset(
    {"status", "me", "join", "away", "dnd", "shrug", "remind", "msg", "feed", "who", "collapse", "expand", "leave",
     "open", "search", "topic", "mute", "pro", "shortcuts"}
)  # fmt: skip


def _listed(text: str, section: str) -> list[str]:
    """The `- item` lines under `section:` (the manifest's indentation is fixed)."""
    found = re.search(rf"^(\s*){section}:\n((?:\1\s+- .*\n)+)", text, re.MULTILINE)
    assert found, f"no {section} in the manifest"
    return [line.strip()[2:] for line in found.group(2).splitlines()]


def test_the_manifest_declares_every_command_and_scope_the_app_has():
    text = MANIFEST.read_text(encoding="utf-8")
    commands = set(re.findall(r"^\s*- command: /(\S+)", text, re.MULTILINE))
    assert commands == {*COMMANDS, "highlights", "live", "catalog"}
    assert {"remind-me", "reminders"} <= commands
    # Slack refuses a manifest that claims one of its own commands, and with it every command of the app.
    assert not commands & SLACK_BUILT_IN, commands & SLACK_BUILT_IN
    assert set(_listed(text, "bot")) == set(BOT_SCOPES)
    # Reminders arrive in the member's DM with the app (im:write); im:history settles one whose answer was lost.
    assert {"im:write", "im:history", "users:read"} <= set(BOT_SCOPES)
    assert set(_listed(text, "bot_events")) == {"app_home_opened", "app_uninstalled", "tokens_revoked"}
    # /watchlist export sends the calendar in the member's direct messages with the app: its Messages tab.
    assert re.search(r"^\s*messages_tab_enabled: true\b", text, re.MULTILINE)
    assert REDIRECT_PATH in text and "/slack/events" in text and INSTALL_PATH.startswith("/slack/")
    # /highlights and /live read channels as Slack escapes them (<#C123|general>); the others take words as typed.
    entries = text.split("- command: /")[1:]
    escaped = [entry.split()[0] for entry in entries if "should_escape: true" in entry.split("- command:")[0]]
    assert escaped == ["highlights", "live"]
