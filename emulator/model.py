"""The emulator's world: users, guilds, channels, roles, permissions and the messages the bot sent."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000


class Permission(enum.IntFlag):
    """The permission bits the emulator checks or grants (Discord's values)."""

    CREATE_INSTANT_INVITE = 1 << 0
    ADMINISTRATOR = 1 << 3
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CHANGE_NICKNAME = 1 << 26
    USE_APPLICATION_COMMANDS = 1 << 31
    SEND_MESSAGES_IN_THREADS = 1 << 38


ALL_PERMISSIONS = (1 << 54) - 1
MEMBER_PERMISSIONS = (
    Permission.CREATE_INSTANT_INVITE
    | Permission.ADD_REACTIONS
    | Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.USE_EXTERNAL_EMOJIS
    | Permission.CHANGE_NICKNAME
    | Permission.USE_APPLICATION_COMMANDS
    | Permission.SEND_MESSAGES_IN_THREADS
)
BOT_PERMISSIONS = (
    Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.ADD_REACTIONS
    | Permission.USE_EXTERNAL_EMOJIS
    | Permission.SEND_MESSAGES_IN_THREADS
)
# What a bot may do in a DM, as Discord reports it in `app_permissions`.
DM_PERMISSIONS = BOT_PERMISSIONS & ~Permission.SEND_MESSAGES_IN_THREADS


class ChannelType(enum.IntEnum):
    """The channel types the emulator knows."""

    GUILD_TEXT = 0
    DM = 1


class InteractionContext(enum.IntEnum):
    """Where an interaction happened (Discord's interaction context types)."""

    GUILD = 0
    BOT_DM = 1
    PRIVATE_CHANNEL = 2


class MessageFlag(enum.IntFlag):
    """Message flags the emulator reads or sets."""

    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_COMPONENTS_V2 = 1 << 15


class Snowflakes:
    """Issues increasing, unique snowflakes whose timestamps are the current time."""

    def __init__(self) -> None:
        self._last = 0

    def next(self, *, shard: tuple[int, int] | None = None) -> int:
        """A fresh snowflake; with `shard` (`(shard_id, shard_count)`), one whose `(id >> 22) % shard_count` is it.

        For a shard, its timestamp is moved forward by the few milliseconds that takes.
        """
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        candidate = max(now, self._last + 1)
        if shard is not None:
            shard_id, count = shard
            stamp = candidate >> 22
            moved = stamp + (shard_id - stamp) % count
            if moved != stamp:
                candidate = moved << 22
        self._last = candidate
        return self._last


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Discord's timestamp format."""
    return moment.isoformat()


@dataclass
class User:
    """A Discord user (or the bot's own user)."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    locale: str = "en-US"
    permissions: int | None = None
    """Guild-level permissions when this user is a member; `None` means what @everyone has."""
    dms_closed: bool = False
    """The user accepts no direct messages from the bot (Discord answers 403 with code 50007)."""


@dataclass
class Role:
    """A guild role."""

    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    bot_id: int | None = None


@dataclass
class Channel:
    """A guild text channel, or a DM channel when `guild_id` is `None`."""

    id: int
    name: str
    guild_id: int | None
    type: int = ChannelType.GUILD_TEXT
    position: int = 0
    topic: str | None = None
    bot_permissions: int | None = None
    """An exact override of what the bot may do here (sent as a member overwrite); `None` inherits."""
    recipient_id: int | None = None
    bot_can_access: bool = True
    """False for a private channel the bot is not part of (a user-installed app used in someone's DM)."""
    last_message_id: int | None = None


@dataclass
class Guild:
    """A guild the bot is a member of."""

    id: int
    name: str
    owner_id: int
    joined_at: datetime
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    member_ids: list[int] = field(default_factory=list)
    bot_role_id: int = 0

    @property
    def everyone(self) -> Role:
        """The @everyone role, whose id is the guild's."""
        return self.roles[self.id]

    def text_channels(self) -> list[Channel]:
        """Text channels in position order."""
        return sorted((c for c in self.channels.values() if c.type == ChannelType.GUILD_TEXT), key=lambda c: c.position)

    def base_permissions(self, user: User, *, is_bot: bool) -> int:
        """Guild-level permissions of a member (before channel overwrites)."""
        if user.id == self.owner_id:
            return ALL_PERMISSIONS
        base = self.everyone.permissions
        if is_bot:
            base |= self.roles[self.bot_role_id].permissions
        elif user.permissions is not None:
            base = user.permissions
        return ALL_PERMISSIONS if base & Permission.ADMINISTRATOR else base

    def channel_permissions(self, channel: Channel, user: User, *, is_bot: bool) -> int:
        """Permissions in `channel`, computed the way discord.py and Discord do for our overwrites."""
        base = self.base_permissions(user, is_bot=is_bot)
        if base == ALL_PERMISSIONS:
            return base
        if is_bot and channel.bot_permissions is not None:
            base = channel.bot_permissions
        if not base & Permission.VIEW_CHANNEL:
            return 0
        if not base & Permission.SEND_MESSAGES:
            base &= ~(Permission.MENTION_EVERYONE | Permission.EMBED_LINKS | Permission.ATTACH_FILES)
        return base


@dataclass
class StoredMessage:
    """A message the bot created, in its current state, with its earlier versions."""

    payload: dict[str, Any]
    source: str
    """How it was made: "post" (channel message), "response" (interaction callback) or "followup"."""
    interaction_id: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False

    @property
    def id(self) -> int:
        """The message id."""
        return int(self.payload["id"])

    @property
    def channel_id(self) -> int:
        """The channel it is in."""
        return int(self.payload["channel_id"])

    @property
    def content(self) -> str:
        """Its text."""
        return str(self.payload.get("content", ""))

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """Its embeds, as Discord returns them."""
        return list(self.payload.get("embeds", []))

    @property
    def components(self) -> list[dict[str, Any]]:
        """Its top-level components, as Discord returns them."""
        return list(self.payload.get("components", []))

    @property
    def flags(self) -> int:
        """Its message flags."""
        return int(self.payload.get("flags", 0))

    @property
    def ephemeral(self) -> bool:
        """Whether only the invoking user sees it."""
        return bool(self.flags & MessageFlag.EPHEMERAL)

    def iter_components(self) -> list[dict[str, Any]]:
        """All components, depth first (rows, then what is inside them)."""
        found: list[dict[str, Any]] = []
        pending = list(reversed(self.components))
        while pending:
            component = pending.pop()
            found.append(component)
            for key in ("components", "accessory"):
                inner = component.get(key)
                if isinstance(inner, list):
                    pending.extend(reversed(inner))
                elif isinstance(inner, dict):
                    pending.append(inner)
        return found

    def component(self, custom_id: str) -> dict[str, Any]:
        """The component with `custom_id`; `KeyError` if the message has none."""
        for component in self.iter_components():
            if component.get("custom_id") == custom_id:
                return component
        raise KeyError(f"message {self.id} has no component with custom_id {custom_id!r}")

    def custom_ids(self) -> list[str]:
        """The custom ids of its interactive components, in order."""
        return [str(c["custom_id"]) for c in self.iter_components() if "custom_id" in c]

    def replace(self, payload: dict[str, Any]) -> None:
        """Record the current version and switch to `payload`."""
        self.history.append(self.payload)
        self.payload = payload
