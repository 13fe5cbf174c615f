"""Discord's documented limits that the OpenAPI spec states loosely or not at all."""

from __future__ import annotations

from typing import Any

from emulator.spec import Problem

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_FIELDS_MAX = 25
ACTION_ROWS_MAX = 5
ROW_BUTTONS_MAX = 5
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
SELECT_OPTIONS_MAX = 25
SELECT_OPTION_TEXT_MAX = 100
SELECT_PLACEHOLDER_MAX = 150
CHOICES_MAX = 25
CHOICE_TEXT_MAX = 100

# (key path inside an embed, limit); all of them also count towards the 6000-character total.
_EMBED_TEXTS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("title",), 256),
    (("description",), 4096),
    (("footer", "text"), 2048),
    (("author", "name"), 256),
)
_FIELD_TEXTS = (("name", 256), ("value", 1024))
_SELECT_TYPES = frozenset({3, 5, 6, 7, 8})

Path = tuple[str | int, ...]


def _too_long(path: Path, text: object, limit: int) -> list[Problem]:
    if isinstance(text, str) and len(text) > limit:
        return [Problem(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")]
    return []


def _bad_count(path: Path, items: object, limit: int, minimum: int = 0) -> list[Problem]:
    if isinstance(items, list) and not minimum <= len(items) <= limit:
        return [Problem(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {minimum} and {limit} in length.")]
    return []


def _text_at(mapping: dict[str, Any], keys: tuple[str, ...]) -> object:
    node: object = mapping
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def embed_problems(embeds: object) -> list[Problem]:
    """Per-field limits of each embed, at most 10 embeds, and 6000 characters across all of them."""
    if not isinstance(embeds, list):
        return []
    problems = _bad_count(("embeds",), embeds, EMBEDS_MAX)
    total = 0
    for index, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            continue
        for keys, limit in _EMBED_TEXTS:
            text = _text_at(embed, keys)
            problems += _too_long(("embeds", index, *keys), text, limit)
            total += len(text) if isinstance(text, str) else 0
        fields = embed.get("fields") or []
        problems += _bad_count(("embeds", index, "fields"), fields, EMBED_FIELDS_MAX)
        for number, field in enumerate(fields if isinstance(fields, list) else []):
            for key, limit in _FIELD_TEXTS:
                text = field.get(key) if isinstance(field, dict) else None
                if not isinstance(text, str) or not text.strip():
                    where = ("embeds", index, "fields", number, key)
                    problems.append(Problem(where, "BASE_TYPE_REQUIRED", "This field is required"))
                    continue
                problems += _too_long(("embeds", index, "fields", number, key), text, limit)
                total += len(text)
    if total > EMBED_TOTAL_MAX:
        problems.append(
            Problem(("embeds",), "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}")
        )
    return problems


def _component_problems(path: Path, component: dict[str, Any], seen: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    kind = component.get("type")
    custom_id = component.get("custom_id")
    if isinstance(custom_id, str):
        problems += _too_long((*path, "custom_id"), custom_id, CUSTOM_ID_MAX)
        if custom_id in seen:
            message = "Component custom id cannot be duplicated"
            problems.append(Problem((*path, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED", message))
        seen.add(custom_id)
    if kind == 2:
        problems += _too_long((*path, "label"), component.get("label"), BUTTON_LABEL_MAX)
    if kind in _SELECT_TYPES:
        problems += _too_long((*path, "placeholder"), component.get("placeholder"), SELECT_PLACEHOLDER_MAX)
    if kind == 3:
        options = component.get("options") or []
        problems += _bad_count((*path, "options"), options, SELECT_OPTIONS_MAX, minimum=1)
        for index, option in enumerate(options if isinstance(options, list) else []):
            for key in ("label", "value", "description"):
                text = option.get(key) if isinstance(option, dict) else None
                problems += _too_long((*path, "options", index, key), text, SELECT_OPTION_TEXT_MAX)
    return problems


def component_problems(components: object) -> list[Problem]:
    """At most 5 action rows of at most 5 buttons or one select; text limits; unique custom ids."""
    if not isinstance(components, list):
        return []
    seen: set[str] = set()
    rows = [row for row in components if isinstance(row, dict) and row.get("type") == 1]
    problems = _bad_count(("components",), rows, ACTION_ROWS_MAX)
    for index, top in enumerate(components):
        if not isinstance(top, dict):
            continue
        children = top.get("components") if top.get("type") == 1 else None
        if not isinstance(children, list):
            problems += _component_problems(("components", index), top, seen)
            continue
        selects = sum(1 for child in children if isinstance(child, dict) and child.get("type") in _SELECT_TYPES)
        if selects and len(children) > 1:
            message = "A select must be alone in its row"
            problems.append(Problem(("components", index, "components"), "BASE_TYPE_BAD_LENGTH", message))
        problems += _bad_count(("components", index, "components"), children, ROW_BUTTONS_MAX, minimum=1)
        for number, child in enumerate(children):
            if isinstance(child, dict):
                problems += _component_problems(("components", index, "components", number), child, seen)
    return problems


def message_problems(body: object) -> list[Problem]:
    """Content, embed and component limits of a message create or edit body."""
    if not isinstance(body, dict):
        return []
    return (
        _too_long(("content",), body.get("content"), CONTENT_MAX)
        + embed_problems(body.get("embeds"))
        + component_problems(body.get("components"))
    )


def is_empty_message(body: dict[str, Any], file_count: int) -> bool:
    """Whether a new message would have nothing in it (Discord answers 50006)."""
    return not (
        body.get("content")
        or body.get("embeds")
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
        or file_count
    )


def autocomplete_problems(data: object) -> list[Problem]:
    """At most 25 choices, each with a name of 1-100 characters and a string value of at most 100."""
    if not isinstance(data, dict):
        return []
    choices = data.get("choices") or []
    problems = _bad_count(("data", "choices"), choices, CHOICES_MAX)
    for index, choice in enumerate(choices if isinstance(choices, list) else []):
        if not isinstance(choice, dict):
            continue
        name = choice.get("name")
        if isinstance(name, str) and not name:
            message = f"Must be between 1 and {CHOICE_TEXT_MAX} in length."
            problems.append(Problem(("data", "choices", index, "name"), "BASE_TYPE_BAD_LENGTH", message))
        problems += _too_long(("data", "choices", index, "name"), name, CHOICE_TEXT_MAX)
        problems += _too_long(("data", "choices", index, "value"), choice.get("value"), CHOICE_TEXT_MAX)
    return problems
