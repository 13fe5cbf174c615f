"""/highlights in Slack: scheduled highlight posts per channel, managed by the workspace's admins.

`/highlights setup channel:#general time:09:00 timezone:Europe/Berlin` (the channel defaults to the one the
command is typed in, the time zone to the member's own, from their Slack profile), then `list`, `status 3`,
`pause 3`, `resume 3`, `remove 3`, `preview 3`, `now 3` and `saved-first 3 off` (a new schedule posts the
talks the workspace's members saved most first in each round; `on` switches it back). `recordings #talks`
announces new recordings of the talks the schedules cover in a channel (`off` stops it; off by default).
The schedules are the same as Discord's, in the same tables (marked as Slack's), with the same guarantees;
Slack's workspace and channel ids are kept as numbers (`bot.services.ids.SlackIds`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.text import CommandSpec, UsageError, split
from bot.errors import UserFacingError
from bot.highlights.ports import Poster
from bot.highlights.service import HighlightService, ScheduleInfo
from bot.platforms.slack import blocks
from bot.recordings.announce import AnnouncementService
from bot.services.ids import SlackIds

Message = dict[str, Any]
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]{1,30})(?:\|[^>]*)?>$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{1,30}$")

SUBCOMMANDS = {
    spec.name: spec
    for spec in (
        CommandSpec(
            "highlights setup",
            ("channel", "time", "timezone", "cadence", "weekday", "topic", "event", "language"),
            ("time",),
            "/highlights setup channel:#general time:09:00 timezone:Europe/Berlin topic:security",
        ),
        CommandSpec("highlights list"),
        *(
            CommandSpec(f"highlights {name}", ("schedule",), ("schedule",), f"/highlights {name} 3")
            for name in ("status", "pause", "resume", "remove", "preview", "now")
        ),
        CommandSpec("highlights saved-first", ("schedule", "on"), ("schedule",), "/highlights saved-first 3 off"),
        CommandSpec("highlights recordings", ("channel",), (), "/highlights recordings channel:#talks (or off)"),
    )
}
READ_ONLY = frozenset({"list", "status", "preview"})  # anyone in the workspace may look
USAGE = (
    "/highlights setup | list | status <n> | pause <n> | resume <n> | remove <n> | preview <n> | now <n>"
    " | saved-first <n> on|off | recordings [#channel|off]"
)


class NotAnAdmin(UserFacingError):
    """Only the workspace's admins and owners may change its highlight schedules."""


async def check_admin(user: str, client: AsyncWebClient, what: str) -> None:
    """NotAnAdmin unless `user` is one of the workspace's admins or owners; `what` they would do, for the refusal."""
    try:
        found = (await client.users_info(user=user)).get("user") or {}
    except SlackApiError as error:
        raise UserFacingError(f"Slack would not say who you are ({error.response.get('error')}).") from error
    if not (found.get("is_admin") or found.get("is_owner") or found.get("is_primary_owner")):
        raise NotAnAdmin(
            f"Only the workspace's admins and owners (and the members the bot's operator names) can {what}."
        )


async def check_channel(channel: str, client: AsyncWebClient, then: str) -> None:
    """The app must be in the channel to post there; say so now rather than at the first post."""
    try:
        found = (await client.conversations_info(channel=channel)).get("channel") or {}
    except SlackApiError as error:
        code = error.response.get("error")
        if code == "channel_not_found":
            raise UserFacingError(f"I can't see that channel. Invite me there first (/invite), then {then}.") from error
        raise UserFacingError(f"Slack would not tell me about that channel ({code}).") from error
    if found.get("is_archived"):
        raise UserFacingError("That channel is archived: pick another one.")
    if not found.get("is_member"):
        raise UserFacingError("I'm not in that channel: invite me there with /invite, then try again.")


def read_channel(text: str) -> str:
    """A channel as Slack writes it in a command's text (`<#C123|general>`), or a bare channel id."""
    text = text.strip()
    found = _CHANNEL.match(text)
    if found:
        return found.group(1)
    if _CHANNEL_ID.match(text):
        return text
    raise UserFacingError(
        f"“{text[:80]}” is not a channel I can read. Pick the channel from the list Slack shows when you type #, "
        "or give its id (in the channel's details)."
    )


