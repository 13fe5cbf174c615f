"""`SlackEmulator`: a local Slack that a real slack-bolt `AsyncApp` (HTTP or Socket Mode) and slack-sdk talk to."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

import emulator.slack.installs as installs
import emulator.slack.limits as limits
import emulator.slack.payloads as payloads
import emulator.slack.responses as responses
from emulator.slack.faults import Faults, RateLimiter
from emulator.slack.installs import InstallResult, Installs
from emulator.slack.model import JSON, Channel, File, Grant, Identity, Message, Reply, Team, User
from emulator.slack.responses import ResponseUrl
from emulator.slack.signing import signed_headers
from emulator.slack.socket_mode import SocketMode
from emulator.slack.webapi import SlackError, WebApi, check_scope
from emulator.slack.world import Workspace

API_PREFIX = "/api/"
UPLOAD_PREFIX = "/upload/v1/"  # where files.getUploadURLExternal's upload URLs point
FORM = "application/x-www-form-urlencoded"
HANG_SECONDS = 30.0
SOCKET_WAIT = 2.0  # how long a request waits for an app that is still connecting through Socket Mode
_JSON_ARGUMENTS = ("blocks", "attachments", "view", "metadata")
_RATE_LIMITED = frozenset({"chat.postMessage"})
_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


class SlackEmulator:
    """A fake Slack for tests and the sandbox; see `emulator/slack/__init__.py` for the overview.

    The app's Web API client goes to `api_url`; the emulator sends its requests to `app_url` (set it to the
    app's request URL) or, while `app_url` is None, through the app's Socket Mode connection (opened with
    apps.connections.open and `app_token`). `post_rate_per_channel` and `post_burst` shape chat.postMessage's
    per-channel limit. `ack_deadline` is how long the app has to answer a request (Slack: 3 s); after the
    answer, a request's replies are gathered until no call came for `settle_quiet` seconds (at most
    `settle_max`).

    Workspaces: `team_id` has the app installed from the start, with `token`; `install()` plays a person
    installing it in another (OAuth v2 with `client_id` and `client_secret`), `add_workspace` and `bot_token`
    make one without OAuth, and `uninstall` removes the app from one. The workspaces share one world of users
    and channels, and the app has the same bot user in each; every Web API call acts in its token's workspace
    (auth.test answers it, `calls_by_team` records it) and the driving methods take `team=` to send as one.

    What the app did: `channels` (each with its visible `messages`), `ephemeral` (every ephemeral message,
    deleted ones marked), `homes` (user -> last published Home view), `views_opened` (the modal views),
    `files` (every file the app uploaded: name, title, bytes, the channels it was shared in),
    `calls` (every Web API call: method and arguments, token and client secret left out, JSON strings decoded;
    a file's bytes sent to its upload URL count as `("upload", {"file_id", "size"})`),
    `calls_by_team` ((team id, method) per call made with a good token), `envelopes` (every Socket Mode
    envelope sent),
    `rate_limited` ((method, channel) per 429) and `problems` (what Slack would have refused silently:
    bad response_url bodies, acks or options answers; the pytest fixture fails a test that leaves any).
    """

    def __init__(
        self,
        *,
        token: str = "xoxb-emulator",  # noqa: S107 - a made-up token
        signing_secret: str = "emulator-secret",  # noqa: S107 - a made-up secret
        team_id: str = "T0EMULATOR",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0EMULATOR",
        team_domain: str = "emulator",
        app_token: str = "xapp-emulator",  # noqa: S107 - a made-up token
        client_id: str = "emulator-client-id",
        client_secret: str = "emulator-client-secret",  # noqa: S107 - a made-up secret
        post_rate_per_channel: float = 1.0,
        post_burst: int = 5,
        ack_deadline: float | None = 3.0,
        settle_quiet: float = 0.05,
        settle_max: float = 2.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.identity = Identity(team_id, team_domain, bot_user_id, bot_id, app_id)
        self.world = Workspace(self.identity)
        self.installs = Installs(
            self.identity, client_id=client_id, client_secret=client_secret, bot_token=token, app_token=app_token
        )
        self.oauth_redirect_url: str | None = None  # the app's configured Redirect URL (None: any)
        self.users: dict[str, User] = self.world.users
        self.channels: dict[str, Channel] = self.world.channels
        self.ephemeral: list[Message] = self.world.ephemeral
        self.homes: dict[str, JSON] = self.world.homes
        self.views_opened: list[JSON] = self.world.views_opened
        self.files: dict[str, File] = self.world.files
        self.calls: list[tuple[str, JSON]] = []
        self.calls_by_team: list[tuple[str, str]] = []
        self.rate_limited: list[tuple[str, str]] = []
        self.problems: list[str] = []
        self.app_url: str | None = None
        self.faults = Faults()
        self.ack_deadline = ack_deadline
        self.settle_quiet = settle_quiet
        self.settle_max = settle_max
        self.sockets = SocketMode(app_id, self.problems)
        self._limiter = RateLimiter(post_rate_per_channel, post_burst)
        self._web = WebApi(self.world)
        self._methods = self._web.methods()
        self._response_urls: dict[str, ResponseUrl] = {}
        self._gathering: list[Reply] = []
        self.world.observers.append(self._gather)
        self._in_flight = 0
        self._last_activity = 0.0
        self._closing = asyncio.Event()
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._files: dict[str, tuple[str, bytes]] = {}  # uploaded in modals: id -> (name, bytes)
        self.files_fetched: list[str] = []  # the ids of files the app downloaded

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on the host and port (0: a free port)."""
        app = web.Application()
        app.router.add_route("*", API_PREFIX + "{method}", self._serve_api)
        app.router.add_post("/response/{request_id}", self._serve_response_url)
        app.router.add_get("/socket", self.sockets.serve)
        app.router.add_get(installs.AUTHORIZE_PATH, self._serve_authorize)
        app.router.add_get("/files/{file_id}/{name}", self._serve_file)
        app.router.add_post(UPLOAD_PREFIX + "{key}", self._serve_upload)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self._port = self._runner.addresses[0][1]
        self._web.upload_base = self.base_url + UPLOAD_PREFIX
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        """Release hanging calls, close Socket Mode connections, stop sending and stop listening."""
        self._closing.set()
        await self.sockets.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """Where it listens, e.g. "http://127.0.0.1:PORT" (known after `start()`)."""
        return f"http://{self._host}:{self._port}"

    @property
    def api_url(self) -> str:
        """The Web API base: pass it as `AsyncWebClient(base_url=...)`."""
        return self.base_url + API_PREFIX

    @property
    def authorize_url(self) -> str:
        """Slack's authorize page, here: pass it as `AsyncOAuthSettings(authorization_url=...)` (optional)."""
        return self.base_url + installs.AUTHORIZE_PATH

    @property
    def envelopes(self) -> list[JSON]:
        """Every Socket Mode envelope sent to the app, oldest first."""
        return self.sockets.envelopes

    @property
    def socket_connections(self) -> int:
        """How many Socket Mode connections of the app take requests now."""
        return self.sockets.connected

    # -- the world ------------------------------------------------------------------------------------

    def add_user(self, user_id: str, name: str, tz: str = "UTC", *, admin: bool = False) -> None:
        """Add a person; users.info reports `tz` (an IANA name) with its current offset, and `admin`."""
        self.world.add_user(user_id, name, tz, admin=admin)

    def add_channel(self, channel_id: str, name: str, *, member: bool = True, archived: bool = False) -> None:
        """Add a channel; `member` says whether the bot is in it."""
        self.world.add_channel(channel_id, name, member=member, archived=archived)

    # -- workspaces and installs ----------------------------------------------------------------------

    def add_workspace(self, team_id: str, name: str | None = None) -> Team:
        """Add a workspace (or return the known one); the app is not installed there until `install` or `bot_token`."""
        return self.installs.add_team(team_id, name)

    def set_scopes(self, scopes: list[str] | tuple[str, ...], *, team: str | None = None) -> None:
        """Give the app's bot token in `team` (the emulator's own workspace unless named) exactly these scopes.

        Methods that need a scope (`webapi.SCOPES`) then answer missing_scope without it, as for an install
        approved before the app asked for that scope. Tokens from `install` carry the scopes approved already.
        """
        self.installs.set_scopes(team or self.team_id, scopes)

    def shared_files(self, channel: str) -> list[File]:
        """The files shared in a channel (a person's DM by their user id), in the order they were shared."""
        place = self._place(channel)
        return [file for file in self.files.values() if place.id in file.channels]

    def bot_token(self, team_id: str) -> str:
        """The workspace's bot token, issued now if the app has none there (installed without OAuth)."""
        team = self.installs.add_team(team_id)
        return self.installs.bot_token(team.id) or self.installs.grant_bot(team)

    async def install(
        self,
        install_url: str,
        *,
        team_id: str | None = None,
        team_name: str | None = None,
        user: str = "U1",
        approve: bool = True,
    ) -> InstallResult:
        """Install the app as `user` of a workspace (new unless `team_id` names one; made if unknown).

        Opens `install_url` (the app's install page: a redirect to Slack's authorize page or a page linking to
        it) in a browser that keeps cookies, approves (or, with `approve=False`, cancels: the app gets
        `error=access_denied`), and follows Slack's redirect to the app's redirect URI with a one-time code.
        """
        team = self.installs.add_team(team_id, team_name)
        return await installs.follow_install(
            self.installs, install_url, team=team, user=user, approve=approve, redirect_url=self.oauth_redirect_url
        )

    async def uninstall(self, team_id: str) -> None:
        """The workspace removes the app: its tokens stop working (invalid_auth) and the app hears app_uninstalled.

        The event goes to the app only if it can be reached (an `app_url` or a Socket Mode connection).
        """
        identity = self._identity(team_id)
        self.installs.revoke_team(team_id)
        if self.app_url is None and not self.sockets.connected:
            return
        reply = Reply(self.world.next_id("event"))
        await self._send(reply, "events_api", payloads.app_uninstalled(identity))
        if reply.status != 200:
            self.problems.append(f"{reply.request_id}: the app answered {reply.status} ({reply.error})")
        await self._settle()

    async def _serve_authorize(self, request: web.Request) -> web.StreamResponse:
        """Slack's authorize page, approved at once by U1 of the workspace `team` names (a new one if none)."""
        query = dict(request.query)
        team = self.installs.add_team(query.get("team") or None)
        try:
            location, _ = self.installs.authorize(
                query, team=team, user="U1", approve=True, redirect_url=self.oauth_redirect_url
            )
        except SlackError as failure:
            return web.Response(status=400, text=f"Slack could not install the app: {failure.error}")
        raise web.HTTPFound(location)

    # -- Socket Mode ----------------------------------------------------------------------------------

    async def wait_for_socket(self, within: float = SOCKET_WAIT) -> None:
        """Wait until the app's Socket Mode connection takes requests (TimeoutError if none does in time)."""
        deadline = time.monotonic() + within
        while not self.sockets.connected:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no Socket Mode connection within {within} s")
            await asyncio.sleep(0.01)

    async def refresh_socket(self, reason: str = "refresh_requested") -> None:
        """Ask the app to reconnect (Slack's `disconnect` message); requests wait for its new connection."""
        await self.sockets.disconnect(reason)

    # -- faults ---------------------------------------------------------------------------------------

    def fail_next(self, method: str, error: str, *, times: int = 1) -> None:
        """The next `times` calls of `method` answer `{"ok": false, "error": error}` ("ratelimited": a 429)."""
        self.faults.fail_next(method, error, times)

    def time_out_next(self, method: str, *, seconds: float = HANG_SECONDS) -> None:
        """The next call of `method` does its work (a post is stored) but answers only after `seconds`."""
        self.faults.hang_next(method, seconds)

    def revoke_token(self) -> None:
        """Every call from now on answers "token_revoked"."""
        self.faults.revoked = True

    # -- the Web API ----------------------------------------------------------------------------------

    async def _serve_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self._begin()
        try:
            try:
                args, token = await _arguments(request)
            except SlackError as failure:
                self.calls.append((method, {}))
                return _failure(failure)
            basic = installs.basic_credentials(request.headers.get("Authorization", ""))
            self.calls.append((method, {key: value for key, value in args.items() if key != "client_secret"}))
            answer, hang = self._answer(method, args, token, basic)
        finally:
            self._end()
        if hang is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), hang)
        return answer

    def _answer(
        self, method: str, args: JSON, token: str | None, basic: tuple[str, str] | None
    ) -> tuple[web.Response, float | None]:
        """The answer to one call, and how long to hold it back (a `time_out_next` fault)."""
        hang: float | None = None
        try:
            if method == "oauth.v2.access":  # the app's client id and secret, no token
                grant: Grant | None = None
                handler: Callable[[JSON], JSON] = functools.partial(self.installs.exchange, basic=basic)
            elif method == "apps.connections.open":
                handler = self._apps_connections_open
                grant = self._authenticate(method, token)
            else:
                known = self._methods.get(method)
                if known is None:
                    raise SlackError("unknown_method")
                handler = known
                grant = self._authenticate(method, token)
                check_scope(method, grant)
            if grant is not None:
                self.calls_by_team.append((grant.team.id, method))
            hang = self.faults.take_hang(method)
            error = self.faults.take_error(method)
            if error == "ratelimited":
                raise SlackError(error, status=429, headers={"Retry-After": "1"})
            if error is not None:
                raise SlackError(error)
            if method in _RATE_LIMITED:
                self._throttle(method, str(args.get("channel") or ""))
            self._web.caller = grant
            return web.json_response({"ok": True, **handler(args)}), hang
        except SlackError as failure:
            return _failure(failure), hang

    def _authenticate(self, method: str, token: str | None) -> Grant:
        """The grant behind a call's token: an app-level token for apps.connections.open, else a bot or user one."""
        if self.faults.revoked:
            raise SlackError("token_revoked")
        if not token:
            raise SlackError("not_authed")
        grant = self.installs.grants.get(token)
        if grant is None:
            raise SlackError("invalid_auth")
        if (grant.kind == "app") != (method in _APP_TOKEN_METHODS):
            raise SlackError("not_allowed_token_type")
        return grant

    def _apps_connections_open(self, args: JSON) -> JSON:
        """A one-time Socket Mode URL for the app."""
        return {"url": self.sockets.open(f"ws://{self._host}:{self._port}")}

    def _throttle(self, method: str, channel: str) -> None:
        wait = self._limiter.take(channel)
        if wait is not None:
            self.rate_limited.append((method, channel))
            raise SlackError("ratelimited", status=429, headers={"Retry-After": str(wait)})

    # -- response URLs --------------------------------------------------------------------------------

    async def _serve_response_url(self, request: web.Request) -> web.Response:
        request_id = request.match_info["request_id"]
        target = self._response_urls.get(request_id)
        if target is None:
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        self._begin()
        try:
            body = await _response_body(request)
            error = target.spend() or responses.apply(self.world, target, body)
        finally:
            self._end()
        if error is not None:
            self.problems.append(f"{request_id}: response_url answered {error} to {body!r}")
            status = 404 if error in ("used_url", "expired_url") else 400
            return web.json_response({"ok": False, "error": error}, status=status)
        return web.json_response({"ok": True})

    def _open_response_url(self, reply: Reply, user: str, channel: str, original: Message | None) -> str:
        target = ResponseUrl(reply.request_id, user, channel, original, reply)
        self._response_urls[reply.request_id] = target
        return f"{self.base_url}/response/{reply.request_id}"

    # -- driving the app ------------------------------------------------------------------------------

    async def slash(
        self, command: str, text: str, *, user: str = "U1", channel: str = "C1", team: str | None = None
    ) -> Reply:
        """Run a slash command as `user` in `channel` (from workspace `team`); an ack's text or blocks is a message."""
        identity = self._identity(team)
        person, place = self._person(user), self._place(channel)
        reply = Reply(self.world.next_id("slash"), trigger_id=self.world.issue_trigger())
        form = payloads.slash_command(
            identity,
            command=command,
            text=text,
            user=person,
            channel=place,
            response_url=self._open_response_url(reply, person.id, place.id, None),
            trigger_id=reply.trigger_id or "",
        )
        await self._drive(reply, "slash_commands", dict(form), lambda: self._ack_message(reply, person, place))
        return reply

    async def click(
        self,
        message: Message,
        action_id: str,
        *,
        user: str = "U1",
        value: str | None = None,
        selected: str | None = None,
        team: str | None = None,
    ) -> Reply:
        """Press the element `action_id` of `message` (a button, or pick `selected` in a menu) as `user`."""
        identity = self._identity(team)
        person = self._person(user)
        if message.deleted:
            raise LookupError(f"message {message.ts} was deleted")
        if message.ephemeral and message.user != person.id:
            raise LookupError(f"only {message.user} sees ephemeral message {message.ts}")
        block_id, element = self._element(message.blocks, action_id, f"message {message.ts}")
        reply = Reply(self.world.next_id("click"), trigger_id=self.world.issue_trigger())
        payload = payloads.block_actions(
            identity,
            user=person,
            channel=self.channels.get(message.channel),
            message=message,
            action=payloads.action(element, block_id, value=value, selected=selected),
            response_url=self._open_response_url(reply, person.id, message.channel, message),
            trigger_id=reply.trigger_id or "",
        )
        await self._drive(reply, "interactive", payload)
        return reply

    async def click_home(
        self,
        action_id: str,
        *,
        user: str = "U1",
        value: str | None = None,
        selected: str | None = None,
        team: str | None = None,
    ) -> Reply:
        """Press the element `action_id` in `user`'s App Home (Slack gives no response_url there)."""
        identity = self._identity(team)
        person = self._person(user)
        view = self.homes.get(person.id)
        if view is None:
            raise LookupError(f"no App Home was published for {person.id}")
        block_id, element = self._element(list(view.get("blocks") or []), action_id, f"the home of {person.id}")
        reply = Reply(self.world.next_id("click"), trigger_id=self.world.issue_trigger())
        payload = payloads.home_block_actions(
            identity,
            user=person,
            view=view,
            view_id=self.world.view_id(person.id),
            action=payloads.action(element, block_id, value=value, selected=selected),
            trigger_id=reply.trigger_id or "",
        )
        await self._drive(reply, "interactive", payload)
        return reply

    def upload(self, name: str, data: bytes, *, user: str = "U1") -> JSON:
        """A file as a member uploads it in a modal's file input: its record, fetchable with a bot token."""
        file_id = f"F{len(self._files) + 1:08d}"
        self._files[file_id] = (name, data)
        url = f"{self.base_url}/files/{file_id}/{name}"
        return {
            "id": file_id, "name": name, "title": name, "size": len(data), "user": user,
            "filetype": name.rpartition(".")[2] or "text", "url_private": url,
            "url_private_download": url + "?download",
        }  # fmt: skip

    async def _serve_file(self, request: web.Request) -> web.Response:
        """A file's bytes, as Slack serves `url_private`: only with a bot token of the workspace."""
        found = self._files.get(request.match_info["file_id"])
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
        try:
            self._authenticate("files.info", token)
        except SlackError:
            return web.Response(status=302, headers={"Location": self.base_url + "/?redir=login"})
        if found is None or found[0] != request.match_info["name"]:
            return web.Response(status=404)
        self.files_fetched.append(request.match_info["file_id"])
        return web.Response(body=found[1])

    async def _serve_upload(self, request: web.Request) -> web.Response:
        """An upload URL: the file's bytes, raw or as a multipart form's file part, answered "OK - <bytes>".

        Like Slack's, the URL needs no token (it is the secret); it stops working once the file is shared.
        """
        self._begin()
        try:
            found = self.world.pending_upload(request.match_info["key"])
            if found is None:
                return web.Response(status=404, text="upload not found")
            if request.content_type == "multipart/form-data":
                form = await request.post()
                parts = [value for value in form.values() if isinstance(value, web.FileField)]
                if not parts:
                    return web.Response(status=400, text="no file in the form")
                data = parts[0].file.read()
            else:
                data = await request.read()
            found.data = data
            self.calls.append(("upload", {"file_id": found.id, "size": len(data)}))
            return web.Response(text=f"OK - {len(data)}")
        finally:
            self._end()

    async def submit_view(
        self,
        view: JSON,
        typed: dict[str, str],
        *,
        user: str = "U1",
        team: str | None = None,
        files: dict[str, list[JSON]] | None = None,
        selected: dict[str, str] | None = None,
        checked: dict[str, list[str]] | None = None,
    ) -> JSON | None:
        """Submit a modal the app opened, with what the member entered in its input blocks.

        Each input's block id is its action id: `typed` text, `files` per file input (records from `upload`),
        a `selected` option per select, `checked` boxes. Returns the app's answer (`{"response_action":
        "update", "view": ...}`), or None for a plain close.
        """
        identity = self._identity(team)
        person = self._person(user)
        values: JSON = {
            block_id: {block_id: {"type": "plain_text_input", "value": text}} for block_id, text in typed.items()
        }
        for block_id, chosen in (files or {}).items():
            values[block_id] = {block_id: {"type": "file_input", "files": chosen}}
        for block_id, value in (selected or {}).items():
            option = {"text": {"type": "plain_text", "text": value}, "value": value}
            values[block_id] = {block_id: {"type": "static_select", "selected_option": option}}
        for block_id, boxes in (checked or {}).items():
            options = [{"text": {"type": "plain_text", "text": box}, "value": box} for box in boxes]
            values[block_id] = {block_id: {"type": "checkboxes", "selected_options": options}}
        reply = Reply(self.world.next_id("submit"), trigger_id=self.world.issue_trigger())
        payload = payloads.view_submission(
            identity,
            user=person,
            view=view,
            view_id=self.world.view_id(reply.request_id),
            values=values,
            trigger_id=reply.trigger_id or "",
        )
        await self._send(reply, "interactive", payload)
        answer = reply.ack if isinstance(reply.ack, dict) else None
        if reply.status != 200:
            self.problems.append(f"{reply.request_id}: the app answered {reply.status} ({reply.error})")
        if answer is not None and answer.get("response_action") == "update":
            problem = limits.view_error(answer.get("view"), "modal")
            if problem is not None:
                self.problems.append(f"{reply.request_id}: {problem}")
        return answer

    async def suggest(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "U1",
        block_id: str = "b",
        channel: str = "C1",
        message: Message | None = None,
        team: str | None = None,
    ) -> list[JSON]:
        """Type `value` into the external select `action_id`: the options (or option groups) the app answered."""
        identity = self._identity(team)
        person = self._person(user)
        place = self.world.resolve(message.channel if message is not None else channel)
        reply = Reply(self.world.next_id("suggest"))
        payload = payloads.block_suggestion(
            identity,
            user=person,
            action_id=action_id,
            block_id=block_id,
            value=value,
            channel=place,
            channel_id=place.id if place is not None else channel,
            message=message,
        )
        await self._send(reply, "interactive", payload)
        answer = reply.ack
        if reply.status != 200 or not isinstance(answer, dict):
            self.problems.append(f"{reply.request_id}: the app answered {reply.status} {answer!r} ({reply.error})")
            return []
        problem = limits.options_problem(answer)
        if problem is not None:
            self.problems.append(f"{reply.request_id}: {problem}")
        return list(answer.get("options") or answer.get("option_groups") or [])

    async def open_home(self, user: str = "U1", *, team: str | None = None) -> None:
        """Send app_home_opened (Events API) for `user`; returns once the app published a home or all is quiet."""
        identity = self._identity(team)
        person = self._person(user)
        before = self.homes.get(person.id)
        body = payloads.app_home_opened(
            identity,
            user=person.id,
            channel_id=self.world.dm(person.id).id,
            view=before,
            view_id=self.world.view_id(person.id),
        )
        reply = Reply(self.world.next_id("event"))
        await self._send(reply, "events_api", body)
        if reply.status != 200:
            self.problems.append(f"{reply.request_id}: the app answered {reply.status} ({reply.error})")
        deadline = time.monotonic() + self.settle_max
        while time.monotonic() < deadline:
            if self.homes.get(person.id) is not before:
                break
            await asyncio.sleep(0.01)
        await self._settle()

    # -- sending and gathering ------------------------------------------------------------------------

    async def _drive(self, reply: Reply, kind: str, payload: JSON, on_answer: Callable[[], None] | None = None) -> None:
        """Send a request and gather what comes of it until the app has been quiet for a moment."""
        self._gathering.append(reply)
        try:
            await self._send(reply, kind, payload)
            if on_answer is not None:
                on_answer()
            await self._settle()
        finally:
            self._gathering.remove(reply)

    async def _send(self, reply: Reply, kind: str, payload: JSON) -> None:
        """Send a request to the app; the status and body (or ack payload) of its answer go into `reply`.

        `kind` is the Socket Mode envelope type ("slash_commands", "interactive" or "events_api"): over HTTP a
        slash command is a form, an interaction a form with a JSON `payload` field, and an event a JSON body,
        each signed with the signing secret; through Socket Mode, `payload` goes as it is in an envelope.
        """
        if self.app_url is not None:
            await self._post(reply, *_http_body(kind, payload))
        else:
            await self._deliver(reply, kind, payload)
        self._last_activity = time.monotonic()

    async def _post(self, reply: Reply, body: bytes, content_type: str) -> None:
        """POST a signed request to `app_url`."""
        if self.app_url is None or self._session is None:
            raise RuntimeError("start() the emulator and set app_url to the app's request URL first")
        headers = {"Content-Type": content_type, **signed_headers(self.signing_secret, body)}
        timeout = aiohttp.ClientTimeout(total=self.ack_deadline)
        try:
            async with self._session.post(self.app_url, data=body, headers=headers, timeout=timeout) as response:
                reply.status = response.status
                reply.ack = _parsed(await response.text())
        except TimeoutError:
            reply.error = "operation_timeout"
        except aiohttp.ClientError:
            reply.error = "dispatch_failed"

    async def _deliver(self, reply: Reply, kind: str, payload: JSON) -> None:
        """Send an envelope through the app's Socket Mode connection; an ack counts as a 200 answer."""
        if not await self.sockets.wait_connected(SOCKET_WAIT):
            raise RuntimeError(
                "set app_url to the app's request URL, or connect the app through Socket Mode, before driving it"
            )
        try:
            ack = await self.sockets.deliver(kind, payload, deadline=self.ack_deadline)
        except TimeoutError:
            reply.error = "operation_timeout"
        except ConnectionError:
            reply.error = "dispatch_failed"
        else:
            reply.status = 200
            reply.ack = ack

    def _ack_message(self, reply: Reply, person: User, place: Channel) -> None:
        """A slash command's answer body, shown as Slack shows it (ephemeral unless in_channel)."""
        ack = reply.ack
        if reply.status != 200 or not ack:
            return
        body: JSON = ack if isinstance(ack, dict) else {"text": ack}
        if not body.get("text") and not body.get("blocks"):
            return
        made = responses.message_from(
            self.world, body, user=person.id, channel=place.id, source="ack", request_id=reply.request_id
        )
        if isinstance(made, str):
            self.problems.append(f"{reply.request_id}: the ack was refused ({made}): {body!r}")
            return
        responses.place(self.world, made)
        reply.add(made, first=True)

    def _gather(self, message: Message) -> None:
        for reply in self._gathering:
            reply.add(message)

    async def _settle(self) -> None:
        """Wait until no call is under way and none came for `settle_quiet` seconds (at most `settle_max`)."""
        deadline = time.monotonic() + self.settle_max
        while time.monotonic() < deadline:
            if self._in_flight == 0 and time.monotonic() - self._last_activity >= self.settle_quiet:
                return
            await asyncio.sleep(0.01)

    def _begin(self) -> None:
        self._in_flight += 1
        self._last_activity = time.monotonic()

    def _end(self) -> None:
        self._in_flight -= 1
        self._last_activity = time.monotonic()

    # -- lookups --------------------------------------------------------------------------------------

    def _identity(self, team: str | None) -> Identity:
        """Who a request comes from: the emulator's own workspace, or another one the app knows."""
        if team is None or team == self.identity.team_id:
            return self.identity
        found = self.installs.teams.get(team)
        if found is None:
            raise LookupError(f"unknown workspace {team!r}: add_workspace() or install() it first")
        return dataclasses.replace(self.identity, team_id=found.id, team_domain=found.domain)

    def _person(self, user: str) -> User:
        person = self.users.get(user)
        if person is None:
            raise LookupError(f"unknown user {user!r}: add_user() it first")
        return person

    def _place(self, channel: str) -> Channel:
        place = self.world.resolve(channel)
        if place is None:
            raise LookupError(f"unknown channel {channel!r}: add_channel() it first")
        return place

    @staticmethod
    def _element(blocks: list[JSON], action_id: str, where: str) -> tuple[str, JSON]:
        found = payloads.find_element(blocks, action_id)
        if found is None:
            raise LookupError(f"no element with action_id {action_id!r} in {where}")
        return found


