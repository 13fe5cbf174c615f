"""Slack's documented limits on what an app sends, each check answering with Slack's error code or None."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

TEXT_MAX = 40_000
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
OPTIONS_MAX = 100


def decoded(value: object) -> object:
    """A JSON-encoded string argument (form-encoded calls send blocks, views and metadata so) as its value."""
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def blocks_error(blocks: object, limit: int = MESSAGE_BLOCKS_MAX) -> str | None:
    """Answer "invalid_blocks" unless `blocks` is a list of at most `limit` objects that each have a `type`."""
    if blocks is None:
        return None
    if not isinstance(blocks, list) or len(blocks) > limit:
        return "invalid_blocks"
    if not all(isinstance(block, dict) and isinstance(block.get("type"), str) for block in blocks):
        return "invalid_blocks"
    for block in blocks:
        # Slack's own API description is loose about blocks; slack-sdk's models check the documented limits
        # (section text 3,000, button text 75, option value 150, elements per block...).
        try:
            parsed = Block.parse(block)
            if parsed is None:
                return "invalid_blocks"
            parsed.to_dict()
        except (SlackObjectFormationError, TypeError, ValueError, KeyError):
            return "invalid_blocks"
    return None


def text_error(text: object, blocks: object) -> str | None:
    """Answer "no_text" when neither text nor blocks say anything, "msg_too_long" past 40,000 characters."""
    if not text and not blocks:
        return "no_text"
    if text is not None and not isinstance(text, str):
        return "invalid_arguments"
    if isinstance(text, str) and len(text) > TEXT_MAX:
        return "msg_too_long"
    return None


def metadata_error(metadata: object) -> str | None:
    """Answer "invalid_metadata_format" unless it is `{"event_type": str, "event_payload": object}` (or empty)."""
    if metadata is None or metadata == {}:
        return None
    if not isinstance(metadata, dict):
        return "invalid_metadata_format"
    if not isinstance(metadata.get("event_type"), str) or not isinstance(metadata.get("event_payload"), dict):
        return "invalid_metadata_format"
    return None


def view_error(view: object, kind: str) -> str | None:
    """Answer "invalid_arguments" unless `view` is an object of type `kind` ("home", "modal") with valid blocks."""
    if not isinstance(view, dict) or view.get("type") != kind:
        return "invalid_arguments"
    if kind == "modal" and not isinstance(view.get("title"), dict):
        return "invalid_arguments"
    return "invalid_arguments" if blocks_error(view.get("blocks"), VIEW_BLOCKS_MAX) else None


def options_problem(answer: Any) -> str | None:
    """What is wrong with an app's answer to a block_suggestion, if anything."""
    if not isinstance(answer, dict):
        return f"a block_suggestion answer must be a JSON object, not {answer!r}"
    if "options" in answer:
        entries = answer["options"]
    elif "option_groups" in answer:
        groups = answer["option_groups"]
        if not isinstance(groups, list):
            return "option_groups must be a list"
        entries = [option for group in groups if isinstance(group, dict) for option in group.get("options") or []]
    else:
        return "a block_suggestion answer needs options or option_groups"
    if not isinstance(entries, list) or len(entries) > OPTIONS_MAX:
        return f"at most {OPTIONS_MAX} options in a list"
    for option in entries:
        if not isinstance(option, dict) or not isinstance(option.get("text"), dict) or "value" not in option:
            return f"an option needs a text object and a value: {option!r}"
    return None
