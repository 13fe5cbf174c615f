"""A small discord.py bot that exercises what the emulator must support."""

from __future__ import annotations

import io

import discord
from discord import app_commands
from discord.ext import commands

from emulator.harness import fast_client_options

PAGES = ("page one", "page two", "page three")
FRUITS = ("apple", "apricot", "banana", "cherry", "grape", "mango")


class Pager(discord.ui.View):
    """Buttons that page through `PAGES`, editing the message in place."""

    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.index = 0

    @discord.ui.button(label="Next", custom_id="pager:next", style=discord.ButtonStyle.primary)
    async def next_page(self, interaction: discord.Interaction, button: discord.ui.Button[Pager]) -> None:
        self.index = (self.index + 1) % len(PAGES)
        await interaction.response.edit_message(content=PAGES[self.index], view=self)

    @discord.ui.button(label="Later", custom_id="pager:later")
    async def later(self, interaction: discord.Interaction, button: discord.ui.Button[Pager]) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="edited after a deferred update")


class Picker(discord.ui.View):
    """A string select."""

    @discord.ui.select(
        custom_id="fruit:pick",
        max_values=2,
        options=[discord.SelectOption(label=f.title(), value=f) for f in FRUITS],
    )
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select[Picker]) -> None:
        await interaction.response.send_message("picked " + ", ".join(select.values), ephemeral=True)


@app_commands.command()
async def ping(interaction: discord.Interaction) -> None:
    """Answer pong."""
    await interaction.response.send_message("pong")


@app_commands.command()
async def secret(interaction: discord.Interaction) -> None:
    """Answer only to the caller."""
    await interaction.response.send_message("hush", ephemeral=True)


@app_commands.command()
@app_commands.describe(name="A fruit")
async def fruit(interaction: discord.Interaction, name: str) -> None:
    """Pick a fruit, with suggestions."""
    await interaction.response.send_message(f"you chose {name}")


@fruit.autocomplete("name")
async def _suggest(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=f, value=f) for f in FRUITS if f.startswith(current)][:25]


@app_commands.command()
async def pages(interaction: discord.Interaction) -> None:
    """Show a paginated message."""
    await interaction.response.send_message(PAGES[0], view=Pager())


@app_commands.command()
async def pick(interaction: discord.Interaction) -> None:
    """Show a select."""
    await interaction.response.send_message("choose", view=Picker())


@app_commands.command()
async def slow(interaction: discord.Interaction) -> None:
    """Defer, then follow up."""
    await interaction.response.defer(thinking=True)
    await interaction.followup.send("done later")
    await interaction.followup.send("and one more", ephemeral=True)


@app_commands.command()
@app_commands.describe(size="How many characters to send")
async def shout(interaction: discord.Interaction, size: int) -> None:
    """Send `size` characters (too many is a bug the emulator must catch)."""
    await interaction.response.send_message("a" * size)


@app_commands.command()
@app_commands.describe(file="A file", who="Someone", role="A role", ratio="A number")
async def inspect(
    interaction: discord.Interaction,
    file: discord.Attachment,
    who: discord.Member,
    role: discord.Role,
    ratio: app_commands.Range[float, 0.0, 1.0],
) -> None:
    """Describe resolved options."""
    text = f"{file.filename}:{file.size} {who.name} {role.name} {ratio}"
    # A file object, not a path: discord.py does not close files it opened for interaction responses.
    await interaction.response.send_message(text, file=discord.File(io.BytesIO(b"notes"), filename="notes.txt"))


@app_commands.command()
@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
@app_commands.allowed_installs(guilds=True, users=True)
async def whoami(interaction: discord.Interaction) -> None:
    """Say who and where (a global command usable in DMs)."""
    where = "guild" if interaction.guild_id else "dm"
    await interaction.response.send_message(f"{interaction.user.name} in {where}")


class Highlights(app_commands.Group):
    """Configure highlights."""

    @app_commands.command()
    @app_commands.describe(channel="Where", count="How many", enabled="On or off")
    async def setup(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel,
        count: app_commands.Range[int, 1, 10],
        enabled: bool = True,
    ) -> None:
        """Set the highlights channel."""
        await interaction.response.send_message(f"#{channel.name} x{count} {'on' if enabled else 'off'}")


class EmulatorTestBot(commands.Bot):
    """The bot under test; remembers errors from commands so tests can assert on them."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned, intents=discord.Intents.default(), **fast_client_options()
        )
        self.guild_id = guild_id
        self.command_errors: list[BaseException] = []
        self.tree.on_error = self._record_error

    async def _record_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        self.command_errors.append(error.original if isinstance(error, app_commands.CommandInvokeError) else error)

    async def setup_hook(self) -> None:
        guild = discord.Object(self.guild_id)
        for command in (ping, secret, fruit, pages, pick, slow, shout, inspect):
            self.tree.add_command(command, guild=guild)
        self.tree.add_command(Highlights(name="highlights"), guild=guild)
        self.tree.add_command(whoami)
        await self.tree.sync(guild=guild)
        await self.tree.sync()
