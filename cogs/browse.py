"""Browsing what the catalogue holds: /topics and /events."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.services import CatalogueService
from bot.ui import embeds
from cogs.replies import READ_ONLY_CONTEXTS, READ_ONLY_INSTALLS, send

if TYPE_CHECKING:
    from bot.client import HighlightsBot

PER_PAGE = 30


class BrowseCog(commands.Cog):
    """Topics and events, with how many talks each holds."""

    def __init__(self, catalogue: CatalogueService) -> None:
        self.catalogue = catalogue

    @app_commands.command(name="topics")
    @app_commands.describe(page="Which page of the list (30 topics a page)")
    @app_commands.allowed_installs(**READ_ONLY_INSTALLS)
    @app_commands.allowed_contexts(**READ_ONLY_CONTEXTS)
    async def topics(self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 1000] = 1) -> None:
        """Browse the topics, with how many talks each has."""
        topics = await self.catalogue.topics()
        pages = max(1, math.ceil(len(topics) / PER_PAGE))
        page = min(page, pages)
        shown = topics[(page - 1) * PER_PAGE : page * PER_PAGE]
        await send(interaction, embed=embeds.topics_embed(shown, page=page, pages=pages))

    @app_commands.command(name="events")
    @app_commands.describe(page="Which page of the list (30 events a page)")
    @app_commands.allowed_installs(**READ_ONLY_INSTALLS)
    @app_commands.allowed_contexts(**READ_ONLY_CONTEXTS)
    async def events(self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 1000] = 1) -> None:
        """Browse the events, with how many talks each has."""
        events = await self.catalogue.events()
        pages = max(1, math.ceil(len(events) / PER_PAGE))
        page = min(page, pages)
        shown = events[(page - 1) * PER_PAGE : page * PER_PAGE]
        await send(interaction, embed=embeds.events_embed(shown, page=page, pages=pages))


async def setup(bot: HighlightsBot) -> None:
    """Add the cog with the services it needs."""
    await bot.add_cog(BrowseCog(bot.services.catalogue))
