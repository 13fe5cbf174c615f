"""Socket Mode: Slack's side of the websocket an app opens instead of serving a request URL.

The app calls apps.connections.open with its app-level token and gets a one-time `ws://` URL; once it connects,
Slack greets it with `hello` and from then on sends each request as an envelope
`{"envelope_id", "type", "payload", "accepts_response_payload"}` (`type`: "slash_commands", "interactive" or
"events_api"; events also carry `retry_attempt` and `retry_reason`). The app acknowledges with
`{"envelope_id", "payload"?}` within three seconds; the payload is what an HTTP answer's body would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from emulator.slack.model import JSON

HOST = "applink-emulator"  # the debug_info host Slack's hello and disconnect messages name
TICKET_LIFETIME = 30.0  # seconds a URL from apps.connections.open stays good (once)
_ANSWERED = frozenset({"block_suggestion", "view_submission"})  # interactive payloads Slack reads an answer to


def accepts_response_payload(kind: str, payload: JSON) -> bool:
    """Whether Slack reads the payload of the ack: slash commands, options requests and modal submissions."""
    return kind == "slash_commands" or (kind == "interactive" and payload.get("type") in _ANSWERED)


@dataclass
class _Connection:
    """One app websocket; `ready` once greeted, until told to reconnect."""

    ws: web.WebSocketResponse
    ready: bool = False
    pending: set[str] = field(default_factory=set)


class SocketMode:
    """Tickets, the connected app websockets, and envelopes awaiting their acks.

    `envelopes` lists every envelope sent (oldest first); what Slack would have refused silently (an ack that
    names no envelope, or is not JSON) goes into `problems`.
    """

    def __init__(self, app_id: str, problems: list[str]) -> None:
        self.app_id = app_id
        self.problems = problems
        self.envelopes: list[JSON] = []
        self._tickets: dict[str, float] = {}  # ticket -> when it was issued
        self._connections: list[_Connection] = []
        self._waiting: dict[str, asyncio.Future[JSON | None]] = {}
        self._sent: set[str] = set()
        self._turn = itertools.count()

    # -- connecting -----------------------------------------------------------------------------------

    def open(self, ws_base: str) -> str:
        """A fresh one-time websocket URL (the answer of apps.connections.open)."""
        ticket = secrets.token_hex(16)
        self._tickets[ticket] = time.monotonic()
        return f"{ws_base}/socket?ticket={ticket}&app_id={self.app_id}"

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """The websocket: greet the app, then take its acks until it leaves."""
        issued = self._tickets.pop(request.query.get("ticket", ""), None)
        if issued is None or time.monotonic() - issued > TICKET_LIFETIME:
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        connection = _Connection(web.WebSocketResponse(autoping=True))
        self._connections.append(connection)
        try:
            await connection.ws.prepare(request)
            await connection.ws.send_json(self._hello())
            connection.ready = True
            async for message in connection.ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self._receive(str(message.data))
        finally:
            self._connections.remove(connection)
            for envelope_id in connection.pending:
                waiting = self._waiting.get(envelope_id)
                if waiting is not None and not waiting.done():
                    waiting.set_exception(ConnectionResetError("the app closed its Socket Mode connection"))
        return connection.ws

    def _hello(self) -> JSON:
        return {
            "type": "hello",
            "num_connections": len(self._connections),
            "debug_info": {"host": HOST, "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }

    @property
    def connected(self) -> int:
        """How many greeted connections can take envelopes."""
        return len(self._ready())

    def _ready(self) -> list[_Connection]:
        return [connection for connection in self._connections if connection.ready and not connection.ws.closed]

    async def wait_connected(self, within: float) -> bool:
        """Whether a connection is (or becomes, within `within` seconds) ready.

        It only waits while an app is on its way: a URL was handed out but not used yet, or a connection is
        being greeted (or was asked to reconnect and is still open).
        """
        deadline = time.monotonic() + within
        while not self.connected:
            fresh = any(time.monotonic() - issued <= TICKET_LIFETIME for issued in self._tickets.values())
            coming = fresh or any(not connection.ready for connection in self._connections)
            if not coming or time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def disconnect(self, reason: str) -> None:
        """Ask every connection to reconnect (Slack's `disconnect` message); none takes envelopes after it."""
        for connection in list(self._connections):
            if connection.ready:
                connection.ready = False
                with contextlib.suppress(ConnectionError, RuntimeError):
                    notice = {"type": "disconnect", "reason": reason, "debug_info": {"host": HOST}}
                    await connection.ws.send_json(notice)

    async def close(self) -> None:
        """Close every connection (going away)."""
        self._tickets.clear()
        for connection in list(self._connections):
            connection.ready = False
            with contextlib.suppress(ConnectionError, RuntimeError):
                await connection.ws.close(code=aiohttp.WSCloseCode.GOING_AWAY)

    # -- envelopes ------------------------------------------------------------------------------------

    async def deliver(self, kind: str, payload: JSON, *, deadline: float | None) -> JSON | None:
        """Send one envelope and wait for its ack: the ack's payload (None if it had none).

        Raises TimeoutError past the deadline and ConnectionError when no connection takes it or it closes first.
        """
        ready = self._ready()
        if not ready:
            raise ConnectionError("no Socket Mode connection")
        connection = ready[next(self._turn) % len(ready)]  # Slack spreads envelopes over the connections
        envelope: JSON = {
            "envelope_id": str(uuid.uuid4()),
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload(kind, payload),
        }
        if kind == "events_api":
            envelope.update({"retry_attempt": 0, "retry_reason": ""})
        envelope_id = str(envelope["envelope_id"])
        answer: asyncio.Future[JSON | None] = asyncio.get_running_loop().create_future()
        self._waiting[envelope_id] = answer
        self._sent.add(envelope_id)
        connection.pending.add(envelope_id)
        self.envelopes.append(envelope)
        try:
            await connection.ws.send_str(json.dumps(envelope))
            async with asyncio.timeout(deadline):
                return await answer
        finally:
            del self._waiting[envelope_id]  # a late ack is dropped, as Slack drops it
            connection.pending.discard(envelope_id)

    def _receive(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            self.problems.append(f"Socket Mode: the app sent {text!r}, which is not JSON")
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if not isinstance(envelope_id, str):
            self.problems.append(f"Socket Mode: the app sent {text!r}, which acknowledges no envelope")
            return
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            self.problems.append(f"Socket Mode: the ack of {envelope_id} has a payload that is not an object")
            payload = None
        if envelope_id not in self._sent:
            self.problems.append(f"Socket Mode: the app acknowledged {envelope_id}, which was never sent to it")
            return
        waiting = self._waiting.get(envelope_id)
        if waiting is not None and not waiting.done():
            waiting.set_result(payload)
