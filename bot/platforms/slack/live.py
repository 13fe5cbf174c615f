"""/live in Slack: during a conference, announce its talks shortly before they start, and its programme's changes.

`/live setup event:fosdem-2026 channel:#talks lead:5 changes:#news` (the channel defaults to the one the
command is typed in), `/live room event:… room:"Main hall" channel:#main-hall` (without a channel, the room's
talks go to the setup's channel again), `/live status` and `/live stop event:…`. For the workspace's admins and
owners and the members `SLACK_HIGHLIGHTS_MANAGERS` names, as /highlights is. The setups are Discord's, in the
same tables (marked as Slack's), with the same guarantees (`bot.live`); Slack's workspace and channel ids are
kept as numbers (`bot.services.ids.SlackIds`). The notices are posted by the engine of the Slack app's
scheduler through `bot.platforms.slack.posting.SlackLivePoster`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.text import CommandSpec, UsageError, split
from bot.errors import UserFacingError
from bot.live.service import LiveService
from bot.live.store import LiveSetup
from bot.platforms.slack import blocks
from bot.platforms.slack.highlights import check_admin, check_channel, read_channel
from bot.services.ids import SlackIds

Message = dict[str, Any]
COMING_TALKS = 4  # titles named per start time in /live status

SUBCOMMANDS = {
    spec.name: spec
    for spec in (
        CommandSpec(
            "live setup",
            ("event", "channel", "lead", "changes"),
            ("event",),
            "/live setup event:fosdem-2026 channel:#talks lead:5 changes:#news",
        ),
        CommandSpec(
            "live room",
            ("event", "room", "channel"),
            ("event", "room"),
            '/live room event:fosdem-2026 room:"Main hall"',
        ),
        CommandSpec("live status"),
        CommandSpec("live stop", ("event",), ("event",), "/live stop event:fosdem-2026"),
    )
}
USAGE = (
    "/live setup event:… [channel:#…] [lead:5] [changes:#…] | room event:… room:… [channel:#…] | status | stop event:…"
)
_UNESCAPED = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))  # /live's text comes escaped (its channels as <#C…>)


def _unescape(text: str) -> str:
    for written, char in _UNESCAPED:
        text = text.replace(written, char)
    return text


def _lead(text: str | None) -> int:
    if text is None:
        return 5
    cleaned = text.strip().removesuffix("min").strip()
    if not cleaned.isdigit() or not 1 <= int(cleaned) <= 120:
        raise UserFacingError(f"lead: “{text[:20]}” is not a number of minutes from 1 to 120.")
    return int(cleaned)


class SlackLive:
    """The /live command over the live service, for one Slack app."""

    def __init__(
        self, live: LiveService, ids: SlackIds, client: AsyncWebClient | None, *, managers: Sequence[str] = ()
    ) -> None:
        self.live = live
        self.ids = ids
        self.client = client
        self.managers = frozenset(managers)  # members who may set up live mode besides the admins and owners

    async def answer(
        self, text: str, *, team: str, channel: str, user: str, client: AsyncWebClient | None = None
    ) -> Message:
        """The answer to `/live <text>`, typed by `user` in `channel` (`client`: the request's, with its token)."""
        client = client or self.client
        if client is None:
            raise RuntimeError("/live needs the request's Web API client")
        parts = split(text)
        words = parts.head.split(maxsplit=1)
        spec = SUBCOMMANDS.get(f"live {words[0]}") if words else None
        if spec is None:
            raise UsageError(
                "Say what to do: setup, room, status or stop." if not words else f"No /live {words[0]}.", USAGE
            )
        options = {key: _unescape(value) for key, value in spec.read(text.strip()[len(words[0]) :]).items()}
        if user not in self.managers:
            await check_admin(user, client, "set up live mode")
        guild = await self.ids.number(team)
        handlers: dict[str, Callable[[dict[str, str], int, str, str, AsyncWebClient], Awaitable[Message]]] = {
            "setup": self._setup,
            "room": self._room,
            "status": self._status,
            "stop": self._stop,
        }
        return await handlers[spec.name.split()[1]](options, guild, channel, user, client)

    # -- subcommands -------------------------------------------------------------------------------------

    async def _setup(
        self, options: dict[str, str], guild: int, channel: str, user: str, client: AsyncWebClient
    ) -> Message:
        target = read_channel(options["channel"]) if "channel" in options else channel
        await check_channel(target, client, "set up live mode")
        changes = read_channel(options["changes"]) if "changes" in options else None
        if changes is not None and changes != target:
            await check_channel(changes, client, "set up live mode")
        lead = _lead(options.get("lead"))
        setup = await self.live.setup(
            guild,
            await self.ids.number(target),
            options["event"],
            lead_minutes=lead,
            changes_channel_id=None if changes is None else await self.ids.number(changes),
            created_by=await self.ids.number(user),
        )
        return blocks.notice_message(await self._setup_text(setup))

    async def _room(
        self, options: dict[str, str], guild: int, channel: str, user: str, client: AsyncWebClient
    ) -> Message:
        target = read_channel(options["channel"]) if "channel" in options else None
        if target is not None:
            await check_channel(target, client, "give the room its channel")
        number = None if target is None else await self.ids.number(target)
        setup = await self.live.set_room(guild, options["event"], options["room"], number)
        return blocks.notice_message(await self._setup_text(setup))

    async def _status(
        self, options: dict[str, str], guild: int, channel: str, user: str, client: AsyncWebClient
    ) -> Message:
        setups = await self.live.setups(guild)
        if not setups:
            return blocks.notice_message("No conference is set up live here: `/live setup event:…`.")
        lines = []
        for setup in setups:
            lines.append(await self._setup_text(setup))
            coming = await self.live.coming(setup)
            for start, talks in coming:
                titles = ", ".join(blocks.escape(t.title, 80) for t in talks[:COMING_TALKS])
                more = f" and {len(talks) - COMING_TALKS} more" if len(talks) > COMING_TALKS else ""
                lines.append(f"• *{start:%a %H:%M}* · {titles}{more}")
            if not coming:
                lines.append("Nothing more to announce.")
            lines.append("")
        return blocks.lines_message("Live conferences", lines)

    async def _stop(
        self, options: dict[str, str], guild: int, channel: str, user: str, client: AsyncWebClient
    ) -> Message:
        stopped = await self.live.stop(guild, options["event"])
        return blocks.notice_message(
            "Stopped: no more live notices for that event here." if stopped else "That event was not live here."
        )

    # -- text --------------------------------------------------------------------------------------------

    async def _channel(self, number: int) -> str:
        slack = await self.ids.slack_id(number)
        return f"<#{slack}>" if slack else "a channel no longer known"

    async def _setup_text(self, setup: LiveSetup) -> str:
        """Where and when a setup announces, its rooms' own channels too (Slack links channels, pinging nobody)."""
        text = (
            f"*Live: {blocks.escape(setup.event, 200)}*\nTalks are announced in {await self._channel(setup.channel_id)}"
            f" {setup.lead_minutes} minutes before they start; programme changes go to"
            f" {await self._channel(setup.changes_channel)}."
        )
        rooms = [
            f"\n• {blocks.escape(room, 60)} → {await self._channel(number)}"
            for room, number in sorted(setup.rooms.items())
        ]
        if rooms:
            text += "\nRooms with their own channel:" + "".join(rooms)
        return text