class SlackHighlights:
    """The /highlights command over the highlight service, for one Slack app."""

    def __init__(
        self,
        highlights: HighlightService,
        ids: SlackIds,
        client: AsyncWebClient | None,
        poster: Poster,
        *,
        managers: Sequence[str] = (),
        announcements: AnnouncementService | None = None,
    ) -> None:
        self.managers = frozenset(managers)  # members who may change schedules besides the admins and owners
        self.highlights = highlights
        self.ids = ids
        self.client = client
        self.poster = poster
        self.announcements = announcements

    async def answer(
        self, text: str, *, team: str, channel: str, user: str, request: str, client: AsyncWebClient | None = None
    ) -> Message:
        """The answer to `/highlights <text>`, typed by `user` in `channel`.

        `client` is the request's own: it carries the workspace's token when the app is installed in many.
        """
        client = client or self.client
        if client is None:
            raise RuntimeError("/highlights needs the request's Web API client")
        parts = split(text)
        words = parts.head.split(maxsplit=1)
        spec = SUBCOMMANDS.get(f"highlights {words[0]}") if words else None
        if spec is None:
            raise UsageError(
                "Say what to do with the highlights." if not words else f"No /highlights {words[0]}.", USAGE
            )
        options = spec.read(text.strip()[len(words[0]) :])
        handlers: dict[str, Callable[[dict[str, str], int, str, str, str, AsyncWebClient], Awaitable[Message]]] = {
            "setup": self._setup,
            "list": self._list,
            "status": self._status,
            "pause": self._pause,
            "resume": self._resume,
            "remove": self._remove,
            "preview": self._preview,
            "now": self._now,
            "saved-first": self._saved_first,
            "recordings": self._recordings,
        }
        name = spec.name.split()[1]
        if name not in READ_ONLY and user not in self.managers:
            await self._check_admin(user, client)
        guild = await self.ids.number(team)
        return await handlers[name](options, guild, channel, user, request, client)

    # -- subcommands -------------------------------------------------------------------------------------

    async def _setup(
        self, options: dict[str, str], guild: int, channel: str, user: str, request: str, client: AsyncWebClient
    ) -> Message:
        target = read_channel(options["channel"]) if "channel" in options else channel
        await self._check_channel(target, client)
        zone = options.get("timezone") or await self._zone_of(user, client)
        info = await self.highlights.setup(
            guild,
            await self.ids.number(target),
            options["time"],
            zone,
            options.get("cadence"),
            options.get("weekday"),
            options.get("topic"),
            options.get("event"),
            created_by=await self.ids.number(user),
            language=options.get("language"),
        )
        return blocks.schedule_message(info, await self._channels([info]), title=f"Scheduled: highlight #{info.id}")

    async def _list(
        self, options: dict[str, str], guild: int, channel: str, user: str, request: str, client: AsyncWebClient
    ) -> Message:
        infos = await self.highlights.list(guild)
        return blocks.schedules_message(infos, await self._channels(infos))

    async def _status(
        self, options: dict[str, str], guild: int, channel: str, user: str, request: str, client: AsyncWebClient
    ) -> Message:
        info = await self.highlights.status(guild, _number(options["schedule"]))
        return blocks.schedule_message(info, await self._channels([info]))

    async def _pause(
        self, options: dict[str, str], guild: int, channel: str, user: str, request: str, client: AsyncWebClient
    ) -> Message:
        info = await self.highlights.pause(guild, _number(options["schedule"]))
        return blocks.schedule_message(info, await self._channels([info]), title=f"Paused: highlight #{info.id}")

    async def _resume(
        self, options: dict[str, str], guild: int, channel: str, user: str, request: str, client: AsyncWebClient
    ) -> Message:
        info = await self.highlights.resume(guild, _number(options["schedule"]))
        return blocks.schedule_message(info, await self._channels([info]), title=f"Resumed: highlight #{info.id}")

    async def _saved_first(
        self, options: dict[str, str], guild: int, channel: str, user: str, request: str, client: AsyncWebClient
    ) -> Message:
        number, _, rest = options["schedule"].strip().partition(" ")  # "3 off": bare words fill the first option
        switch = (options.get("on") or rest).strip().casefold()
        if switch not in {"on", "off", "true", "false", "yes", "no"}:
            raise UsageError("Say `on` or `off`.", SUBCOMMANDS["highlights saved-first"].usage)
        on = switch in {"on", "true", "yes"}
        info = await self.highlights.prefer_saved(guild, _number(number), on)
        title = f"Highlight #{info.id}: {'saved talks first' if on else 'in rotation order'}"
        return blocks.schedule_message(info, await self._channels([info]), title=title)

    async def _recordings(
        self, options: dict[str, str], guild: int, channel: str, user: str, request: str, client: AsyncWebClient
    ) -> Message:
        if self.announcements is None:
            raise UserFacingError("This app does not announce new recordings.")
        given = options.get("channel", "").strip()
        if given.casefold() == "off":
            await self.announcements.set(guild, None, set_by=await self.ids.number(user))
            return blocks.notice_message("New recordings will no longer be announced.")
        if given:
            target = read_channel(given)
            await check_channel(target, client, "ask again")
            await self.announcements.set(guild, await self.ids.number(target), set_by=await self.ids.number(user))
            return blocks.notice_message(
                "New recordings of the talks this workspace's highlight schedules cover will be announced in"
                f" <#{target}>."
            )
        setting = await self.announcements.setting(guild)
        where = None if setting is None else await self.ids.slack_id(setting.channel_id)
        if where is None:
            return blocks.notice_message(
                "New recordings are not announced. `/highlights recordings #channel` turns that on."
            )
        return blocks.notice_message(
            f"New recordings of the talks this workspace's highlight schedules cover are announced in <#{where}>."
            " `/highlights recordings off` stops that."
        )

    async def _remove(
        self, options: dict[str, str], guild: int, channel: str, user: str, request: str, client: AsyncWebClient
    ) -> Message:
        info = await self.highlights.remove(guild, _number(options["schedule"]))
        return blocks.schedule_message(info, await self._channels([info]), title=f"Removed: highlight #{info.id}")

    async def _preview(
        self, options: dict[str, str], guild: int, channel: str, user: str, request: str, client: AsyncWebClient
    ) -> Message:
        talk = await self.highlights.preview(guild, _number(options["schedule"]))
        message = blocks.talk_message(
            talk,
            usual_language=self.highlights.catalogue.usual_language(),
            more_value=talk.slug,
            share_value=None,
            save_value=talk.slug,
        )
        message["blocks"].insert(0, blocks.context_block("Preview: the talk this schedule would post next"))
        return message

    async def _now(
        self, options: dict[str, str], guild: int, channel: str, user: str, request: str, client: AsyncWebClient
    ) -> Message:
        post = await self.highlights.post_now(guild, _number(options["schedule"]), self.poster, request_key=request)
        where = await self.ids.slack_id(post.schedule.channel_id)
        place = f"<#{where}>" if where else "its channel"
        return blocks.notice_message(f"Posted “{blocks.escape(post.talk.title)}” in {place}.")

    # -- Slack look-ups ----------------------------------------------------------------------------------

    @staticmethod
    async def _check_admin(user: str, client: AsyncWebClient) -> None:
        await check_admin(user, client, "change its highlight schedules")

    @staticmethod
    async def _zone_of(user: str, client: AsyncWebClient) -> str:
        try:
            found = (await client.users_info(user=user)).get("user") or {}
        except SlackApiError:
            found = {}
        zone = found.get("tz")
        if not zone:
            raise UserFacingError("I could not read your time zone from Slack: add timezone:Europe/Berlin (yours).")
        return str(zone)

    @staticmethod
    async def _check_channel(channel: str, client: AsyncWebClient) -> None:
        await check_channel(channel, client, "set up the highlights")

    async def _channels(self, infos: list[ScheduleInfo]) -> dict[int, str]:
        found = {}
        for info in infos:
            slack = await self.ids.slack_id(info.channel_id)
            if slack is not None:
                found[info.channel_id] = slack
        return found


def _number(text: str) -> int:
    cleaned = text.strip().lstrip("#")
    if not cleaned.isdigit() or not 0 < int(cleaned) < 2**62:
        raise UserFacingError(f"“{text[:40]}” is not a schedule number: see /highlights list.")
    return int(cleaned)
