"""Response URLs and slash-command acks: what an app's answers to a request do to the conversation."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import emulator.slack.limits as limits
from emulator.slack.model import JSON, Message, Reply
from emulator.slack.webapi import flag
from emulator.slack.world import Workspace

USES_MAX = 5  # a response_url takes at most five messages...
LIFETIME = 30 * 60.0  # ...within thirty minutes


@dataclass
class ResponseUrl:
    """Where one request's response URL leads: who asked, where, and the message they clicked (if any)."""

    request_id: str
    user: str
    channel: str
    original: Message | None
    reply: Reply
    created: float = field(default_factory=time.monotonic)
    uses: int = 0

    def spend(self) -> str | None:
        """Count one use: None if it was still good, else Slack's error."""
        self.uses += 1
        if time.monotonic() - self.created > LIFETIME:
            return "expired_url"
        return "used_url" if self.uses > USES_MAX else None


def message_from(
    world: Workspace, body: JSON, *, user: str, channel: str, source: str, request_id: str
) -> Message | str:
    """The message an answer body describes, or what is wrong with it.

    It is ephemeral to `user` unless `response_type` is in_channel.
    """
    text, blocks = body.get("text"), limits.decoded(body.get("blocks"))
    error = limits.blocks_error(blocks) or limits.text_error(text, blocks)
    if error is not None:
        return error
    in_channel = body.get("response_type") == "in_channel"
    return Message(
        ts=world.clock.next_ts(),
        channel=channel,
        user=world.identity.bot_user_id if in_channel else user,
        text=str(text or ""),
        blocks=blocks if isinstance(blocks, list) else [],
        thread_ts=str(body["thread_ts"]) if body.get("thread_ts") else None,
        ephemeral=not in_channel,
        unfurl_links=flag(body.get("unfurl_links")),
        unfurl_media=flag(body.get("unfurl_media")),
        source=source,
        response_url_of=request_id,
    )


def place(world: Workspace, message: Message) -> None:
    """Show a new message from an answer: in its channel, or to its one viewer."""
    channel = world.channels.get(message.channel)
    if message.ephemeral or channel is None:
        world.post_ephemeral(message)
    else:
        world.post(channel, message)


def apply(world: Workspace, target: ResponseUrl, body: object) -> str | None:
    """Carry out a body posted to a response URL; None if done, else Slack's error.

    `delete_original` deletes the clicked message; `replace_original` rewrites it in place (same ts,
    ephemeral or not); anything else is a new message, ephemeral unless `response_type` is in_channel.
    A slash command has no original, so both flags only post anew there.
    """
    if not isinstance(body, dict):
        return "invalid_payload"
    original = target.original if target.original is not None and not target.original.deleted else None
    if flag(body.get("delete_original")):
        if original is not None:
            world.delete(original)
            target.reply.add(original)
        if not body.get("text") and not body.get("blocks"):
            return None
    made = message_from(
        world, body, user=target.user, channel=target.channel, source="response_url", request_id=target.request_id
    )
    if isinstance(made, str):
        return made
    if flag(body.get("replace_original")) and original is not None and not original.deleted:
        original.edit(text=made.text, blocks=made.blocks)
        target.reply.add(original)
        return None
    place(world, made)
    target.reply.add(made)
    return None
