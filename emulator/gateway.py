"""The gateway websocket: HELLO, heartbeats, IDENTIFY/READY, RESUME with replay, shards, and scripted disconnects.

Sharding follows Discord's gateway documentation: an IDENTIFY may carry `shard: [shard_id, shard_count]`; a
server's events go to the session whose shard is `(guild_id >> 22) % shard_count`, and events without a server
(direct messages) to shard 0. There is one session per shard pair: a new IDENTIFY for a pair replaces the
session that had it (Discord allows duplicates; one keeps every event delivered once). An IDENTIFY without a
shard is shard `[0, 1]`, which is how an un-sharded bot has always been served here.

Sharded sessions (a shard count above 1) are held to the identify rate: one IDENTIFY per rate-limit bucket
(`shard_id % max_concurrency`) per `identify_window` seconds, so `max_concurrency` in all; one over it is
answered with INVALID_SESSION (op 9, not resumable), as Discord's gateway documentation says. An invalid shard
pair closes with 4010, and a session that would hold more than `max_guilds_per_session` servers with 4011.
"""

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
IDENTIFY_WINDOW = 5.0  # seconds: Discord's window for `max_concurrency` IDENTIFYs
MAX_GUILDS_PER_SESSION = 2500  # Discord's limit before it requires sharding (close code 4011)
UNSHARDED = (0, 1)
# Events whose payload is the server itself (its `id`), rather than something in a server (`guild_id`).
_GUILD_EVENTS = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})
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
    """Raised when an event must reach the bot but no bot has identified (for the event's shard)."""


class CloseCode:
    """Close codes the gateway sends."""

    AUTHENTICATION_FAILED = 4004
    INVALID_SHARD = 4010
    SHARDING_REQUIRED = 4011


