"""Interactions the emulator sends to the bot, and what the bot answered to each."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from emulator.model import Channel, Role, StoredMessage, User

T = TypeVar("T")


class Watch:
    """Lets coroutines wait until a condition holds.

    Conditions are re-checked after each `notify()`, and polled every 10 ms so that conditions over the bot's
    own state (which does not notify) are seen too.
    """

    POLL_INTERVAL = 0.01

    def __init__(self) -> None:
        self._changed = asyncio.Event()

    def notify(self) -> None:
        """Wake every waiter to re-check its condition."""
        self._changed.set()

    async def until(
        self,
        probe: Callable[[], T | None],
        timeout: float,  # noqa: ASYNC109
        what: str,
    ) -> T:
        """The first non-`None` result of `probe()`; `TimeoutError` naming `what` after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (result := probe()) is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, self.POLL_INTERVAL))
        return result


class InteractionType:
    """Interaction types."""

    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class OptionType:
    """Application command option types."""

    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    USER = 6
    CHANNEL = 7
    ROLE = 8
    MENTIONABLE = 9
    NUMBER = 10
    ATTACHMENT = 11


@dataclass(frozen=True)
class Upload:
    """A file a user attached to an attachment option."""

    filename: str
    size: int = 1024
    content_type: str = "application/octet-stream"
    content: bytes | None = None  # served from the emulator's CDN route; `size` follows it when given


@dataclass
class InteractionHandle:
    """One interaction sent to the bot: its payload, and the callback, follow-ups and edits that answered it."""

    payload: dict[str, Any]
    created_at: float
    watch: Watch = field(repr=False)
    messages: Mapping[int, StoredMessage] = field(repr=False)
    source_message_id: int | None = None
    callback: dict[str, Any] | None = None
    original_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> int:
        """The interaction id."""
        return int(self.payload["id"])

    @property
    def token(self) -> str:
        """The interaction token (the follow-up webhook's token too)."""
        return str(self.payload["token"])

    @property
    def type(self) -> int:
        """The interaction type."""
        return int(self.payload["type"])

    @property
    def channel_id(self) -> int:
        """The channel the interaction happened in."""
        return int(self.payload["channel"]["id"])

    @property
    def original(self) -> StoredMessage | None:
        """The message `@original` refers to, in its current state (after any edits)."""
        return None if self.original_id is None else self.messages[self.original_id]

    @property
    def followups(self) -> list[StoredMessage]:
        """Follow-up messages, in the order they were sent."""
        return [self.messages[mid] for mid in self.followup_ids]

    async def response(self, timeout: float = 2.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The callback body the bot sent, once it arrives."""
        return await self.watch.until(lambda: self.callback, timeout, f"a callback to {self.describe()}")

    async def followup(self, index: int = 0, timeout: float = 2.0) -> StoredMessage:  # noqa: ASYNC109
        """The `index`-th follow-up message, once it exists."""
        return await self.watch.until(
            lambda: self.followups[index] if len(self.followup_ids) > index else None,
            timeout,
            f"follow-up #{index} to {self.describe()}",
        )

    async def edit(self, index: int = 0, timeout: float = 2.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The body of the `index`-th edit of `@original`, once it arrives."""
        return await self.watch.until(
            lambda: self.edits[index] if len(self.edits) > index else None,
            timeout,
            f"edit #{index} of the original response to {self.describe()}",
        )

    def describe(self) -> str:
        """A short description for error messages."""
        data = self.payload.get("data", {})
        what = data.get("name") or data.get("custom_id") or "?"
        return f"interaction {self.id} (type {self.type}, {what})"


@dataclass
class Resolver:
    """Collects the `resolved` objects that typed option values refer to."""

    member: Callable[[User], dict[str, Any] | None]
    user: Callable[[User], dict[str, Any]]
    channel: Callable[[Channel], dict[str, Any]]
    role: Callable[[Role], dict[str, Any]]
    attachment: Callable[[Upload], dict[str, Any]]
    lookup_user: Callable[[int], User]
    lookup_channel: Callable[[int], Channel]
    lookup_role: Callable[[int], Role]
    resolved: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, kind: str, key: int | str, payload: dict[str, Any]) -> str:
        """Record one resolved object and return its id as the option value."""
        self.resolved.setdefault(kind, {})[str(key)] = payload
        return str(key)

    def value(self, option_type: int, raw: Any) -> str:
        """The option value for an entity-typed option, resolving what it refers to."""
        if option_type == OptionType.ATTACHMENT:
            if not isinstance(raw, Upload):
                raise TypeError(f"an attachment option takes an Upload, not {raw!r}")
            payload = self.attachment(raw)
            return self.add("attachments", payload["id"], payload)
        if option_type == OptionType.CHANNEL:
            item = raw if isinstance(raw, Channel) else self.lookup_channel(int(raw))
            return self.add("channels", item.id, self.channel(item))
        if option_type == OptionType.ROLE or (option_type == OptionType.MENTIONABLE and isinstance(raw, Role)):
            found = raw if isinstance(raw, Role) else self.lookup_role(int(raw))
            return self.add("roles", found.id, self.role(found))
        person = raw if isinstance(raw, User) else self.lookup_user(int(raw))
        member = self.member(person)
        if member is not None:
            self.add("members", person.id, member)
        return self.add("users", person.id, self.user(person))


