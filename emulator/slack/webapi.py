"""The Web API methods the emulator plays, each answering Slack's JSON or raising `SlackError`.

Arguments arrive already merged (query string, form fields, JSON body) and with JSON-encoded strings
(`blocks`, `view`, `metadata`) decoded; see `server.SlackEmulator` for authentication, scopes, faults and rate
limits. A file upload takes three steps, as Slack's: files.getUploadURLExternal announces the file and hands out
an upload URL (served by `server.SlackEmulator`), the bytes are POSTed there, and files.completeUploadExternal
shares the file in a channel (a message with a `files` entry) or keeps it private.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import emulator.slack.limits as limits
from emulator.slack.model import JSON, Channel, File, Grant, Message, Team, parse_ts
from emulator.slack.world import Workspace

Handler = Callable[[JSON], JSON]

HISTORY_LIMIT_DEFAULT = 100
HISTORY_LIMIT_MAX = 999
FILES_PER_COMPLETE = 10  # files one files.completeUploadExternal call may share
FILE_SIZE_MAX = 1024 * 1024 * 1024  # bytes Slack takes in one file
# The scope a bot or user token needs for a method, checked only for the methods listed here and only for
# tokens whose scopes are known (see `Grant.scoped`); a call without it answers missing_scope with `needed`.
SCOPES = {
    "conversations.open": "im:write",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "conversations.history#im": "im:history",  # conversations.history on a direct message
}


class SlackError(Exception):
    """A failed call: `{"ok": false, "error": error, **fields}` with an HTTP status (200, as Slack does, unless 429).

    `fields` are what some errors add, such as missing_scope's `needed` and `provided`.
    """

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = dict(headers or {})
        self.fields = dict(fields or {})


def check_scope(method: str, grant: Grant | None) -> None:
    """Raise missing_scope (with the scope `needed` and those `provided`) if the token may not call `method`."""
    needed = SCOPES.get(method)
    if needed is not None and grant is not None and grant.kind != "app" and grant.lacks(needed):
        raise SlackError("missing_scope", fields={"needed": needed, "provided": grant.scope})


def flag(value: object) -> bool | None:
    """A boolean argument as clients send it (true, "true", "1", 0...); None when absent."""
    if value is None or isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes")


def _text(args: JSON, key: str) -> str | None:
    value = args.get(key)
    return None if value is None else str(value)


def _required(args: JSON, key: str, error: str = "invalid_arguments") -> str:
    value = _text(args, key)
    if not value:
        raise SlackError(error)
    return value


def _check(error: str | None) -> None:
    if error is not None:
        raise SlackError(error)


class WebApi:
    """The methods, over one world of users and channels (shared by every workspace the app is installed in).

    `caller` is the grant of the token the current call came with (the server sets it before each call).
    """

    def __init__(self, world: Workspace) -> None:
        self.world = world
        self.caller: Grant | None = None
        self.upload_base = ""  # where upload URLs point, the server's "/upload/v1/" (set once it listens)

    def methods(self) -> dict[str, Handler]:
        """Method name -> handler."""
        return {
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.update": self.chat_update,
            "chat.delete": self.chat_delete,
            "views.publish": self.views_publish,
            "views.open": self.views_open,
            "users.info": self.users_info,
            "conversations.info": self.conversations_info,
            "conversations.history": self.conversations_history,
            "conversations.open": self.conversations_open,
            "files.getUploadURLExternal": self.files_get_upload_url_external,
            "files.completeUploadExternal": self.files_complete_upload_external,
        }

    # -- helpers ---------------------------------------------------------------------------------------

    def _channel(self, args: JSON) -> Channel:
        channel = self.world.resolve(_text(args, "channel") or "")
        if channel is None:
            raise SlackError("channel_not_found")
        return channel

    def _writable(self, args: JSON) -> Channel:
        """The channel to post in, if the bot may post there."""
        channel = self._channel(args)
        if channel.archived:
            raise SlackError("is_archived")
        if not channel.member:
            raise SlackError("not_in_channel")
        return channel

    @staticmethod
    def _content(args: JSON) -> tuple[str, list[JSON] | None, JSON | None]:
        """Text, blocks and metadata of a message to send, checked against Slack's limits."""
        text, blocks, metadata = args.get("text"), args.get("blocks"), args.get("metadata")
        _check(limits.blocks_error(blocks))
        _check(limits.text_error(text, blocks))
        _check(limits.metadata_error(metadata))
        return str(text or ""), blocks, metadata or None

    def _own_message(self, args: JSON, refusal: str) -> tuple[Channel, Message]:
        channel = self._channel(args)
        message = channel.find(_required(args, "ts", "message_not_found"))
        if message is None:
            raise SlackError("message_not_found")
        if message.user != self.world.identity.bot_user_id:
            raise SlackError(refusal)
        return channel, message

    # -- methods ---------------------------------------------------------------------------------------

    def auth_test(self, args: JSON) -> JSON:
        """Who the token belongs to: the bot (or the installer, for a user token) in the token's workspace."""
        identity = self.world.identity
        caller = self.caller
        team = caller.team if caller is not None else Team(identity.team_id, identity.team_domain, identity.team_domain)
        if caller is not None and caller.kind == "user":
            person = self.world.users.get(caller.user_id)
            return {
                "url": f"https://{team.domain}.slack.com/",
                "team": team.name,
                "user": person.name if person is not None else caller.user_id,
                "team_id": team.id,
                "user_id": caller.user_id,
                "is_enterprise_install": False,
            }
        return {
            "url": f"https://{team.domain}.slack.com/",
            "team": team.name,
            "user": "emulator-bot",
            "team_id": team.id,
            "user_id": identity.bot_user_id,
            "bot_id": identity.bot_id,
            "app_id": identity.app_id,
            "is_enterprise_install": False,
        }

    def chat_post_message(self, args: JSON) -> JSON:
        """Post a message in a channel (or a person's DM) as the bot."""
        channel = self._writable(args)
        text, blocks, metadata = self._content(args)
        message = Message(
            ts=self.world.clock.next_ts(),
            channel=channel.id,
            user=self.world.identity.bot_user_id,
            text=text,
            blocks=blocks or [],
            metadata=metadata,
            thread_ts=_text(args, "thread_ts"),
            unfurl_links=flag(args.get("unfurl_links")),
            unfurl_media=flag(args.get("unfurl_media")),
        )
        self.world.post(channel, message)
        self.world.tell(message)
        return {"channel": channel.id, "ts": message.ts, "message": message.to_api(self.world.identity)}

    def chat_post_ephemeral(self, args: JSON) -> JSON:
        """Show a message to one person in a channel."""
        channel = self._writable(args)
        user = _required(args, "user", "user_not_in_channel")
        if user not in self.world.users:
            raise SlackError("user_not_in_channel")
        text, blocks, _ = self._content(args)
        message = Message(
            ts=self.world.clock.next_ts(),
            channel=channel.id,
            user=user,
            text=text,
            blocks=blocks or [],
            thread_ts=_text(args, "thread_ts"),
            ephemeral=True,
            source="chat.postEphemeral",
        )
        self.world.post_ephemeral(message)
        self.world.tell(message)
        return {"message_ts": message.ts}

    def chat_update(self, args: JSON) -> JSON:
        """Edit one of the bot's messages in place (metadata stays unless given; `{}` removes it)."""
        channel, message = self._own_message(args, "cant_update_message")
        if channel.archived:
            raise SlackError("is_archived")
        text, blocks, metadata = args.get("text"), args.get("blocks"), args.get("metadata")
        _check(limits.blocks_error(blocks))
        _check(limits.text_error(text, blocks))
        _check(limits.metadata_error(metadata))
        message.edit(
            text=None if text is None else str(text),
            blocks=blocks,
            metadata=metadata if isinstance(metadata, dict) else None,
        )
        self.world.tell(message)
        shown = message.to_api(self.world.identity)
        return {"channel": channel.id, "ts": message.ts, "text": message.text, "message": shown}

    def chat_delete(self, args: JSON) -> JSON:
        """Delete one of the bot's messages."""
        channel, message = self._own_message(args, "cant_delete_message")
        self.world.delete(message)
        return {"channel": channel.id, "ts": message.ts}

    def views_publish(self, args: JSON) -> JSON:
        """Set a person's App Home."""
        user = _required(args, "user_id", "invalid_arguments")
        view = _view(args, "home")
        self.world.homes[user] = view
        return {"view": self._shown_view(view, self.world.view_id(user))}

    def views_open(self, args: JSON) -> JSON:
        """Open a modal for a trigger_id from the last three seconds."""
        trigger_id = _required(args, "trigger_id", "invalid_trigger_id")
        view = _view(args, "modal")
        _check(self.world.use_trigger(trigger_id))
        self.world.views_opened.append(view)
        return {"view": self._shown_view(view, self.world.view_id(trigger_id))}

    def _shown_view(self, view: JSON, view_id: str) -> JSON:
        return {**view, "id": view_id, "team_id": self.world.identity.team_id, "app_id": self.world.identity.app_id}

    def users_info(self, args: JSON) -> JSON:
        """A person, with their time zone."""
        user = self.world.user(_required(args, "user", "user_not_found"))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user.to_api(self.world.identity.team_id)}

    def conversations_info(self, args: JSON) -> JSON:
        """A channel, whether or not the bot is in it."""
        return {"channel": self._channel(args).to_api()}

    def conversations_history(self, args: JSON) -> JSON:
        """A channel's top-level messages between `oldest` and `latest`, newest first, a page at a time.

        A direct message's history needs `im:history` (a scoped token without it answers missing_scope).
        """
        channel = self._channel(args)
        if not channel.member:
            raise SlackError("not_in_channel")
        if channel.is_im:  # a direct message's history needs a scope of its own
            check_scope("conversations.history#im", self.caller)
        oldest = parse_ts(_text(args, "oldest") or "0")
        latest = parse_ts(_text(args, "latest") or "9999999999")
        if oldest is None:
            raise SlackError("invalid_ts_oldest")
        if latest is None:
            raise SlackError("invalid_ts_latest")
        inclusive = bool(flag(args.get("inclusive")))
        found = [
            message
            for message in reversed(channel.messages)
            if _within(message.ts, oldest, latest, inclusive=inclusive) and (message.thread_ts in (None, message.ts))
        ]
        limit = _limit(args.get("limit"))
        cursor = _text(args, "cursor") or ""
        start = int(cursor) if cursor.isdigit() else 0
        page = found[start : start + limit]
        more = start + limit < len(found)
        metadata = bool(flag(args.get("include_all_metadata")))
        return {
            "messages": [message.to_api(self.world.identity, metadata=metadata) for message in page],
            "has_more": more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def conversations_open(self, args: JSON) -> JSON:
        """Open (or find) the bot's direct-message channel with one person; `return_im` gives the whole channel.

        Only one-to-one DMs are played: several users (a group DM) answer too_many_users.
        """
        users = [user.strip() for user in (_text(args, "users") or "").split(",") if user.strip()]
        reference = _text(args, "channel")
        if not users:
            if not reference:
                raise SlackError("users_list_not_supplied")
            channel = self.world.channels.get(reference)
            if channel is None or not channel.is_im:
                raise SlackError("channel_not_found")
            return {"no_op": True, "already_open": True, "channel": self._opened(channel, args)}
        if len(users) > 1:
            raise SlackError("too_many_users")
        [user] = users
        if user == self.world.identity.bot_user_id:
            raise SlackError("cannot_dm_bot")
        if user not in self.world.users:
            raise SlackError("user_not_found")
        known = "D" + user in self.world.channels
        channel = self.world.dm(user)
        answer: JSON = {"channel": self._opened(channel, args)}
        if known:
            answer.update({"no_op": True, "already_open": True})
        return answer

    def _opened(self, channel: Channel, args: JSON) -> JSON:
        if flag(args.get("return_im")):
            return {**channel.to_api(), "user": channel.name, "is_open": True}
        return {"id": channel.id}

    def files_get_upload_url_external(self, args: JSON) -> JSON:
        """Announce a file (`filename`, `length` in bytes): its id, and the URL to POST its bytes to."""
        name = _required(args, "filename")
        try:
            length = int(str(args.get("length")))
        except ValueError:
            raise SlackError("invalid_arguments") from None
        if not 0 <= length <= FILE_SIZE_MAX:
            raise SlackError("invalid_arguments")
        team = self.caller.team.id if self.caller is not None else self.world.identity.team_id
        made = self.world.new_file(name, length, team)
        made.alt_txt, made.snippet_type = _text(args, "alt_txt"), _text(args, "snippet_type")
        return {"upload_url": self.upload_base + made.upload_key, "file_id": made.id}

    def files_complete_upload_external(self, args: JSON) -> JSON:
        """Finish uploads: share each file in `channel_id` (or `channels`) with `initial_comment`.

        `files` is `[{"id", "title"}]`; no channel keeps the files private. Each upload is completed once, and
        only by a token of the workspace that began it (else file_not_found).
        """
        entries = limits.decoded(args.get("files"))
        if not isinstance(entries, list) or not 0 < len(entries) <= FILES_PER_COMPLETE:
            raise SlackError("invalid_arguments")
        if not all(isinstance(entry, dict) and isinstance(entry.get("id"), str) for entry in entries):
            raise SlackError("invalid_arguments")
        team = self.caller.team.id if self.caller is not None else self.world.identity.team_id
        found: list[tuple[File, JSON]] = []
        for entry in entries:
            known = self.world.files.get(entry["id"])
            if known is None or known.team != team or known.completed or known.data is None:
                raise SlackError("file_not_found")
            found.append((known, entry))
        named = [_text(args, "channel_id") or "", *(_text(args, "channels") or "").split(",")]
        targets = [self._shared_in(reference) for reference in dict.fromkeys(r.strip() for r in named) if reference]
        comment = _text(args, "initial_comment") or ""
        _check(limits.text_error(comment, None) if comment else None)
        thread_ts = _text(args, "thread_ts")
        if thread_ts is not None and (len(targets) != 1 or parse_ts(thread_ts) is None):
            raise SlackError("invalid_arguments")
        for made, entry in found:
            made.completed = True
            made.title = str(entry.get("title") or made.name)
            made.comment = comment
            for channel in targets:
                self.world.share(made, channel, comment, thread_ts)
        return {"files": [{"id": made.id, "title": made.title} for made, _ in found]}

    def _shared_in(self, reference: str) -> Channel:
        """A channel a file may be shared in (by id, or a person's DM by their user id)."""
        channel = self.world.resolve(reference)
        if channel is None:
            raise SlackError("channel_not_found")
        if channel.archived:
            raise SlackError("is_archived")
        if not channel.member:
            raise SlackError("not_in_channel")
        return channel


def _view(args: JSON, kind: str) -> JSON:
    view = args.get("view")
    _check(limits.view_error(view, kind))
    if not isinstance(view, dict):
        raise SlackError("invalid_arguments")
    return view


def _within(ts: str, oldest: int, latest: int, *, inclusive: bool) -> bool:
    stamp = parse_ts(ts) or 0
    return oldest <= stamp <= latest if inclusive else oldest < stamp < latest


def _limit(value: Any) -> int:
    try:
        limit = int(value) if value is not None else HISTORY_LIMIT_DEFAULT
    except (TypeError, ValueError):
        return HISTORY_LIMIT_DEFAULT
    return max(1, min(limit or HISTORY_LIMIT_DEFAULT, HISTORY_LIMIT_MAX))
