"""The emulator's state: the application, its bot, users, guilds, channels, commands and messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.model import (
    BOT_PERMISSIONS,
    DM_PERMISSIONS,
    MEMBER_PERMISSIONS,
    Channel,
    ChannelType,
    Guild,
    Role,
    Snowflakes,
    StoredMessage,
    User,
    utcnow,
)


@dataclass(frozen=True)
class CommandSync:
    """One bulk overwrite of commands, as the bot sent it (`guild_id` is `None` for global commands)."""

    guild_id: int | None
    body: list[dict[str, Any]]


class World:
    """Everything the emulator knows, with the lookups the REST and gateway sides share."""

    def __init__(self, *, bot_name: str) -> None:
        self.snowflakes = Snowflakes()
        self.application_id = self.snowflakes.next()
        self.bot = User(self.snowflakes.next(), bot_name, bot=True)
        self.owner = User(self.snowflakes.next(), "owner", global_name="Owner")
        self.default_user = User(self.snowflakes.next(), "alice", global_name="Alice")
        self.users: dict[int, User] = {u.id: u for u in (self.bot, self.owner, self.default_user)}
        self.guilds: dict[int, Guild] = {}
        self.private_channels: dict[int, Channel] = {}
        self.messages: dict[int, StoredMessage] = {}
        self.files: dict[int, bytes] = {}  # attachment id -> the uploaded bytes
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.command_syncs: list[CommandSync] = []
        self._guild_of_channel: dict[int, int] = {}  # a hint, checked on use: channels may be deleted or moved

    def add_user(self, username: str, *, global_name: str | None = None, permissions: int | None = None) -> User:
        """A new user; `permissions` replaces what @everyone grants them in every guild."""
        user = User(self.snowflakes.next(), username, global_name=global_name, permissions=permissions)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, channel_names: tuple[str, ...], *, shard: tuple[int, int] | None = None) -> Guild:
        """A new guild owned by the application's owner, with the bot as a member and the given text channels.

        `shard` (`(shard_id, shard_count)`): its id is one whose events go to that shard.
        """
        guild_id = self.snowflakes.next(shard=shard)
        guild = Guild(id=guild_id, name=name, owner_id=self.owner.id, joined_at=utcnow())
        guild.roles[guild_id] = Role(guild_id, "@everyone", MEMBER_PERMISSIONS)
        bot_role = Role(self.snowflakes.next(), self.bot.username, BOT_PERMISSIONS, 1, True, self.bot.id)
        guild.roles[bot_role.id] = bot_role
        guild.bot_role_id = bot_role.id
        guild.member_ids.extend([self.bot.id, self.owner.id])
        self.guilds[guild_id] = guild
        for channel_name in channel_names:
            self.add_channel(guild, channel_name)
        return guild

    def add_channel(self, guild: Guild, name: str, *, kind: int = ChannelType.GUILD_TEXT) -> Channel:
        """A new channel at the end of `guild`."""
        channel = Channel(self.snowflakes.next(), name, guild.id, type=kind, position=len(guild.channels))
        guild.channels[channel.id] = channel
        self._guild_of_channel[channel.id] = guild.id
        return channel

    def add_role(self, guild: Guild, name: str, permissions: int) -> Role:
        """A new role in `guild`, above the others."""
        role = Role(self.snowflakes.next(), name, permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        return role

    def channel(self, channel_id: int) -> tuple[Channel, Guild | None] | None:
        """A channel (guild or private) and its guild, or `None` if there is no such channel."""
        hinted = self.guilds.get(self._guild_of_channel.get(channel_id, 0))
        if hinted is not None and (found := hinted.channels.get(channel_id)) is not None:
            return found, hinted
        for guild in self.guilds.values():  # with 10,000 servers, a scan per request would dominate
            found = guild.channels.get(channel_id)
            if found is not None:
                self._guild_of_channel[channel_id] = guild.id
                return found, guild
        private = self.private_channels.get(channel_id)
        return None if private is None else (private, None)

    def dm_channel(self, user: User) -> Channel:
        """The DM channel between `user` and the bot, created on first use."""
        for channel in self.private_channels.values():
            if channel.recipient_id == user.id and channel.bot_can_access:
                return channel
        channel = Channel(self.snowflakes.next(), "", None, type=ChannelType.DM, recipient_id=user.id)
        self.private_channels[channel.id] = channel
        return channel

    def private_channel(self, user: User) -> Channel:
        """A DM between `user` and someone else, where only a user-installed app can be used."""
        for channel in self.private_channels.values():
            if channel.recipient_id == user.id and not channel.bot_can_access:
                return channel
        channel = Channel(
            self.snowflakes.next(), "", None, type=ChannelType.DM, recipient_id=user.id, bot_can_access=False
        )
        self.private_channels[channel.id] = channel
        return channel

    def permissions(self, channel: Channel, user: User) -> int:
        """What `user` (or the bot) may do in `channel`."""
        found = self.channel(channel.id)
        guild = found[1] if found else None
        if guild is None:
            return DM_PERMISSIONS
        return guild.channel_permissions(channel, user, is_bot=user.id == self.bot.id)

    def commands_for(self, guild_id: int | None) -> list[dict[str, Any]]:
        """The registered commands of a guild, or the global ones for `None`."""
        return self.global_commands if guild_id is None else self.guild_commands.get(guild_id, [])

    def find_command(self, name: str, guild_id: int | None) -> tuple[dict[str, Any], int | None]:
        """A chat-input command by name: the guild's own first, then global; with the guild it belongs to."""
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for command in self.commands_for(scope):
                if command["name"] == name and command.get("type", 1) == 1:
                    return command, scope
        where = f"guild {guild_id} or globally" if guild_id is not None else "globally"
        raise LookupError(f"no command /{name} is registered {where}; did the bot sync its command tree?")

    def set_commands(self, guild_id: int | None, body: list[dict[str, Any]], responses: list[dict[str, Any]]) -> None:
        """Replace a scope's commands after a bulk overwrite."""
        self.command_syncs.append(CommandSync(guild_id, body))
        if guild_id is None:
            self.global_commands = responses
        else:
            self.guild_commands[guild_id] = responses

    def command_id(self, guild_id: int | None, name: str, kind: int) -> int:
        """The id a command keeps across overwrites (same name and type), or a new one."""
        for command in self.commands_for(guild_id):
            if command["name"] == name and command.get("type", 1) == kind:
                return int(command["id"])
        return self.snowflakes.next()
