"""The state of the emulated workspace, and the few ways messages enter it."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from emulator.slack.model import JSON, Channel, Clock, File, Identity, Message, User

TRIGGER_TTL = 3.0  # seconds a trigger_id stays good for views.open


@dataclass
class _Trigger:
    issued: float
    used: bool = False


class Workspace:
    """Users, channels, ephemeral messages, App Home views and modals, and the files the app uploaded.

    `observers` hear of the messages the Web API makes or edits (the emulator gathers a request's replies so).
    """

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.ephemeral: list[Message] = []
        self.homes: dict[str, JSON] = {}
        self.views_opened: list[JSON] = []
        self.files: dict[str, File] = {}  # id -> every file the app began to upload, shared or not
        self.observers: list[Callable[[Message], None]] = []
        self.clock = Clock()
        self._triggers: dict[str, _Trigger] = {}
        self._view_ids: dict[str, str] = {}
        self._counter = itertools.count(1)

    # -- people and places -----------------------------------------------------------------------------

    def add_user(self, user_id: str, name: str, tz: str = "UTC", *, admin: bool = False) -> User:
        """Add (or replace) a person; `admin` makes them a workspace admin."""
        user = self.users[user_id] = User(user_id, name, tz, is_admin=admin)
        return user

    def add_channel(self, channel_id: str, name: str, *, member: bool = True, archived: bool = False) -> Channel:
        """Add (or replace) a channel; `member` says whether the bot is in it."""
        channel = self.channels[channel_id] = Channel(channel_id, name, member=member, archived=archived)
        return channel

    def user(self, user_id: str) -> User | None:
        """A person, or the bot itself."""
        if user_id == self.identity.bot_user_id:
            return User(user_id, "emulator-bot", is_bot=True)
        return self.users.get(user_id)

    def dm(self, user_id: str) -> Channel:
        """The bot's direct-message channel with a person (the App Home's Messages tab), made on first use."""
        channel_id = "D" + user_id
        if channel_id not in self.channels:
            self.channels[channel_id] = Channel(channel_id, user_id, is_im=True)
        return self.channels[channel_id]

    def resolve(self, reference: str) -> Channel | None:
        """A channel by id or name ("C1", "general", "#general"), or a person's DM by their user id."""
        if reference in self.channels:
            return self.channels[reference]
        if reference in self.users:
            return self.dm(reference)
        name = reference.removeprefix("#")
        return next((channel for channel in self.channels.values() if channel.name == name), None)

    # -- messages --------------------------------------------------------------------------------------

    def post(self, channel: Channel, message: Message) -> Message:
        """Put a message into a channel (observers are not told: the Web API tells them of its own)."""
        channel.messages.append(message)
        return message

    def post_ephemeral(self, message: Message) -> Message:
        """Show a message to one person only."""
        self.ephemeral.append(message)
        return message

    def delete(self, message: Message) -> None:
        """Remove a message from its channel (ephemeral ones stay in `ephemeral`, marked deleted)."""
        message.deleted = True
        channel = self.channels.get(message.channel)
        if not message.ephemeral and channel is not None:
            channel.messages = [kept for kept in channel.messages if kept is not message]

    def tell(self, message: Message) -> None:
        """Let the observers know a message was made or changed."""
        for observer in list(self.observers):
            observer(message)

    # -- files ---------------------------------------------------------------------------------------

    def new_file(self, name: str, length: int, team: str) -> File:
        """A file announced by files.getUploadURLExternal, waiting for its bytes at its upload URL."""
        file_id = f"F{len(self.files) + 1:010d}"
        made = self.files[file_id] = File(file_id, name, length, team, secrets.token_urlsafe(16))
        return made

    def pending_upload(self, key: str) -> File | None:
        """The file an upload URL's key stands for, while it is not yet shared (the URL then stops working)."""
        return next((file for file in self.files.values() if file.upload_key == key and not file.completed), None)

    def share(self, file: File, channel: Channel, comment: str, thread_ts: str | None = None) -> Message:
        """Post a shared file in a channel, as a message with the file and its comment (observers are told)."""
        file.channels.append(channel.id)
        message = Message(
            ts=self.clock.next_ts(),
            channel=channel.id,
            user=self.identity.bot_user_id,
            text=comment,
            thread_ts=thread_ts,
            source="files.completeUploadExternal",
            files=[file.to_api(self.identity)],
        )
        self.post(channel, message)
        self.tell(message)
        return message

    # -- ids -------------------------------------------------------------------------------------------

    def next_id(self, prefix: str) -> str:
        """A fresh id such as "slash-3"."""
        return f"{prefix}-{next(self._counter)}"

    def view_id(self, key: str) -> str:
        """The stable view id for a user's home (or any key)."""
        return self._view_ids.setdefault(key, f"V{secrets.token_hex(5).upper()}")

    def issue_trigger(self) -> str:
        """A trigger_id, good once for views.open within three seconds."""
        trigger_id = f"{next(self._counter)}.{self.identity.team_id}.{secrets.token_hex(8)}"
        self._triggers[trigger_id] = _Trigger(time.monotonic())
        return trigger_id

    def use_trigger(self, trigger_id: str) -> str | None:
        """Spend a trigger_id: None if it was good, else Slack's error."""
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            return "invalid_trigger_id"
        if trigger.used or time.monotonic() - trigger.issued > TRIGGER_TTL:
            return "expired_trigger_id"
        trigger.used = True
        return None
