"""The Discord client: wiring in `setup_hook`, the extensions, and one error handler for every command.

It runs as discord.py's `AutoShardedBot`: `SHARD_COUNT` and `SHARD_IDS` give a process its share of Discord's
shards (neither set: the count Discord recommends, all in this process). Before each IDENTIFY a shard claims
its rate-limit bucket in the database (`bot.db.shards.claim_identify`), so several processes never identify
faster than Discord allows; the process's scheduler loads only its shards' servers.
"""

from __future__ import annotations

import contextlib
import logging
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.db.shards import ShardFilter, claim_identify
from bot.errors import NotFoundError, UserFacingError
from bot.highlights.clock import SystemClock
from bot.highlights.ports import Clock
from bot.highlights.scheduler import SchedulerConfig
from bot.platforms.discord import embeds
from bot.platforms.discord.internals import sweep_buckets_sparingly
from bot.platforms.discord.posting import MoreLikeThisButton, SaveButton
from bot.services.container import Services, open_services

log = logging.getLogger(__name__)

EXTENSIONS = (
    "cogs.talks",
    "cogs.speakers",
    "cogs.browse",
    "cogs.highlights",
    "cogs.live",
    "cogs.catalog",
    "cogs.watchlist",
)
DISCORD_GLOBAL_LIMIT = 50  # requests a second per bot, whichever process sends them (interactions apart)


