"""/live: during a conference, announce its talks shortly before they start, and its programme's changes.

For members with Manage Server. The notices are posted by the scheduler's engine (see `bot.live.jobs`,
registered with the highlights' scheduler in `cogs.highlights.setup`). The cog also polls the schedules the
bot's owner follows (`/catalog follow`), whose changes become change notices.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalogue.service import CatalogueService
from bot.errors import UserFacingError
from bot.live.follow import Follow, FollowService, ScheduleChange
from bot.live.service import LiveService
from bot.live.store import LiveSetup
from bot.platforms.discord import embeds
from bot.platforms.discord.posting import missing_permissions, permission_names
from cogs.replies import fail_soft, send

if TYPE_CHECKING:
    from bot.platforms.discord.client import HighlightsBot


def _postable(guild: discord.Guild, channel: discord.abc.GuildChannel) -> discord.TextChannel:
    target = guild.get_channel(channel.id)
    if not isinstance(target, discord.TextChannel):
        raise UserFacingError("Pick a text or announcement channel for the notices.")
    missing = missing_permissions(target, guild.me)
    if missing:
        raise UserFacingError(f"I can't post in {target.mention}: I need {permission_names(missing)} there.")
    return target


def _setup_text(setup: LiveSetup) -> str:
    rooms = "".join(f"\n• {embeds.safe(room, 60)} → <#{channel}>" for room, channel in sorted(setup.rooms.items()))
    return (
        f"Live: talks are announced in <#{setup.channel_id}> {setup.lead_minutes} minutes before they start;"
        f" programme changes go to <#{setup.changes_channel}>."
        + (f" Rooms with their own channel:{rooms}" if rooms else "")
    )


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class LiveCog(commands.GroupCog, group_name="live", group_description="Announce a conference's talks as they start"):
    """Live setups of a server."""

    def __init__(self, live: LiveService, catalogue: CatalogueService, follows: FollowService) -> None:
        self.live = live
        self.catalogue = catalogue
        self.follows = follows
        self._tasks: list[asyncio.Task[None]] = []
        super().__init__()

    async def cog_load(self) -> None:
        """Poll the followed schedules as they fall due; their changes (and others') become live notices."""
        self._tasks = [
            asyncio.create_task(self.follows.run(self._tell), name="followed-schedules"),
            asyncio.create_task(self.live.watch_changes(), name="programme-changes"),
        ]

    async def cog_unload(self) -> None:
        """Stop polling."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _tell(self, follow: Follow, changes: Sequence[ScheduleChange]) -> None:
        await self.live.take_changes()  # the poll recorded them; told at once rather than at the next look

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Manage Server is needed at run time too: server settings can override the default."""
        if not interaction.permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        return True

    @app_commands.command(name="setup")
    @app_commands.describe(
        event="The conference, as the catalogue names it",
        channel="Where to announce the talks about to start",
        lead="How many minutes before each start (5 unless given)",
        changes="Where programme changes are told (the same channel unless given)",
    )
    async def setup_live(
        self,
        interaction: discord.Interaction,
        event: app_commands.Range[str, 1, 100],
        channel: discord.TextChannel,
        lead: app_commands.Range[int, 1, 120] = 5,
        changes: discord.TextChannel | None = None,
    ) -> None:
        """Announce a conference's talks shortly before they start, and tell what changes in its programme."""
        guild = interaction.guild
        assert guild is not None  # noqa: S101 - guild_only
        target = _postable(guild, channel)
        changes_target = _postable(guild, changes) if changes is not None else None
        setup = await self.live.setup(
            guild.id,
            target.id,
            event,
            lead_minutes=lead,
            changes_channel_id=changes_target.id if changes_target else None,
            created_by=interaction.user.id,
        )
        await send(interaction, content=_setup_text(setup), ephemeral=True)

    @app_commands.command(name="room")
    @app_commands.describe(
        event="The conference", room="A room of its programme", channel="The room's own channel (none: the main one)"
    )
    async def room(
        self,
        interaction: discord.Interaction,
        event: app_commands.Range[str, 1, 100],
        room: app_commands.Range[str, 1, 100],
        channel: discord.TextChannel | None = None,
    ) -> None:
        """Announce one room's talks in a channel of its own."""
        guild = interaction.guild
        assert guild is not None  # noqa: S101 - guild_only
        target = _postable(guild, channel) if channel is not None else None
        setup = await self.live.set_room(guild.id, event, room, target.id if target else None)
        await send(interaction, content=_setup_text(setup), ephemeral=True)

    @app_commands.command(name="status")
    async def status(self, interaction: discord.Interaction) -> None:
        """What comes next in the server's live conferences."""
        assert interaction.guild_id is not None  # noqa: S101 - guild_only
        setups = await self.live.setups(interaction.guild_id)
        if not setups:
            await send(interaction, content="No conference is set up live here: `/live setup`.", ephemeral=True)
            return
        parts = []
        for setup in setups:
            coming = await self.live.coming(setup)
            lines = [
                f"**{start:%a %H:%M}** · "
                + ", ".join(embeds.safe(t.title, 80) for t in talks[:4])
                + (f" and {len(talks) - 4} more" if len(talks) > 4 else "")
                for start, talks in coming
            ]
            parts.append(_setup_text(setup) + "\n" + ("\n".join(lines) or "Nothing more to announce."))
        await send(interaction, content=embeds.clip("\n\n".join(parts), embeds.CONTENT_LIMIT), ephemeral=True)

    @app_commands.command(name="stop")
    @app_commands.describe(event="The conference to stop announcing")
    async def stop(self, interaction: discord.Interaction, event: app_commands.Range[str, 1, 100]) -> None:
        """Stop announcing a conference here."""
        assert interaction.guild_id is not None  # noqa: S101 - guild_only
        stopped = await self.live.stop(interaction.guild_id, event)
        text = "Stopped: no more live notices for that event here." if stopped else "That event was not live here."
        await send(interaction, content=text, ephemeral=True)

    @setup_live.autocomplete("event")
    @room.autocomplete("event")
    @stop.autocomplete("event")
    @fail_soft
    async def _events(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=s.label[:100], value=s.key[:100]) for s in self.catalogue.suggest_events(current)
        ][:25]


async def setup(bot: HighlightsBot) -> None:
    """Add /live (its notices are posted by the scheduler made in cogs.highlights)."""
    await bot.add_cog(LiveCog(bot.services.live, bot.services.catalogue, bot.services.follows))
