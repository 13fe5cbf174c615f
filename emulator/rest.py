"""The REST routes a discord.py bot uses, with auth, faults, and spec validation of bodies both ways."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

from aiohttp import BodyPartReader, web

from emulator import limits, payloads
from emulator.faults import FaultReply, Faults, rate_limited
from emulator.gateway import ShardingRules
from emulator.interactions import InteractionHandle, InteractionType
from emulator.model import Channel, Guild, MessageFlag, Permission, StoredMessage, iso, utcnow
from emulator.spec import ApiSpec, Problem, form_body_errors
from emulator.world import World

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
JSON = "application/json"
INTERACTION_TOKEN_LIFETIME = 15 * 60.0
_CALLBACK_SCHEMAS = {
    1: "PongInteractionCallbackRequest",
    4: "CreateMessageInteractionCallbackRequest",
    5: "CreateMessageInteractionCallbackRequest",
    6: "UpdateMessageInteractionCallbackRequest",
    7: "UpdateMessageInteractionCallbackRequest",
    8: "ApplicationCommandAutocompleteCallbackRequest",
    9: "ModalInteractionCallbackRequest",
}
_ALLOWED_CALLBACKS = {
    InteractionType.PING: frozenset({1}),
    InteractionType.APPLICATION_COMMAND: frozenset({4, 5, 9}),
    InteractionType.MESSAGE_COMPONENT: frozenset({4, 5, 6, 7, 9}),
    InteractionType.AUTOCOMPLETE: frozenset({8}),
    InteractionType.MODAL_SUBMIT: frozenset({4, 5, 6, 7}),
}
_CHAT_INPUT_COMMAND_MESSAGE = 20
_POST_FLAGS = MessageFlag.SUPPRESS_EMBEDS | MessageFlag.SUPPRESS_NOTIFICATIONS | MessageFlag.IS_COMPONENTS_V2
_WEBHOOK_FLAGS = _POST_FLAGS | MessageFlag.EPHEMERAL


class ApiError(Exception):
    """An error reply in Discord's shape."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {message} ({code})")
        self.status = status
        self.body: dict[str, Any] = {"message": message, "code": code}
        if errors is not None:
            self.body["errors"] = errors

    @classmethod
    def invalid_form(cls, problems: list[Problem]) -> ApiError:
        """Discord's 400 "Invalid Form Body" with nested errors."""
        return cls(400, 50035, "Invalid Form Body", form_body_errors(problems))


@dataclass(frozen=True)
class FilePart:
    """A file uploaded in a multipart body (`files[n]`)."""

    index: int
    filename: str
    content_type: str | None
    size: int
    data: bytes = b""


@dataclass
class ApiRequest:
    """A parsed request as route handlers see it."""

    method: str
    template: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    files: list[FilePart]


@dataclass(frozen=True)
class Reply:
    """What a handler answers: a status and a JSON body (`None` for 204)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RequestRecord:
    """One request the emulator served, for tests that count calls and retries."""

    method: str
    path: str
    route: str
    body: Any = None
    status: int = 0
    at: float = field(default_factory=time.perf_counter, compare=False)  # when it arrived


@dataclass(frozen=True)
class Violation:
    """A body that broke the spec or Discord's limits: a request the bot sent, or a reply the emulator gave."""

    kind: str
    method: str
    route: str
    problems: tuple[str, ...]
    body: Any

    def __str__(self) -> str:
        return f"{self.kind} {self.method} {self.route}: " + "; ".join(self.problems)


