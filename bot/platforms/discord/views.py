"""Interactive controls: paginated talk lists with "more like this", and picking one of several people.

Only the member who asked can use a message's controls; everyone else is told so privately. The
controls disable themselves when they time out, by editing the message they belong to.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import discord

from bot.catalogue.service import Result
from bot.domain.models import PersonProfile
from bot.platforms.discord import embeds
from bot.search.index import Hit

log = logging.getLogger(__name__)

PAGE_SIZE = 5
DEFAULT_TIMEOUT = 300.0

OnTalkPicked = Callable[[discord.Interaction, str], Awaitable[None]]
ReadMore = Callable[[Sequence[Hit]], Awaitable[list[Result]]]


class OwnedView(discord.ui.View):
    """A view only its owner may use, whose controls switch off when it times out."""

    def __init__(self, owner_id: int, *, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.message: discord.Message | discord.InteractionMessage | discord.WebhookMessage | None = None

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Refuse anyone but the member who asked, privately."""
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "These controls belong to the member who asked. Run the command yourself to browse.", ephemeral=True
        )
        return False

    async def on_timeout(self) -> None:
        """Disable every control and show it on the message."""
        for item in self.children:
            if isinstance(item, discord.ui.Button | discord.ui.Select):
                item.disabled = True
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException as exc:  # the message may be gone; nothing left to disable
                log.debug("Could not disable the controls of message %s: %s", self.message.id, exc)

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /) -> None:
        """Hand errors from controls to the command tree's handler, so they are answered the same way."""
        await interaction.client.tree.on_error(interaction, error)  # type: ignore[attr-defined]


class Pages(OwnedView):
    """Previous and next buttons over numbered pages (counted from 0); subclasses draw the pages."""

    page = 0

    @property
    def pages(self) -> int:
        """How many pages there are."""
        raise NotImplementedError

    def embed(self) -> discord.Embed:
        """The current page as an embed."""
        raise NotImplementedError

    def _sync_controls(self) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.pages - 1

    async def _turned(self) -> None:
        """Called when the page changed, before it is drawn."""

    async def _show(self, interaction: discord.Interaction, page: int) -> None:
        self.page = max(0, min(self.pages - 1, page))
        await self._turned()
        self._sync_controls()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    @discord.ui.button(label="Previous", emoji="◀", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button[Pages]) -> None:
        """Show the previous page."""
        await self._show(interaction, self.page - 1)

    @discord.ui.button(label="Next", emoji="▶", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[Pages]) -> None:
        """Show the next page."""
        await self._show(interaction, self.page + 1)


