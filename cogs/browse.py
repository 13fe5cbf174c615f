"""Browsing what the catalogue holds: /topics and /events."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalogue.service import CatalogueService
from bot.platforms.discord import embeds
from bot.platforms.discord.views import DEFAULT_TIMEOUT, PagedList
from cogs.replies import READ_ONLY_CONTEXTS, READ_ONLY_INSTALLS, send

if TYPE_CHECKING:
    from bot.platforms.discord.client import HighlightsBot

PER_PAGE = 30


class BrowseCog(commands.Cog):
    """Topics and events, with how many talks each holds."""

    def __init__(self, catalogue: CatalogueService, *, view_timeout: float = DEFAULT_TIMEOUT) -> None:
        self.catalogue = catalogue
        self.view_timeout = view_timeout

    @app_commands.command(name="topics")
    @app_commands.describe(
        page="Which page to start on (30 topics a page; the buttons turn the others)",
        tree="Show broad topics with their narrower ones under them (Service mesh: Linkerd, Istio...)",
    )
    @app_commands.allowed_installs(**READ_ONLY_INSTALLS)
    @app_commands.allowed_contexts(**READ_ONLY_CONTEXTS)
    async def topics(
        self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 1000] = 1, tree: bool = False
    ) -> None:
        """Browse the topics, with how many talks each has."""
        topics = await (self.catalogue.topic_tree() if tree else self.catalogue.topics())
        pages = max(1, math.ceil(len(topics) / PER_PAGE))

        def render(number: int) -> discord.Embed:
            return embeds.topics_embed(topics[(number - 1) * PER_PAGE : number * PER_PAGE], page=number, pages=pages)

        await self._send_pages(interaction, render, pages, page)

    @app_commands.command(name="events")
    @app_commands.describe(page="Which page to start on (30 events a page; the buttons turn the others)")
    @app_commands.allowed_installs(**READ_ONLY_INSTALLS)
    @app_commands.allowed_contexts(**READ_ONLY_CONTEXTS)
    async def events(self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 1000] = 1) -> None:
        """Browse the events, with how many talks each has."""
        events = await self.catalogue.events()
        pages = max(1, math.ceil(len(events) / PER_PAGE))

        def render(number: int) -> discord.Embed:
            return embeds.events_embed(events[(number - 1) * PER_PAGE : number * PER_PAGE], page=number, pages=pages)

        await self._send_pages(interaction, render, pages, page)

    async def _send_pages(
        self, interaction: discord.Interaction, render: Callable[[int], discord.Embed], pages: int, page: int
    ) -> None:
        """One page, with buttons to turn the others when there are several."""
        if pages == 1:
            await send(interaction, embed=render(1))
            return
        view = PagedList(interaction.user.id, render, pages, page=page, timeout=self.view_timeout)
        await send(interaction, embed=view.embed(), view=view)


async def setup(bot: HighlightsBot) -> None:
    """Add the cog with the services it needs."""
    await bot.add_cog(BrowseCog(bot.services.catalogue, view_timeout=bot.view_timeout))