def _check_bounds(definition: dict[str, Any], value: Any) -> None:
    name = definition["name"]
    choices = definition.get("choices")
    if choices and value not in [choice["value"] for choice in choices]:
        raise ValueError(f"{value!r} is not one of the choices of option {name!r}")
    if isinstance(value, str):
        if len(value) < definition.get("min_length", 0) or len(value) > definition.get("max_length", 6000):
            raise ValueError(f"{value!r} has a length outside the bounds of option {name!r}")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        low, high = definition.get("min_value"), definition.get("max_value")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"{value!r} is outside the bounds of option {name!r}")


def _typed(definition: dict[str, Any], raw: Any, resolver: Resolver) -> Any:
    kind = definition["type"]
    if kind == OptionType.STRING:
        value: Any = str(raw)
    elif kind == OptionType.INTEGER:
        value = int(raw)
    elif kind == OptionType.NUMBER:
        value = float(raw)
    elif kind == OptionType.BOOLEAN:
        if not isinstance(raw, bool):
            raise TypeError(f"option {definition['name']!r} is a boolean, not {raw!r}")
        value = raw
    else:
        return resolver.value(kind, raw)
    _check_bounds(definition, value)
    return value


def build_options(
    definitions: list[dict[str, Any]],
    values: Mapping[str, Any],
    resolver: Resolver,
    *,
    focused: str | None = None,
) -> list[dict[str, Any]]:
    """Typed options for `values`, checked against the command's definitions as Discord's client would.

    The `focused` option (autocomplete) carries its value as the raw text typed so far.
    """
    known = {definition["name"]: definition for definition in definitions}
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)}; the command has {sorted(known)}")
    options: list[dict[str, Any]] = []
    for name, definition in known.items():
        if name not in values:
            if definition.get("required") and focused is None:
                raise ValueError(f"option {name!r} is required")
            continue
        option: dict[str, Any] = {"name": name, "type": definition["type"]}
        if name == focused:
            if not definition.get("autocomplete"):
                raise ValueError(f"option {name!r} has no autocomplete, so Discord would not ask the bot")
            option["value"] = str(values[name])
            option["focused"] = True
        else:
            option["value"] = _typed(definition, values[name], resolver)
        options.append(option)
    return options


def command_data(
    command: dict[str, Any],
    path: list[str],
    values: Mapping[str, Any],
    resolver: Resolver,
    *,
    focused: str | None = None,
) -> dict[str, Any]:
    """The `data` of an application command interaction, walking `path` through subcommand groups."""
    definitions: list[dict[str, Any]] = command.get("options", [])
    nest: list[dict[str, Any]] = []
    for step in path:
        match = next(
            (
                o
                for o in definitions
                if o["name"] == step and o["type"] in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP)
            ),
            None,
        )
        if match is None:
            raise LookupError(f"/{command['name']} has no subcommand or group {step!r}")
        nest.append({"name": step, "type": match["type"], "options": []})
        definitions = match.get("options", [])
    if any(o["type"] in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP) for o in definitions):
        raise LookupError(f"/{' '.join([command['name'], *path])} needs a subcommand")
    options = build_options(definitions, values, resolver, focused=focused)
    if focused is not None and focused not in {o["name"] for o in options}:
        raise ValueError(f"the focused option {focused!r} has no value")
    for level in reversed(nest):
        level["options"] = options
        options = [level]
    data: dict[str, Any] = {"id": command["id"], "name": command["name"], "type": command.get("type", 1)}
    if options:
        data["options"] = options
    if resolver.resolved:
        data["resolved"] = resolver.resolved
    return data
