"""The emulated workspace: its identity, users, channels, the messages in them, and replies to requests."""

from __future__ import annotations

import asyncio
import mimetypes
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

JSON = dict[str, Any]


@dataclass(frozen=True)
class Identity:
    """Who the workspace and the app under test are."""

    team_id: str
    team_domain: str
    bot_user_id: str
    bot_id: str
    app_id: str


@dataclass(frozen=True)
class Team:
    """A workspace the app is (or may be) installed in; `name` is what auth.test and oauth.v2.access show."""

    id: str
    name: str
    domain: str


@dataclass
class Grant:
    """A token Slack issued and what it acts as.

    `kind` is "bot" (a workspace's bot token), "user" (an installer's user token) or "app" (the app-level token,
    good only for apps.connections.open); `user_id` is the bot user or the installer; `scope` is comma-separated.
    `scoped` says whether `scope` is all the token may do (a token from an OAuth install, or one given scopes with
    `SlackEmulator.set_scopes`); a token made without OAuth may call every method.
    """

    token: str
    team: Team
    kind: str
    user_id: str
    scope: str = ""
    scoped: bool = False

    def lacks(self, scope: str) -> bool:
        """Whether a call that needs `scope` must answer missing_scope."""
        return self.scoped and scope not in self.scope.split(",")


@dataclass
class Revision:
    """What a message said before an edit."""

    text: str
    blocks: list[JSON]
    metadata: JSON | None


@dataclass
class Message:
    """A message in a channel, or an ephemeral one that only `user` sees.

    `user` is the bot user for messages the app posted and the viewer for ephemeral ones. `source` says how
    it came: "chat.postMessage", "chat.postEphemeral", "ack" (a slash command's HTTP answer), "response_url" or
    "files.completeUploadExternal" (a shared file, in `files`, with its comment as the text); `response_url_of`
    names the request whose ack or response URL made it. An edit (chat.update or `replace_original`) keeps the
    ts, sets `replaced` and keeps the earlier versions in `history`.
    """

    ts: str
    channel: str
    user: str
    text: str = ""
    blocks: list[JSON] = field(default_factory=list)
    metadata: JSON | None = None
    thread_ts: str | None = None
    ephemeral: bool = False
    unfurl_links: bool | None = None
    unfurl_media: bool | None = None
    source: str = "chat.postMessage"
    response_url_of: str | None = None
    replaced: bool = False
    deleted: bool = False
    history: list[Revision] = field(default_factory=list)
    files: list[JSON] = field(default_factory=list)

    def edit(self, *, text: str | None, blocks: list[JSON] | None, metadata: JSON | None = None) -> None:
        """Change it in place, keeping the ts (a `None` argument keeps that part; `metadata={}` drops it)."""
        self.history.append(Revision(self.text, self.blocks, self.metadata))
        if text is not None:
            self.text = text
        if blocks is not None:
            self.blocks = blocks
        if metadata is not None:
            self.metadata = metadata or None
        self.replaced = True

    def to_api(self, identity: Identity, *, metadata: bool = True) -> JSON:
        """The message as the Web API and interaction payloads show it."""
        shown: JSON = {
            "type": "message",
            "user": self.user if self.ephemeral else identity.bot_user_id,
            "bot_id": identity.bot_id,
            "app_id": identity.app_id,
            "team": identity.team_id,
            "text": self.text,
            "ts": self.ts,
        }
        if self.blocks:
            shown["blocks"] = self.blocks
        if self.thread_ts:
            shown["thread_ts"] = self.thread_ts
        if metadata and self.metadata:
            shown["metadata"] = self.metadata
        if self.files:
            shown["files"] = self.files
            shown["upload"] = True
        return shown


@dataclass
class Channel:
    """A conversation; `messages` are the ones visible in it (deleted ones leave), oldest first."""

    id: str
    name: str
    member: bool = True
    archived: bool = False
    is_im: bool = False
    messages: list[Message] = field(default_factory=list)

    def find(self, ts: str) -> Message | None:
        """The visible message with this ts."""
        return next((message for message in self.messages if message.ts == ts), None)

    def to_api(self) -> JSON:
        """The channel as conversations.info shows it."""
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_im,
            "is_im": self.is_im,
            "is_private": False,
            "is_member": self.member,
            "is_archived": self.archived,
            "created": 1_600_000_000,
        }


