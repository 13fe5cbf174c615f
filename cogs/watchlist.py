"""Members' own lists: /save, /watchlist show and export, /remind, /reminders, /settings, /forget-me.

Every answer is private. After any command, a member is told (once, privately) of reminders that were
missed or could not be sent since they last used the bot.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalogue.service import CatalogueService
from bot.highlights.rules import suggest_zones
from bot.platforms.discord import embeds
from bot.platforms.discord.posting import member_key, saved_place
from bot.platforms.discord.views import OwnedView
from bot.watchlist.reminders import Reminder, RemindersService
from bot.watchlist.service import WatchlistService, WatchPage
from bot.watchlist.store import State
from cogs.replies import READ_ONLY_CONTEXTS, READ_ONLY_INSTALLS, send

if TYPE_CHECKING:
    from bot.platforms.discord.client import HighlightsBot
    from bot.services.container import Services

PAGE = 5
WHEN_EXAMPLES = ("before", "in 1 hour", "in 2 hours", "tomorrow 18:00", "saturday 10:00", "sunday 10:00")
Show = Literal["all", "unwatched", "watched"]


class WatchlistView(OwnedView):
    """A page of the member's list, with Watched and Remove menus and Previous/Next."""

    def __init__(self, owner_id: int, watchlist: WatchlistService, page: WatchPage, *, timeout: float) -> None:
        super().__init__(owner_id, timeout=timeout)
        self.watchlist = watchlist
        self.member = f"discord:{owner_id}"  # as bot.platforms.discord.posting.member_key makes it
        self.page = page
        self._build()

    def embed(self) -> discord.Embed:
        """The page as an embed."""
        return embeds.watchlist_embed(self.page)

    def _build(self) -> None:
        self.clear_items()
        items = self.page.items
        if items:
            watched = discord.ui.Select[WatchlistView](
                placeholder="Mark watched, or not yet…", custom_id="watchlist:watched", row=0,
                options=[
                    discord.SelectOption(
                        label=embeds.clip(f"{'Not watched yet' if i.watched else 'Watched'}: {i.title}", 100),
                        value=i.slug[:100],
                    )
                    for i in items
                ],
            )  # fmt: skip
            watched.callback = lambda interaction: self._toggle_watched(interaction, watched.values)  # type: ignore[method-assign]
            self.add_item(watched)
            remove = discord.ui.Select[WatchlistView](
                placeholder="Remove from the list…", custom_id="watchlist:remove", row=1,
                options=[discord.SelectOption(label=embeds.clip(i.title, 100), value=i.slug[:100]) for i in items],
            )  # fmt: skip
            remove.callback = lambda interaction: self._remove(interaction, remove.values)  # type: ignore[method-assign]
            self.add_item(remove)
        previous = discord.ui.Button[WatchlistView](
            label="Previous", style=discord.ButtonStyle.secondary, row=2, disabled=self.page.offset == 0
        )
        previous.callback = self._previous  # type: ignore[method-assign]
        following = discord.ui.Button[WatchlistView](
            label="Next", style=discord.ButtonStyle.secondary, row=2, disabled=not self.page.has_more
        )
        following.callback = self._next  # type: ignore[method-assign]
        self.add_item(previous)
        self.add_item(following)

    async def _show(self, interaction: discord.Interaction, offset: int) -> None:
        self.page = await self.watchlist.list(self.member, state=self.page.state, offset=max(0, offset), limit=PAGE)
        if not self.page.items and self.page.offset > 0:  # the last talk of the last page went
            self.page = await self.watchlist.list(
                self.member, state=self.page.state, offset=max(0, self.page.offset - PAGE), limit=PAGE
            )
        self._build()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    async def _toggle_watched(self, interaction: discord.Interaction, values: list[str]) -> None:
        item = next((i for i in self.page.items if values and i.slug[:100] == values[0]), None)
        if item is not None:
            await self.watchlist.mark_watched(self.member, item.slug, not item.watched)
        await self._show(interaction, self.page.offset)

    async def _remove(self, interaction: discord.Interaction, values: list[str]) -> None:
        item = next((i for i in self.page.items if values and i.slug[:100] == values[0]), None)
        if item is not None:
            await self.watchlist.remove(self.member, item.slug)
        await self._show(interaction, self.page.offset)

    async def _previous(self, interaction: discord.Interaction) -> None:
        await self._show(interaction, self.page.offset - PAGE)

    async def _next(self, interaction: discord.Interaction) -> None:
        await self._show(interaction, self.page.offset + PAGE)


class ForgetMe(OwnedView):
    """Asks before /forget-me deletes anything."""

    def __init__(self, owner_id: int, watchlist: WatchlistService, *, timeout: float) -> None:
        super().__init__(owner_id, timeout=timeout)
        self.watchlist = watchlist

    @discord.ui.button(label="Delete everything the bot keeps about me", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[ForgetMe]) -> None:
        """Delete and say what was deleted."""
        forgotten = await self.watchlist.forget(member_key(interaction.user))
        self.stop()
        await interaction.response.edit_message(content=embeds.forgotten_text(forgotten), view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[ForgetMe]) -> None:
        """Keep everything."""
        self.stop()
        await interaction.response.edit_message(content="Nothing was deleted.", view=None)


