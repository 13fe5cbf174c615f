"""`SlackEmulator`: a local Slack that a real slack-bolt `AsyncApp` (HTTP mode) and slack-sdk client talk to."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

import emulator.slack.limits as limits
import emulator.slack.payloads as payloads
import emulator.slack.responses as responses
from emulator.slack.faults import Faults, RateLimiter
from emulator.slack.model import JSON, Channel, Identity, Message, Reply, User
from emulator.slack.responses import ResponseUrl
from emulator.slack.signing import signed_headers
from emulator.slack.webapi import SlackError, WebApi
from emulator.slack.world import Workspace

API_PREFIX = "/api/"
FORM = "application/x-www-form-urlencoded"
HANG_SECONDS = 30.0
_JSON_ARGUMENTS = ("blocks", "attachments", "view", "metadata")
_RATE_LIMITED = frozenset({"chat.postMessage"})


class SlackEmulator:
    """A fake Slack for tests and the sandbox; see `emulator/slack/__init__.py` for the overview.

    The app's Web API client goes to `api_url`; the emulator sends its requests to `app_url` (set it to the
    app's request URL). `post_rate_per_channel` and `post_burst` shape chat.postMessage's per-channel limit.
    `ack_deadline` is how long the app has to answer a request (Slack: 3 s); after the answer, a request's
    replies are gathered until no call came for `settle_quiet` seconds (at most `settle_max`).

    What the app did: `channels` (each with its visible `messages`), `ephemeral` (every ephemeral message,
    deleted ones marked), `homes` (user -> last published Home view), `views_opened` (the modal views),
    `calls` (every Web API call: method and arguments, token left out, JSON strings decoded),
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
        post_rate_per_channel: float = 1.0,
        post_burst: int = 5,
        ack_deadline: float | None = 3.0,
        settle_quiet: float = 0.05,
        settle_max: float = 2.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.identity = Identity(team_id, team_domain, bot_user_id, bot_id, app_id)
        self.world = Workspace(self.identity)
        self.users: dict[str, User] = self.world.users
        self.channels: dict[str, Channel] = self.world.channels
        self.ephemeral: list[Message] = self.world.ephemeral
        self.homes: dict[str, JSON] = self.world.homes
        self.views_opened: list[JSON] = self.world.views_opened
        self.calls: list[tuple[str, JSON]] = []
        self.rate_limited: list[tuple[str, str]] = []
        self.problems: list[str] = []
        self.app_url: str | None = None
        self.faults = Faults()
        self.ack_deadline = ack_deadline
        self.settle_quiet = settle_quiet
        self.settle_max = settle_max
        self._limiter = RateLimiter(post_rate_per_channel, post_burst)
        self._methods = WebApi(self.world).methods()
        self._response_urls: dict[str, ResponseUrl] = {}
        self._gathering: list[Reply] = []
        self.world.observers.append(self._gather)
        self._in_flight = 0
        self._last_activity = 0.0
        self._closing = asyncio.Event()
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on the host and port (0: a free port)."""
        app = web.Application()
        app.router.add_route("*", API_PREFIX + "{method}", self._serve_api)
        app.router.add_post("/response/{request_id}", self._serve_response_url)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self._port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        """Release hanging calls, stop sending and stop listening."""
        self._closing.set()
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

    # -- the world ------------------------------------------------------------------------------------

    def add_user(self, user_id: str, name: str, tz: str = "UTC", *, admin: bool = False) -> None:
        """Add a person; users.info reports `tz` (an IANA name) with its current offset, and `admin`."""
        self.world.add_user(user_id, name, tz, admin=admin)

    def add_channel(self, channel_id: str, name: str, *, member: bool = True, archived: bool = False) -> None:
        """Add a channel; `member` says whether the bot is in it."""
        self.world.add_channel(channel_id, name, member=member, archived=archived)

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
            self.calls.append((method, args))
            answer, hang = self._answer(method, args, token)
        finally:
            self._end()
        if hang is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), hang)
        return answer

    def _answer(self, method: str, args: JSON, token: str | None) -> tuple[web.Response, float | None]:
        """The answer to one call, and how long to hold it back (a `time_out_next` fault)."""
        hang: float | None = None
        try:
            handler = self._methods.get(method)
            if handler is None:
                raise SlackError("unknown_method")
            self._authenticate(token)
            hang = self.faults.take_hang(method)
            error = self.faults.take_error(method)
            if error == "ratelimited":
                raise SlackError(error, status=429, headers={"Retry-After": "1"})
            if error is not None:
                raise SlackError(error)
            if method in _RATE_LIMITED:
                self._throttle(method, str(args.get("channel") or ""))
            return web.json_response({"ok": True, **handler(args)}), hang
        except SlackError as failure:
            return _failure(failure), hang

    def _authenticate(self, token: str | None) -> None:
        if self.faults.revoked:
            raise SlackError("token_revoked")
        if not token:
            raise SlackError("not_authed")
        if token != self.token:
            raise SlackError("invalid_auth")

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

    async def slash(self, command: str, text: str, *, user: str = "U1", channel: str = "C1") -> Reply:
        """Run a slash command as `user` in `channel`; the ack's text or blocks become a message."""
        person, place = self._person(user), self._place(channel)
        reply = Reply(self.world.next_id("slash"), trigger_id=self.world.issue_trigger())
        form = payloads.slash_command(
            self.identity,
            command=command,
            text=text,
            user=person,
            channel=place,
            response_url=self._open_response_url(reply, person.id, place.id, None),
            trigger_id=reply.trigger_id or "",
        )
        await self._drive(reply, urlencode(form).encode(), FORM, lambda: self._ack_message(reply, person, place))
        return reply

    async def click(
        self,
        message: Message,
        action_id: str,
        *,
        user: str = "U1",
        value: str | None = None,
        selected: str | None = None,
    ) -> Reply:
        """Press the element `action_id` of `message` (a button, or pick `selected` in a menu) as `user`."""
        person = self._person(user)
        if message.deleted:
            raise LookupError(f"message {message.ts} was deleted")
        if message.ephemeral and message.user != person.id:
            raise LookupError(f"only {message.user} sees ephemeral message {message.ts}")
        block_id, element = self._element(message.blocks, action_id, f"message {message.ts}")
        reply = Reply(self.world.next_id("click"), trigger_id=self.world.issue_trigger())
        payload = payloads.block_actions(
            self.identity,
            user=person,
            channel=self.channels.get(message.channel),
            message=message,
            action=payloads.action(element, block_id, value=value, selected=selected),
            response_url=self._open_response_url(reply, person.id, message.channel, message),
            trigger_id=reply.trigger_id or "",
        )
        await self._drive(reply, _form_payload(payload), FORM)
        return reply

    async def click_home(
        self, action_id: str, *, user: str = "U1", value: str | None = None, selected: str | None = None
    ) -> Reply:
        """Press the element `action_id` in `user`'s App Home (Slack gives no response_url there)."""
        person = self._person(user)
        view = self.homes.get(person.id)
        if view is None:
            raise LookupError(f"no App Home was published for {person.id}")
        block_id, element = self._element(list(view.get("blocks") or []), action_id, f"the home of {person.id}")
        reply = Reply(self.world.next_id("click"), trigger_id=self.world.issue_trigger())
        payload = payloads.home_block_actions(
            self.identity,
            user=person,
            view=view,
            view_id=self.world.view_id(person.id),
            action=payloads.action(element, block_id, value=value, selected=selected),
            trigger_id=reply.trigger_id or "",
        )
        await self._drive(reply, _form_payload(payload), FORM)
        return reply

    async def submit_view(self, view: JSON, typed: dict[str, str], *, user: str = "U1") -> JSON | None:
        """Submit a modal the app opened, with `typed` text per input block (its block id = its action id).

        Returns the app's answer (`{"response_action": "update", "view": ...}` or None for a plain close).
        """
        person = self._person(user)
        values = {block_id: {block_id: {"type": "plain_text_input", "value": text}} for block_id, text in typed.items()}
        reply = Reply(self.world.next_id("submit"), trigger_id=self.world.issue_trigger())
        payload = payloads.view_submission(
            self.identity,
            user=person,
            view=view,
            view_id=self.world.view_id(reply.request_id),
            values=values,
            trigger_id=reply.trigger_id or "",
        )
        await self._send(reply, _form_payload(payload), FORM)
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
    ) -> list[JSON]:
        """Type `value` into the external select `action_id`: the options (or option groups) the app answered."""
        person = self._person(user)
        place = self.world.resolve(message.channel if message is not None else channel)
        reply = Reply(self.world.next_id("suggest"))
        payload = payloads.block_suggestion(
            self.identity,
            user=person,
            action_id=action_id,
            block_id=block_id,
            value=value,
            channel=place,
            channel_id=place.id if place is not None else channel,
            message=message,
        )
        await self._send(reply, _form_payload(payload), FORM)
        answer = reply.ack
        if reply.status != 200 or not isinstance(answer, dict):
            self.problems.append(f"{reply.request_id}: the app answered {reply.status} {answer!r} ({reply.error})")
            return []
        problem = limits.options_problem(answer)
        if problem is not None:
            self.problems.append(f"{reply.request_id}: {problem}")
        return list(answer.get("options") or answer.get("option_groups") or [])

    async def open_home(self, user: str = "U1") -> None:
        """Send app_home_opened (Events API) for `user`; returns once the app published a home or all is quiet."""
        person = self._person(user)
        before = self.homes.get(person.id)
        body = payloads.app_home_opened(
            self.identity,
            user=person.id,
            channel_id=self.world.dm(person.id).id,
            view=before,
            view_id=self.world.view_id(person.id),
        )
        reply = Reply(self.world.next_id("event"))
        await self._send(reply, json.dumps(body).encode(), "application/json")
        if reply.status != 200:
            self.problems.append(f"{reply.request_id}: the app answered {reply.status} ({reply.error})")
        deadline = time.monotonic() + self.settle_max
        while time.monotonic() < deadline:
            if self.homes.get(person.id) is not before:
                break
            await asyncio.sleep(0.01)
        await self._settle()

    # -- sending and gathering ------------------------------------------------------------------------

    async def _drive(
        self, reply: Reply, body: bytes, content_type: str, on_answer: Callable[[], None] | None = None
    ) -> None:
        """Send a request and gather what comes of it until the app has been quiet for a moment."""
        self._gathering.append(reply)
        try:
            await self._send(reply, body, content_type)
            if on_answer is not None:
                on_answer()
            await self._settle()
        finally:
            self._gathering.remove(reply)

    async def _send(self, reply: Reply, body: bytes, content_type: str) -> None:
        """POST a signed request to the app; its status and body go into `reply`."""
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
        self._last_activity = time.monotonic()

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
    return web.json_response({"ok": False, "error": failure.error}, status=failure.status, headers=failure.headers)


def _form_payload(payload: JSON) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def _parsed(text: str) -> JSON | str | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict) else text