Handler = Callable[[ApiRequest], Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    """A REST route: method, spec path template, handler, and whether it needs the bot token."""

    method: str
    template: str
    handler: Handler
    auth: bool = True


def _unknown(what: str, code: int) -> ApiError:
    return ApiError(404, code, f"Unknown {what}")


def _missing_access() -> ApiError:
    return ApiError(403, 50001, "Missing Access")


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _flags(body: dict[str, Any]) -> int:
    value = body.get("flags")
    return value if isinstance(value, int) else 0


def _under(key: str, problems: list[Problem]) -> list[Problem]:
    """Problems of a nested object, re-rooted under `key`."""
    return [Problem((key, *p.path), p.code, p.message) for p in problems]


def _snowflake(value: str) -> int:
    if not value.isdigit():
        raise ApiError(400, 50035, "Invalid Form Body", {"id": {"_errors": [{"code": "NUMBER_TYPE_COERCE"}]}})
    return int(value)


class EmulatorState(Protocol):
    """What the routes read and record on the emulator (`server.DiscordEmulator` is one)."""

    world: World
    token: str
    spec: ApiSpec | None
    callback_deadline: float | None
    sharding: ShardingRules
    requests: list[RequestRecord]
    violations: list[Violation]
    interactions: dict[int, InteractionHandle]

    @property
    def gateway_url(self) -> str:
        """The gateway URL the emulator announces."""

    def notify(self) -> None:
        """Wake whoever waits for the next request or post."""

    def record_post(self, message: StoredMessage) -> None:
        """Keep a message the bot posted in a channel."""

    def interaction_by_token(self, token: str) -> InteractionHandle | None:
        """The interaction a webhook token belongs to, if it is still valid."""


class RestApi:
    """Route handlers over the emulator's state; `routes()` lists them for the aiohttp app."""

    def __init__(self, emulator: EmulatorState, faults: Faults) -> None:
        self._emu = emulator
        self._world = emulator.world
        self._faults = faults
        self._nonces: dict[tuple[int, str], int] = {}

    def routes(self) -> list[Route]:
        """Every route, grouped by path (aiohttp keeps one resource per path only for consecutive adds)."""
        app_commands = "/applications/{application_id}/commands"
        guild_commands = "/applications/{application_id}/guilds/{guild_id}/commands"
        original = "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
        webhook_message = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
        channel_message = "/channels/{channel_id}/messages/{message_id}"
        return [
            Route("GET", "/users/@me", self.get_me),
            Route("POST", "/users/@me/channels", self.create_dm),
            Route("GET", "/oauth2/applications/@me", self.get_application),
            Route("GET", "/gateway", self.get_gateway, auth=False),
            Route("GET", "/gateway/bot", self.get_gateway_bot),
            Route("GET", app_commands, self.get_commands),
            Route("PUT", app_commands, self.put_commands),
            Route("GET", guild_commands, self.get_commands),
            Route("PUT", guild_commands, self.put_commands),
            Route("POST", "/interactions/{interaction_id}/{interaction_token}/callback", self.callback, auth=False),
            Route("GET", original, self.get_webhook_message, auth=False),
            Route("PATCH", original, self.edit_webhook_message, auth=False),
            Route("DELETE", original, self.delete_webhook_message, auth=False),
            Route("GET", webhook_message, self.get_webhook_message, auth=False),
            Route("PATCH", webhook_message, self.edit_webhook_message, auth=False),
            Route("DELETE", webhook_message, self.delete_webhook_message, auth=False),
            Route("POST", "/webhooks/{webhook_id}/{webhook_token}", self.execute_webhook, auth=False),
            Route("POST", "/channels/{channel_id}/messages", self.create_message),
            Route("GET", channel_message, self.get_message),
            Route("PATCH", channel_message, self.edit_message),
            Route("DELETE", channel_message, self.delete_message),
            Route("GET", "/channels/{channel_id}", self.get_channel),
            Route("GET", "/guilds/{guild_id}", self.get_guild),
            Route("GET", "/guilds/{guild_id}/channels", self.get_guild_channels),
        ]

    # -- plumbing -------------------------------------------------------------------------------------

    async def serve(self, route: Route, request: web.Request) -> web.Response:
        """Run one request through auth, faults, body parsing, the handler and reply validation."""
        path = request.path.removeprefix(API_PREFIX)
        record = RequestRecord(request.method, path, route.template)
        self._emu.requests.append(record)
        try:
            reply = await self._process(route, request, path, record)
        except ApiError as error:
            reply = Reply(error.status, error.body)
        except Exception as error:
            # An emulator bug, or a body it cannot handle with validation off: fail the test, answer like Discord.
            log.exception("emulator: %s %s failed", request.method, path)
            problem = f"the emulator failed: {type(error).__name__}: {error}"
            self._emu.violations.append(Violation("emulator", route.method, route.template, (problem,), record.body))
            reply = Reply(500, {"message": "500: Internal Server Error", "code": 0})
        record.status = reply.status
        self._emu.notify()
        return self._respond(route, reply)

    async def _process(self, route: Route, request: web.Request, path: str, record: RequestRecord) -> Reply:
        if route.auth:
            if request.headers.get("Authorization") != f"Bot {self._emu.token}":
                raise ApiError(401, 0, "401: Unauthorized")
            retry_after = self._faults.global_retry_after()
            if retry_after is not None:
                return self._fault_reply(rate_limited(retry_after, is_global=True))
        fault = self._faults.take(route.method, route.template, path)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            reply = Faults.reply(fault)
            if reply is not None:
                return self._fault_reply(reply)
        body, files = await self._read_body(request)
        record.body = body
        parsed = ApiRequest(route.method, route.template, dict(request.match_info), dict(request.query), body, files)
        return await route.handler(parsed)

    @staticmethod
    def _fault_reply(reply: FaultReply) -> Reply:
        return Reply(reply.status, reply.body, reply.headers)

    def _respond(self, route: Route, reply: Reply) -> web.Response:
        if reply.body is None:
            return web.Response(status=reply.status, headers=reply.headers)
        if 200 <= reply.status < 300 and self._emu.spec is not None:
            problems = self._emu.spec.response_problems(route.method, route.template, reply.status, reply.body)
            if problems:
                self._violation("response", route.method, route.template, problems, reply.body)
        data = json.dumps(reply.body).encode()
        # Exactly "application/json": discord.py compares the header for equality (no charset).
        return web.Response(status=reply.status, body=data, headers={**reply.headers, "Content-Type": JSON})

    async def _read_body(self, request: web.Request) -> tuple[Any, list[FilePart]]:
        if not request.body_exists:
            return None, []
        try:
            if request.content_type == "multipart/form-data":
                return await self._read_multipart(request)
            text = await request.text()
            return (json.loads(text) if text else None), []
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from None

    @staticmethod
    async def _read_multipart(request: web.Request) -> tuple[Any, list[FilePart]]:
        reader = await request.multipart()
        body: Any = None
        files: list[FilePart] = []
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            data = await part.read()
            name = part.name or ""
            if name == "payload_json":
                body = json.loads(data)
            elif name.startswith("files[") and name.endswith("]") and name[6:-1].isdigit():
                content_type = part.headers.get("Content-Type")
                files.append(FilePart(int(name[6:-1]), part.filename or "file", content_type, len(data), bytes(data)))
        return body, files

    def _violation(self, kind: str, method: str, route: str, problems: list[Problem], body: Any) -> None:
        violation = Violation(kind, method, route, tuple(str(p) for p in problems), body)
        log.warning("emulator: %s", violation)
        self._emu.violations.append(violation)

    def _refuse(self, request: ApiRequest, problems: list[Problem]) -> NoReturn:
        """Record a bad request body and answer 400 Invalid Form Body."""
        self._violation("request", request.method, request.template, problems, request.body)
        raise ApiError.invalid_form(problems)

    def _check(self, request: ApiRequest, problems: list[Problem]) -> None:
        """Refuse a request body if it has problems."""
        if problems:
            self._refuse(request, problems)

    def _schema(self, request: ApiRequest, schema: str | None = None) -> list[Problem]:
        """Problems against the operation's request schema, or the named component schema."""
        spec = self._emu.spec
        if spec is None:
            return []
        if schema is not None:
            return spec.schema_problems(schema, request.body)
        return spec.request_problems(request.method, request.template, request.body)

    def _refuse_empty(self, request: ApiRequest, body: dict[str, Any]) -> None:
        if limits.is_empty_message(body, len(request.files)):
            problem = Problem((), "EMPTY_MESSAGE", "Cannot send an empty message")
            self._violation("request", request.method, request.template, [problem], request.body)
            raise ApiError(400, 50006, "Cannot send an empty message")

    def _message_body(self, request: ApiRequest, *, create: bool) -> dict[str, Any]:
        """The body of a message create or edit, checked against the spec and Discord's limits."""
        self._check(request, self._schema(request))
        body = _object(request.body)
        self._check(request, limits.message_problems(body))
        if create:
            self._refuse_empty(request, body)
        return body

    # -- messages -------------------------------------------------------------------------------------

    def _attachments(
        self, body: dict[str, Any], files: list[FilePart], existing: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        uploads = {part.index: part for part in files}
        kept = {item["id"]: item for item in existing}
        listed = body.get("attachments")
        if listed is None:
            listed = [{"id": item["id"]} for item in existing] + [{"id": index} for index in uploads]
        result: list[dict[str, Any]] = []
        for item in listed:
            if not isinstance(item, dict):
                continue
            key = item.get("id")
            if str(key) in kept:
                result.append(kept[str(key)])
            elif isinstance(key, int | str) and str(key).isdigit() and int(key) in uploads:
                part = uploads[int(key)]
                filename = item.get("filename") or part.filename
                attachment_id = self._world.snowflakes.next()
                self._world.files[attachment_id] = part.data  # what the pretend CDN would serve
                result.append(payloads.attachment(attachment_id, filename, part.size, part.content_type))
        return result

    def create_stored(
        self,
        channel: Channel,
        body: dict[str, Any],
        files: list[FilePart],
        *,
        source: str,
        kind: int = 0,
        flags: int = 0,
        interaction: InteractionHandle | None = None,
    ) -> StoredMessage:
        """Create a bot message in `channel` and remember it."""
        message_id = self._world.snowflakes.next()
        payload = payloads.message(
            self._world,
            message_id=message_id,
            channel=channel,
            body=body,
            attachments=self._attachments(body, files, []),
            kind=kind,
            flags=flags,
            webhook=interaction is not None,
        )
        stored = StoredMessage(payload, source, interaction.id if interaction is not None else None)
        self._world.messages[message_id] = stored
        if not stored.ephemeral:
            channel.last_message_id = message_id
        if source == "post":
            self._emu.record_post(stored)
        return stored

    def edit_stored(self, stored: StoredMessage, body: dict[str, Any], files: list[FilePart]) -> None:
        """Apply an edit body to a stored message; completing a deferred ("loading") message is not an edit."""
        updated = dict(stored.payload)
        if "content" in body:
            updated["content"] = body["content"] or ""
        if "embeds" in body:
            updated["embeds"] = payloads.embeds(body["embeds"])
        if "components" in body:
            updated["components"] = payloads.components(body["components"])
        if "attachments" in body or files:
            updated["attachments"] = self._attachments(body, files, stored.payload["attachments"])
        flags = stored.flags
        if isinstance(body.get("flags"), int):
            flags = (flags & ~MessageFlag.SUPPRESS_EMBEDS) | (_flags(body) & MessageFlag.SUPPRESS_EMBEDS)
        if flags & MessageFlag.LOADING:
            flags &= ~MessageFlag.LOADING
        else:
            updated["edited_timestamp"] = iso(utcnow())
        updated["flags"] = flags
        stored.replace(updated)

    # -- identity and gateway -------------------------------------------------------------------------

    async def get_me(self, request: ApiRequest) -> Reply:
        """`GET /users/@me`."""
        return Reply(200, payloads.private_user(self._world.bot))

    async def get_application(self, request: ApiRequest) -> Reply:
        """`GET /oauth2/applications/@me`."""
        return Reply(200, payloads.application(self._world, len(self._world.guilds)))

    async def get_gateway(self, request: ApiRequest) -> Reply:
        """`GET /gateway`."""
        return Reply(200, {"url": self._emu.gateway_url})

    async def get_gateway_bot(self, request: ApiRequest) -> Reply:
        """`GET /gateway/bot`: the recommended shard count and the identify concurrency."""
        rules = self._emu.sharding
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": rules.max_concurrency}
        shards = rules.shards_for(len(self._world.guilds))
        return Reply(200, {"url": self._emu.gateway_url, "shards": shards, "session_start_limit": limit})

    # -- application commands -------------------------------------------------------------------------

    def _command_scope(self, request: ApiRequest) -> int | None:
        if request.params["application_id"] != str(self._world.application_id):
            raise _missing_access()
        if "guild_id" not in request.params:
            return None
        guild_id = _snowflake(request.params["guild_id"])
        if guild_id not in self._world.guilds:
            raise _missing_access()
        return guild_id

    async def get_commands(self, request: ApiRequest) -> Reply:
        """`GET` global or guild commands."""
        return Reply(200, self._world.commands_for(self._command_scope(request)))

    async def put_commands(self, request: ApiRequest) -> Reply:
        """`PUT` (bulk overwrite) global or guild commands; ids are kept for unchanged names."""
        scope = self._command_scope(request)
        self._check(request, self._schema(request))
        body: list[dict[str, Any]] = request.body or []
        seen: set[tuple[str, int]] = set()
        problems: list[Problem] = []
        for index, item in enumerate(body):
            key = (item["name"], item.get("type") or 1)
            if key in seen:
                problems.append(Problem((index, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Duplicate name"))
            seen.add(key)
        self._check(request, problems)
        version = self._world.snowflakes.next()
        responses = [
            payloads.command(
                self._world,
                item,
                guild_id=scope,
                command_id=self._world.command_id(scope, item["name"], item.get("type") or 1),
                version=version,
            )
            for item in body
        ]
        self._world.set_commands(scope, body, responses)
        return Reply(200, responses)

    # -- interactions and their webhook ---------------------------------------------------------------

    def _fresh(self, handle: InteractionHandle, lifetime: float) -> bool:
        return asyncio.get_running_loop().time() - handle.created_at <= lifetime

    async def callback(self, request: ApiRequest) -> Reply:
        """`POST /interactions/{id}/{token}/callback`: record the response and apply its effect."""
        handle = self._emu.interactions.get(_snowflake(request.params["interaction_id"]))
        if handle is None or handle.token != request.params["interaction_token"]:
            raise _unknown("interaction", 10062)
        deadline = self._emu.callback_deadline
        if deadline is not None and not self._fresh(handle, deadline):
            raise _unknown("interaction", 10062)
        if handle.callback is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = _object(request.body)
        kind = body.get("type")
        schema = _CALLBACK_SCHEMAS.get(kind) if isinstance(kind, int) else None
        if schema is None or not isinstance(kind, int):
            choices = ", ".join(str(k) for k in sorted(_CALLBACK_SCHEMAS))
            self._refuse(request, [Problem(("type",), "BASE_TYPE_CHOICES", f"Value must be one of ({choices}).")])
        problems = self._schema(request, schema)
        if kind not in _ALLOWED_CALLBACKS.get(handle.type, frozenset()):
            message = f"callback type {kind} is not valid for interaction type {handle.type}"
            problems.append(Problem(("type",), "INTERACTION_CALLBACK_TYPE_INVALID", message))
        data = _object(body.get("data"))
        if kind in (4, 7):
            problems += _under("data", limits.message_problems(data))
        elif kind == 8:
            problems += limits.autocomplete_problems(data)
        elif kind == 9:
            problems += _under("data", limits.component_problems(data.get("components")))
        self._check(request, problems)
        if kind == 4:
            self._refuse_empty(request, data)
        resource = self._apply_callback(handle, kind, data, request.files)
        handle.callback = body
        if not _truthy(request.query.get("with_response")):
            return Reply(204)
        return Reply(200, self._callback_response(handle, kind, resource))

    def _apply_callback(
        self, handle: InteractionHandle, kind: int, data: dict[str, Any], files: list[FilePart]
    ) -> dict[str, Any] | None:
        """Create or update the message a callback implies; the callback resource, if it has one."""
        found = self._world.channel(handle.channel_id)
        if found is None:
            raise _unknown("Channel", 10003)
        channel = found[0]
        flags = _flags(data)
        if kind == 4:
            message_kind = _CHAT_INPUT_COMMAND_MESSAGE if handle.type == InteractionType.APPLICATION_COMMAND else 0
            stored = self.create_stored(
                channel,
                data,
                files,
                source="response",
                kind=message_kind,
                flags=flags & _WEBHOOK_FLAGS,
                interaction=handle,
            )
            handle.original_id = stored.id
            return {"type": 4, "message": stored.payload}
        if kind == 5:
            loading = MessageFlag.LOADING | (flags & MessageFlag.EPHEMERAL)
            stored = self.create_stored(channel, {}, [], source="response", flags=loading, interaction=handle)
            handle.original_id = stored.id
        elif kind in (6, 7) and handle.source_message_id is not None:
            source = self._world.messages[handle.source_message_id]
            handle.original_id = source.id
            if kind == 7:
                self.edit_stored(source, data, files)
                return {"type": 7, "message": source.payload}
        return None

    def _callback_response(self, handle: InteractionHandle, kind: int, resource: dict[str, Any] | None) -> Any:
        interaction: dict[str, Any] = {"id": str(handle.id), "type": handle.type}
        original = handle.original
        if original is not None and kind in (4, 5, 7):
            interaction["response_message_id"] = str(original.id)
            interaction["response_message_loading"] = kind == 5
            interaction["response_message_ephemeral"] = original.ephemeral
        reply: dict[str, Any] = {"interaction": interaction}
        if resource is not None:
            reply["resource"] = resource
        return reply

    def _webhook(self, request: ApiRequest) -> InteractionHandle:
        """The interaction whose token the webhook route names; it must have been acknowledged."""
        handle = self._emu.interaction_by_token(request.params["webhook_token"])
        if (
            request.params["webhook_id"] != str(self._world.application_id)
            or handle is None
            or not self._fresh(handle, INTERACTION_TOKEN_LIFETIME)
            or handle.callback is None
            or handle.callback.get("type") in (1, 8)
        ):
            raise _unknown("Webhook", 10015)
        return handle

    def _webhook_message(self, request: ApiRequest, handle: InteractionHandle) -> StoredMessage:
        raw = request.params.get("message_id")
        message_id = handle.original_id if raw is None else _snowflake(raw)
        if message_id is None or (message_id != handle.original_id and message_id not in handle.followup_ids):
            raise _unknown("Message", 10008)
        stored = self._world.messages[message_id]
        if stored.deleted:
            raise _unknown("Message", 10008)
        return stored

    async def execute_webhook(self, request: ApiRequest) -> Reply:
        """`POST /webhooks/{app}/{token}`: a follow-up; the first after a thinking defer completes it."""
        handle = self._webhook(request)
        body = self._message_body(request, create=True)
        original = handle.original
        if original is not None and original.flags & MessageFlag.LOADING and not original.deleted:
            self.edit_stored(original, body, request.files)
            stored = original
        else:
            found = self._world.channel(handle.channel_id)
            if found is None:
                raise _unknown("Channel", 10003)
            flags = _flags(body)
            stored = self.create_stored(
                found[0], body, request.files, source="followup", flags=flags & _WEBHOOK_FLAGS, interaction=handle
            )
        handle.followup_ids.append(stored.id)
        if not _truthy(request.query.get("wait")):
            return Reply(204)
        return Reply(200, stored.payload)

    async def get_webhook_message(self, request: ApiRequest) -> Reply:
        """`GET` the original response or a follow-up."""
        return Reply(200, self._webhook_message(request, self._webhook(request)).payload)

    async def edit_webhook_message(self, request: ApiRequest) -> Reply:
        """`PATCH` the original response or a follow-up."""
        handle = self._webhook(request)
        stored = self._webhook_message(request, handle)
        body = self._message_body(request, create=False)
        self.edit_stored(stored, body, request.files)
        if stored.id == handle.original_id:
            handle.edits.append(body)
        return Reply(200, stored.payload)

    async def delete_webhook_message(self, request: ApiRequest) -> Reply:
        """`DELETE` the original response or a follow-up."""
        self._webhook_message(request, self._webhook(request)).deleted = True
        return Reply(204)

    # -- channels and guilds --------------------------------------------------------------------------

    def _channel(self, request: ApiRequest) -> tuple[Channel, Guild | None]:
        found = self._world.channel(_snowflake(request.params["channel_id"]))
        if found is None:
            raise _unknown("Channel", 10003)
        if not found[0].bot_can_access:
            raise _missing_access()
        return found

    def _require(self, channel: Channel, needed: int) -> None:
        granted = self._world.permissions(channel, self._world.bot)
        if not granted & Permission.VIEW_CHANNEL:
            raise _missing_access()
        if granted & needed != needed:
            raise ApiError(403, 50013, "Missing Permissions")

    def _channel_message(self, request: ApiRequest, channel: Channel) -> StoredMessage:
        stored = self._world.messages.get(_snowflake(request.params["message_id"]))
        if stored is None or stored.channel_id != channel.id or stored.deleted or stored.ephemeral:
            raise _unknown("Message", 10008)
        return stored

    async def create_dm(self, request: ApiRequest) -> Reply:
        """`POST /users/@me/channels`: the DM channel with a user, opened on first use.

        It can always be opened; whether a message may be sent there is decided when one is sent.
        """
        body = request.body if isinstance(request.body, dict) else {}
        recipient = self._world.users.get(_snowflake(str(body.get("recipient_id", ""))))
        if recipient is None or recipient.bot:
            raise ApiError(400, 50033, "Invalid Recipient(s)")
        return Reply(200, payloads.private_channel(self._world, self._world.dm_channel(recipient)))

    async def create_message(self, request: ApiRequest) -> Reply:
        """`POST /channels/{id}/messages`, with permission checks and nonce de-duplication."""
        channel, _ = self._channel(request)
        if channel.recipient_id is not None and self._world.users[channel.recipient_id].dms_closed:
            raise ApiError(403, 50007, "Cannot send messages to this user")
        body = self._message_body(request, create=True)
        needed = Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES
        if body.get("embeds"):
            needed |= Permission.EMBED_LINKS
        if request.files:
            needed |= Permission.ATTACH_FILES
        self._require(channel, needed)
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and nonce is not None and (channel.id, str(nonce)) in self._nonces:
            return Reply(200, self._world.messages[self._nonces[channel.id, str(nonce)]].payload)
        flags = _flags(body)
        stored = self.create_stored(channel, body, request.files, source="post", flags=flags & _POST_FLAGS)
        if nonce is not None:
            self._nonces[channel.id, str(nonce)] = stored.id
        return Reply(200, stored.payload)

    async def get_message(self, request: ApiRequest) -> Reply:
        """`GET /channels/{id}/messages/{id}`."""
        channel, _ = self._channel(request)
        self._require(channel, Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY)
        return Reply(200, self._channel_message(request, channel).payload)

    async def edit_message(self, request: ApiRequest) -> Reply:
        """`PATCH /channels/{id}/messages/{id}` (the bot edits its own message)."""
        channel, _ = self._channel(request)
        self._require(channel, Permission.VIEW_CHANNEL)
        stored = self._channel_message(request, channel)
        self.edit_stored(stored, self._message_body(request, create=False), request.files)
        return Reply(200, stored.payload)

    async def delete_message(self, request: ApiRequest) -> Reply:
        """`DELETE /channels/{id}/messages/{id}`."""
        channel, _ = self._channel(request)
        self._require(channel, Permission.VIEW_CHANNEL)
        self._channel_message(request, channel).deleted = True
        return Reply(204)

    async def get_channel(self, request: ApiRequest) -> Reply:
        """`GET /channels/{id}`."""
        channel, _ = self._channel(request)
        self._require(channel, Permission.VIEW_CHANNEL)
        return Reply(200, payloads.channel(self._world, channel))

    def _guild(self, request: ApiRequest) -> Guild:
        guild = self._world.guilds.get(_snowflake(request.params["guild_id"]))
        if guild is None:
            raise _unknown("Guild", 10004)
        return guild

    async def get_guild(self, request: ApiRequest) -> Reply:
        """`GET /guilds/{id}`."""
        guild = self._guild(request)
        return Reply(200, payloads.guild(self._world, guild, with_counts=_truthy(request.query.get("with_counts"))))

    async def get_guild_channels(self, request: ApiRequest) -> Reply:
        """`GET /guilds/{id}/channels`."""
        guild = self._guild(request)
        return Reply(200, [payloads.guild_channel(self._world, item) for item in guild.channels.values()])