class RemindersView(OwnedView):
    """The member's waiting reminders, with a menu to cancel one."""

    def __init__(self, owner_id: int, reminders: RemindersService, waiting: list[Reminder], *, timeout: float) -> None:
        super().__init__(owner_id, timeout=timeout)
        self.reminders = reminders
        self.waiting = waiting
        self._build()

    def embed(self) -> discord.Embed:
        """The list as an embed."""
        return embeds.reminders_embed(self.waiting)

    def _build(self) -> None:
        self.clear_items()
        if not self.waiting:
            return
        cancel = discord.ui.Select[RemindersView](
            placeholder="Cancel a reminder…", custom_id="reminders:cancel",
            options=[
                discord.SelectOption(label=embeds.clip(f"{n}. {r.title}", 100), value=str(r.id))
                for n, r in enumerate(self.waiting[:25], start=1)
            ],
        )  # fmt: skip
        cancel.callback = lambda interaction: self._cancel(interaction, cancel.values)  # type: ignore[method-assign]
        self.add_item(cancel)

    async def _cancel(self, interaction: discord.Interaction, values: list[str]) -> None:
        member = member_key(interaction.user)  # whoever pressed: only their own reminders can go
        cancelled = await self.reminders.cancel(member, int(values[0])) if values and values[0].isdigit() else None
        self.waiting = await self.reminders.waiting(member)
        self._build()
        content = (
            f"Cancelled the reminder for “{embeds.safe(cancelled.title, 200)}”."
            if cancelled is not None
            else "That reminder is no longer waiting (it was sent or cancelled)."
        )
        await interaction.response.edit_message(content=content, embed=self.embed(), view=self)


@app_commands.allowed_installs(**READ_ONLY_INSTALLS)
@app_commands.allowed_contexts(**READ_ONLY_CONTEXTS)
class WatchlistCog(commands.GroupCog, group_name="watchlist", group_description="Your own list of talks to watch"):
    """The member's own list, settings and data; nobody else, no server admin either, can see them."""

    def __init__(self, catalogue: CatalogueService, watchlist: WatchlistService, *, view_timeout: float) -> None:
        self.catalogue = catalogue
        self.watchlist = watchlist
        self.view_timeout = view_timeout
        super().__init__()

    @app_commands.command(name="show")
    @app_commands.describe(show="Which talks: all (the default), those still to watch, or those watched")
    async def show(self, interaction: discord.Interaction, show: Show = "all") -> None:
        """Your saved talks, newest first."""
        state: State = show
        page = await self.watchlist.list(member_key(interaction.user), state=state, limit=PAGE)
        view = WatchlistView(interaction.user.id, self.watchlist, page, timeout=self.view_timeout)
        await send(interaction, embed=view.embed(), view=view, ephemeral=True)

    @app_commands.command(name="export")
    async def export(self, interaction: discord.Interaction) -> None:
        """Your saved talks as a calendar file (.ics), and a list of those without a date."""
        data, undated = await self.watchlist.export_ics(member_key(interaction.user))
        lines = [f"{len(undated)} saved talk{'s' * (len(undated) != 1)} without a date:"] if undated else []
        lines += [f"• {embeds.safe(item.title, 150)}" for item in undated[:20]]
        if len(undated) > 20:
            lines.append(f"…and {len(undated) - 20} more")
        file = discord.File(io.BytesIO(data), filename="talks-to-watch.ics")
        content = embeds.clip("\n".join(lines) or "Your saved talks, as a calendar.", embeds.CONTENT_LIMIT)
        await send(interaction, content=content, file=file, ephemeral=True)

    @commands.Cog.listener()
    async def on_app_command_completion(
        self, interaction: discord.Interaction, command: app_commands.Command[Any, Any, Any] | app_commands.ContextMenu
    ) -> None:
        """Tell the member, once and privately, of reminders missed or undeliverable since they last came."""
        notices = await _services(interaction).reminders.notices(member_key(interaction.user))
        if notices and interaction.response.is_done():
            text = "\n".join(f"• {notice.text()}" for notice in notices[:10])
            await interaction.followup.send(embeds.clip(text, embeds.CONTENT_LIMIT), ephemeral=True)


@app_commands.command(name="save")
@app_commands.describe(title="The talk to save: pick a suggestion or type part of its title")
@app_commands.allowed_installs(**READ_ONLY_INSTALLS)
@app_commands.allowed_contexts(**READ_ONLY_CONTEXTS)
async def save(interaction: discord.Interaction, title: app_commands.Range[str, 1, 200]) -> None:
    """Save a talk to your watch list."""
    services = _services(interaction)
    saved, newly = await services.watchlist.save(member_key(interaction.user), title, place=saved_place(interaction))
    name = embeds.safe(saved.title, 200)
    text = f"Saved “{name}” to your watch list." if newly else f"“{name}” is already on your watch list."
    await send(interaction, content=text, ephemeral=True)


