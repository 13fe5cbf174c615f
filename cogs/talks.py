"""Finding talks: /recommend, /talk and /similar."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalogue.service import CatalogueService
from bot.errors import NotFoundError
from bot.platforms.discord import embeds
from bot.platforms.discord.posting import highlight_view, member_key, save_for
from bot.platforms.discord.views import PAGE_SIZE, TalkPager
from bot.watchlist.service import WatchlistService
from cogs.replies import READ_ONLY_CONTEXTS, READ_ONLY_INSTALLS, defer_if_reloading, fail_soft, send

if TYPE_CHECKING:
    from bot.platforms.discord.client import HighlightsBot


def _choices(suggestions: list[tuple[str, str]]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=label, value=key) for key, label in suggestions if len(key) <= 100][:25]


class TalksCog(commands.Cog):
    """Recommendations, one talk in full, and talks like another."""

    def __init__(self, catalogue: CatalogueService, watchlist: WatchlistService, *, view_timeout: float) -> None:
        self.catalogue = catalogue
        self.watchlist = watchlist
        self.view_timeout = view_timeout

    @app_commands.command(name="recommend")
    @app_commands.describe(
        topic="A topic (pick a suggestion) or any words, such as 'mtls' or 'debugging in production'",
        event="Only talks at this event (and its co-located events)",
        language="Only talks given in this language, such as de or German",
        for_me="me: talks like the ones you saved, never one you watched (also without a topic)",
    )
    @app_commands.rename(for_me="for")
    @app_commands.allowed_installs(**READ_ONLY_INSTALLS)
    @app_commands.allowed_contexts(**READ_ONLY_CONTEXTS)
    async def recommend(
        self,
        interaction: discord.Interaction,
        topic: app_commands.Range[str, 1, 200] | None = None,
        event: str | None = None,
        language: app_commands.Range[str, 1, 40] | None = None,
        for_me: Literal["me"] | None = None,
    ) -> None:
        """Recommend talks on a topic or for any words, or (without a topic) like the ones you saved."""
        await defer_if_reloading(interaction, self.catalogue)
        if topic is None or for_me == "me":
            await self._for_me(interaction)
            return
        page = await self.catalogue.recommend(topic, event=event, language=language, read=PAGE_SIZE)
        if not page.results:
            suggestions = ", ".join(page.suggestions) if page.suggestions else "a broader word"
            raise NotFoundError(f"No talk matches “{topic}”. Try {suggestions}.")
        note = ""
        if page.corrected:
            note = "Read as: " + ", ".join(f"{typed} → {used}" for typed, used in page.corrected.items())
        view = TalkPager(
            interaction.user.id, f"Talks for “{topic}”", page.results, self.show_similar, note=embeds.safe(note, 300),
            timeout=self.view_timeout, pending=page.pending, read=lambda hits: self.catalogue.more(page, hits),
            usual_language=self.catalogue.usual_language(), on_save=save_for,
        )  # fmt: skip
        await send(interaction, embed=view.embed(), view=view)

    async def _for_me(self, interaction: discord.Interaction) -> None:
        """Talks like the member's saved ones, privately: a list says what its member saved."""
        results = await self.watchlist.recommend_for(member_key(interaction.user), limit=25)
        if not results:
            raise NotFoundError(
                "Save a few talks first (🔖 Save under a talk, or /save): then /recommend suggests talks like them."
            )
        view = TalkPager(
            interaction.user.id, "Talks for you, like the ones you saved", results, self.show_similar,
            timeout=self.view_timeout, usual_language=self.catalogue.usual_language(), on_save=save_for,
        )  # fmt: skip
        await send(interaction, embed=view.embed(), view=view, ephemeral=True)

    @app_commands.command(name="talk")
    @app_commands.describe(title="A talk's title: pick a suggestion or type part of it")
    @app_commands.allowed_installs(**READ_ONLY_INSTALLS)
    @app_commands.allowed_contexts(**READ_ONLY_CONTEXTS)
    async def talk(self, interaction: discord.Interaction, title: app_commands.Range[str, 1, 200]) -> None:
        """Show one talk in full."""
        await defer_if_reloading(interaction, self.catalogue)
        found = await self.catalogue.talk(title)
        embed = embeds.talk_embed(found, usual_language=self.catalogue.usual_language())
        await send(interaction, embed=embed, view=highlight_view(found.slug))

    @app_commands.command(name="similar")
    @app_commands.describe(title="The talk to find others like: pick a suggestion or type part of its title")
    @app_commands.allowed_installs(**READ_ONLY_INSTALLS)
    @app_commands.allowed_contexts(**READ_ONLY_CONTEXTS)
    async def similar(self, interaction: discord.Interaction, title: app_commands.Range[str, 1, 200]) -> None:
        """Find talks like a given one."""
        await defer_if_reloading(interaction, self.catalogue)
        await self.show_similar(interaction, title)

    async def show_similar(self, interaction: discord.Interaction, ident: str) -> None:
        """Reply with the talks like `ident` (a talk's id or title); also the "more like this" controls."""
        source, results = await self.catalogue.similar(ident, limit=15)
        if not results:
            raise NotFoundError(f"No other talk is like “{source.title}” yet.")
        view = TalkPager(
            interaction.user.id, f"More like “{source.title}”", results, self.show_similar, timeout=self.view_timeout,
            usual_language=self.catalogue.usual_language(), on_save=save_for,
        )  # fmt: skip
        await send(interaction, embed=view.embed(), view=view)

    @recommend.autocomplete("topic")
    @fail_soft
    async def _topics(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _choices([(s.key, s.label) for s in self.catalogue.suggest_topics(current)])

    @recommend.autocomplete("event")
    @fail_soft
    async def _events(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _choices([(s.key, s.label) for s in self.catalogue.suggest_events(current)])

    @recommend.autocomplete("language")
    @fail_soft
    async def _languages(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _choices([(s.key, s.label) for s in self.catalogue.suggest_languages(current)])

    @talk.autocomplete("title")
    @similar.autocomplete("title")
    @fail_soft
    async def _titles(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _choices([(s.key, s.label) for s in self.catalogue.suggest_titles(current)])


async def setup(bot: HighlightsBot) -> None:
    """Add the cog with the services it needs."""
    services = bot.services
    await bot.add_cog(TalksCog(services.catalogue, services.watchlist, view_timeout=services.view_timeout))
