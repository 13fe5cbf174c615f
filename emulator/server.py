"""`DiscordEmulator`: a local Discord (REST and gateway) on 127.0.0.1 that a real discord.py client talks to."""

from __future__ import annotations

import asyncio
import functools
import json
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

from emulator import payloads
from emulator.faults import Faults
from emulator.gateway import Gateway, ReadyPayloads, Session, ShardingRules, shard_of
from emulator.interactions import (
    InteractionHandle,
    InteractionType,
    Resolver,
    Upload,
    Watch,
    command_data,
)
from emulator.model import (
    Channel,
    Guild,
    InteractionContext,
    Role,
    StoredMessage,
    User,
)
from emulator.rest import API_PREFIX, JSON, RequestRecord, RestApi, Violation
from emulator.spec import ApiSpec, available_spec, load_spec
from emulator.world import World

T = TypeVar("T")

# A made-up token in the shape of a real one (three base64url parts), so config checks accept it.
DEFAULT_TOKEN = "RW11bGF0ZWRCb3Q.local.emulator-token-not-a-secret"  # noqa: S105


@dataclass(frozen=True)
class _Target:
    """Who interacts, where."""

    user: User
    channel: Channel
    guild: Guild | None
    context: InteractionContext


class DiscordEmulator:
    """A fake Discord for tests and the sandbox; see `emulator/__init__.py` for the overview."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_name: str = "testbot",
        validate: bool | None = None,
        callback_deadline: float | None = 3.0,
        host: str = "127.0.0.1",
        port: int = 0,
        sharding: ShardingRules | None = None,
    ) -> None:
        self.token = token
        self.callback_deadline = callback_deadline
        # None: check against Discord's API description when $DISCORD_API_SPEC names one; True: insist on it.
        self.spec: ApiSpec | None = available_spec() if validate is None else load_spec() if validate else None
        self.world = World(bot_name=bot_name)
        self.guild = self.world.add_guild("Emulated Guild", ("general", "highlights"))
        self.violations: list[Violation] = []
        self.requests: list[RequestRecord] = []
        self.interactions: dict[int, InteractionHandle] = {}
        self._by_token: dict[str, InteractionHandle] = {}
        self._posts: defaultdict[int, list[StoredMessage]] = defaultdict(list)
        self._read: defaultdict[int, int] = defaultdict(int)
        self._watch = Watch()
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self.sharding = sharding or ShardingRules()
        self.gateway = Gateway(token, ReadyPayloads(self._ready, self._guild_creates), self.notify, self.sharding)
        self.faults = Faults(self.gateway)
        self._rest = RestApi(self, self.faults)
        self._uploads: dict[int, bytes] = {}

    # -- lifecycle ------------------------------------------------------------------------------------

    async def _download(self, request: web.Request) -> web.Response:
        """An uploaded attachment's bytes, as Discord's CDN serves them."""
        content = self._uploads.get(int(request.match_info["attachment_id"]))
        if content is None:
            raise web.HTTPNotFound
        return web.Response(body=content, content_type="application/octet-stream")

    async def start(self) -> None:
        """Listen on the configured host and port (0: any free port)."""
        app = web.Application(middlewares=[_discord_style_errors])
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/cdn/{attachment_id}/{filename}", self._download)
        for route in self._rest.routes():
            app.router.add_route(route.method, API_PREFIX + route.template, functools.partial(self._rest.serve, route))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Close the gateway sockets and stop listening."""
        await self.gateway.shutdown()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The port it listens on (known after `start()`)."""
        return self._port

    @property
    def api_base_url(self) -> str:
        """What `discord.http.Route.BASE` must be set to."""
        return f"http://{self._host}:{self._port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """What `DiscordWebSocket.DEFAULT_GATEWAY` must be set to (and READY's `resume_gateway_url`)."""
        return f"ws://{self._host}:{self._port}/gateway"

    # -- the world ------------------------------------------------------------------------------------

    @property
    def application_id(self) -> int:
        """The application (and so the follow-up webhook) id."""
        return self.world.application_id

    @property
    def bot(self) -> User:
        """The bot's user."""
        return self.world.bot

    @property
    def user(self) -> User:
        """The user who interacts unless a test names another ("alice")."""
        return self.world.default_user

    @property
    def channel(self) -> Channel:
        """The default guild's first text channel ("general")."""
        return self.guild.text_channels()[0]

    def add_user(self, username: str, *, global_name: str | None = None, permissions: int | None = None) -> User:
        """A new user; `permissions` replaces what @everyone grants them (e.g. `Permission.ADMINISTRATOR`)."""
        return self.world.add_user(username, global_name=global_name, permissions=permissions)

    def dm_channel(self, user: User | None = None) -> Channel:
        """The DM channel between a user and the bot."""
        return self.world.dm_channel(user or self.user)

    async def add_guild(
        self, name: str, channels: Iterable[str] = ("general",), *, shard: tuple[int, int] | None = None
    ) -> Guild:
        """A new guild with the bot in it (GUILD_CREATE if the bot is connected to its shard).

        `shard` (`(shard_id, shard_count)`) picks an id that `(id >> 22) % shard_count` sends to that shard.
        """
        guild = self.world.add_guild(name, tuple(channels), shard=shard)
        await self.gateway.dispatch("GUILD_CREATE", payloads.guild_create(self.world, guild, joined=True))
        return guild

    async def remove_guild(self, guild: Guild) -> None:
        """Remove the bot from a guild (GUILD_DELETE)."""
        del self.world.guilds[guild.id]
        await self.gateway.dispatch("GUILD_DELETE", {"id": str(guild.id)})

    async def add_channel(self, guild: Guild, name: str) -> Channel:
        """A new text channel (CHANNEL_CREATE)."""
        channel = self.world.add_channel(guild, name)
        await self.gateway.dispatch("CHANNEL_CREATE", payloads.guild_channel(self.world, channel))
        return channel

    async def remove_channel(self, channel: Channel) -> None:
        """Delete a guild channel (CHANNEL_DELETE); posting to it then gives 404 Unknown Channel."""
        found = self.world.channel(channel.id)
        if found is None or found[1] is None:
            raise LookupError(f"{channel.id} is not a guild channel")
        payload = payloads.guild_channel(self.world, channel)
        del found[1].channels[channel.id]
        await self.gateway.dispatch("CHANNEL_DELETE", payload)

    async def set_bot_permissions(self, channel: Channel, permissions: int | None) -> None:
        """Give the bot exactly `permissions` in `channel` (`None`: what its roles give) (CHANNEL_UPDATE)."""
        channel.bot_permissions = permissions
        await self.gateway.dispatch("CHANNEL_UPDATE", payloads.guild_channel(self.world, channel))

    async def add_role(self, guild: Guild, name: str, permissions: int = 0) -> Role:
        """A new role (GUILD_ROLE_CREATE), e.g. to pass to a role option."""
        role = self.world.add_role(guild, name, permissions)
        await self.gateway.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": payloads.role(role)})
        return role

    def commands(self, guild: Guild | None = None) -> list[dict[str, Any]]:
        """The commands registered by the bot's last sync, globally or in `guild`."""
        return self.world.commands_for(guild.id if guild is not None else None)

    # -- what the bot sent ----------------------------------------------------------------------------

    def notify(self) -> None:
        """Wake waiters after a change."""
        self._watch.notify()

    async def wait_for(
        self,
        probe: Callable[[], T | None],
        *,
        timeout: float = 2.0,  # noqa: ASYNC109
        what: str = "a condition",
    ) -> T:
        """Wait until `probe()` returns something other than `None` (re-checked after every change)."""
        return await self._watch.until(probe, timeout, what)

    async def wait_connected(self, timeout: float = 2.0, *, shard_id: int | None = None) -> None:  # noqa: ASYNC109
        """Wait until a bot is identified (or resumed) and its socket is open (every session's, or one shard's)."""

        def probe() -> bool | None:
            connected = self.gateway.connected if shard_id is None else self.gateway.shard_connected(shard_id)
            return True if connected else None

        what = "a gateway session" if shard_id is None else f"a gateway session of shard {shard_id}"
        await self.wait_for(probe, timeout=timeout, what=what)

    def record_post(self, message: StoredMessage) -> None:
        """Note a channel post (called by the REST side)."""
        self._posts[message.channel_id].append(message)

    def posts(self, channel: Channel) -> list[StoredMessage]:
        """Messages the bot posted to `channel` with `POST /channels/{id}/messages`, oldest first."""
        return list(self._posts[channel.id])

    async def next_post(self, channel: Channel, *, timeout: float = 2.0) -> StoredMessage:  # noqa: ASYNC109
        """The oldest post to `channel` not yet returned by `next_post`, waiting for one if needed."""
        index = self._read[channel.id]

        def probe() -> StoredMessage | None:
            posted = self._posts[channel.id]
            return posted[index] if len(posted) > index else None

        found = await self.wait_for(probe, timeout=timeout, what=f"a post to #{channel.name or channel.id}")
        self._read[channel.id] = index + 1
        return found

    def message(self, message_id: int) -> StoredMessage:
        """Any message the bot created (post, response or follow-up), in its current state."""
        return self.world.messages[message_id]

    def interaction_by_token(self, token: str) -> InteractionHandle | None:
        """The interaction with this token, if any."""
        return self._by_token.get(token)

    # -- driving interactions -------------------------------------------------------------------------

    async def slash(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: User | None = None,
        guild: Guild | None = None,
        channel: Channel | None = None,
        context: InteractionContext = InteractionContext.GUILD,
    ) -> InteractionHandle:
        """Invoke a chat-input command; `name` may include a group and subcommand ("highlights setup")."""
        words = name.split()
        target = self._target(user, guild, channel, context)
        command, scope = self._command(words[0], target)
        data = command_data(command, words[1:], options or {}, self._resolver(target))
        if scope is not None:
            data["guild_id"] = str(scope)
        return await self._send(InteractionType.APPLICATION_COMMAND, data, target, command=command)

    async def autocomplete(
        self,
        name: str,
        focused: str,
        value: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: User | None = None,
        guild: Guild | None = None,
        channel: Channel | None = None,
        context: InteractionContext = InteractionContext.GUILD,
    ) -> InteractionHandle:
        """Ask for suggestions while `focused` holds `value`; other `options` are sent typed."""
        words = name.split()
        target = self._target(user, guild, channel, context)
        command, scope = self._command(words[0], target)
        values = {**(options or {}), focused: value}
        data = command_data(command, words[1:], values, self._resolver(target), focused=focused)
        if scope is not None:
            data["guild_id"] = str(scope)
        return await self._send(InteractionType.AUTOCOMPLETE, data, target, command=command)

    async def click(
        self, message: StoredMessage | int, custom_id: str, *, user: User | None = None, force: bool = False
    ) -> InteractionHandle:
        """Press the button `custom_id` on a message the bot sent.

        A disabled button cannot be pressed (`ValueError`) unless `force`: a client that has not yet seen the
        edit that disabled it (or the end of the view that listened to it) can still send the click.
        """
        stored = self._message(message)
        component = self._component(stored, custom_id, kind=2, force=force)
        data = {"custom_id": custom_id, "component_type": 2, "id": component["id"]}
        return await self._send(InteractionType.MESSAGE_COMPONENT, data, self._message_target(stored, user), stored)

    async def select(
        self,
        message: StoredMessage | int,
        custom_id: str,
        values: Iterable[str],
        *,
        user: User | None = None,
        force: bool = False,
    ) -> InteractionHandle:
        """Choose `values` in the string select `custom_id` on a message the bot sent (`force`: as `click`)."""
        stored = self._message(message)
        component = self._component(stored, custom_id, kind=3, force=force)
        chosen = list(values)
        offered = {option["value"] for option in component.get("options", [])}
        if not set(chosen) <= offered:
            raise ValueError(f"{sorted(set(chosen) - offered)} are not options of select {custom_id!r}")
        if not component.get("min_values", 1) <= len(chosen) <= component.get("max_values", 1):
            raise ValueError(f"select {custom_id!r} takes between min_values and max_values choices")
        data = {"custom_id": custom_id, "component_type": 3, "values": chosen, "id": component["id"]}
        return await self._send(InteractionType.MESSAGE_COMPONENT, data, self._message_target(stored, user), stored)

    def _message(self, message: StoredMessage | int) -> StoredMessage:
        stored = self.world.messages.get(message if isinstance(message, int) else message.id)
        if stored is None or stored.deleted:
            raise LookupError(f"the bot has no (undeleted) message {message!r}")
        return stored

    @staticmethod
    def _component(stored: StoredMessage, custom_id: str, *, kind: int, force: bool = False) -> dict[str, Any]:
        component = stored.component(custom_id)
        if component.get("type") != kind:
            raise ValueError(f"component {custom_id!r} has type {component.get('type')}, not {kind}")
        if component.get("disabled") and not force:
            raise ValueError(f"component {custom_id!r} is disabled")
        return component

    def _message_target(self, stored: StoredMessage, user: User | None) -> _Target:
        found = self.world.channel(stored.channel_id)
        if found is None:
            raise LookupError(f"message {stored.id} is in a channel that no longer exists")
        return self._target(user, None, found[0], InteractionContext.GUILD)

    def _target(
        self, user: User | None, guild: Guild | None, channel: Channel | None, context: InteractionContext
    ) -> _Target:
        person = user or self.user
        if channel is not None:
            found = self.world.channel(channel.id)
            if found is None:
                raise LookupError(f"channel {channel.id} does not exist")
            guild = found[1]
            if guild is None:
                context = InteractionContext.BOT_DM if channel.bot_can_access else InteractionContext.PRIVATE_CHANNEL
            else:
                context = InteractionContext.GUILD
        elif context == InteractionContext.BOT_DM:
            channel = self.world.dm_channel(person)
        elif context == InteractionContext.PRIVATE_CHANNEL:
            channel = self.world.private_channel(person)
        else:
            guild = guild or self.guild
            channel = guild.text_channels()[0]
        if guild is not None and person.id not in guild.member_ids:
            guild.member_ids.append(person.id)
        return _Target(person, channel, guild, context)

    def _command(self, name: str, target: _Target) -> tuple[dict[str, Any], int | None]:
        """The command a user in `target` would see by that name, as Discord's client filters them."""
        command, scope = self.world.find_command(name, target.guild.id if target.guild else None)
        contexts = command.get("contexts")
        if contexts is not None and target.context not in contexts:
            raise LookupError(f"/{name} is not available in context {target.context.name}")
        if target.context == InteractionContext.BOT_DM and command.get("dm_permission") is False:
            raise LookupError(f"/{name} is not available in DMs")
        if target.context == InteractionContext.PRIVATE_CHANNEL and 1 not in command.get("integration_types", [0]):
            raise LookupError(f"/{name} is not user-installable, so it cannot be used in a private channel")
        required = command.get("default_member_permissions")
        if target.guild is not None and required is not None:
            granted = target.guild.base_permissions(target.user, is_bot=False)
            if granted & int(required) != int(required):
                raise LookupError(f"{target.user.username} lacks the permissions /{name} requires")
        return command, scope

    def _resolver(self, target: _Target) -> Resolver:
        guild = target.guild
        world = self.world

        def member(person: User) -> dict[str, Any] | None:
            if guild is None:
                return None
            payload = payloads.member(world, guild, person, channel=target.channel)
            del payload["user"]
            return payload

        def channel(item: Channel) -> dict[str, Any]:
            payload = payloads.channel(world, item, viewer=target.user)
            return {key: payload[key] for key in ("id", "type", "name", "permissions", "parent_id") if key in payload}

        def attachment(upload: Upload) -> dict[str, Any]:
            attachment_id = world.snowflakes.next()
            size = upload.size
            if upload.content is not None:
                self._uploads[attachment_id] = upload.content
                size = len(upload.content)
            payload = payloads.attachment(attachment_id, upload.filename, size, upload.content_type)
            if upload.content is not None:  # downloadable from this emulator, as from Discord's CDN
                payload["url"] = payload["proxy_url"] = (
                    f"http://{self._host}:{self._port}/cdn/{attachment_id}/{upload.filename}"
                )
            return payload

        def lookup_role(role_id: int) -> Role:
            if guild is None or role_id not in guild.roles:
                raise LookupError(f"no role {role_id} in the interaction's guild")
            return guild.roles[role_id]

        def lookup_channel(channel_id: int) -> Channel:
            found = world.channel(channel_id)
            if found is None:
                raise LookupError(f"no channel {channel_id}")
            return found[0]

        return Resolver(
            member=member,
            user=payloads.user,
            channel=channel,
            role=payloads.role,
            attachment=attachment,
            lookup_user=world.users.__getitem__,
            lookup_channel=lookup_channel,
            lookup_role=lookup_role,
        )

    async def _send(
        self,
        kind: int,
        data: dict[str, Any],
        target: _Target,
        message: StoredMessage | None = None,
        *,
        command: dict[str, Any] | None = None,
    ) -> InteractionHandle:
        """Build an INTERACTION_CREATE with every field discord.py reads, dispatch it, and track it."""
        world = self.world
        channel, guild, person = target.channel, target.guild, target.user
        payload: dict[str, Any] = {
            "id": str(world.snowflakes.next()),
            "application_id": str(world.application_id),
            "type": kind,
            "token": secrets.token_urlsafe(48),
            "version": 1,
            "attachment_size_limit": payloads.ATTACHMENT_SIZE_LIMIT,
            "data": data,
            "channel": payloads.channel(world, channel, viewer=person),
            "channel_id": str(channel.id),
            "app_permissions": str(world.permissions(channel, world.bot)),
            "entitlements": [],
            "entitlement_sku_ids": [],
            "locale": person.locale,
            "context": int(target.context),
            "authorizing_integration_owners": self._owners(target, command),
        }
        if guild is not None:
            payload["guild_id"] = str(guild.id)
            payload["guild"] = {"id": str(guild.id), "locale": "en-US", "features": []}
            payload["guild_locale"] = "en-US"
            payload["member"] = payloads.member(world, guild, person, channel=channel)
        else:
            payload["user"] = payloads.user(person)
        if message is not None:
            payload["message"] = message.payload
        handle = InteractionHandle(
            payload,
            asyncio.get_running_loop().time(),
            self._watch,
            world.messages,
            source_message_id=message.id if message is not None else None,
        )
        self.interactions[handle.id] = handle
        self._by_token[handle.token] = handle
        await self.gateway.dispatch("INTERACTION_CREATE", payload, required=True)
        return handle

    @staticmethod
    def _owners(target: _Target, command: dict[str, Any] | None) -> dict[str, str]:
        """Which installation authorised the interaction: the guild's ("0") or the user's ("1")."""
        kinds = (command or {}).get("integration_types") or [0]
        if target.context == InteractionContext.PRIVATE_CHANNEL or 0 not in kinds:
            return {"1": str(target.user.id)}
        return {"0": str(target.guild.id) if target.guild is not None else "0"}

    # -- gateway payloads -----------------------------------------------------------------------------

    def _ready(self, session: Session) -> dict[str, Any]:
        return {
            "v": 10,
            "user": payloads.private_user(self.world.bot),
            "guilds": [{"id": str(guild_id), "unavailable": True} for guild_id in self._guild_ids(session.shard)],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.world.application_id), "flags": 0},
            "shard": list(session.shard),
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth": {},
            "user_settings": {},
            "_trace": ['["discord-emulator",{"micros":0}]'],
        }

    def _guild_ids(self, shard: tuple[int, int]) -> list[int]:
        return [guild_id for guild_id in self.world.guilds if shard_of(guild_id, shard[1]) == shard[0]]

    def _guild_creates(self, shard: tuple[int, int]) -> list[dict[str, Any]]:
        return [payloads.guild_create(self.world, self.world.guilds[guild_id]) for guild_id in self._guild_ids(shard)]


@web.middleware
async def _discord_style_errors(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    """Unknown routes and methods answer like Discord: JSON with `message` and `code` 0."""
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException as error:
        if error.status not in (404, 405):
            raise
        body = json.dumps({"message": f"{error.status}: {error.reason}", "code": 0}).encode()
        return web.Response(status=error.status, body=body, headers={"Content-Type": JSON})
    return response