@dataclass
class File:
    """A file the app uploads: announced (files.getUploadURLExternal), sent (its upload URL), then shared.

    `length` is the size announced; `data` is what was sent to the upload URL (None until then); `channels`
    are where files.completeUploadExternal shared it (empty: kept private), `comment` its initial comment.
    """

    id: str
    name: str
    length: int
    team: str
    upload_key: str
    title: str = ""
    alt_txt: str | None = None
    snippet_type: str | None = None
    data: bytes | None = None
    completed: bool = False
    channels: list[str] = field(default_factory=list)
    comment: str = ""

    @property
    def filetype(self) -> str:
        """Slack's short name for the file's type: its extension ("ics"), or "text"."""
        _, dot, extension = self.name.rpartition(".")
        return extension.lower() if dot and extension else "text"

    def to_api(self, identity: Identity) -> JSON:
        """The file as a shared message's `files` entry shows it."""
        mimetype = mimetypes.guess_type(self.name)[0] or "application/octet-stream"
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": mimetype,
            "filetype": self.filetype,
            "size": len(self.data or b""),
            "user": identity.bot_user_id,
            "is_external": False,
            "mode": "hosted",
            "channels": list(self.channels),
        }


@dataclass
class User:
    """A person in the workspace, with the time zone users.info reports."""

    id: str
    name: str
    tz: str = "UTC"
    is_bot: bool = False
    is_admin: bool = False  # a workspace admin (owners are admins too here)

    def to_api(self, team_id: str) -> JSON:
        """The user as users.info shows it (offset and label as of now)."""
        now = datetime.now(tz=ZoneInfo(self.tz))
        offset = now.utcoffset()
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.name,
            "deleted": False,
            "is_bot": self.is_bot,
            "is_admin": self.is_admin,
            "is_owner": False,
            "tz": self.tz,
            "tz_label": now.tzname() or self.tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "profile": {"real_name": self.name, "display_name": self.name},
        }


class Clock:
    """Message timestamps: the wall clock in microseconds, strictly increasing ("1700000000.000100")."""

    def __init__(self) -> None:
        self._last = 0

    def next_ts(self) -> str:
        """A fresh ts, later than every earlier one."""
        self._last = max(int(time.time() * 1_000_000), self._last + 1)
        return format_ts(self._last)


def format_ts(micros: int) -> str:
    """Microseconds since the epoch as a Slack ts."""
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def parse_ts(ts: str) -> int | None:
    """A Slack ts (or plain seconds, "1700000000" or "1700000000.5") as microseconds; None if it is not one."""
    seconds, _, fraction = ts.strip().partition(".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()) or len(fraction) > 6:
        return None
    return int(seconds) * 1_000_000 + int(fraction.ljust(6, "0"))


def now_ts() -> str:
    """Now, as a ts (for `action_ts` and `event_ts`)."""
    return format_ts(int(datetime.now(tz=UTC).timestamp() * 1_000_000))


@dataclass
class Reply:
    """What came of one request the emulator sent to the app (a slash command or a click).

    `status` is the HTTP status of the app's answer (0 if none came: `error` then says "operation_timeout"
    or "dispatch_failed", as Slack would tell the user). `ack` is the answer's body: parsed JSON, text, or
    None when empty. `messages` are the messages that came of it: the ack's own message, whatever was sent
    to the request's response URL (also later, after the call returned), and the chat.postMessage,
    chat.postEphemeral and chat.update calls made while the app handled it (until the app's answer plus a
    short quiet spell).
    """

    request_id: str
    status: int = 0
    ack: JSON | str | None = None
    messages: list[Message] = field(default_factory=list)
    error: str | None = None
    trigger_id: str | None = None
    _grown: asyncio.Event = field(default_factory=asyncio.Event, repr=False, compare=False)

    @property
    def last(self) -> Message:
        """The latest message that came of it."""
        if not self.messages:
            raise LookupError(f"no message came of {self.request_id} (status {self.status}, ack {self.ack!r})")
        return self.messages[-1]

    def add(self, message: Message, *, first: bool = False) -> None:
        """Count a message as one that came of this request (once); `first` puts it before the others."""
        if all(message is not known for known in self.messages):
            self.messages.insert(0 if first else len(self.messages), message)
        self._grown.set()

    async def wait_for(self, count: int = 1, *, within: float = 2.0) -> Message:
        """Wait until at least `count` messages came of it (for handlers that answer late); the last one."""
        try:
            async with asyncio.timeout(within):
                while len(self.messages) < count:
                    self._grown.clear()
                    await self._grown.wait()
        except TimeoutError:
            got = len(self.messages)
            raise TimeoutError(f"{self.request_id}: {got} of {count} messages after {within} s") from None
        return self.last