# -- HTTP helpers ---------------------------------------------------------------------------------------


async def _arguments(request: web.Request) -> tuple[JSON, str | None]:
    """A call's arguments (query, form or JSON body, JSON strings decoded) and its token."""
    args: JSON = dict(request.query)
    if request.method == "POST" and request.body_exists:
        if request.content_type == "application/json":
            try:
                body: Any = await request.json()
            except ValueError as error:
                raise SlackError("invalid_json") from error
            if not isinstance(body, dict):
                raise SlackError("invalid_json")
            args.update(body)
        else:
            form = await request.post()
            args.update({key: value for key, value in form.items() if isinstance(value, str)})
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
    posted = args.pop("token", None)
    for key in _JSON_ARGUMENTS:
        if key in args:
            args[key] = limits.decoded(args[key])
    return args, token or (str(posted) if posted else None)


async def _response_body(request: web.Request) -> object:
    """A response URL body: JSON, or a form with a JSON `payload` field."""
    text = await request.text()
    if request.content_type == FORM:
        text = str((await request.post()).get("payload") or "")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _failure(failure: SlackError) -> web.Response:
    body = {"ok": False, "error": failure.error, **failure.fields}
    return web.json_response(body, status=failure.status, headers=failure.headers)


def _http_body(kind: str, payload: JSON) -> tuple[bytes, str]:
    """A request as Slack POSTs it to a request URL: its body and content type."""
    if kind == "slash_commands":
        return urlencode({key: str(value) for key, value in payload.items()}).encode(), FORM
    if kind == "interactive":
        return urlencode({"payload": json.dumps(payload)}).encode(), FORM
    return json.dumps(payload).encode(), "application/json"


def _parsed(text: str) -> JSON | str | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict) else text
