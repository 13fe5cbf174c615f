"""What Slack sends to an app's request URL: slash commands, interaction payloads and Events API envelopes."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

from emulator.slack.model import JSON, Channel, Identity, Message, User, now_ts

# The legacy verification token Slack still sends in payloads; bolt checks signatures, not this.
VERIFICATION_TOKEN = "emulator-verification-token"  # noqa: S105 - a made-up value, not a secret

_ONE_OPTION = frozenset({"static_select", "external_select", "overflow", "radio_buttons"})
_MANY_OPTIONS = frozenset({"checkboxes", "multi_static_select", "multi_external_select"})
_FREE_OPTIONS = frozenset({"external_select", "multi_external_select"})
_PICKED = {
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
}


def _common(identity: Identity) -> JSON:
    return {
        "api_app_id": identity.app_id,
        "token": VERIFICATION_TOKEN,
        "team": {"id": identity.team_id, "domain": identity.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
    }


def _user(identity: Identity, user: User) -> JSON:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": identity.team_id}


def slash_command(
    identity: Identity,
    *,
    command: str,
    text: str,
    user: User,
    channel: Channel,
    response_url: str,
    trigger_id: str,
) -> dict[str, str]:
    """The form fields of a slash command."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": identity.team_id,
        "team_domain": identity.team_domain,
        "channel_id": channel.id,
        "channel_name": "directmessage" if channel.is_im else channel.name,
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": identity.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def container_of(message: Message) -> JSON:
    """The `container` of an interaction with a message."""
    return {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": message.channel,
        "is_ephemeral": message.ephemeral,
    }


def _channel(channel: Channel | None, channel_id: str) -> JSON:
    return {"id": channel_id, "name": channel.name if channel is not None else channel_id}


def block_actions(
    identity: Identity,
    *,
    user: User,
    channel: Channel | None,
    message: Message,
    action: JSON,
    response_url: str,
    trigger_id: str,
) -> JSON:
    """A click on a message's element; ephemeral messages come without `message`, as in Slack."""
    payload: JSON = {
        "type": "block_actions",
        **_common(identity),
        "user": _user(identity, user),
        "container": container_of(message),
        "trigger_id": trigger_id,
        "channel": _channel(channel, message.channel),
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }
    if not message.ephemeral:
        payload["message"] = message.to_api(identity)
    return payload


def home_block_actions(
    identity: Identity, *, user: User, view: JSON, view_id: str, action: JSON, trigger_id: str
) -> JSON:
    """A click in a person's App Home (no response_url there, as in Slack)."""
    return {
        "type": "block_actions",
        **_common(identity),
        "user": _user(identity, user),
        "container": {"type": "view", "view_id": view_id},
        "trigger_id": trigger_id,
        "view": {**view, "id": view_id, "team_id": identity.team_id, "app_id": identity.app_id},
        "actions": [action],
    }


def view_submission(identity: Identity, *, user: User, view: JSON, view_id: str, values: JSON, trigger_id: str) -> JSON:
    """A person pressing a modal's submit button, with what they typed (`values`: block id -> action id -> state)."""
    return {
        "type": "view_submission",
        **_common(identity),
        "user": _user(identity, user),
        "trigger_id": trigger_id,
        "view": {
            **view,
            "id": view_id,
            "team_id": identity.team_id,
            "app_id": identity.app_id,
            "state": {"values": values},
        },
        "response_urls": [],
    }


def block_suggestion(
    identity: Identity,
    *,
    user: User,
    action_id: str,
    block_id: str,
    value: str,
    channel: Channel | None,
    channel_id: str,
    message: Message | None,
) -> JSON:
    """Typing into an external select: the app answers with options in its HTTP response."""
    payload: JSON = {
        "type": "block_suggestion",
        **_common(identity),
        "user": _user(identity, user),
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "channel": _channel(channel, channel_id),
        "container": (
            container_of(message)
            if message is not None
            else {"type": "message", "channel_id": channel_id, "is_ephemeral": False}
        ),
    }
    if message is not None and not message.ephemeral:
        payload["message"] = message.to_api(identity)
    return payload


def event_callback(identity: Identity, event: JSON) -> JSON:
    """The Events API envelope of one event in the workspace `identity` names."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": identity.team_id,
        "api_app_id": identity.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": "Ev" + secrets.token_hex(5).upper(),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": identity.team_id,
                "user_id": identity.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def app_home_opened(identity: Identity, *, user: str, channel_id: str, view: JSON | None, view_id: str) -> JSON:
    """The Events API envelope of a person opening the App Home's Home tab."""
    event: JSON = {
        "type": "app_home_opened",
        "user": user,
        "channel": channel_id,
        "tab": "home",
        "event_ts": now_ts(),
    }
    if view is not None:
        event["view"] = {**view, "id": view_id, "team_id": identity.team_id, "app_id": identity.app_id}
    return event_callback(identity, event)


def app_uninstalled(identity: Identity) -> JSON:
    """The Events API envelope Slack sends when a workspace removes the app."""
    return event_callback(identity, {"type": "app_uninstalled", "event_ts": now_ts()})


# -- the element a click hits -------------------------------------------------------------------------


def _elements(block: JSON) -> Iterator[Any]:
    yield from block.get("elements") or []
    yield block.get("accessory")
    yield block.get("element")


def find_element(blocks: list[JSON], action_id: str) -> tuple[str, JSON] | None:
    """(block_id, element) of the interactive element with `action_id`.

    A block without an id gets "block-{index}" (Slack would make one up).
    """
    for index, block in enumerate(blocks):
        for element in _elements(block):
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id") or f"block-{index}"), element
    return None


def _options(element: JSON) -> Iterator[JSON]:
    yield from element.get("options") or []
    for group in element.get("option_groups") or []:
        yield from group.get("options") or []


def _option(element: JSON, value: str) -> JSON:
    for option in _options(element):
        if option.get("value") == value:
            return {"text": option.get("text"), "value": value}
    if element.get("type") in _FREE_OPTIONS:
        return {"text": {"type": "plain_text", "text": value}, "value": value}
    raise LookupError(f"{element.get('action_id')!r} has no option with value {value!r}")


def action(element: JSON, block_id: str, *, value: str | None, selected: str | None) -> JSON:
    """The `actions[0]` of a click on `element` (a button press, or picking `selected` in a menu)."""
    kind = str(element.get("type") or "button")
    found: JSON = {"action_id": element.get("action_id"), "block_id": block_id, "type": kind, "action_ts": now_ts()}
    if kind == "button":
        found["text"] = element.get("text")
        pressed = value if value is not None else element.get("value")
        if pressed is not None:
            found["value"] = pressed
        if "style" in element:
            found["style"] = element["style"]
    elif kind in _ONE_OPTION:
        found["selected_option"] = _option(element, selected) if selected is not None else None
    elif kind in _MANY_OPTIONS:
        found["selected_options"] = [_option(element, selected)] if selected is not None else []
    elif kind in _PICKED:
        found[_PICKED[kind]] = selected
    else:
        found["value"] = value if value is not None else selected
    return found