@dataclass
class ShardingRules:
    """How the emulated gateway treats shards; `/gateway/bot` reports `recommended_shards` and `max_concurrency`.

    `recommended_shards` `None`: one per 1,000 servers, at least one (as Discord recommends roughly). Lower
    `max_guilds_per_session` to make an un-sharded session need shards (4011) with only a few servers.
    """

    recommended_shards: int | None = None
    max_concurrency: int = 1
    identify_window: float = IDENTIFY_WINDOW
    max_guilds_per_session: int = MAX_GUILDS_PER_SESSION

    def shards_for(self, guild_count: int) -> int:
        """The shard count `/gateway/bot` recommends."""
        if self.recommended_shards is not None:
            return self.recommended_shards
        return max(1, -(-guild_count // 1000))


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard a server's events go to, by Discord's formula."""
    return (guild_id >> 22) % shard_count


@dataclass
class Session:
    """A gateway session: its sequence, the dispatches it was sent (for replay), and its live socket."""

    id: str
    intents: int
    shard: tuple[int, int] = UNSHARDED  # [shard_id, shard_count] as identified
    seq: int = 0
    frames: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    socket: web.WebSocketResponse | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True)
class ReadyPayloads:
    """What the gateway needs from the rest of the emulator to greet a new session."""

    ready: Callable[[Session], dict[str, Any]]
    guild_creates: Callable[[tuple[int, int]], list[dict[str, Any]]]  # the servers of a shard pair


class Gateway:
    """Serves `/gateway`: one current session per shard pair (one in all for a bot without sharding)."""

    def __init__(
        self,
        token: str,
        payloads: ReadyPayloads,
        on_change: Callable[[], None],
        rules: ShardingRules | None = None,
    ) -> None:
        self._token = token
        self._payloads = payloads
        self._on_change = on_change
        self.rules = rules or ShardingRules()
        self._sockets: set[web.WebSocketResponse] = set()
        self._open = asyncio.Event()
        self._open.set()
        self.sessions: dict[tuple[int, int], Session] = {}
        self._identified_at: dict[int, float] = {}  # rate-limit bucket -> when its last IDENTIFY was let through
        self.identifies = 0
        self.refused_identifies = 0  # IDENTIFYs over the rate, answered with INVALID_SESSION
        self.resumes = 0
        self.received: list[dict[str, Any]] = []

    @property
    def session(self) -> Session | None:
        """Shard 0's session: the only one of a bot without sharding."""
        return next((s for (shard_id, _), s in self.sessions.items() if shard_id == 0), None)

    @property
    def connected(self) -> bool:
        """Whether a bot is identified and every session's socket is open."""
        return bool(self.sessions) and all(_live(session) for session in self.sessions.values())

    def shard_connected(self, shard_id: int) -> bool:
        """Whether a session of this shard id is identified and its socket open."""
        return any(_live(s) for (sid, _), s in self.sessions.items() if sid == shard_id)

    def sessions_for(self, guild_id: int | None) -> list[Session]:
        """The sessions a server's events go to (`None`: events without a server, which go to shard 0)."""
        return [
            session
            for (shard_id, count), session in self.sessions.items()
            if shard_id == (0 if guild_id is None else shard_of(guild_id, count))
        ]

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
            for session in self.sessions.values():
                if session.socket is socket:
                    session.socket = None
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
            await socket.close(code=CloseCode.AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        shard = _shard_pair(data.get("shard", list(UNSHARDED)))
        if shard is None:
            await socket.close(code=CloseCode.INVALID_SHARD, message=b"Invalid shard.")
            return
        guilds = self._payloads.guild_creates(shard)
        if len(guilds) > self.rules.max_guilds_per_session:
            await socket.close(code=CloseCode.SHARDING_REQUIRED, message=b"Sharding required.")
            return
        if shard[1] > 1 and not self._take_identify(shard[0]):
            self.refused_identifies += 1
            await self._send(socket, {"op": Op.INVALID_SESSION, "d": False})
            return
        session = Session(id=secrets.token_hex(16), intents=int(data.get("intents", 0)), shard=shard, socket=socket)
        self.sessions[shard] = session
        self.identifies += 1
        async with session.lock:
            await self._dispatch_locked(session, "READY", self._payloads.ready(session))
            for guild in guilds:
                await self._dispatch_locked(session, "GUILD_CREATE", guild)
        self._on_change()

    def _take_identify(self, shard_id: int) -> bool:
        """Count an IDENTIFY in its rate-limit bucket; `False` if the bucket had one within the window."""
        bucket = shard_id % max(1, self.rules.max_concurrency)
        now = asyncio.get_running_loop().time()
        last = self._identified_at.get(bucket)
        if last is not None and now - last < self.rules.identify_window:
            return False
        self._identified_at[bucket] = now
        return True

    async def _resume(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self._token:
            await socket.close(code=4004, message=b"Authentication failed.")
            return
        session = next((s for s in self.sessions.values() if s.id == data.get("session_id")), None)
        seq = data.get("seq")
        if session is None or not isinstance(seq, int):
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
        """Send a dispatch to the session of its server's shard, or buffer it for replay if that one is away.

        The server is the payload's `guild_id` (or `id`, for GUILD_CREATE, GUILD_UPDATE and GUILD_DELETE);
        events without one go to shard 0. Returns whether a session took it; with `required`, raises
        `NoSessionError` instead of dropping it.
        """
        guild_id = _guild_of(event, data)
        sessions = self.sessions_for(guild_id)
        if not sessions:
            if required:
                where = "direct messages" if guild_id is None else f"server {guild_id}"
                raise NoSessionError(f"cannot dispatch {event}: no bot has identified for the shard of {where}")
            return False
        for session in sessions:
            async with session.lock:
                await self._dispatch_locked(session, event, data)
        return True

    def _chosen(self, shard_id: int | None) -> list[tuple[tuple[int, int], Session]]:
        return [(key, s) for key, s in self.sessions.items() if shard_id is None or key[0] == shard_id]

    async def close(self, code: int, *, shard_id: int | None = None) -> None:
        """Close the sessions' sockets (of one shard id, or all) with `code`; codes that end sessions forget them."""
        sockets = []
        for key, session in self._chosen(shard_id):
            if session.socket is not None:
                sockets.append(session.socket)
            session.socket = None
            if code in _SESSION_ENDING_CODES:
                del self.sessions[key]
        for socket in sockets:
            await socket.close(code=code)
        self._on_change()

    async def send_op(self, op: int, data: Any, *, shard_id: int | None = None) -> None:
        """Send a non-dispatch opcode to the sessions' sockets (of one shard id, or all)."""
        chosen = [s for _, s in self._chosen(shard_id) if s.socket is not None]
        if not chosen:
            raise NoSessionError("no bot is connected to the gateway")
        for session in chosen:
            if session.socket is not None:
                await self._send(session.socket, {"op": op, "d": data})

    async def invalidate(self, *, resumable: bool, shard_id: int | None = None) -> None:
        """Send INVALID_SESSION; when not resumable, the sessions are forgotten and the bot must identify anew."""
        await self.send_op(Op.INVALID_SESSION, resumable, shard_id=shard_id)
        if not resumable:
            for key, _ in self._chosen(shard_id):
                del self.sessions[key]

    async def shutdown(self) -> None:
        """Close every socket (going away)."""
        self.release()
        for socket in list(self._sockets):
            with contextlib.suppress(ConnectionError):
                await socket.close(code=1001)


def _live(session: Session) -> bool:
    return session.socket is not None and not session.socket.closed


def _shard_pair(value: Any) -> tuple[int, int] | None:
    """`[shard_id, shard_count]` as a pair, or `None` if it is not a valid one."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    shard_id, count = value
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (shard_id, count)):
        return None
    if not 0 <= shard_id < count:
        return None
    return shard_id, count


def _guild_of(event: str, data: dict[str, Any]) -> int | None:
    """The server an event is about, if any."""
    value = data.get("id") if event in _GUILD_EVENTS else data.get("guild_id")
    return int(value) if value is not None else None
