"""Looking up the people behind the talks: /speaker."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalogue.service import SPEAKER_CARD_TALKS, CatalogueService
from bot.domain.models import PersonProfile
from bot.platforms.discord import embeds
from bot.platforms.discord.views import PersonPicker
from cogs.replies import READ_ONLY_CONTEXTS, READ_ONLY_INSTALLS, defer_if_reloading, fail_soft, send

if TYPE_CHECKING:
    from bot.platforms.discord.client import HighlightsBot


class SpeakersCog(commands.Cog):
    """Speaker profiles and their talks."""

    def __init__(self, catalogue: CatalogueService, *, view_timeout: float) -> None:
        self.catalogue = catalogue
        self.view_timeout = view_timeout

    @app_commands.command(name="speaker")
    @app_commands.describe(name="A name or part of one: pick a suggestion or type freely")
    @app_commands.allowed_installs(**READ_ONLY_INSTALLS)
    @app_commands.allowed_contexts(**READ_ONLY_CONTEXTS)
    async def speaker(self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 200]) -> None:
        """Show a speaker's profile and talks."""
        await defer_if_reloading(interaction, self.catalogue)
        profiles = await self.catalogue.speakers(name, talks=0)  # a list to pick from needs no talks
        if len(profiles) == 1:
            await send(interaction, embed=await self._card(profiles[0]))
            return
        view = PersonPicker(interaction.user.id, profiles, self._picked, timeout=self.view_timeout)
        await send(interaction, embed=embeds.people_embed(profiles, name), view=view)

    async def _picked(self, interaction: discord.Interaction, profile: PersonProfile) -> None:
        await interaction.response.send_message(embed=await self._card(profile))

    async def _card(self, profile: PersonProfile) -> discord.Embed:
        """The person's card, with their newest talks."""
        full = await self.catalogue.speakers(profile.slug, talks=SPEAKER_CARD_TALKS)  # by id: exactly this person
        return embeds.speaker_embed(full[0] if full else profile)

    @speaker.autocomplete("name")
    @fail_soft
    async def _names(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=s.label, value=s.key)
            for s in self.catalogue.suggest_speakers(current)
            if len(s.key) <= 100
        ]


async def setup(bot: HighlightsBot) -> None:
    """Add the cog with the services it needs."""
    await bot.add_cog(SpeakersCog(bot.services.catalogue, view_timeout=bot.services.view_timeout))
