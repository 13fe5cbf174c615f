"""Posting highlights to Discord channels for the scheduler, with Discord's failures told apart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any, Protocol

import aiohttp
import discord

from bot.catalogue.service import CatalogueService
from bot.domain.text import TALK_ID_MAX
from bot.highlights.ports import (
    ChannelGone,
    GuildGone,
    MissingPermissions,
    PostResult,
    Schedule,
    TalkGone,
    TransientError,
    UnknownOutcome,
)
from bot.highlights.service import heading_for
from bot.live.notices import ChangeNotice, UpNext
from bot.platforms.discord import embeds
from bot.platforms.discord.internals import message_payload, send_payload
from bot.platforms.discord.views import TalkPager
from bot.recordings.announce import RecordingsNotice
from bot.services.container import Services
from bot.watchlist.reminders import DirectMessagesClosed, Reminder

log = logging.getLogger(__name__)

POST_TIMEOUT = 30.0
PAYLOAD_CACHE = 1024  # talk highlights kept ready to send (a few KB each)
NEEDED = ("view_channel", "send_messages", "embed_links")
_UNKNOWN_CHANNEL = 10003
_UNKNOWN_GUILD = 10004
_MISSING_ACCESS = 50001
_MISSING_PERMISSIONS = 50013
_CANNOT_MESSAGE_USER = 50007  # the user's privacy settings close their direct messages to the bot


def missing_permissions(channel: discord.abc.GuildChannel, me: discord.Member) -> tuple[str, ...]:
    """Which of the permissions a highlight post needs the bot lacks in `channel`."""
    permissions = channel.permissions_for(me)
    return tuple(name for name in NEEDED if not getattr(permissions, name))


def permission_names(missing: tuple[str, ...]) -> str:
    """'View Channel, Embed Links' from ('view_channel', 'embed_links')."""
    return ", ".join(name.replace("_", " ").title() for name in missing)


class _WithServices(Protocol):
    """A client that carries the services (the bot's client does, from its `setup_hook` on)."""

    @property
    def services(self) -> Services:
        """The services built when the client started."""


_SLUG = rf"[a-z0-9-]{{1,{TALK_ID_MAX}}}"  # a talk id as the importers make it
_BUTTON_SLUG = re.compile(_SLUG)


class MoreLikeThisButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=rf"more:(?P<slug>{_SLUG})"
):
    """A "More like this" button that keeps working after a restart (its talk is in its custom id)."""

    def __init__(self, slug: str) -> None:
        super().__init__(
            discord.ui.Button(label="More like this", style=discord.ButtonStyle.primary, custom_id=f"more:{slug}")
        )
        self.slug = slug

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[discord.ui.View], match: re.Match[str], /
    ) -> MoreLikeThisButton:
        """Rebuild the button from a click."""
        return cls(match["slug"])

    async def callback(self, interaction: discord.Interaction) -> None:
        """Show the clicker, privately, the talks like this one."""
        client: _WithServices = interaction.client  # type: ignore[assignment]
        catalogue = client.services.catalogue
        if await catalogue.stale():  # the answer waits for a reload: defer, Discord allows 3 seconds
            await interaction.response.defer(ephemeral=True, thinking=True)
        source, results = await catalogue.similar(self.slug, limit=15)
        view = TalkPager(
            interaction.user.id, f"More like “{source.title}”", results,
            lambda i, slug: MoreLikeThisButton(slug).callback(i), timeout=client.services.view_timeout,
            on_save=save_for,
        )  # fmt: skip
        if interaction.response.is_done():
            view.message = await interaction.followup.send(embed=view.embed(), view=view, ephemeral=True, wait=True)
        else:
            await interaction.response.send_message(embed=view.embed(), view=view, ephemeral=True)


def member_key(user: discord.abc.User) -> str:
    """The member a Discord user is, to the watch lists (the same in every server, in DMs and user installs)."""
    return f"discord:{user.id}"


def saved_place(interaction: discord.Interaction) -> str | None:
    """Where a save counts for highlight schedules: the server it was made in (None in direct messages)."""
    return None if interaction.guild_id is None else f"discord:{interaction.guild_id}"


class SaveButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=rf"save:(?P<slug>{_SLUG})"):
    """A "Save" button: puts the talk on the clicker's own watch list, answered privately; works after restarts."""

    def __init__(self, slug: str) -> None:
        super().__init__(
            discord.ui.Button(label="Save", emoji="🔖", style=discord.ButtonStyle.secondary, custom_id=f"save:{slug}")
        )
        self.slug = slug

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[discord.ui.View], match: re.Match[str], /
    ) -> SaveButton:
        """Rebuild the button from a click."""
        return cls(match["slug"])

    async def callback(self, interaction: discord.Interaction) -> None:
        """Save the talk for whoever clicked, and say so to them alone."""
        await save_for(interaction, self.slug)