def global_share(shard_count: int | None, shard_ids: tuple[int, ...] | None) -> int:
    """A process's share of Discord's global limit: the share of the shards it runs, rounded down.

    Processes that split the shards between them split the budget the same way, so together they stay
    within it (SHARD_COUNT=3: 16 a second for a process with one shard, 33 for one with the other two).
    Each keeps at least one a second: past 50 processes the shares add up to more than the limit, and
    discord.py waits out the 429s.
    """
    if shard_count is None or shard_ids is None:
        return DISCORD_GLOBAL_LIMIT
    return max(1, DISCORD_GLOBAL_LIMIT * len(shard_ids) // shard_count)


GENERIC_ERROR = "Something went wrong on our side while answering that. It has been logged; please try again."
STALE_CONTROLS = "These controls have timed out. Run the command again to get fresh ones."


class HighlightsBot(commands.AutoShardedBot):
    """The talk highlights bot: slash commands only, mentions disabled everywhere."""

    def __init__(
        self,
        settings: Settings,
        *,
        view_timeout: float = 300.0,
        clock: Clock | None = None,
        scheduler_config: SchedulerConfig | None = None,
        **options: Any,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # channels and permissions for scheduled posts; no members, no message content
        if settings.shard_count is not None:
            options.setdefault("shard_count", settings.shard_count)
        if settings.shard_ids is not None:
            options.setdefault("shard_ids", list(settings.shard_ids))
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **options,
        )
        sweep_buckets_sparingly(self.http)
        self.settings = settings
        self.view_timeout = view_timeout
        self.clock: Clock = clock or SystemClock()
        self.scheduler_config = scheduler_config or SchedulerConfig(
            grace=timedelta(minutes=settings.highlight_grace_minutes),
            max_failures=settings.highlight_max_failures,
            per_second=(
                global_share(settings.shard_count, settings.shard_ids)
                if settings.split_global_budget
                else DISCORD_GLOBAL_LIMIT  # a REST proxy holds the one budget and queues what is over it
            ),
        )
        self._resources = AsyncExitStack()
        self._services: Services | None = None
        self._max_concurrency: int | None = None
        self.tree.error(self.on_app_command_error)

    @property
    def services(self) -> Services:
        """The services built in `setup_hook`."""
        if self._services is None:
            raise RuntimeError("services are built in setup_hook, before any extension loads")
        return self._services

    async def setup_hook(self) -> None:
        """Open the database, build the services, load the extensions; copy commands to the dev server."""
        self._services = await self._resources.enter_async_context(
            open_services(
                self.settings.store,
                clock=self.clock,
                scheduler_config=self.scheduler_config,
                view_timeout=self.view_timeout,
                shards=self.shard_filter,
            )
        )
        self.add_dynamic_items(MoreLikeThisButton, SaveButton)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if self.settings.dev_guild_id:
            guild = discord.Object(self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Copied %d commands to the development server %s", len(synced), self.settings.dev_guild_id)

    @property
    def shard_filter(self) -> ShardFilter | None:
        """The servers this process schedules for: its shards' (None: it runs them all)."""
        if self.shard_ids is None or self.shard_count is None:
            return None
        return ShardFilter(self.shard_count, tuple(self.shard_ids))

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait for this shard's identify bucket, claimed in the database for every process sharing it."""
        db = self._services.db if self._services is not None else None
        if db is None:
            await super().before_identify_hook(shard_id, initial=initial)
            return
        if self._max_concurrency is None:
            try:
                self._max_concurrency = (await self.fetch_session_start_limits()).max_concurrency
            except discord.DiscordException:
                log.warning("Could not read Discord's identify concurrency; identifying one shard at a time")
                self._max_concurrency = 1
        await claim_identify(db, shard_id or 0, self.shard_count or 1, self._max_concurrency)

    async def on_ready(self) -> None:
        """Log readiness with what is loaded (this also runs after reconnects; it only logs)."""
        talks = await self.services.catalogue.talk_count()
        log.info("Ready as %s in %d servers with %d talks in the catalogue", self.user, len(self.guilds), talks)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Answer a click on controls that have timed out (no view listens any more, so nothing else would)."""
        if interaction.type is not discord.InteractionType.component or interaction.message is None:
            return
        controls = [
            child
            for row in interaction.message.components
            if isinstance(row, discord.ActionRow)
            for child in row.children
        ]
        if controls and all(getattr(control, "disabled", False) for control in controls):
            with contextlib.suppress(discord.HTTPException):
                await interaction.response.send_message(STALE_CONTROLS, ephemeral=True)

    async def close(self) -> None:
        """Close Discord, then the database."""
        try:
            await super().close()
        finally:
            await self._resources.aclose()

    async def on_app_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """The one error handler: a short private answer for the member, the full story in the log."""
        await handle_error(interaction, error)


async def handle_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Answer a failed interaction kindly and log it; also used by views' controls."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    command = interaction.command.qualified_name if interaction.command else "component"
    if isinstance(original, NotFoundError):
        embed = embeds.error_embed(original.message, original.suggestions)
    elif isinstance(original, UserFacingError):
        embed = embeds.error_embed(original.message)
    elif isinstance(original, app_commands.MissingPermissions):
        embed = embeds.error_embed("You need the " + ", ".join(original.missing_permissions) + " permission for that.")
    elif isinstance(original, app_commands.BotMissingPermissions):
        embed = embeds.error_embed("I need the " + ", ".join(original.missing_permissions) + " permission here.")
    elif isinstance(original, app_commands.CheckFailure):
        embed = embeds.error_embed(str(original) or "You cannot use this command here.")
    elif isinstance(original, app_commands.TransformerError):
        embed = embeds.error_embed(f"That value does not fit the option: {str(original.value)[:100]}")
    else:
        log.error(
            "Command %s failed (interaction %s, user %s)",
            command,
            interaction.id,
            interaction.user.id,
            exc_info=(type(original), original, original.__traceback__),
        )
        embed = embeds.error_embed(GENERIC_ERROR)
    if isinstance(original, UserFacingError):
        log.info("Command %s (interaction %s) answered with: %s", command, interaction.id, original.message)
    try:
        if interaction.response.is_done():
            if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
                # A public "thinking…" would stay for everyone to see: the refusal is for the member alone.
                with contextlib.suppress(discord.HTTPException):
                    await interaction.delete_original_response()
            await interaction.followup.send(embed=embed, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("Could not tell the member about the error of interaction %s: %s", interaction.id, exc)
