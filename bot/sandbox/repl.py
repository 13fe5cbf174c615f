"""The sandbox's prompt: type slash commands, numbers to click, `?` or Tab for suggestions."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.text import Text

from bot.errors import UserFacingError
from bot.sandbox.rehearsal import rehearsal_line, rehearse_in_sandbox
from bot.sandbox.render import message_view
from bot.sandbox.session import Reply, Sandbox

log = logging.getLogger(__name__)

EXAMPLES = ("/recommend topic:mtls", "/speaker name:morgan", "/talk title:tap tap", "/similar title:rust", "/topics")
PROMPT = "> "
HELP = """Type a slash command with its options, as in Discord:
  /recommend topic:mtls        /recommend topic:observability event:kubecon
  /talk title:tap tap          /similar title:why the future of the cloud
  /speaker name:morgan         /topics    /events
Type a number to press that button or pick that menu entry on the last message.
End a line with ? (or press Tab) to see suggestions for the option you are typing.
/highlights (scheduled posts) needs Manage Server: type admin on to have it, admin off to drop it.
rehearse EVENT [start:"2026-02-01 09:00"] [speed:60] replays an event's live notices on a simulated clock.
Type quit (or press Ctrl-D) to leave."""
_ADMIN = re.compile(r"/?admin(?:\s+(on|off))?")
_OPTION_INSIDE = re.compile(r"\s[a-z_][a-z0-9_-]*:")
_OPTION_NAME = re.compile(r"\s([a-z_][a-z0-9_-]*):")


def show(console: Console, sandbox: Sandbox, reply: Reply, *, as_json: bool) -> None:
    """Print a reply rendered for people (channel mentions named), or the raw payloads the bot sent."""
    if as_json:
        console.print_json(json.dumps(reply.raw if len(reply.raw) > 1 else reply.raw[0]))
    else:
        console.print(message_view(reply.payload, reply.controls, sandbox.channel_names()))


async def run_once(sandbox: Sandbox, line: str, console: Console, *, as_json: bool) -> int:
    """Run one command (`--command`) and print its reply; 1 if it could not be sent."""
    try:
        rehearsal = rehearsal_line(line)
        if rehearsal is not None:
            return 0 if await rehearse_in_sandbox(sandbox, rehearsal, console) else 1
        show(console, sandbox, await sandbox.send(line), as_json=as_json)
    except UserFacingError as exc:
        console.print(Text(exc.message, style="red"))
        return 1
    except TimeoutError:
        console.print(Text("The bot did not answer in time.", style="red"))
        return 1
    return 0


def admin_switch(sandbox: Sandbox, line: str) -> str | None:
    """Handle `admin`, `admin on` or `admin off`; what to say, or None if the line is something else."""
    match = _ADMIN.fullmatch(line)
    if match is None:
        return None
    if match.group(1):
        sandbox.admin = match.group(1) == "on"
    if sandbox.admin:
        return "You have Manage Server in the sandbox server: /highlights is yours. (admin off to drop it)"
    return "You are a plain member of the sandbox server. (admin on for Manage Server, to try /highlights)"


async def interactive(sandbox: Sandbox, console: Console) -> int:
    """The prompt loop, until quit or end of input."""
    loop = asyncio.get_running_loop()
    _install_completion(sandbox, loop)
    console.rule("Talk highlights sandbox")
    console.print(Text("The real bot, answering a local stand-in for Discord. Type help for help.", style="dim"))
    console.print(Text("Try: " + "   ".join(EXAMPLES), style="cyan"))
    if sandbox.admin:
        console.print(Text("You have Manage Server in the sandbox server, so /highlights works too.", style="dim"))
    while True:
        try:
            line = (await asyncio.to_thread(input, "\n" + PROMPT)).strip()
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
        said = admin_switch(sandbox, line)
        if said is not None:
            console.print(Text(said, style="cyan"))
            continue
        try:
            rehearsal = rehearsal_line(line)
            if rehearsal is not None:
                await rehearse_in_sandbox(sandbox, rehearsal, console)
            elif line.isdigit():
                show(console, sandbox, await sandbox.click(int(line)), as_json=False)
            elif line.endswith("?"):
                choices = await sandbox.suggest(line[:-1])
                console.print("\n".join(f"  {name}  [dim]({value})[/]" for name, value in choices) or "No suggestions.")
            else:
                show(console, sandbox, await sandbox.send(line), as_json=False)
        except UserFacingError as exc:
            console.print(Text(exc.message, style="red"))
        except TimeoutError:
            console.print(Text("The bot did not answer in time.", style="red"))


def _install_completion(sandbox: Sandbox, loop: asyncio.AbstractEventLoop) -> None:
    """Tab completes command names and option names and, through the bot's own autocomplete, option values."""
    try:
        import readline
    except ImportError:
        return
    completion = Completion(sandbox, loop)
    readline.set_completer_delims("")
    readline.parse_and_bind("tab: complete")
    readline.parse_and_bind("set show-all-if-ambiguous on")
    readline.set_completer(completion.complete)
    readline.set_completion_display_matches_hook(completion.display)