async def save_for(interaction: discord.Interaction, slug: str) -> None:
    """Save the talk `slug` to the watch list of whoever clicked or picked, and say so to them alone."""
    client: _WithServices = interaction.client  # type: ignore[assignment]
    saved, newly = await client.services.watchlist.save(
        member_key(interaction.user), slug, place=saved_place(interaction)
    )
    title = embeds.safe(saved.title, 200)
    text = (
        f"Saved “{title}” to your watch list (`/watchlist show`)."
        if newly
        else f"“{title}” is already on your watch list."
    )
    await interaction.response.send_message(text, ephemeral=True)


def highlight_view(slug: str) -> discord.ui.View:
    """A talk's lasting controls, under a highlight or a /talk card: "More like this" and "Save".

    Each is answered privately to whoever clicks; none is added for an id too long for a button's custom id.
    """
    view = discord.ui.View(timeout=None)
    if _BUTTON_SLUG.fullmatch(slug):
        view.add_item(MoreLikeThisButton(slug))
        view.add_item(SaveButton(slug))
    else:  # Discord would refuse the whole message over one custom id longer than 100 characters
        log.warning("talk %r: its id does not fit a button; posting its highlight without 'More like this'", slug)
    return view


async def send_to_channel(
    bot: discord.Client, guild_id: int, channel_id: int, payload: dict[str, Any], nonce: str
) -> PostResult:
    """Post a message body to a server's channel with a nonce (Discord drops a repeat).

    The channel and the bot's permissions there are checked first; Discord's answers become PostFailures.
    """
    if not bot.is_ready():  # after a fresh session the servers stream in again: wait, do not fail
        try:
            await asyncio.wait_for(bot.wait_until_ready(), POST_TIMEOUT)
        except TimeoutError:
            raise TransientError("the bot is not connected to Discord yet") from None
    guild = bot.get_guild(guild_id)
    if guild is None:
        raise GuildGone
    if guild.unavailable:
        raise TransientError("Discord reports this server as temporarily unavailable")
    channel = guild.get_channel(channel_id)
    if channel is None:
        raise ChannelGone
    if not isinstance(channel, discord.TextChannel):
        raise ChannelGone
    missing = missing_permissions(channel, guild.me)
    if missing:
        raise MissingPermissions(tuple(permission_names((m,)) for m in missing))
    body = {**payload, "nonce": nonce, "enforce_nonce": True}
    try:
        message = await asyncio.wait_for(send_payload(bot.http, channel.id, body), POST_TIMEOUT)
    except discord.NotFound as exc:
        if exc.code == _UNKNOWN_GUILD:
            raise GuildGone from exc
        raise ChannelGone from exc
    except discord.Forbidden as exc:
        if exc.code == _MISSING_ACCESS:
            raise MissingPermissions(("View Channel",)) from exc
        raise MissingPermissions(("Send Messages", "Embed Links")) from exc
    except discord.DiscordServerError as exc:
        raise TransientError(f"Discord answered {exc.status}") from exc
    except discord.HTTPException as exc:
        raise TransientError(f"Discord refused the post ({exc.status}: {exc.text[:100]})") from exc
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise UnknownOutcome(f"no answer from Discord ({type(exc).__name__})") from exc
    return PostResult(int(message["id"]))


class DiscordPoster:
    """The scheduler's Poster: sends a talk's highlight embed to a schedule's channel.

    The message of a talk under a heading is built once per catalogue version and kept (up to
    `PAYLOAD_CACHE`): when thousands of servers share a time they mostly post the same few talks. It is
    sent through discord.py's HTTP client, which keeps Discord's rate limits, without building a `Message`
    from the answer (only its id is kept) or storing a view per message: the "More like this" button is a
    `DynamicItem`, answered from its custom id whichever message it is on.
    """

    def __init__(self, bot: discord.Client, catalogue: CatalogueService) -> None:
        self.bot = bot
        self.catalogue = catalogue
        self._payloads: dict[tuple[str, str], dict[str, Any]] = {}
        self._version: int | None = None

    async def post(self, schedule: Schedule, talk: str, nonce: str) -> PostResult:
        """Post with the slot's nonce (Discord drops a repeat); map Discord's answers to PostFailures."""
        payload = await self._payload(talk, heading_for(schedule.rule))
        return await send_to_channel(self.bot, schedule.guild_id, schedule.channel_id, payload, nonce)

    async def _payload(self, slug: str, heading: str) -> dict[str, Any]:
        """The message for a talk under a heading, as discord.py would send it (mentions off); TalkGone if gone."""
        version = await self.catalogue.repo.version()
        if version != self._version:
            self._payloads, self._version = {}, version
        payload = self._payloads.get((slug, heading))
        if payload is None:
            found = await self.catalogue.talk_by_slug(slug)
            if found is None:
                raise TalkGone(slug)
            embed = embeds.talk_embed(found, heading=heading, usual_language=self.catalogue.usual_language())
            view = highlight_view(found.slug)
            payload = message_payload(embed=embed, view=view, allowed_mentions=self.bot.allowed_mentions)
            if len(self._payloads) >= PAYLOAD_CACHE:
                self._payloads.clear()
            self._payloads[(slug, heading)] = payload
        return payload