async def _titles(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    try:
        found = _services(interaction).catalogue.suggest_titles(current)
    except Exception:  # an autocomplete that fails offers nothing rather than hang (see cogs.replies.fail_soft)
        return []
    return [app_commands.Choice(name=s.label, value=s.key) for s in found if len(s.key) <= 100][:25]


save.autocomplete("title")(_titles)


@app_commands.command(name="remind")
@app_commands.describe(
    title="The talk: pick a suggestion or type part of its title",
    when="When: in 2 hours, tomorrow 18:00, saturday 10:00, 2026-12-24 10:00, or before (10 minutes before it starts)",
    timezone="Your time zone, such as Europe/Berlin: asked once, then remembered",
)
@app_commands.allowed_installs(**READ_ONLY_INSTALLS)
@app_commands.allowed_contexts(**READ_ONLY_CONTEXTS)
async def remind(
    interaction: discord.Interaction,
    title: app_commands.Range[str, 1, 200],
    when: app_commands.Range[str, 1, 100],
    timezone: app_commands.Range[str, 1, 64] | None = None,
) -> None:
    """Get a direct message from the bot to watch a talk, at a time you choose."""
    services = _services(interaction)
    reminder, zone = await services.reminders.remind(
        member_key(interaction.user), "discord", str(interaction.user.id), title, when, timezone=timezone
    )
    await send(interaction, content=embeds.reminder_set_text(reminder, zone), ephemeral=True)


remind.autocomplete("title")(_titles)


@remind.autocomplete("when")
async def _whens(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    typed = " ".join(current.split())[:100]
    offered = [w for w in WHEN_EXAMPLES if typed.casefold() in w]
    return [app_commands.Choice(name=w, value=w) for w in ([typed] if typed and typed not in offered else []) + offered]


@remind.autocomplete("timezone")
async def _remind_zones(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=zone, value=zone) for zone in suggest_zones(current)]


@app_commands.command(name="reminders")
@app_commands.allowed_installs(**READ_ONLY_INSTALLS)
@app_commands.allowed_contexts(**READ_ONLY_CONTEXTS)
async def reminders(interaction: discord.Interaction) -> None:
    """Your reminders waiting to be sent; cancel one from the menu."""
    services = _services(interaction)
    waiting = await services.reminders.waiting(member_key(interaction.user))
    view = RemindersView(interaction.user.id, services.reminders, waiting, timeout=services.view_timeout)
    await send(interaction, embed=view.embed(), view=view, ephemeral=True)


@app_commands.command(name="settings")
@app_commands.describe(timezone="Your time zone, such as Europe/Berlin (for reminders and dates)")
@app_commands.allowed_installs(**READ_ONLY_INSTALLS)
@app_commands.allowed_contexts(**READ_ONLY_CONTEXTS)
async def settings(interaction: discord.Interaction, timezone: app_commands.Range[str, 1, 64] | None = None) -> None:
    """Your settings: see them, or change your time zone."""
    watchlist = _services(interaction).watchlist
    member = member_key(interaction.user)
    if timezone is not None:
        zone = await watchlist.set_timezone(member, timezone)
        await send(interaction, content=f"Your time zone is now {zone}.", ephemeral=True)
        return
    current = await watchlist.timezone(member)
    text = f"Your time zone: {current}." if current else "You have not set a time zone: `/settings timezone:`."
    await send(interaction, content=text, ephemeral=True)


@app_commands.command(name="forget-me")
@app_commands.allowed_installs(**READ_ONLY_INSTALLS)
@app_commands.allowed_contexts(**READ_ONLY_CONTEXTS)
async def forget_me(interaction: discord.Interaction) -> None:
    """Delete everything the bot keeps about you (your watch list, reminders and settings)."""
    services = _services(interaction)
    view = ForgetMe(interaction.user.id, services.watchlist, timeout=services.view_timeout)
    text = "This deletes your watch list, your reminders and your settings, for good. Go ahead?"
    await send(interaction, content=text, view=view, ephemeral=True)


def _services(interaction: discord.Interaction) -> Services:
    client: HighlightsBot = interaction.client  # type: ignore[assignment]
    return client.services


MEMBER_COMMANDS: tuple[app_commands.Command[Any, Any, None], ...] = (save, remind, reminders, settings, forget_me)


async def setup(bot: HighlightsBot) -> None:
    """Add the watch list group and the member's own commands."""
    services = bot.services
    await bot.add_cog(WatchlistCog(services.catalogue, services.watchlist, view_timeout=services.view_timeout))
    for command in MEMBER_COMMANDS:
        bot.tree.add_command(command)


async def teardown(bot: HighlightsBot) -> None:
    """Take the member's own commands off again when the extension unloads."""
    for command in MEMBER_COMMANDS:
        bot.tree.remove_command(command.name)
