"""Sending a reply whether or not the interaction was already answered or deferred."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import discord
from discord import app_commands

from bot.catalogue.service import CatalogueService
from bot.platforms.discord.views import OwnedView

log = logging.getLogger(__name__)

ChoiceT = TypeVar("ChoiceT", str, int, float)
Suggest = Callable[[Any, discord.Interaction, str], Coroutine[Any, Any, list[app_commands.Choice[ChoiceT]]]]

READ_ONLY_INSTALLS = {"guilds": True, "users": True}
READ_ONLY_CONTEXTS = {"guilds": True, "dms": True, "private_channels": True}


async def defer_if_reloading(interaction: discord.Interaction, catalogue: CatalogueService) -> None:
    """Defer first when the catalogue changed and the answer waits for a reload (Discord allows 3 seconds)."""
    if await catalogue.stale():
        await interaction.response.defer(thinking=True)


async def send(interaction: discord.Interaction, *, view: discord.ui.View | None = None, **payload: Any) -> None:
    """Answer the interaction (or follow up if it was deferred); an owned view learns its message."""
    if view is not None:
        payload["view"] = view
    if interaction.response.is_done():
        message = await interaction.followup.send(wait=True, **payload)
        if isinstance(view, OwnedView):
            view.message = message
    else:
        callback = await interaction.response.send_message(**payload)
        if isinstance(view, OwnedView) and isinstance(callback.resource, discord.InteractionMessage):
            view.message = callback.resource


def fail_soft(callback: Suggest[ChoiceT]) -> Suggest[ChoiceT]:
    """An autocomplete that fails offers nothing (and is logged) instead of leaving the member waiting.

    discord.py logs an autocomplete's exception and sends no answer at all; typing then seems to hang.
    """

    @functools.wraps(callback)
    async def suggest(cog: Any, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[ChoiceT]]:
        try:
            return await callback(cog, interaction, current)
        except Exception:
            log.exception("Autocomplete %s failed (interaction %s)", callback.__qualname__, interaction.id)
            return []

    return suggest
