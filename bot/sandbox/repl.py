"""The sandbox's prompt: type slash commands, numbers to click, `?` or Tab for suggestions."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from rich.console import Console
from rich.text import Text

from bot.errors import UserFacingError
from bot.sandbox.render import message_view
from bot.sandbox.session import Reply, Sandbox

log = logging.getLogger(__name__)

EXAMPLES = ("/recommend topic:mtls", "/speaker name:morgan", "/talk title:tap tap", "/similar title:rust", "/topics")
HELP = """Type a slash command with its options, as in Discord:
  /recommend topic:mtls        /recommend topic:observability event:kubecon
  /talk title:tap tap          /similar title:why the future of the cloud
  /speaker name:morgan         /topics    /events
Type a number to press that button or pick that menu entry on the last message.
End a line with ? (or press Tab) to see suggestions for the option you are typing.
Type quit (or press Ctrl-D) to leave."""


def show(console: Console, reply: Reply, *, as_json: bool) -> None:
    """Print a reply rendered for people, or the raw payloads the bot sent."""
    if as_json:
        console.print_json(json.dumps(reply.raw if len(reply.raw) > 1 else reply.raw[0]))
    else:
        console.print(message_view(reply.payload, reply.controls))


async def run_once(sandbox: Sandbox, line: str, console: Console, *, as_json: bool) -> int:
    """Run one command (`--command`) and print its reply; 1 if it could not be sent."""
    try:
        show(console, await sandbox.send(line), as_json=as_json)
    except UserFacingError as exc:
        console.print(Text(exc.message, style="red"))
        return 1
    return 0


async def interactive(sandbox: Sandbox, console: Console) -> int:
    """The prompt loop, until quit or end of input."""
    loop = asyncio.get_running_loop()
    _install_completion(sandbox, loop)
    console.rule("Talk highlights sandbox")
    console.print(Text("The real bot, answering a local stand-in for Discord. Type help for help.", style="dim"))
    console.print(Text("Try: " + "   ".join(EXAMPLES), style="cyan"))
    while True:
        try:
            line = (await asyncio.to_thread(input, "\n> ")).strip()
        except EOFError:
            console.print()
            return 0
        if not line:
            continue
        if line in ("quit", "exit", "/quit", "/exit"):
            return 0
        if line in ("help", "/help"):
            console.print(HELP)
            continue
        try:
            if line.isdigit():
                show(console, await sandbox.click(int(line)), as_json=False)
            elif line.endswith("?"):
                choices = await sandbox.suggest(line[:-1])
                console.print("\n".join(f"  {name}  [dim]({value})[/]" for name, value in choices) or "No suggestions.")
            else:
                show(console, await sandbox.send(line), as_json=False)
        except UserFacingError as exc:
            console.print(Text(exc.message, style="red"))
        except TimeoutError:
            console.print(Text("The bot did not answer in time.", style="red"))


def _install_completion(sandbox: Sandbox, loop: asyncio.AbstractEventLoop) -> None:
    """Tab completes command names and, through the bot's own autocomplete, option values."""
    try:
        import readline
    except ImportError:
        return
    readline.set_completer_delims("")
    readline.parse_and_bind("tab: complete")
    readline.set_completer(_completer(sandbox, loop))


def _completer(sandbox: Sandbox, loop: asyncio.AbstractEventLoop) -> Callable[[str, int], str | None]:
    cache: dict[str, list[str]] = {}

    def complete(text: str, state: int) -> str | None:
        if state == 0:
            cache[text] = _candidates(text)
        found = cache.get(text, [])
        return found[state] if state < len(found) else None

    def _candidates(text: str) -> list[str]:
        if " " not in text.strip() or ":" not in text:
            return [f"/{path} " for path in sandbox.commands() if f"/{path}".startswith(text.strip() or "/")]
        future = asyncio.run_coroutine_threadsafe(sandbox.suggest(text), loop)
        try:
            choices = future.result(timeout=3)
        except Exception:  # a completion that fails must not break typing
            log.debug("Completion failed for %r", text, exc_info=True)
            return []
        head = text[: text.rfind(":") + 1]
        return [head + value for _, value in choices]

    return complete