class Completion:
    """Readline completion over the whole line.

    Readline replaces what was typed with the longest common start of the candidates, so every candidate starts
    with the line as typed unless there is exactly one. Several suggestions are listed by their labels and the
    line stays as typed; a single one is inserted as its value, which the command accepts.
    """

    def __init__(self, sandbox: Sandbox, loop: asyncio.AbstractEventLoop) -> None:
        self.sandbox = sandbox
        self.loop = loop
        self.labels: list[str] = []
        self._found: list[str] = []

    def complete(self, text: str, state: int) -> str | None:
        """Readline's completer: the `state`-th candidate for `text`."""
        if state == 0:
            self._found = self.candidates(text)
        return self._found[state] if state < len(self._found) else None

    def candidates(self, text: str) -> list[str]:
        """Every candidate for the line typed so far (and the labels to list for them)."""
        self.labels = []
        commands = self.sandbox.commands()
        if ":" not in text:
            names = [f"/{path} " for path in commands if f"/{path} ".startswith(text or "/") and f"/{path} " != text]
            if names or " " not in text:
                return names
        if ":" not in text or text.endswith(" "):  # an option's name is next (a value may hold spaces)
            path = next((p for p in sorted(commands, key=len, reverse=True) if text.startswith(f"/{p} ")), "")
            start = text.rfind(" ") + 1
            given = set(_OPTION_NAME.findall(text))
            return [
                text[:start] + f"{name}:"
                for name in commands.get(path, {})
                if name.startswith(text[start:]) and name not in given
            ]
        future = asyncio.run_coroutine_threadsafe(self.sandbox.suggest(text), self.loop)
        try:
            choices = future.result(timeout=3)
        except Exception:  # a completion that fails must not break typing
            log.debug("Completion failed for %r", text, exc_info=True)
            return []
        self.labels = [label for label, _ in choices]
        return value_candidates(text, choices)

    def display(self, substitution: str, matches: Sequence[str], longest: int) -> None:
        """List the suggestions by their labels (not the lines they would make), then show the line again."""
        import readline

        shown = self.labels or [_last_word(match) if match.endswith(":") else match.strip() for match in matches]
        sys.stdout.write("\n" + "\n".join(f"  {label}" for label in shown) + "\n")
        sys.stdout.write(PROMPT + readline.get_line_buffer())
        sys.stdout.flush()


def value_candidates(line: str, choices: Iterable[tuple[str, str]]) -> list[str]:
    """Candidates for the option value being typed at the end of `line`, from (label, value) suggestions.

    One suggestion: the line with its value in place of what was typed. Several: lines that extend what was
    typed with a value or label, plus the line itself (twice over, one with a space, so readline keeps it as it
    is and lists them) when not all of them do.
    """
    pairs = list(choices)
    head = line[: line.rfind(":") + 1]
    typed = line[len(head) :]
    if len(pairs) == 1:
        return [head + _insertable(pairs[0][1])]
    extending = []
    for label, value in pairs:
        fits = [v for v in (value, label) if v.startswith(typed) and not v.endswith("…")]
        if fits:
            extending.append(head + _insertable(fits[0]))
    if pairs and len(extending) == len(pairs):
        return extending
    return [line, line + " ", *extending] if pairs else []


def _last_word(line: str) -> str:
    return line[line.rfind(" ") + 1 :]


def _insertable(value: str) -> str:
    """A value as it can be typed after `name:`, quoted if it would otherwise read as another option."""
    if _OPTION_INSIDE.search(" " + value) and '"' not in value:
        return f'"{value}"'
    return value
