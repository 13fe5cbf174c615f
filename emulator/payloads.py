"""JSON objects shaped the way Discord sends them (REST replies and gateway payloads)."""

from __future__ import annotations

import itertools
from typing import Any

from emulator.model import (
    ALL_PERMISSIONS,
    Channel,
    ChannelType,
    Guild,
    Role,
    User,
    iso,
    utcnow,
)
from emulator.world import World

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
_SELECT_TYPES = frozenset({3, 5, 6, 7, 8})
_OVERWRITE_MEMBER = 1


def user(person: User) -> dict[str, Any]:
    """A public user object."""
    payload: dict[str, Any] = {
        "id": str(person.id),
        "username": person.username,
        "global_name": person.global_name,
        "discriminator": "0",
        "avatar": None,
        "avatar_decoration_data": None,
        "collectibles": None,
        "primary_guild": None,
        "banner": None,
        "accent_color": None,
        "public_flags": 0,
        "flags": 0,
    }
    if person.bot:
        payload["bot"] = True
    return payload


def private_user(person: User) -> dict[str, Any]:
    """The bot's own user object as `GET /users/@me` returns it."""
    return {**user(person), "mfa_enabled": False, "locale": person.locale, "verified": True, "email": None}


def role(item: Role) -> dict[str, Any]:
    """A role object."""
    payload: dict[str, Any] = {
        "id": str(item.id),
        "name": item.name,
        "permissions": str(item.permissions),
        "position": item.position,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "managed": item.managed,
        "mentionable": False,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    if item.bot_id is not None:
        payload["tags"] = {"bot_id": str(item.bot_id)}
    return payload


def member(world: World, guild: Guild, person: User, *, channel: Channel | None = None) -> dict[str, Any]:
    """A guild member with its user; with `permissions` in `channel` when given (as interactions carry)."""
    roles = [str(guild.bot_role_id)] if person.id == world.bot.id else []
    payload: dict[str, Any] = {
        "user": user(person),
        "roles": roles,
        "joined_at": iso(guild.joined_at),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "nick": None,
        "avatar": None,
        "banner": None,
        "communication_disabled_until": None,
    }
    if channel is not None:
        payload["permissions"] = str(world.permissions(channel, person))
    return payload


def overwrites(world: World, channel: Channel) -> list[dict[str, Any]]:
    """Permission overwrites; a member overwrite expresses an exact override of the bot's permissions."""
    if channel.bot_permissions is None:
        return []
    allow = channel.bot_permissions
    return [
        {
            "id": str(world.bot.id),
            "type": _OVERWRITE_MEMBER,
            "allow": str(allow),
            "deny": str(ALL_PERMISSIONS & ~allow),
        }
    ]


def guild_channel(world: World, channel: Channel, *, viewer: User | None = None) -> dict[str, Any]:
    """A guild channel; with `permissions` as `viewer` has them when given."""
    payload: dict[str, Any] = {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "position": channel.position,
        "flags": 0,
        "parent_id": None,
        "topic": channel.topic,
        "nsfw": False,
        "rate_limit_per_user": 0,
        "last_message_id": str(channel.last_message_id) if channel.last_message_id else None,
        "permission_overwrites": overwrites(world, channel),
    }
    if viewer is not None:
        payload["permissions"] = str(world.permissions(channel, viewer))
    return payload


def private_channel(world: World, channel: Channel) -> dict[str, Any]:
    """A DM channel object."""
    recipient = world.users[channel.recipient_id] if channel.recipient_id is not None else world.default_user
    return {
        "id": str(channel.id),
        "type": ChannelType.DM,
        "flags": 0,
        "last_message_id": str(channel.last_message_id) if channel.last_message_id else None,
        "recipients": [user(recipient)],
    }


def channel(world: World, item: Channel, *, viewer: User | None = None) -> dict[str, Any]:
    """A channel object of either kind."""
    return private_channel(world, item) if item.guild_id is None else guild_channel(world, item, viewer=viewer)


def _guild_fields(world: World, guild: Guild) -> dict[str, Any]:
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "description": None,
        "home_header": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "features": [],
        "owner_id": str(guild.owner_id),
        "application_id": None,
        "region": "deprecated",
        "afk_channel_id": None,
        "afk_timeout": 300,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "widget_enabled": False,
        "widget_channel_id": None,
        "verification_level": 0,
        "roles": [role(item) for item in guild.roles.values()],
        "default_message_notifications": 0,
        "mfa_level": 0,
        "explicit_content_filter": 0,
        "max_presences": None,
        "max_members": 500000,
        "max_stage_video_channel_users": 50,
        "max_video_channel_users": 25,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "rules_channel_id": None,
        "safety_alerts_channel_id": None,
        "public_updates_channel_id": None,
        "premium_progress_bar_enabled": False,
        "nsfw": False,
        "nsfw_level": 0,
        "emojis": [],
        "stickers": [],
        "incidents_data": None,
    }


def guild_create(world: World, guild: Guild, *, joined: bool = False) -> dict[str, Any]:
    """The `d` of a GUILD_CREATE: the guild with its channels, members (incl. the bot) and empty extras.

    After READY it says `unavailable: false` (the guild became available); for a guild just `joined` the key
    is absent, which is how discord.py tells `on_guild_join` from `on_guild_available`.
    """
    payload: dict[str, Any] = {
        **_guild_fields(world, guild),
        "large": False,
        "lazy": True,
        "joined_at": iso(guild.joined_at),
        "member_count": len(guild.member_ids),
        "channels": [guild_channel(world, item) for item in guild.channels.values()],
        "members": [member(world, guild, world.users[uid]) for uid in guild.member_ids],
        "threads": [],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "embedded_activities": [],
        "activity_instances": [],
    }
    if not joined:
        payload["unavailable"] = False
    return payload


