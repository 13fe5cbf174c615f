"""A sandbox session: the emulator and the real bot in one event loop, and commands typed as text."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from bot.commands.text import split
from bot.config import Settings
from bot.errors import UserFacingError
from bot.platforms.discord.client import HighlightsBot
from bot.sandbox.render import Control, controls_of
from emulator.harness import fast_client_options, run_client
from emulator.interactions import InteractionHandle
from emulator.model import MEMBER_PERMISSIONS, Permission, StoredMessage
from emulator.server import DiscordEmulator

log = logging.getLogger(__name__)

RESPONSE_TIMEOUT = 10.0
READY_TIMEOUT = 30.0
ADMIN_PERMISSIONS = int(MEMBER_PERMISSIONS | Permission.MANAGE_GUILD)
# What Discord's settings call the permissions a command may require.
_PERMISSION_NAMES = {Permission.MANAGE_GUILD: "Manage Server", Permission.ADMINISTRATOR: "Administrator"}


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
    parts = split(text)
    head = parts.head.split()
    if not head:
        raise UserFacingError("Type a command name after the slash: " + ", ".join("/" + c for c in sorted(known)))
    path = " ".join(head[:2]) if " ".join(head[:2]) in known else head[0]
    if path not in known:
        raise UserFacingError(f"There is no /{head[0]}. Commands: " + ", ".join("/" + c for c in sorted(known)))
    return Typed(path, parts.options, parts.last)


class SandboxBot(HighlightsBot):
    """The bot as the sandbox runs it, able to say when `on_ready` has finished.

    discord.py reports readiness before `on_ready` runs, so a command answered (and the sandbox closed) at once
    would otherwise close the database under an `on_ready` still reading it.
    """

    def __init__(self, settings: Settings, **options: Any) -> None:
        super().__init__(settings, **options)
        self.settled = asyncio.Event()
        self._readying = 0

    async def on_ready(self) -> None:
        """The bot's own `on_ready`, counted, so the sandbox can wait for every run to end."""
        self._readying += 1
        self.settled.clear()
        try:
            await super().on_ready()
        finally:
            self._readying -= 1
            if not self._readying:
                self.settled.set()


class Sandbox:
    """The emulator and the bot, started together; send commands, click controls, ask for suggestions.

    With `admin`, the sandbox's user has Manage Server in the sandbox server, as `/highlights` requires.
    """

    def __init__(self, database: Path, *, view_timeout: float = 600.0, admin: bool = False) -> None:
        self.database = database
        self.view_timeout = view_timeout
        self._stack = AsyncExitStack()
        self.emulator = DiscordEmulator(callback_deadline=None)
        self.bot: SandboxBot | None = None
        self.current: StoredMessage | None = None
        self.admin = admin

    def channel_names(self) -> dict[int, str]:
        """Every channel of the sandbox's servers by id, to show mentions as a client would."""
        guilds = self.emulator.world.guilds.values()
        return {cid: channel.name for guild in guilds for cid, channel in guild.channels.items()}

    async def __aenter__(self) -> Self:
        try:
            await self._stack.enter_async_context(self.emulator)
            settings = Settings(
                database=self.database,
                discord_token=self.emulator.token,
                dev_guild_id=self.emulator.guild.id,
                api_base_url=self.emulator.api_base_url,
                gateway_url=self.emulator.gateway_url,
            )
            bot = SandboxBot(settings, view_timeout=self.view_timeout, **fast_client_options())
            self.bot = await self._stack.enter_async_context(run_client(self.emulator, bot))
            await asyncio.wait_for(bot.settled.wait(), READY_TIMEOUT)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if self.bot is not None:  # an on_ready after a reconnect may still be reading the database
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.bot.settled.wait(), READY_TIMEOUT)
        finally:
            await self._stack.aclose()

    @property
    def admin(self) -> bool:
        """Whether the sandbox's user has Manage Server in the sandbox server."""
        return self.emulator.user.permissions == ADMIN_PERMISSIONS

    @admin.setter
    def admin(self, value: bool) -> None:
        self.emulator.user.permissions = ADMIN_PERMISSIONS if value else None

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

    def _values(self, typed: Typed, skip: str | None = None) -> dict[str, Any]:
        """The typed options (but `skip`) as Discord's client would send them."""
        definitions = self.commands()[typed.path]
        values: dict[str, Any] = {}
        for name, raw in typed.options.items():
            if name not in definitions:
                raise UserFacingError(f"/{typed.path} has no option {name}: it takes " + ", ".join(definitions))
            if name == skip:
                continue
            kind = definitions[name]["type"]
            if kind == 5:
                values[name] = raw.lower() in ("true", "yes", "1", "on")
            elif kind == 7:
                values[name] = self._channel(raw)
            elif kind in (4, 10):
                values[name] = _number(name, raw, whole=kind == 4)
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
        self._check_permissions(typed.path)
        try:
            handle = await self.emulator.slash(typed.path, self._values(typed))
        except (LookupError, ValueError, TypeError) as exc:
            raise UserFacingError(f"Discord would not send that: {exc}") from exc
        return await self._reply(handle)

    def _check_permissions(self, path: str) -> None:
        """Refuse, as Discord's client does by hiding it, a command the sandbox's user may not use."""
        name = path.split()[0]
        command = next((c for c in self.emulator.commands(self.emulator.guild) if c["name"] == name), None)
        required = int((command or {}).get("default_member_permissions") or 0)
        granted = self.emulator.guild.base_permissions(self.emulator.user, is_bot=False)
        lacking = required & ~granted
        if lacking:
            names = [_PERMISSION_NAMES.get(p, str(p.name).replace("_", " ").title()) for p in Permission(lacking)]
            what = f"the {', '.join(names)} permission" if names else "permissions"
            raise UserFacingError(
                f"/{name} needs {what}, which the sandbox's user does not have. "
                "Type `admin on` at the sandbox's prompt (or start it with --admin) to have it in the sandbox server."
            )

    async def suggest(self, line: str) -> list[tuple[str, str]]:
        """Autocomplete choices (name, value) for the option typed last."""
        typed = parse(line, self._known())
        if typed.last is None:
            return []
        definition = self.commands()[typed.path].get(typed.last)
        if not definition or not definition.get("autocomplete"):
            return []
        self._check_permissions(typed.path)
        others = self._values(typed, skip=typed.last)
        try:
            handle = await self.emulator.autocomplete(typed.path, typed.last, typed.options[typed.last], others)
        except (LookupError, ValueError, TypeError) as exc:
            raise UserFacingError(f"Discord would not ask for suggestions: {exc}") from exc
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
            if all(c.disabled for c in controls):
                raise UserFacingError("These controls have timed out; run the command again.")
            raise UserFacingError(f"“{chosen.label}” is disabled here, as it would be in Discord.")
        try:
            if chosen.value is None:
                handle = await self.emulator.click(message, chosen.custom_id)
            else:
                handle = await self.emulator.select(message, chosen.custom_id, [chosen.value])
        except (LookupError, ValueError) as exc:
            raise UserFacingError(f"Discord would not send that: {exc}") from exc
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


def _number(name: str, raw: str, *, whole: bool) -> int | float:
    """An integer or number option as typed, or a friendly refusal (Discord's client accepts only numbers)."""
    try:
        return int(raw) if whole else float(raw)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise UserFacingError(f"{name} takes {kind}, such as {name}:2, not “{raw}”.") from None
