"""A sandbox session: the emulator and the real bot in one event loop, and commands typed as text."""

from __future__ import annotations

import re
import shlex
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from bot.client import HighlightsBot
from bot.config import Settings
from bot.emulator.harness import fast_client_options, run_client
from bot.emulator.interactions import InteractionHandle
from bot.emulator.model import StoredMessage
from bot.emulator.server import DiscordEmulator
from bot.emulator.spec import spec_path
from bot.errors import UserFacingError
from bot.sandbox.render import Control, controls_of

_OPTION = re.compile(r"(?:^|\s)([a-z_][a-z0-9_-]*):")
RESPONSE_TIMEOUT = 10.0


@dataclass(slots=True)
class Reply:
    """What the bot answered: the raw callback (and follow-ups), the message shown, its controls."""

    raw: list[dict[str, Any]]
    payload: dict[str, Any]
    message: StoredMessage | None
    controls: list[Control] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Typed:
    """A command line as typed: the command path, its options, and the option being typed last."""

    path: str
    options: dict[str, str]
    last: str | None


def parse(line: str, known: dict[str, set[str]]) -> Typed:
    """Read `/name [sub] key:value key:"value with spaces"` against the known commands."""
    text = line.strip()
    if not text.startswith("/"):
        raise UserFacingError("Commands start with a slash, such as /recommend topic:mtls. Type help for more.")
    text = text[1:]
    first = _OPTION.search(text)
    head = (text[: first.start()] if first else text).split()
    if not head:
        raise UserFacingError("Type a command name after the slash: " + ", ".join("/" + c for c in sorted(known)))
    path = " ".join(head[:2]) if " ".join(head[:2]) in known else head[0]
    if path not in known:
        raise UserFacingError(f"There is no /{head[0]}. Commands: " + ", ".join("/" + c for c in sorted(known)))
    options: dict[str, str] = {}
    matches = list(_OPTION.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        raw = text[match.end() : end].strip()
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
            raw = shlex.split(raw)[0] if raw.count(raw[0]) == 2 else raw[1:-1]
        options[match.group(1)] = raw
    return Typed(path, options, matches[-1].group(1) if matches else None)


class Sandbox:
    """The emulator and the bot, started together; send commands, click controls, ask for suggestions."""

    def __init__(self, database: Path, *, view_timeout: float = 600.0) -> None:
        self.database = database
        self.view_timeout = view_timeout
        self._stack = AsyncExitStack()
        self.emulator = DiscordEmulator(validate=spec_path().exists(), callback_deadline=None)
        self.bot: HighlightsBot | None = None
        self.current: StoredMessage | None = None

    async def __aenter__(self) -> Self:
        await self._stack.enter_async_context(self.emulator)
        settings = Settings(
            database=self.database,
            discord_token=self.emulator.token,
            dev_guild_id=self.emulator.guild.id,
            api_base_url=self.emulator.api_base_url,
            gateway_url=self.emulator.gateway_url,
        )
        bot = HighlightsBot(settings, view_timeout=self.view_timeout, **fast_client_options())
        self.bot = await self._stack.enter_async_context(run_client(self.emulator, bot))
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    def commands(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Each command path (such as 'talk' or 'highlights setup') with its options by name."""
        found: dict[str, dict[str, dict[str, Any]]] = {}
        for command in self.emulator.commands(self.emulator.guild):
            options = command.get("options") or []
            subs = [o for o in options if o["type"] in (1, 2)]
            if not subs:
                found[command["name"]] = {o["name"]: o for o in options}
            for sub in subs:
                found[f"{command['name']} {sub['name']}"] = {o["name"]: o for o in sub.get("options") or []}
        return found

    def _known(self) -> dict[str, set[str]]:
        return {path: set(options) for path, options in self.commands().items()}

    def _values(self, typed: Typed) -> dict[str, Any]:
        definitions = self.commands()[typed.path]
        values: dict[str, Any] = {}
        for name, raw in typed.options.items():
            if name not in definitions:
                raise UserFacingError(f"/{typed.path} has no option {name}: it takes " + ", ".join(definitions))
            kind = definitions[name]["type"]
            if kind == 5:
                values[name] = raw.lower() in ("true", "yes", "1", "on")
            elif kind == 7:
                values[name] = self._channel(raw)
            else:
                values[name] = raw
        return values

    def _channel(self, raw: str) -> Any:
        wanted = raw.lstrip("#")
        for channel in self.emulator.guild.channels.values():
            if channel.name == wanted or str(channel.id) == wanted:
                return channel
        raise UserFacingError(f"No channel #{wanted} in the sandbox server.")

    async def send(self, line: str) -> Reply:
        """Run a typed slash command and wait for the bot's answer."""
        typed = parse(line, self._known())
        missing = [
            name for name, d in self.commands()[typed.path].items() if d.get("required") and name not in typed.options
        ]
        if missing:
            raise UserFacingError(f"/{typed.path} needs " + ", ".join(f"{m}:…" for m in missing))
        try:
            handle = await self.emulator.slash(typed.path, self._values(typed))
        except (ValueError, TypeError) as exc:
            raise UserFacingError(f"Discord would not send that: {exc}") from exc
        return await self._reply(handle)

    async def suggest(self, line: str) -> list[tuple[str, str]]:
        """Autocomplete choices (name, value) for the option typed last."""
        typed = parse(line, self._known())
        if typed.last is None:
            return []
        definition = self.commands()[typed.path].get(typed.last)
        if not definition or not definition.get("autocomplete"):
            return []
        others = {k: v for k, v in self._values(typed).items() if k != typed.last}
        handle = await self.emulator.autocomplete(typed.path, typed.last, typed.options[typed.last], others)
        body = await handle.response(timeout=RESPONSE_TIMEOUT)
        return [(c["name"], str(c["value"])) for c in body.get("data", {}).get("choices", [])]

    async def click(self, number: int) -> Reply:
        """Press the numbered control of the message shown last."""
        message = self.current
        controls = controls_of(message.components) if message else []
        chosen = next((c for c in controls if c.number == number), None)
        if message is None or chosen is None:
            raise UserFacingError("There is no control with that number on the last message.")
        if chosen.disabled:
            raise UserFacingError("That control has timed out; run the command again.")
        if chosen.value is None:
            handle = await self.emulator.click(message, chosen.custom_id)
        else:
            handle = await self.emulator.select(message, chosen.custom_id, [chosen.value])
        return await self._reply(handle, clicked=message)

    async def _reply(self, handle: InteractionHandle, clicked: StoredMessage | None = None) -> Reply:
        body = await handle.response(timeout=RESPONSE_TIMEOUT)
        raw = [body]
        message: StoredMessage | None
        if body["type"] == 5:  # deferred: the answer comes as a follow-up
            message = await handle.followup(timeout=RESPONSE_TIMEOUT)
            raw.append({"followup": message.payload})
            payload = message.payload
        elif body["type"] == 7 and clicked is not None:  # the clicked message was updated in place
            message = clicked
            payload = body.get("data", {})
        else:
            message = handle.original
            payload = body.get("data", {})
        controls = controls_of(payload.get("components") or [])
        if controls and message is not None:
            self.current = message
        return Reply(raw, payload, message, controls)
