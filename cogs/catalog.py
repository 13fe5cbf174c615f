"""The bot owner's catalogue tools: /catalog import, recordings, follow, following and unfollow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalogue.formats import csv_table
from bot.catalogue.importer import MAX_FILE_BYTES, ImportOptions, format_report
from bot.catalogue.service import CatalogueService
from bot.errors import UserFacingError
from bot.live.follow import FollowService
from bot.platforms.discord import embeds
from bot.recordings.apply import RecordingOptions
from bot.recordings.matcher import DEFAULT_MIN_CONFIDENCE
from bot.recordings.summary import summary_lines
from cogs.replies import send

if TYPE_CHECKING:
    from bot.platforms.discord.client import HighlightsBot

Format = Literal["auto", "native", "schedule-json", "schedule-xml", "sessionize", "sched", "csv"]


class NotOwner(app_commands.CheckFailure):
    """Only the application's owner (or its team) may change the catalogue from Discord."""


@app_commands.default_permissions(administrator=True)
@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
class CatalogCog(
    commands.GroupCog, group_name="catalog", group_description="Manage the talk catalogue (bot owner only)"
):
    """Catalogue imports from Discord, for the application's owner or team."""

    def __init__(self, bot: HighlightsBot, catalogue: CatalogueService) -> None:
        self.bot = bot
        self.catalogue = catalogue
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Owner only, whatever the server's command settings say."""
        if not await self.bot.is_owner(interaction.user):
            raise NotOwner("Only the bot's owner can change the catalogue.")
        return True

    @app_commands.command(name="import")
    @app_commands.describe(
        file="A schedule export: pretalx/frab JSON or XML, Sessionize 'All data' JSON, CSV, or the bundled TOML",
        format="The file's format (auto detects it from the content)",
        dry_run="Only say what would change",
        event="The event's name, for formats that do not carry one (Sessionize, CSV)",
        timezone="The time zone of times without an offset, such as Europe/London",
        track_group="Sessionize: the category group that holds the tracks (its title or id)",
        recording_question="Sessionize: the custom question that holds recording links (its title or id)",
        columns="CSV: which column holds a field, as field=column pairs joined by commas (title=Session name)",
        separator="CSV: what separates the speakers and topics in one cell (default ;)",
        date_format=(
            "CSV: how dates are written, e.g. %d/%m/%y (default: ISO, or day-first/month-first as the file shows)"
        ),
        allow_empty="Let the file remove every talk of an event the catalogue has (an empty export is refused)",
    )
    async def import_file(
        self,
        interaction: discord.Interaction,
        file: discord.Attachment,
        format: Format = "auto",
        dry_run: bool = False,
        event: app_commands.Range[str, 1, 200] | None = None,
        timezone: app_commands.Range[str, 1, 64] | None = None,
        track_group: app_commands.Range[str, 1, 200] | None = None,
        recording_question: app_commands.Range[str, 1, 200] | None = None,
        columns: app_commands.Range[str, 1, 1000] | None = None,
        separator: app_commands.Range[str, 1, 10] = ";",
        date_format: app_commands.Range[str, 1, 64] | None = None,
        allow_empty: bool = False,
    ) -> None:
        """Import talks from an uploaded schedule export (all or nothing)."""
        if file.size > MAX_FILE_BYTES:
            raise UserFacingError(
                f"{file.filename} is {file.size:,} bytes; at most {MAX_FILE_BYTES:,} can be imported."
            )
        options = ImportOptions(
            format=format,
            event=event,
            timezone=timezone,
            track_group=track_group,
            recording_question=recording_question,
            csv_map=csv_table.parse_map([columns] if columns else [], option="columns"),
            separator=separator,
            date_format=date_format,
            allow_empty=allow_empty,
            interface="discord",
        )
        options.zone()  # a misspelt zone fails before the upload is fetched
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await file.read()
        report = await self.catalogue.import_data(data, file.filename, options, dry_run=dry_run)
        text = "\n".join(format_report(report, limit=10))
        await send(interaction, content=embeds.clip(embeds.safe_block(text), embeds.CONTENT_LIMIT))


    @app_commands.command(name="recordings")
    @app_commands.describe(
        file="A list of videos: YouTube API or yt-dlp JSON, pyvideo, media.ccc.de, pretalx-youtube, CSV of url,title",
        event="Only talks of this event (and its co-located events)",
        dry_run="Only say what would change",
        min_confidence="How sure a match must be to be written (0.85 unless given)",
    )
    async def recordings(
        self,
        interaction: discord.Interaction,
        file: discord.Attachment,
        event: app_commands.Range[str, 1, 200] | None = None,
        dry_run: bool = False,
        min_confidence: app_commands.Range[float, 0.01, 1.0] = DEFAULT_MIN_CONFIDENCE,
    ) -> None:
        """Match a list of recordings to their talks (all or nothing; doubtful ones are left for review)."""
        if file.size > MAX_FILE_BYTES:
            raise UserFacingError(f"{file.filename} is {file.size:,} bytes; at most {MAX_FILE_BYTES:,} can be read.")
        options = RecordingOptions(event=event, min_confidence=min_confidence, interface="discord")
        options.check()
        await interaction.response.defer(ephemeral=True, thinking=True)
        announcements = self.bot.services.announcements
        report, servers = await announcements.import_recordings(
            await file.read(), file.filename, options, dry_run=dry_run
        )
        await self.catalogue.refresh()
        lines = summary_lines(report)
        if servers:
            lines.append(f"The new recordings will be announced in {servers} server{'s' * (servers != 1)}.")
        text = "\n".join(lines)
        await send(interaction, content=embeds.clip(embeds.safe_block(text), embeds.CONTENT_LIMIT))

    @app_commands.command(name="follow")
    @app_commands.describe(
        url="The published schedule: pretalx, frab or pentabarf JSON or XML, or Sessionize 'All data'",
        interval="Minutes between polls (5, or as before, unless given)",
        event="The event's name, for formats that do not carry one (Sessionize)",
        timezone="The time zone of times without an offset, such as Europe/Brussels",
    )
    async def follow(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 8, 2000],
        interval: app_commands.Range[int, 1, 1440] | None = None,
        event: app_commands.Range[str, 1, 200] | None = None,
        timezone: app_commands.Range[str, 1, 64] | None = None,
    ) -> None:
        """Keep an event in step with its published schedule (polled, applied as an import)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        followed = await self.follows.follow(url, interval, event_name=event, timezone=timezone)
        result = await self.follows.poll(followed.id)
        if result.changes:
            await self.bot.services.live.take_changes()
        text = f"Following #{followed.id} every {followed.interval_minutes} minutes. First poll: {result.summary}"
        await send(interaction, content=embeds.clip(embeds.safe(text, 1900), embeds.CONTENT_LIMIT))

    @app_commands.command(name="following")
    async def following(self, interaction: discord.Interaction) -> None:
        """The schedules followed: when each was last fetched, and what changed."""
        follows = await self.follows.list()
        lines = [
            f"#{f.id} {f.url} every {f.interval_minutes} min · {f.last_status}"
            + (f" · fetched {f.last_fetched_at:%Y-%m-%d %H:%M} UTC" if f.last_fetched_at else "")
            + (f"\n    {f.last_summary}" if f.last_summary else "")
            for f in follows
        ]
        text = "\n".join(lines) or "No schedule is followed. `/catalog follow url:` follows one."
        await send(interaction, content=embeds.clip(embeds.safe_block(text), embeds.CONTENT_LIMIT), ephemeral=True)

    @app_commands.command(name="unfollow")
    @app_commands.describe(follow="The number /catalog following shows")
    async def unfollow(self, interaction: discord.Interaction, follow: app_commands.Range[int, 1]) -> None:
        """Stop following a schedule (its talks stay in the catalogue)."""
        gone = await self.follows.unfollow(follow)
        await send(interaction, content=f"No longer following {embeds.safe(gone.url, 300)}.", ephemeral=True)

    @property
    def follows(self) -> FollowService:
        """The followed schedules."""
        return self.bot.services.follows


async def setup(bot: HighlightsBot) -> None:
    """Add the owner's catalogue tools."""
    await bot.add_cog(CatalogCog(bot, bot.services.catalogue))
