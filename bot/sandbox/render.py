"""What the bot sent, drawn for a terminal: embeds as panels, controls numbered so typing a number clicks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

# Discord's markdown lets a backslash make any ASCII punctuation literal.
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
# While markdown is read, each escaped character stands in the Private Use Area, where no syntax can see it.
_HIDDEN = 0xE000
_SHOWN = {_HIDDEN + code: chr(code) for code in range(0x21, 0x7F)}
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_TIMESTAMP = re.compile(r"<t:(-?\d{1,12})(?::([tTdDfFR]))?>")
_CHANNEL = re.compile(r"<#(\d{1,20})>")
_UNITS = (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60))

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<!\*)\*([^*\n]+)\*(?!\*)")


@dataclass(frozen=True, slots=True)
class Control:
    """A numbered control: a button, or one option of a select menu."""

    number: int
    custom_id: str
    label: str
    value: str | None = None  # the option's value for a select
    disabled: bool = False


def _hide_escapes(text: str) -> str:
    return _ESCAPED.sub(lambda m: chr(_HIDDEN + ord(m.group(1))), text)


def _literal(text: str) -> str:
    return text.translate(_SHOWN)


def relative(seconds: float) -> str:
    """A time from now as Discord shows `<t:…:R>`: 'in 2 hours', '3 days ago'."""
    span = abs(seconds)
    for unit, size in _UNITS:
        if span >= size:
            count = round(span / size)
            words = f"{count} {unit}{'s' if count != 1 else ''}"
            break
    else:
        words = "a few seconds"
    return f"in {words}" if seconds >= 0 else f"{words} ago"


def readable_mentions(text: str, channels: Mapping[int, str] | None = None, now: datetime | None = None) -> str:
    """Channel mentions and timestamps as a Discord client shows them (times in UTC, the sandbox's zone)."""
    moment = now or datetime.now(UTC)

    def timestamp(match: re.Match[str]) -> str:
        at = datetime.fromtimestamp(int(match.group(1)), UTC)
        if match.group(2) == "R":
            return relative((at - moment).total_seconds())
        return at.strftime("%a %d %b %Y %H:%M UTC")

    def channel(match: re.Match[str]) -> str:
        return "#" + (channels or {}).get(int(match.group(1)), "unknown-channel")

    return _CHANNEL.sub(channel, _TIMESTAMP.sub(timestamp, text))


def discord_text(text: str, channels: Mapping[int, str] | None = None) -> Text:
    """Discord markdown to styled terminal text: links shown with their address, escaped characters literal."""
    text = readable_mentions(text, channels)
    text = _LINK.sub(lambda m: f"{m.group(1)} <{m.group(2)}>", _hide_escapes(text))
    out = Text()
    position = 0
    for match in _BOLD.finditer(text):
        out.append(_plain(text[position : match.start()]))
        bold = _plain(match.group(1))
        bold.stylize("bold")
        out.append(bold)
        position = match.end()
    out.append(_plain(text[position:]))
    return out


def _plain(text: str) -> Text:
    result = Text()
    position = 0
    for match in _ITALIC.finditer(text):
        result.append(_literal(text[position : match.start()]))
        result.append(_literal(match.group(1)), style="italic")  # a str: a style may be given
        position = match.end()
    result.append(_literal(text[position:]))
    return result


def embed_panel(embed: dict[str, Any], channels: Mapping[int, str] | None = None) -> Panel:
    """One embed as a panel: author, linked title, description, fields, footer."""
    parts: list[RenderableType] = []
    if embed.get("author", {}).get("name"):
        parts.append(Text(embed["author"]["name"], style="magenta"))
    if embed.get("url"):
        parts.append(Text(embed["url"], style="cyan underline"))
    if embed.get("description"):
        parts.append(discord_text(embed["description"], channels))
    for field in embed.get("fields", []):
        line = discord_text(field["name"], channels)
        line.stylize("bold green")
        line.append("\n")
        line.append(discord_text(field["value"], channels))
        parts.append(line)
    footer = embed.get("footer", {}).get("text")
    title = discord_text(embed.get("title", "")) if embed.get("title") else None
    if title is not None:
        title.stylize("bold")
    return Panel(
        Group(*[item for part in parts for item in (part, Text(""))][:-1]) if parts else Text(""),
        title=title,
        title_align="left",
        subtitle=Text(footer, style="dim") if footer else None,
        subtitle_align="left",
        border_style="green",
    )


def controls_of(components: list[dict[str, Any]]) -> list[Control]:
    """Every usable control of a message, numbered from 1 in reading order."""
    found: list[Control] = []
    for row in components:
        for item in row.get("components", []):
            disabled = bool(item.get("disabled"))
            if item.get("type") == 2 and item.get("custom_id"):
                label = " ".join(x for x in (item.get("emoji", {}).get("name"), item.get("label")) if x)
                found.append(Control(len(found) + 1, item["custom_id"], label or "button", None, disabled))
            elif item.get("type") == 3:
                placeholder = item.get("placeholder") or "choose"
                for option in item.get("options", []):
                    label = f"{placeholder} {option['label']}"
                    found.append(Control(len(found) + 1, item["custom_id"], label, option["value"], disabled))
    return found


def message_view(
    payload: dict[str, Any], controls: list[Control], channels: Mapping[int, str] | None = None
) -> RenderableType:
    """A whole message: content, embeds, and its numbered controls."""
    parts: list[RenderableType] = []
    if payload.get("flags", 0) & 64:
        parts.append(Text("Only you can see this", style="dim italic"))
    if payload.get("content"):
        parts.append(discord_text(payload["content"], channels))
    parts.extend(embed_panel(embed, channels) for embed in payload.get("embeds") or [])
    if controls:
        lines = Text()
        for control in controls:
            style = "dim strike" if control.disabled else "bold cyan"
            lines.append(f"[{control.number}] ", style=style)
            lines.append(control.label + "\n", style="dim" if control.disabled else "")
        parts.append(lines)
    return Group(*parts)