def guild(world: World, item: Guild, *, with_counts: bool) -> dict[str, Any]:
    """A guild as `GET /guilds/{id}` returns it."""
    payload = _guild_fields(world, item)
    if with_counts:
        payload["approximate_member_count"] = len(item.member_ids)
        payload["approximate_presence_count"] = 0
    return payload


def application(world: World, guild_count: int) -> dict[str, Any]:
    """The bot's application as `GET /oauth2/applications/@me` returns it."""
    return {
        "id": str(world.application_id),
        "name": world.bot.username,
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "bot": user(world.bot),
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": 0,
        "flags_new": "0",
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "owner": user(world.owner),
        "approximate_guild_count": guild_count,
        "approximate_user_install_count": 0,
        "approximate_user_authorization_count": 0,
        "explicit_content_filter": 0,
        "team": None,
        "eligible_oauth2_scopes": ["bot", "applications.commands"],
        "integration_types_config": {"0": {}, "1": {}},
        "tags": [],
        "rpc_origins": [],
    }


def strip_nulls(value: Any) -> Any:
    """Drop `None` members of objects, recursively, as Discord omits unset fields in what it returns."""
    # Leaves are kept as they are without a call each: most of an embed's members are strings.
    if isinstance(value, dict):
        return {
            key: strip_nulls(inner) if isinstance(inner, dict | list) else inner
            for key, inner in value.items()
            if inner is not None
        }
    if isinstance(value, list):
        return [strip_nulls(inner) if isinstance(inner, dict | list) else inner for inner in value]
    return value


def command(
    world: World, body: dict[str, Any], *, guild_id: int | None, command_id: int, version: int
) -> dict[str, Any]:
    """A registered command as Discord returns it after a bulk overwrite."""
    kind = body.get("type") or 1
    permissions = body.get("default_member_permissions")
    payload: dict[str, Any] = {
        "id": str(command_id),
        "application_id": str(world.application_id),
        "version": str(version),
        "type": kind,
        "name": body["name"],
        "description": body.get("description") or "",
        "default_member_permissions": None if permissions is None else str(permissions),
        "dm_permission": body.get("dm_permission", True) is not False,
        "contexts": body.get("contexts"),
        "integration_types": body.get("integration_types") or [0],
        "nsfw": bool(body.get("nsfw")),
        "name_localizations": body.get("name_localizations"),
        "description_localizations": body.get("description_localizations"),
        "options": strip_nulls(body.get("options") or []),
    }
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
    return payload


def components(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Components as Discord echoes them: nulls dropped, numbered `id`s, select defaults filled in."""
    numbers = itertools.count(1)
    cleaned = strip_nulls(items or [])

    def fill(component: dict[str, Any]) -> dict[str, Any]:
        component.setdefault("id", next(numbers))
        if component.get("type") in _SELECT_TYPES:
            component.setdefault("min_values", 1)
            component.setdefault("max_values", 1)
        if component.get("type") == 3:
            component.setdefault("options", [])
        for key in ("components", "items"):
            if isinstance(component.get(key), list):
                component[key] = [fill(inner) if isinstance(inner, dict) else inner for inner in component[key]]
        if isinstance(component.get("accessory"), dict):
            component["accessory"] = fill(component["accessory"])
        return component

    return [fill(component) for component in cleaned]


def embeds(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Embeds as Discord echoes them: nulls dropped, `type` "rich", fields' `inline` explicit."""
    result: list[dict[str, Any]] = []
    for embed in strip_nulls(items or []):
        embed.setdefault("type", "rich")
        for field in embed.get("fields", []):
            field.setdefault("inline", False)
        result.append(embed)
    return result


def attachment(attachment_id: int, filename: str, size: int, content_type: str | None) -> dict[str, Any]:
    """An attachment object served from the emulator's pretend CDN."""
    url = f"https://cdn.discordapp.com/attachments/0/{attachment_id}/{filename}"
    payload: dict[str, Any] = {"id": str(attachment_id), "filename": filename, "size": size}
    payload.update(url=url, proxy_url=url)
    if content_type:
        payload["content_type"] = content_type
    return payload


def message(
    world: World,
    *,
    message_id: int,
    channel: Channel,
    body: dict[str, Any],
    attachments: list[dict[str, Any]],
    kind: int,
    flags: int,
    webhook: bool,
) -> dict[str, Any]:
    """A message the bot authored, built from a create body."""
    payload: dict[str, Any] = {
        "id": str(message_id),
        "channel_id": str(channel.id),
        "type": kind,
        "author": user(world.bot),
        "content": body.get("content") or "",
        "timestamp": iso(utcnow()),
        "edited_timestamp": None,
        "tts": bool(body.get("tts")),
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments,
        "embeds": embeds(body.get("embeds")),
        "components": components(body.get("components")),
        "pinned": False,
        "flags": flags,
    }
    if body.get("nonce") is not None:
        payload["nonce"] = body["nonce"]
    if webhook:
        payload["webhook_id"] = str(world.application_id)
        payload["application_id"] = str(world.application_id)
    return payload