class TalkPager(Pages):
    """Ranked talks, five to a page, with previous/next buttons, a "more like this" menu and a "save" menu.

    The pages and "more like this" are the asker's; "save" (given `on_save`) answers anyone, for their own list.
    """

    def __init__(
        self,
        owner_id: int,
        title: str,
        results: Sequence[Result],
        on_pick: OnTalkPicked,
        *,
        note: str = "",
        timeout: float | None = DEFAULT_TIMEOUT,
        pending: Sequence[Hit] = (),
        read: ReadMore | None = None,
        usual_language: str | None = None,
        on_save: OnTalkPicked | None = None,
    ) -> None:
        """`results` are ready; `pending` hits are read with `read` when their page is first shown."""
        super().__init__(owner_id, timeout=timeout)
        self.on_save = on_save
        if on_save is None:
            self.remove_item(self.save)
        self.title = title
        self.usual_language = usual_language
        self.results = list(results)
        self.pending = list(pending) if read is not None else []
        self.read = read
        self.note = note
        self.on_pick = on_pick
        self._sync_controls()

    @property
    def pages(self) -> int:
        """How many pages there are, counting those not read yet."""
        return max(1, math.ceil((len(self.results) + len(self.pending)) / PAGE_SIZE))

    async def _turned(self) -> None:
        """Read the current page's talks if they are still pending."""
        missing = (self.page + 1) * PAGE_SIZE - len(self.results)
        if missing > 0 and self.pending and self.read is not None:
            batch, self.pending = self.pending[:missing], self.pending[missing:]
            self.results.extend(await self.read(batch))
            self.page = min(self.page, self.pages - 1)  # talks that left the catalogue meanwhile shrink the list

    def page_results(self) -> list[Result]:
        """The results on the current page."""
        start = self.page * PAGE_SIZE
        return self.results[start : start + PAGE_SIZE]

    def embed(self) -> discord.Embed:
        """The current page as an embed."""
        return embeds.results_embed(
            self.title,
            self.page_results(),
            page=self.page + 1,
            pages=self.pages,
            total=len(self.results) + len(self.pending),
            first_rank=self.page * PAGE_SIZE + 1,
            note=self.note if self.page == 0 else "",
            usual_language=self.usual_language,
        )

    def _sync_controls(self) -> None:
        super()._sync_controls()
        if self.pages == 1:
            self.remove_item(self.previous)
            self.remove_item(self.next)
        options = [
            discord.SelectOption(
                label=embeds.clip(result.talk.title, 100),
                value=result.talk.slug[:100],
                description=embeds.clip(
                    ", ".join(c.name for c in result.talk.speakers) or result.talk.event.label, 100
                ),
            )
            for result in self.page_results()
        ]
        self.more.options = options  # type: ignore[assignment]  # decorated items confuse the checker
        self.save.options = [discord.SelectOption(label=o.label, value=o.value) for o in options]  # type: ignore[assignment]

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Anyone may save a talk of the page to their own list; the rest is the asker's."""
        data: dict[str, Any] = dict(interaction.data or {})
        if self.on_save is not None and data.get("custom_id") == self.save.custom_id:
            return True
        return await super().interaction_check(interaction)

    @discord.ui.select(placeholder="More like this…", min_values=1, max_values=1)
    async def more(self, interaction: discord.Interaction, select: discord.ui.Select[TalkPager]) -> None:
        """Talks like the one picked."""
        await self.on_pick(interaction, select.values[0])

    @discord.ui.select(placeholder="🔖 Save one for later…", min_values=1, max_values=1)
    async def save(self, interaction: discord.Interaction, select: discord.ui.Select[TalkPager]) -> None:
        """Put the talk picked on the picker's own watch list, answered to them alone."""
        assert self.on_save is not None  # noqa: S101 - the menu is removed without it
        await self.on_save(interaction, select.values[0])


class PagedList(Pages):
    """A list of pages (topics, events); `render(number)` draws page `number`, counted from 1."""

    def __init__(
        self,
        owner_id: int,
        render: Callable[[int], discord.Embed],
        pages: int,
        *,
        page: int = 1,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(owner_id, timeout=timeout)
        self.render = render
        self._pages = max(1, pages)
        self.page = min(max(1, page), self._pages) - 1
        self._sync_controls()

    @property
    def pages(self) -> int:
        """How many pages there are."""
        return self._pages

    def embed(self) -> discord.Embed:
        """The current page as an embed."""
        return self.render(self.page + 1)


class PersonPicker(OwnedView):
    """Several people matched a name: a menu to pick one."""

    def __init__(
        self,
        owner_id: int,
        profiles: Sequence[PersonProfile],
        on_pick: Callable[[discord.Interaction, PersonProfile], Awaitable[None]],
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(owner_id, timeout=timeout)
        self.profiles = {p.slug[:100]: p for p in profiles[:25]}
        self.on_pick = on_pick
        self.choose.options = [  # type: ignore[assignment]  # decorated items confuse the checker
            discord.SelectOption(
                label=embeds.clip(p.name, 100),
                value=key,
                description=embeds.clip(", ".join(p.organizations) or f"{p.talk_count} talks", 100),
            )
            for key, p in self.profiles.items()
        ]

    @discord.ui.select(placeholder="Pick a person…", min_values=1, max_values=1)
    async def choose(self, interaction: discord.Interaction, select: discord.ui.Select[PersonPicker]) -> None:
        """Show the person picked."""
        await self.on_pick(interaction, self.profiles[select.values[0]])
