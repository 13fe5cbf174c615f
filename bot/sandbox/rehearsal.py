"""`rehearse EVENT` at the sandbox's prompt: live mode's notices on a simulated clock, posted by the bot itself.

The same rehearsal as `python -m bot rehearse` (`bot.live.rehearse`: the real engine and live mode over a copy
of the database), except that each notice goes through the platform's own live poster (Discord's here,
Slack's in `bot.sandbox.slack`) into the sandbox's stand-in for it, and is shown as a member would see it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.text import Text

from bot.catalogue.formats.options import zone_named
from bot.commands.text import split
from bot.errors import UserFacingError
from bot.highlights.ports import Clock, PostResult
from bot.live.notices import ChangeNotice, UpNext
from bot.live.rehearse import PrintingPoster, rehearse
from bot.platforms.discord.posting import DiscordLivePoster
from bot.sandbox.render import message_view
from bot.sandbox.session import Sandbox

USAGE = 'rehearse EVENT [start:"2026-02-01 09:00"] [speed:60] [lead:5] [timezone:Europe/Brussels]'
_COMMAND = re.compile(r"/?rehearse\b(.*)", re.DOTALL)
_OPTIONS = frozenset({"start", "speed", "lead", "timezone"})


class SandboxLivePoster(PrintingPoster):
    """Each notice stamped with the simulated time, then posted by the bot and shown as the channel shows it."""

    def __init__(self, sandbox: Sandbox, console: Console, clock: Clock, zone: ZoneInfo) -> None:
        super().__init__(clock, zone, lambda line: console.print(Text(line, style="dim")))
        if sandbox.bot is None:
            raise UserFacingError("The sandbox's bot is not running.")
        self.sandbox = sandbox
        self.console = console
        self.live = DiscordLivePoster(sandbox.bot)
        self._run = secrets.token_hex(8)  # each rehearsal's nonces its own, or a second would get the first's posts

    async def up_next(self, guild_id: int, channel_id: int, notice: UpNext, nonce: str) -> PostResult:
        """Post the talks about to start, as the bot does."""
        channel = self.sandbox.emulator.channel
        return self._shown(
            await self.live.up_next(self.sandbox.emulator.guild.id, channel.id, notice, self._nonce(nonce))
        )

    async def changes(self, guild_id: int, channel_id: int, notice: ChangeNotice, nonce: str) -> PostResult:
        """Post a batch of programme changes, as the bot does."""
        channel = self.sandbox.emulator.channel
        return self._shown(
            await self.live.changes(self.sandbox.emulator.guild.id, channel.id, notice, self._nonce(nonce))
        )

    def _nonce(self, nonce: str) -> str:
        return hashlib.blake2b(f"{self._run}/{nonce}".encode(), digest_size=12).hexdigest()

    def _shown(self, result: PostResult) -> PostResult:
        channel = self.sandbox.emulator.channel
        self.say(f"{self._stamp()}  #{channel.name}")
        posted = [m for m in self.sandbox.emulator.posts(channel) if m.id == result.message_id]
        for message in posted:
            self.console.print(message_view(message.payload, [], self.sandbox.channel_names()))
        self.posted += 1
        return result


def rehearsal_line(line: str) -> str | None:
    """What follows `rehearse` on a prompt line, or None if the line is something else."""
    match = _COMMAND.fullmatch(line.strip())
    return match.group(1).strip() if match else None


RehearsalPoster = Callable[[Clock, ZoneInfo], PrintingPoster]
"""Makes the poster a rehearsal posts through, given its simulated clock and the zone its times are shown in."""


async def rehearse_in_sandbox(sandbox: Sandbox, arguments: str, console: Console) -> int:
    """Run `rehearse EVENT [start:] [speed:] [lead:] [timezone:]` in Discord's sandbox; how many were posted."""
    return await rehearse_through(
        sandbox.database, arguments, console, lambda clock, zone: SandboxLivePoster(sandbox, console, clock, zone)
    )


async def rehearse_through(database: Path, arguments: str, console: Console, poster: RehearsalPoster) -> int:
    """Run `rehearse EVENT [start:] [speed:] [lead:] [timezone:]` through `poster`; how many notices it posted."""
    parts = split(arguments)
    unknown = sorted(set(parts.options) - _OPTIONS)
    if not parts.head or unknown:
        said = f"rehearse has no option {unknown[0]}:. " if unknown else ""
        raise UserFacingError(f"{said}Usage: {USAGE}")
    speed = _number("speed", parts.options.get("speed", "0"))
    lead = _number("lead", parts.options.get("lead", "5"))
    if speed < 0 or not lead.is_integer() or not 1 <= lead <= 120:
        raise UserFacingError("speed: is 0 or more; lead: is a whole number of minutes between 1 and 120.")
    zone = zone_named(parts.options.get("timezone", "UTC"), "timezone:")
    say: Callable[[str], None] = lambda text: console.print(Text(text, style="cyan"))  # noqa: E731

    begun = datetime.now(UTC)
    posted = await rehearse(
        database,
        parts.head,
        parts.options.get("start"),
        speed=speed,
        lead_minutes=int(lead),
        zone_name=zone.key,
        say=say,
        poster=lambda clock, zone, _say: poster(clock, zone),
    )
    console.print(Text(f"(rehearsed in {(datetime.now(UTC) - begun).total_seconds():.1f} s of real time)", "dim"))
    return posted


def _number(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise UserFacingError(f"{name}: takes a number, such as {name}:60, not “{raw[:40]}”.") from None