class DiscordReminderSender:
    """The reminders' sender: a direct message to the member, with the reminder's nonce (Discord drops a repeat).

    The DM channel of each member is opened once (`POST /users/@me/channels`, by `open`, which the engine
    calls under a rate-limit grant of its own) and its id kept for the process's life; closed direct
    messages (403, code 50007) fail the reminder for good.
    """

    def __init__(self, bot: discord.Client, catalogue: CatalogueService) -> None:
        self.bot = bot
        self.catalogue = catalogue
        self._channels: dict[int, int] = {}  # user id -> DM channel id

    def is_open(self, reminder: Reminder) -> bool:
        """Whether the member's DM channel is known already."""
        return int(reminder.address) in self._channels

    async def open(self, reminder: Reminder) -> str:
        """Open the member's DM channel (one request) and keep its id; map Discord's answers to PostFailures."""
        user_id = int(reminder.address)
        with self._failures(user_id):
            return str(await self._channel(user_id))

    async def remind(self, reminder: Reminder, nonce: str) -> PostResult:
        """Send the reminder (opening the DM channel first if `open` was not called); map Discord's answers."""
        user_id = int(reminder.address)
        talk = await self.catalogue.talk_by_slug(reminder.talk)
        view = highlight_view(talk.slug) if talk is not None else discord.ui.View(timeout=None)
        payload = message_payload(
            embed=embeds.reminder_embed(reminder, talk), view=view, allowed_mentions=discord.AllowedMentions.none()
        )
        body = {**payload, "nonce": nonce, "enforce_nonce": True}
        with self._failures(user_id):
            channel_id = await self._channel(user_id)
            message = await asyncio.wait_for(send_payload(self.bot.http, channel_id, body), POST_TIMEOUT)
        return PostResult(int(message["id"]))

    async def _channel(self, user_id: int) -> int:
        channel_id = self._channels.get(user_id)
        if channel_id is None:
            opened = await asyncio.wait_for(self.bot.http.start_private_message(user_id), POST_TIMEOUT)
            channel_id = self._channels[user_id] = int(opened["id"])
        return channel_id

    @contextlib.contextmanager
    def _failures(self, user_id: int) -> Iterator[None]:
        """Discord's answers to a direct message (or to opening one) as PostFailures."""
        try:
            yield
        except discord.Forbidden as exc:
            if exc.code == _CANNOT_MESSAGE_USER:
                raise DirectMessagesClosed from exc
            raise TransientError(f"Discord refused the direct message ({exc.code})") from exc
        except discord.NotFound as exc:
            self._channels.pop(user_id, None)
            raise TransientError("Discord does not know the direct message channel") from exc
        except discord.DiscordServerError as exc:
            raise TransientError(f"Discord answered {exc.status}") from exc
        except discord.HTTPException as exc:
            if exc.status == 400:
                raise DirectMessagesClosed from exc
            raise TransientError(f"Discord refused the direct message ({exc.status})") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise UnknownOutcome(f"no answer from Discord ({type(exc).__name__})") from exc


class DiscordLivePoster:
    """Live mode's poster: "Starting in 5 minutes" and change notices, in a server's channels."""

    def __init__(self, bot: discord.Client) -> None:
        self.bot = bot

    async def up_next(self, guild_id: int, channel_id: int, notice: UpNext, nonce: str) -> PostResult:
        """Post the talks about to start."""
        return await self._send(guild_id, channel_id, embeds.up_next_embed(notice), nonce)

    async def changes(self, guild_id: int, channel_id: int, notice: ChangeNotice, nonce: str) -> PostResult:
        """Post a batch of programme changes."""
        return await self._send(guild_id, channel_id, embeds.changes_embed(notice), nonce)

    async def _send(self, guild_id: int, channel_id: int, embed: discord.Embed, nonce: str) -> PostResult:
        payload = message_payload(embed=embed, view=discord.ui.View(), allowed_mentions=discord.AllowedMentions.none())
        return await send_to_channel(self.bot, guild_id, channel_id, payload, nonce)


class DiscordAnnouncementPoster:
    """The announcements' poster: "5 new recordings from KubeCon EU 2021" in a server's channel."""

    def __init__(self, bot: discord.Client) -> None:
        self.bot = bot

    async def announce(self, guild_id: int, channel_id: int, notice: RecordingsNotice, nonce: str) -> PostResult:
        """Post the new recordings with the post's nonce (Discord drops a repeat)."""
        embed = embeds.recordings_embed(notice)
        payload = message_payload(embed=embed, view=discord.ui.View(), allowed_mentions=discord.AllowedMentions.none())
        return await send_to_channel(self.bot, guild_id, channel_id, payload, nonce)
