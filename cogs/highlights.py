"""Highlights: /highlight now, and /highlights to schedule posts in a server's channels."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.catalogue.service import CatalogueService
from bot.errors import UserFacingError
from bot.highlights.rules import suggest_zones
from bot.highlights.scheduler import Scheduler
from bot.highlights.service import HighlightService
from bot.live.jobs import LiveJobs
from bot.platforms.discord import embeds
from bot.platforms.discord.posting import (
    DiscordAnnouncementPoster,
    DiscordLivePoster,
    DiscordPoster,
    DiscordReminderSender,
    highlight_view,
    member_key,
    missing_permissions,
    permission_names,
)
from bot.recordings.announce import AnnouncementJobs, AnnouncementService
from bot.watchlist.reminders import ReminderJobs
from cogs.replies import READ_ONLY_CONTEXTS, READ_ONLY_INSTALLS, fail_soft, send

if TYPE_CHECKING:
    from bot.platforms.discord.client import HighlightsBot

Cadence = Literal["daily", "weekdays", "weekly"]
Weekday = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _choices(pairs: list[tuple[str, str]]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=embeds.clip(label, 100), value=key) for key, label in pairs if len(key) <= 100][
        :25
    ]


class HighlightCog(commands.Cog):
    """One highlight now, picked the way scheduled posts are."""

    def __init__(self, highlights: HighlightService, catalogue: CatalogueService) -> None:
        self.highlights = highlights
        self.catalogue = catalogue

    @app_commands.command(name="highlight")
    @app_commands.describe(
        topic="Only talks on this topic (and its narrower topics)",
        event="Only talks at this event (and its co-located events)",
        language="Only talks given in this language, such as German or de",
    )
    @app_commands.allowed_installs(**READ_ONLY_INSTALLS)
    @app_commands.allowed_contexts(**READ_ONLY_CONTEXTS)
    async def highlight(
        self,
        interaction: discord.Interaction,
        topic: str | None = None,
        event: str | None = None,
        language: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        """Show a talk highlight now; no repeats here until every talk has had its turn."""
        # It records what was shown, a write that may wait behind an import: defer, Discord allows 3 seconds.
        await interaction.response.defer(thinking=True)
        # In direct messages the rotation is the member's own, kept under their key: /forget-me deletes it.
        scope = f"channel:{interaction.channel_id}" if interaction.guild_id else member_key(interaction.user)
        talk = await self.highlights.adhoc(scope, topic, event, language=language)
        embed = embeds.talk_embed(talk, heading="Highlight", usual_language=self.catalogue.usual_language())
        await send(interaction, embed=embed, view=highlight_view(talk.slug))

    @highlight.autocomplete("topic")
    @fail_soft
    async def _topics(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _choices([(s.key, s.label) for s in self.catalogue.suggest_topics(current)])

    @highlight.autocomplete("event")
    @fail_soft
    async def _events(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _choices([(s.key, s.label) for s in self.catalogue.suggest_events(current)])

    @highlight.autocomplete("language")
    @fail_soft
    async def _languages(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _choices([(s.key, s.label) for s in self.catalogue.suggest_languages(current)])


RESTART_PAUSE = 1.0  # seconds of real time, whatever clock the scheduler keeps


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class HighlightsCog(commands.GroupCog, group_name="highlights", group_description="Scheduled talk highlights"):
    """Schedule highlight posts in this server's channels (Manage Server only)."""

    def __init__(
        self,
        highlights: HighlightService,
        catalogue: CatalogueService,
        scheduler: Scheduler,
        poster: DiscordPoster,
        announcements: AnnouncementService,
    ) -> None:
        self.highlights = highlights
        self.catalogue = catalogue
        self.scheduler = scheduler
        self.poster = poster
        self.announcements = announcements
        self._starting: asyncio.Task[None] | None = None
        super().__init__()

    async def cog_load(self) -> None:
        """Start posting on schedule once the bot knows its servers (not before: every post would fail)."""
        self._starting = asyncio.create_task(self._start_when_ready(), name="highlight-scheduler-start")

    async def _start_when_ready(self) -> None:
        await self.poster.bot.wait_until_ready()
        # Discord counts one global budget per bot, whichever process spends it, per second of real time: a
        # process that crashed a moment ago may have spent this second's. Measured without this pause: a bot
        # restarted within a second of a crash, 1,000 reminders overdue, sent 98 requests in one second.
        await asyncio.sleep(RESTART_PAUSE)
        await self.scheduler.start()

    async def cog_unload(self) -> None:
        """Stop posting; a post in flight is settled on the next start."""
        if self._starting is not None:
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting
            self._starting = None
        await self.scheduler.stop()

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Manage Server is needed at run time too: server settings can override the default."""
        if not interaction.permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        return True

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """A server that removed the bot gets no more posts."""
        await self.highlights.guild_left(guild.id)

    @app_commands.command(name="setup")
    @app_commands.describe(
        channel="Where to post (a text or announcement channel)",
        time="The time of day to post, 24-hour, such as 09:00",
        timezone="The time zone the time is in, such as Europe/Berlin",
        cadence="How often: daily (the default), on weekdays, or weekly",
        weekday="For weekly posts: the day",
        topic="Only talks on this topic (and its narrower topics)",
        event="Only talks at this event",
        language="Only talks given in this language, such as German or de",
    )
    async def setup_schedule(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel,
        time: app_commands.Range[str, 1, 10],
        timezone: app_commands.Range[str, 1, 64],
        cadence: Cadence | None = None,
        weekday: Weekday | None = None,
        topic: str | None = None,
        event: str | None = None,
        language: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        """Post a talk highlight in a channel on a schedule."""
        guild = interaction.guild
        assert guild is not None  # noqa: S101 - guild_only
        target = guild.get_channel(channel.id)
        if not isinstance(target, discord.TextChannel):
            raise UserFacingError("Pick a text or announcement channel for the highlights.")
        missing = missing_permissions(target, guild.me)
        if missing:
            raise UserFacingError(f"I can't post in {target.mention}: I need {permission_names(missing)} there.")
        info = await self.highlights.setup(
            guild.id,
            target.id,
            time,
            timezone,
            cadence,
            weekday,
            topic,
            event,
            created_by=interaction.user.id,
            language=language,
        )
        embed = embeds.schedule_status_embed(info)
        embed.title = f"Scheduled: highlight #{info.id}"
        await send(interaction, embed=embed, ephemeral=True)

    @app_commands.command(name="list")
    async def list_schedules(self, interaction: discord.Interaction) -> None:
        """List this server's highlight schedules."""
        assert interaction.guild_id is not None  # noqa: S101 - guild_only
        await send(
            interaction, embed=embeds.schedules_embed(await self.highlights.list(interaction.guild_id)), ephemeral=True
        )

    @app_commands.command(name="status")
    @app_commands.describe(schedule="The schedule's number (see /highlights list)")
    async def status(self, interaction: discord.Interaction, schedule: app_commands.Range[int, 1]) -> None:
        """Show a schedule's next post, last post and last failure."""
        assert interaction.guild_id is not None  # noqa: S101
        info = await self.highlights.status(interaction.guild_id, schedule)
        await send(interaction, embed=embeds.schedule_status_embed(info), ephemeral=True)

    @app_commands.command(name="pause")
    @app_commands.describe(schedule="The schedule's number (see /highlights list)")
    async def pause(self, interaction: discord.Interaction, schedule: app_commands.Range[int, 1]) -> None:
        """Pause a schedule until resumed."""
        assert interaction.guild_id is not None  # noqa: S101
        info = await self.highlights.pause(interaction.guild_id, schedule)
        await send(interaction, embed=embeds.schedule_status_embed(info), ephemeral=True)

    @app_commands.command(name="resume")
    @app_commands.describe(schedule="The schedule's number (see /highlights list)")
    async def resume(self, interaction: discord.Interaction, schedule: app_commands.Range[int, 1]) -> None:
        """Resume a paused (or failing) schedule from its next slot."""
        assert interaction.guild_id is not None  # noqa: S101
        info = await self.highlights.resume(interaction.guild_id, schedule)
        await send(interaction, embed=embeds.schedule_status_embed(info), ephemeral=True)

    @app_commands.command(name="saved-first")
    @app_commands.describe(
        schedule="The schedule's number (see /highlights list)",
        on="On (the default for a new schedule): the talks members saved most come first in each round",
    )
    async def saved_first(
        self, interaction: discord.Interaction, schedule: app_commands.Range[int, 1], on: bool
    ) -> None:
        """Post the talks this server's members saved most first, or simply in the rotation's order."""
        assert interaction.guild_id is not None  # noqa: S101
        info = await self.highlights.prefer_saved(interaction.guild_id, schedule, on)
        await send(interaction, embed=embeds.schedule_status_embed(info), ephemeral=True)

    @app_commands.command(name="remove")
    @app_commands.describe(schedule="The schedule's number (see /highlights list)")
    async def remove(self, interaction: discord.Interaction, schedule: app_commands.Range[int, 1]) -> None:
        """Remove a schedule for good."""
        assert interaction.guild_id is not None  # noqa: S101
        info = await self.highlights.remove(interaction.guild_id, schedule)
        await send(interaction, content=f"Removed highlight schedule #{info.id} ({info.rule_text}).", ephemeral=True)

    @app_commands.command(name="preview")
    @app_commands.describe(schedule="The schedule's number (see /highlights list)")
    async def preview(self, interaction: discord.Interaction, schedule: app_commands.Range[int, 1]) -> None:
        """Show, privately, what the schedule's next post will look like."""
        assert interaction.guild_id is not None  # noqa: S101
        info = await self.highlights.status(interaction.guild_id, schedule)
        talk = await self.highlights.preview(interaction.guild_id, schedule)
        embed = embeds.talk_embed(talk, heading=info.heading, usual_language=self.catalogue.usual_language())
        await send(interaction, embed=embed, ephemeral=True)

    @app_commands.command(name="now")
    @app_commands.describe(schedule="The schedule's number (see /highlights list)")
    async def now(self, interaction: discord.Interaction, schedule: app_commands.Range[int, 1]) -> None:
        """Post the schedule's next highlight at once."""
        assert interaction.guild_id is not None  # noqa: S101
        await interaction.response.defer(ephemeral=True, thinking=True)
        post = await self.highlights.post_now(
            interaction.guild_id, schedule, self.poster, request_key=str(interaction.id)
        )
        await send(
            interaction, content=f"Posted “{embeds.safe(post.talk.title, 200)}” in <#{post.schedule.channel_id}>."
        )

    @app_commands.command(name="recordings")
    @app_commands.describe(
        channel="Where to announce new recordings of the talks this server's schedules cover",
        off="Stop announcing them (off is the default)",
    )
    async def recordings(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None = None, off: bool = False
    ) -> None:
        """Announce new recordings of the talks your schedules cover ("5 new recordings from ..."), or stop."""
        guild = interaction.guild
        assert guild is not None  # noqa: S101 - guild_only
        if channel is not None and off:
            raise UserFacingError("Give a channel to announce new recordings in, or off to stop: not both.")
        if off:
            await self.announcements.set(guild.id, None, set_by=interaction.user.id)
            text = "New recordings will no longer be announced."
        elif channel is not None:
            target = guild.get_channel(channel.id)
            if not isinstance(target, discord.TextChannel):
                raise UserFacingError("Pick a text or announcement channel for the announcements.")
            missing = missing_permissions(target, guild.me)
            if missing:
                raise UserFacingError(f"I can't post in {target.mention}: I need {permission_names(missing)} there.")
            await self.announcements.set(guild.id, target.id, set_by=interaction.user.id)
            text = (
                f"New recordings of the talks this server's highlight schedules cover will be announced in"
                f" {target.mention}."
            )
        else:
            setting = await self.announcements.setting(guild.id)
            text = (
                "New recordings are not announced. `/highlights recordings channel:` turns that on."
                if setting is None
                else f"New recordings of the talks this server's highlight schedules cover are announced in"
                f" <#{setting.channel_id}>. `/highlights recordings off:True` stops that."
            )
        await send(interaction, content=text, ephemeral=True)

    @pause.autocomplete("schedule")
    @saved_first.autocomplete("schedule")
    @resume.autocomplete("schedule")
    @remove.autocomplete("schedule")
    @status.autocomplete("schedule")
    @preview.autocomplete("schedule")
    @now.autocomplete("schedule")
    @fail_soft
    async def _schedules(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
        if interaction.guild_id is None:
            return []
        infos = await self.highlights.list(interaction.guild_id)
        return [
            app_commands.Choice(name=embeds.clip(f"#{i.id} · {i.rule_text} · {i.filter_text}", 100), value=i.id)
            for i in infos
            if current.strip() in str(i.id) or current.strip().casefold() in i.rule_text.casefold()
        ][:25]

    @setup_schedule.autocomplete("timezone")
    @fail_soft
    async def _zones(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=zone, value=zone) for zone in suggest_zones(current)]

    @setup_schedule.autocomplete("topic")
    @fail_soft
    async def _topics(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _choices([(s.key, s.label) for s in self.catalogue.suggest_topics(current)])

    @setup_schedule.autocomplete("event")
    @fail_soft
    async def _events(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _choices([(s.key, s.label) for s in self.catalogue.suggest_events(current)])

    @setup_schedule.autocomplete("language")
    @fail_soft
    async def _languages(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return _choices([(s.key, s.label) for s in self.catalogue.suggest_languages(current)])


async def setup(bot: HighlightsBot) -> None:
    """Add both cogs, with a scheduler that posts through this bot."""
    services = bot.services
    poster = DiscordPoster(bot, services.catalogue)
    scheduler = Scheduler(services.schedule_store, poster, services.clock, services.scheduler_config)
    services.highlights.on_change = scheduler.notify_changed
    # Members' reminders go through the same engine: one worker pool, one budget of Discord's global limit.
    sender = DiscordReminderSender(bot, services.catalogue)
    services.reminders.on_change = scheduler.add(ReminderJobs(services.reminder_store, sender, scheduler.runtime))
    # And live mode's notices ("Starting in 5 minutes", programme changes).
    live = services.live
    scheduler.add(LiveJobs(live, live.store, DiscordLivePoster(bot), scheduler.runtime))
    live.on_change = scheduler.reload
    # And the announcements of new recordings.
    announcements = services.announcements
    scheduler.add(AnnouncementJobs(announcements.store, DiscordAnnouncementPoster(bot), scheduler.runtime))
    announcements.on_change = scheduler.reload
    await bot.add_cog(HighlightCog(services.highlights, services.catalogue))
    await bot.add_cog(HighlightsCog(services.highlights, services.catalogue, scheduler, poster, announcements))
