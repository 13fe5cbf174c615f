"""The bot owner's catalogue tools: /catalog import from an uploaded schedule export."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalogue.formats import csv_table
from bot.catalogue.importer import MAX_FILE_BYTES, ImportOptions, format_report
from bot.catalogue.service import CatalogueService
from bot.errors import UserFacingError
from bot.platforms.discord import embeds
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


async def setup(bot: HighlightsBot) -> None:
    """Add the owner's catalogue tools."""
    await bot.add_cog(CatalogCog(bot, bot.services.catalogue))
