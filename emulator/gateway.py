"""The gateway websocket: HELLO, heartbeats, IDENTIFY/READY, RESUME with replay, and scripted disconnects."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_MS = 41_250
REPLAY_BUFFER = 10_000
# Close codes after which Discord will not let the session resume.
_SESSION_ENDING_CODES = frozenset({4004, 4007, 4009, 4010, 4011, 4012, 4013, 4014})


class Op:
    """Gateway opcodes."""

    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    PRESENCE_UPDATE = 3
    VOICE_STATE_UPDATE = 4
    RESUME = 6
    RECONNECT = 7
    REQUEST_GUILD_MEMBERS = 8
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class NoSessionError(RuntimeError):
    """Raised when an event must reach the bot but no bot has identified."""


@dataclass
class Session:
    """A gateway session: its sequence, the dispatches it was sent (for replay), and its live socket."""

    id: str
    intents: int
    seq: int = 0
    frames: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    socket: web.WebSocketResponse | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True)
class ReadyPayloads:
    """What the gateway needs from the rest of the emulator to greet a new session."""

    ready: Callable[[Session], dict[str, Any]]
    guild_creates: Callable[[], list[dict[str, Any]]]


class Gateway:
    """Serves `/gateway`: one current session at a time, as a single bot without sharding has."""

    def __init__(self, token: str, payloads: ReadyPayloads, on_change: Callable[[], None]) -> None:
        self._token = token
        self._payloads = payloads
        self._on_change = on_change
        self._sockets: set[web.WebSocketResponse] = set()
        self._open = asyncio.Event()
        self._open.set()
        self.session: Session | None = None
        self.identifies = 0
        self.resumes = 0
        self.received: list[dict[str, Any]] = []

    @property
    def connected(self) -> bool:
        """Whether a bot is identified and its socket is open."""
        return self.session is not None and self.session.socket is not None and not self.session.socket.closed

    def hold(self) -> None:
        """Keep new connections waiting before HELLO until `release()` (to dispatch while the bot is away)."""
        self._open.clear()

    def release(self) -> None:
        """Let waiting and new connections proceed."""
        self._open.set()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one websocket connection until it closes."""
        socket = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await socket.prepare(request)
        self._sockets.add(socket)
        try:
            await self._open.wait()
            await self._send(socket, {"op": Op.HELLO, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
            async for message in socket:
                if message.type is not WSMsgType.TEXT:
                    continue
                await self._receive(socket, json.loads(message.data))
        finally:
            self._sockets.discard(socket)
            if self.session is not None and self.session.socket is socket:
                self.session.socket = None
            self._on_change()
        return socket

    async def _receive(self, socket: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        self.received.append(frame)
        if op == Op.HEARTBEAT:
            await self._send(socket, {"op": Op.HEARTBEAT_ACK})
        elif op == Op.IDENTIFY:
            await self._identify(socket, frame.get("d") or {})
        elif op == Op.RESUME:
            await self._resume(socket, frame.get("d") or {})
        elif op not in (Op.PRESENCE_UPDATE, Op.VOICE_STATE_UPDATE, Op.REQUEST_GUILD_MEMBERS):
            await socket.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self._token:
            await socket.close(code=4004, message=b"Authentication failed.")
            return
        session = Session(id=secrets.token_hex(16), intents=int(data.get("intents", 0)), socket=socket)
        self.session = session
        self.identifies += 1
        async with session.lock:
            await self._dispatch_locked(session, "READY", self._payloads.ready(session))
            for guild in self._payloads.guild_creates():
                await self._dispatch_locked(session, "GUILD_CREATE", guild)
        self._on_change()

    async def _resume(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self._token:
            await socket.close(code=4004, message=b"Authentication failed.")
            return
        session = self.session
        seq = data.get("seq")
        if session is None or session.id != data.get("session_id") or not isinstance(seq, int):
            await self._send(socket, {"op": Op.INVALID_SESSION, "d": False})
            return
        async with session.lock:
            missed = [frame for frame in session.frames if frame["s"] > seq]
            oldest_kept = session.frames[0]["s"] if session.frames else session.seq + 1
            if seq + 1 < oldest_kept:
                await self._send(socket, {"op": Op.INVALID_SESSION, "d": False})
                return
            previous, session.socket = session.socket, socket
            if previous is not None and previous is not socket:
                await previous.close(code=4000)
            for frame in missed:
                await self._send(socket, frame)
            await self._dispatch_locked(session, "RESUMED", {})
        self.resumes += 1
        self._on_change()

    async def _send(self, socket: web.WebSocketResponse, frame: dict[str, Any]) -> bool:
        """Send one frame as TEXT; `False` if the socket is already gone."""
        frame.setdefault("d", None)
        frame.setdefault("s", None)
        frame.setdefault("t", None)
        if socket.closed:
            return False
        try:
            await socket.send_str(json.dumps(frame))
        except ConnectionError:
            return False
        return True

    async def _dispatch_locked(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        frame = {"op": Op.DISPATCH, "t": event, "s": session.seq, "d": data}
        session.frames.append(frame)
        if session.socket is not None and not await self._send(session.socket, frame):
            session.socket = None

    async def dispatch(self, event: str, data: dict[str, Any], *, required: bool = False) -> bool:
        """Send a dispatch to the current session, or buffer it for replay if the bot is disconnected.

        Returns whether a session took it; with `required`, raises `NoSessionError` instead of dropping it.
        """
        session = self.session
        if session is None:
            if required:
                raise NoSessionError(f"cannot dispatch {event}: no bot has identified with the gateway")
            return False
        async with session.lock:
            await self._dispatch_locked(session, event, data)
        return True

    async def close(self, code: int) -> None:
        """Close the current session's socket with `code`; codes that end sessions also forget it."""
        session = self.session
        socket = session.socket if session is not None else None
        if session is not None:
            session.socket = None
            if code in _SESSION_ENDING_CODES:
                self.session = None
        if socket is not None:
            await socket.close(code=code)
        self._on_change()

    async def send_op(self, op: int, data: Any) -> None:
        """Send a non-dispatch opcode to the current session's socket."""
        session = self.session
        if session is None or session.socket is None:
            raise NoSessionError("no bot is connected to the gateway")
        await self._send(session.socket, {"op": op, "d": data})

    async def invalidate(self, *, resumable: bool) -> None:
        """Send INVALID_SESSION; when not resumable, the session is forgotten and the bot must identify anew."""
        await self.send_op(Op.INVALID_SESSION, resumable)
        if not resumable:
            self.session = None

    async def shutdown(self) -> None:
        """Close every socket (going away)."""
        self.release()
        for socket in list(self._sockets):
            with contextlib.suppress(ConnectionError):
                await socket.close(code=1001)
