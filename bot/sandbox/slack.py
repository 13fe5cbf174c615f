"""The sandbox in Slack's clothes: the real Slack app, answering the local Slack emulator, driven from a terminal.

`python -m bot sandbox --platform slack` starts the Slack emulator (a workspace with one person, "you", and the
channels #general, where the bot is, and #random, where it is not), opens the services, serves the real
slack-bolt app on 127.0.0.1 and runs its highlight scheduler. Commands are typed as in Slack's message box,
`/recommend mtls event:kubecon`: everything after the command's name is the text Slack sends, with `#general`
turned into a channel reference as Slack's client does. The answers are drawn from their Block Kit: headers,
sections, context and dividers, with every button and menu entry numbered so that typing the number presses or
picks it. A menu that searches as you type (an external select) is searched with `? some words`.

Nothing the bot or the catalogue says may drive the terminal: every text is stripped of control characters and
escape sequences before it is printed, and it is printed as text, never read as rich's markup.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from bot.domain.text import inert
from bot.errors import UserFacingError
from bot.highlights.ports import Clock, PostResult
from bot.live.notices import ChangeNotice, UpNext
from bot.live.rehearse import PrintingPoster
from bot.platforms.slack.app import COMMANDS, WORKING, SlackBot
from bot.platforms.slack.highlights import SUBCOMMANDS
from bot.platforms.slack.posting import SlackLivePoster
from bot.sandbox.rehearsal import rehearsal_line, rehearse_through
from bot.services.container import open_services
from emulator.slack import Message, SlackEmulator
from emulator.slack import Reply as EmulatorReply

USER = "U0SANDBOX"
USER_NAME = "you"
GENERAL = "C0GENERAL"
RANDOM = "C0RANDOM"
HOST = "127.0.0.1"
EVENTS_PATH = "/slack/events"
PROMPT = "> "
LATE_ANSWER_TIMEOUT = 30.0  # seconds to wait for an answer that follows the acknowledgement
COMMAND_NAMES = (*COMMANDS, "highlights")
HIGHLIGHTS_SUBCOMMANDS = tuple(name.split()[1] for name in SUBCOMMANDS)
EXAMPLES = ("/recommend mtls", "/speaker morgan", "/talk tap tap", "/similar rust", "/topics tree:yes")
HELP = """Type a slash command as in Slack: its name, then words and key:value options.
  /recommend mtls               /recommend observability event:kubecon
  /talk tap tap                 /similar why the future of the cloud
  /speaker morgan               /topics tree:yes    /events    /highlight mesh
Type a number to press that button, or pick that menu entry, in the last reply.
A menu that searches as you type: ? and some words (? mesh) list its entries.
You type in #general, where the bot is; it is not in #random.
/highlights (scheduled posts) is for admins: admin on makes you one, admin off a
member again. Try /highlights setup time:09:00, then /highlights list.
rehearse EVENT [start:"2026-02-01 09:00"] [speed:60] replays an event's live
notices on a simulated clock, posted by the app into #general.
Type quit (or press Ctrl-D) to leave."""
_ADMIN = re.compile(r"/?admin(?:\s+(on|off))?")
_QUIT = frozenset({"quit", "exit", "/quit", "/exit"})
_TYPED_CHANNEL = re.compile(r"(?<![\w<|#])#([a-z0-9][a-z0-9_-]*)")

# -- the workspace's time zone ---------------------------------------------------------------------------------


def _zone_name(candidate: str) -> str | None:
    """An IANA zone name from a setting (`Europe/Berlin`, `:Europe/Berlin`, `/usr/share/zoneinfo/Europe/Berlin`)."""
    name = candidate.strip().lstrip(":")
    if "/zoneinfo/" in name:
        name = name.split("/zoneinfo/", 1)[1]
    if not name or name.startswith("/") or ".." in name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name


def local_zone() -> str:
    """The machine's time zone as an IANA name (from TZ, /etc/timezone or /etc/localtime), else UTC."""
    candidates = [os.environ.get("TZ", "")]
    with suppress(OSError, UnicodeDecodeError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8"))
    with suppress(OSError, RuntimeError):
        candidates.append(str(Path("/etc/localtime").resolve()))
    for candidate in candidates:
        name = _zone_name(candidate)
        if name is not None:
            return name
    return "UTC"


# -- what a reply offers -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Control:
    """A numbered control: a button, or one entry of a menu, on one message.

    `where` is (block, element, option) in the message's blocks: element -1 is a section's accessory, option -1
    a button.
    """

    number: int
    message: Message
    action_id: str
    label: str
    value: str | None = None  # a button's value
    selected: str | None = None  # a menu entry's value
    where: tuple[int, int, int] = (-1, -1, -1)


@dataclass(frozen=True, slots=True)
class Menu:
    """A menu that searches as you type (an external select): its entries come from the app."""

    message: Message
    action_id: str
    placeholder: str


@dataclass(slots=True)
class SlackReply:
    """What came of a command or a click: the messages shown, what the bot sent, their controls and menus."""

    messages: list[Message]
    raw: list[dict[str, Any]]
    controls: list[Control] = field(default_factory=list)
    menus: list[Menu] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    updated: Message | None = None  # the clicked message, when the answer replaced it


def _text_of(node: object) -> str:
    """The text of a text object (`{"type": "plain_text", "text": ...}`), or ""."""
    if isinstance(node, dict):
        return str(node.get("text") or "")
    return ""


def _options(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        found.extend(o for o in (group.get("options") or []) if isinstance(o, dict))
    return found


def _elements(block: Mapping[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """The interactive elements of a block in reading order: (-1, accessory), then (i, elements[i])."""
    found: list[tuple[int, dict[str, Any]]] = []
    accessory = block.get("accessory")
    if isinstance(accessory, dict):
        found.append((-1, accessory))
    if block.get("type") == "actions":
        found.extend((i, e) for i, e in enumerate(block.get("elements") or []) if isinstance(e, dict))
    return found


_OPTION_KINDS = frozenset({"static_select", "overflow", "radio_buttons", "checkboxes", "multi_static_select"})
_SEARCHED_KINDS = frozenset({"external_select", "multi_external_select"})


def controls_of(message: Message, start: int = 1) -> tuple[list[Control], list[Menu]]:
    """The message's buttons and menu entries, numbered from `start` in reading order; and its searching menus."""
    controls: list[Control] = []
    menus: list[Menu] = []
    for b, block in enumerate(message.blocks):
        for e, element in _elements(block):
            kind, action_id = element.get("type"), str(element.get("action_id") or "")
            if not action_id:
                continue
            if kind == "button":
                label = inert(_text_of(element.get("text"))) or "button"
                value = element.get("value")
                where = (b, e, -1)
                number = start + len(controls)
                controls.append(Control(number, message, action_id, label, value and str(value), None, where))
            elif kind in _OPTION_KINDS:
                for o, option in enumerate(_options(element)):
                    label = inert(_text_of(option.get("text"))) or str(option.get("value"))
                    number = start + len(controls)
                    selected = str(option.get("value") or "")
                    controls.append(Control(number, message, action_id, label, None, selected, (b, e, o)))
            elif kind in _SEARCHED_KINDS:
                placeholder = inert(_text_of(element.get("placeholder"))) or "Search"
                menus.append(Menu(message, action_id, placeholder))
    return controls, menus


# -- the sandbox -------------------------------------------------------------------------------------------------


class SlackSandbox:
    """The Slack emulator, the services and the bot's app served on 127.0.0.1, started and stopped together.

    The sandbox's person is `USER` ("you", in this machine's time zone), a workspace admin with `admin`; they
    type in #general. Scheduled highlights the bot posts on its own are kept until `unseen()` takes them.
    """

    def __init__(self, database: Path, *, admin: bool = False, zone: str | None = None) -> None:
        self.database = database
        self.emulator = SlackEmulator()
        self.emulator.add_user(USER, USER_NAME, tz=zone or local_zone(), admin=admin)
        self.emulator.add_channel(GENERAL, "general")
        self.emulator.add_channel(RANDOM, "random", member=False)
        self.emulator.world.observers.append(self._observe)
        self.channel = GENERAL
        self.bot: SlackBot | None = None
        self.current: SlackReply | None = None
        self.suggested: list[Control] = []
        self._unseen: list[Message] = []
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Self:
        stack = self._stack
        try:
            await stack.enter_async_context(self.emulator)
            services = await stack.enter_async_context(open_services(self.database, platform="slack"))
            emulator = self.emulator
            bot = SlackBot(
                services, token=emulator.token, signing_secret=emulator.signing_secret, api_url=emulator.api_url
            )
            await bot.start()
            stack.push_async_callback(bot.close)
            self.bot = bot
            runner = web.AppRunner(bot.app.web_app(path=EVENTS_PATH), access_log=None)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            await web.TCPSite(runner, HOST, 0).start()
            emulator.app_url = f"http://{HOST}:{runner.addresses[0][1]}{EVENTS_PATH}"
        except BaseException:
            await stack.aclose()
            raise
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    @property
    def admin(self) -> bool:
        """Whether the sandbox's person is a workspace admin (as /highlights requires to change schedules)."""
        return self.emulator.users[USER].is_admin

    @admin.setter
    def admin(self, value: bool) -> None:
        self.emulator.users[USER].is_admin = value

    def channel_names(self) -> dict[str, str]:
        """Channel id -> name, to show `<#C…>` as a Slack client does."""
        return {cid: channel.name for cid, channel in self.emulator.channels.items()}

    def user_names(self) -> dict[str, str]:
        """User id -> name, to show `<@U…>` as a Slack client does."""
        names = {uid: user.name for uid, user in self.emulator.users.items()}
        names[self.emulator.identity.bot_user_id] = "talk-highlights"
        return names

    # -- typing, clicking, searching ---------------------------------------------------------------------------

    async def send(self, line: str) -> SlackReply:
        """Run a typed slash command (`/recommend mtls event:kubecon`) in #general and gather its answer."""
        name, text = read_command(line)
        marks = self._marks()
        try:
            reply = await self.emulator.slash(f"/{name}", self.typed_text(text), user=USER, channel=self.channel)
        except LookupError as exc:
            raise UserFacingError(f"Slack would not send that: {exc}") from exc
        if len(reply.messages) == 1 and reply.messages[0].text == WORKING and not reply.messages[0].blocks:
            with suppress(TimeoutError):  # a slow answer follows through the response URL; show what came
                await reply.wait_for(2, within=LATE_ANSWER_TIMEOUT)
        return self._finish(reply, f"/{name}", marks)

    def typed_text(self, text: str) -> str:
        """The command's text as Slack's client sends it: `#general` becomes `<#C0GENERAL|general>`."""
        known = {channel.name: cid for cid, channel in self.emulator.channels.items() if not channel.is_im}

        def channel(match: re.Match[str]) -> str:
            cid = known.get(match.group(1))
            return f"<#{cid}|{match.group(1)}>" if cid else match.group(0)

        return _TYPED_CHANNEL.sub(channel, text)

    def choices(self) -> list[Control]:
        """What a number picks now: the last reply's controls, then the entries `? words` fetched."""
        return [*(self.current.controls if self.current else []), *self.suggested]

    async def click(self, number: int) -> SlackReply:
        """Press the numbered button (or pick the numbered menu entry) of the last reply."""
        chosen = next((c for c in self.choices() if c.number == number), None)
        if chosen is None:
            if not self.choices():
                raise UserFacingError("The last reply has nothing to press. Type a command, such as /recommend mtls.")
            raise UserFacingError(f"There is no button or menu entry [{number}] in the last reply.")
        if chosen.message.deleted:
            raise UserFacingError("That message was deleted: run the command again.")
        marks = self._marks()
        try:
            reply = await self.emulator.click(
                chosen.message, chosen.action_id, user=USER, value=chosen.value, selected=chosen.selected
            )
        except LookupError as exc:
            raise UserFacingError(f"Slack would not send that: {exc}") from exc
        if reply.status == 200 and not reply.messages:
            with suppress(TimeoutError):  # acknowledged at once; the answer follows through the response URL
                await reply.wait_for(1, within=LATE_ANSWER_TIMEOUT)
        return self._finish(reply, f"“{chosen.label}”", marks, clicked=chosen.message)

    async def search(self, words: str) -> list[Control]:
        """Type `words` into the last reply's searching menus: their entries, numbered after its controls."""
        reply = self.current
        if reply is None or not reply.menus:
            raise UserFacingError(
                "The last reply has no menu that searches as you type. "
                "? words fetches the entries of such a menu; a number picks one."
            )
        start = max((c.number for c in reply.controls), default=0) + 1
        before = len(self.emulator.problems)
        found: list[Control] = []
        for menu in reply.menus:
            options = await self.emulator.suggest(menu.action_id, words, user=USER, message=menu.message)
            for option in options:
                for entry in _options(option) if "options" in option else [option]:
                    label = inert(_text_of(entry.get("text"))) or str(entry.get("value"))
                    selected = str(entry.get("value") or "")
                    found.append(Control(start + len(found), menu.message, menu.action_id, label, None, selected))
        self.suggested = found
        problems = self.emulator.problems[before:]
        if problems:
            raise UserFacingError("Slack would have refused the app's answer: " + "; ".join(problems))
        return found

    def unseen(self) -> SlackReply | None:
        """Messages the bot posted on its own (scheduled highlights) since the last look, as a reply."""
        messages, self._unseen = self._unseen, []
        if not messages:
            return None
        return self._shown(SlackReply(messages, [_message_dict(m) for m in messages]))

    # -- plumbing ------------------------------------------------------------------------------------------------

    def _observe(self, message: Message) -> None:
        if all(message is not known for known in self._unseen):
            self._unseen.append(message)

    def _marks(self) -> tuple[int, int]:
        return len(self.emulator.calls), len(self.emulator.problems)

    def _finish(
        self, reply: EmulatorReply, what: str, marks: tuple[int, int], *, clicked: Message | None = None
    ) -> SlackReply:
        """The reply as the sandbox shows it; a UserFacingError for what Slack would show as an error."""
        calls, problems = self.emulator.calls[marks[0] :], self.emulator.problems[marks[1] :]
        messages = [m for m in reply.messages if not m.deleted or m is clicked]
        self._unseen = [m for m in self._unseen if all(m is not shown for shown in messages)]
        if reply.error or reply.status != 200:
            error = reply.error or "dispatch_failed"
            raise UserFacingError(f"Slack would say: {what} failed with the error “{error}” (HTTP {reply.status}).")
        if not messages:
            said = "; ".join(problems) if problems else "the app answered with nothing to show"
            raise UserFacingError(f"Nothing came of {what}: {said}.")
        raw: list[dict[str, Any]] = []
        if messages[0].source == "ack" and isinstance(reply.ack, dict):
            raw.append(reply.ack)
        raw.extend(args for method, args in calls if method in _MESSAGE_METHODS)
        raw.extend(_message_dict(m) for m in messages if m.source == "response_url")
        updated = clicked if clicked is not None and any(m is clicked for m in messages) else None
        return self._shown(SlackReply(messages, raw, problems=problems, updated=updated))

    def _shown(self, reply: SlackReply) -> SlackReply:
        """Number the reply's controls; it becomes what numbers pick if it has any."""
        for message in reply.messages:
            if message.deleted:
                continue
            controls, menus = controls_of(message, len(reply.controls) + 1)
            reply.controls.extend(controls)
            reply.menus.extend(menus)
        if reply.controls or reply.menus:
            self.current = reply
            self.suggested = []
        return reply


_MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update", "chat.scheduleMessage"})


def _message_dict(message: Message) -> dict[str, Any]:
    """A message the bot answered through a response URL (or posted), as it arrived."""
    return {
        "channel": message.channel,
        "ts": message.ts,
        "response_type": "ephemeral" if message.ephemeral else "in_channel",
        "text": message.text,
        "blocks": message.blocks,
    }


def read_command(line: str) -> tuple[str, str]:
    """`/name text…` as typed: the command's name and its text; a friendly error for anything else."""
    text = line.strip()
    commands = ", ".join("/" + name for name in COMMAND_NAMES)
    if not text.startswith("/"):
        raise UserFacingError("Commands start with a slash, such as /recommend mtls. Type help for more.")
    parts = text[1:].split(maxsplit=1)
    if not parts:
        raise UserFacingError(f"Type a command's name after the slash: {commands}")
    name = parts[0].lower()
    if name not in COMMAND_NAMES:
        raise UserFacingError(f"/{inert(parts[0])[:40]} is not a command here. Commands: {commands}")
    return name, parts[1] if len(parts) > 1 else ""


# -- Block Kit, drawn for a terminal -----------------------------------------------------------------------------

_EMOJI = {  # the shortcodes the bot writes, and a few more; without variation selectors, so widths stay known
    "warning": "⚠",
    "double_vertical_bar": "⏸",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔",
    "x": "❌",
    "information_source": "ℹ",
    "calendar": "📆",
    "tada": "🎉",
    "mag": "🔍",
    "star": "⭐",
    "stopwatch": "⏱",
    "alarm_clock": "⏰",
    "bookmark": "🔖",
    "wastebasket": "🗑",
    "clapper": "🎬",
    "bell": "🔔",
}
_SHORTCODE = re.compile(r":([a-z0-9_+-]+):")
_ESCAPE = re.compile(r"&(amp|lt|gt);")
_UNESCAPED = {"amp": "&", "lt": "<", "gt": ">"}
_CODE = re.compile(r"```(.+?)```|`([^`\n]+)`", re.DOTALL)
# A link or mention, or a styled run: a mark at the start of a word, closed by the same mark at the end of one.
_INLINE = re.compile(
    r"(?P<entity><[^<>\n]*>)"
    r"|(?<![^\s(\[{\"'“‘])(?P<mark>[*_~])(?=[^\s*_~])(?P<inner>(?:<[^<>\n]*>|[^\n])+?)(?<=\S)(?P=mark)"
    r"(?![^\s.,;:!?)\]}\"'”’])"
)
_MARKS = {"*": "bold", "_": "italic", "~": "strike"}
_MENTION_STYLE = "bold yellow"
_LINK_STYLE = "cyan"


def _style(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def _unescape(text: str) -> str:
    """The three escapes of mrkdwn read back (`&amp;lt;` is the text "&lt;")."""
    return _ESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], text)


def _emoji(text: str) -> str:
    return _SHORTCODE.sub(lambda m: _EMOJI.get(m.group(1), m.group(0)), text)


def plain_text(text: str) -> Text:
    """A plain-text object's text (a header, a button): control characters dropped, shortcodes drawn."""
    return Text(_emoji(inert(text)))


def mrkdwn_text(
    text: str, channels: Mapping[str, str] | None = None, users: Mapping[str, str] | None = None, style: str = ""
) -> Text:
    """Slack's mrkdwn as styled terminal text.

    *bold*, _italic_, ~strike~ and `code` are styled; `<url|label>` is the label and the address; `<#C1>` and
    `<@U1>` are named; `<!date^…|fallback>` is its fallback; `<!here>`, `<!channel>`, `<!everyone>` show as the
    pings they are; `&amp;`, `&lt;`, `&gt;` read back as `&`, `<`, `>`.
    """
    out = Text()
    names = (channels or {}, users or {})
    text = inert(text)
    position = 0
    for match in _CODE.finditer(text):
        _inline(text[position : match.start()], out, style, names)
        code = match.group(1) if match.group(1) is not None else match.group(2)
        out.append(_unescape(code.strip("\n")), style=_style(style, "cyan"))
        position = match.end()
    _inline(text[position:], out, style, names)
    return out


def _inline(text: str, out: Text, style: str, names: tuple[Mapping[str, str], Mapping[str, str]]) -> None:
    position = 0
    for match in _INLINE.finditer(text):
        out.append(_emoji(_unescape(text[position : match.start()])), style=style or None)
        if match.group("entity"):
            _entity(match.group("entity")[1:-1], out, style, names)
        else:
            _inline(match.group("inner"), out, _style(style, _MARKS[match.group("mark")]), names)
        position = match.end()
    out.append(_emoji(_unescape(text[position:])), style=style or None)


def _entity(body: str, out: Text, style: str, names: tuple[Mapping[str, str], Mapping[str, str]]) -> None:
    """One `<…>`: a channel, a person, a special mention or date, or a link."""
    target, _, label = body.partition("|")
    label = _emoji(_unescape(label))
    channels, users = names
    if target.startswith("#"):
        out.append("#" + (channels.get(target[1:]) or label or target[1:]), style=_style(style, _LINK_STYLE))
    elif target.startswith("@"):
        out.append("@" + (users.get(target[1:]) or label or target[1:]), style=_style(style, _MENTION_STYLE))
    elif target.startswith("!date^"):
        out.append(label or _date(target), style=style or None)
    elif target.startswith("!subteam^"):
        out.append(label or "@a group", style=_style(style, _MENTION_STYLE))
    elif target.startswith("!"):
        word = target[1:]
        out.append(label or f"@{word}", style=_style(style, _MENTION_STYLE))
    else:
        address = _unescape(target)
        if label and label != address:
            out.append(label, style=_style(style, "underline"))
            out.append(f" ({address})", style=_LINK_STYLE)
        else:
            out.append(address, style=_style(style, _LINK_STYLE))


def _date(target: str) -> str:
    """A `<!date^1700000000^…>` without a fallback: the moment in UTC."""
    seconds = target.split("^")[1] if target.count("^") else ""
    if not seconds.lstrip("-").isdigit() or len(seconds) > 12:
        return "a date"
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%a %d %b %Y %H:%M UTC")


def _text_object(node: object, names: tuple[Mapping[str, str], Mapping[str, str]], style: str = "") -> Text:
    """A text object drawn by its type: mrkdwn read, plain text as it is."""
    if not isinstance(node, dict):
        return Text()
    if node.get("type") == "mrkdwn":
        return mrkdwn_text(str(node.get("text") or ""), *names, style=style)
    shown = plain_text(str(node.get("text") or ""))
    if style:
        shown.stylize(style)
    return shown


def _number(control: Control | None) -> Text:
    return Text(f"[{control.number}] " if control else "[–] ", style="bold cyan")


def _element_view(element: Mapping[str, Any], controls: Mapping[tuple[int, int, int], Control], b: int, e: int) -> Text:
    """One interactive element: a numbered button, a menu with numbered entries, or what it is."""
    kind = element.get("type")
    out = Text()
    if kind == "button":
        out.append_text(_number(controls.get((b, e, -1))))
        label = plain_text(_text_of(element.get("text")) or "button")
        colour = {"primary": "green", "danger": "red"}.get(str(element.get("style")))
        if colour:
            label.stylize(colour)
        out.append_text(label)
    elif kind in _OPTION_KINDS:
        placeholder = _text_of(element.get("placeholder")) or "Pick one"
        out.append_text(plain_text(placeholder + " ▾"))
        for o, option in enumerate(_options(element)):
            out.append("\n  ")
            out.append_text(_number(controls.get((b, e, o))))
            out.append_text(plain_text(_text_of(option.get("text")) or str(option.get("value"))))
    elif kind in _SEARCHED_KINDS:
        placeholder = _text_of(element.get("placeholder")) or "Search"
        out.append_text(plain_text(placeholder + " ▾"))
        out.append("  (? words to search)", style="dim")
    elif kind == "image":
        out.append_text(plain_text(f"[image: {element.get('alt_text') or 'no description'}]"))
    else:
        out.append(f"({inert(str(kind))[:40]}: not in the sandbox)", style="dim")
    return out


def _block_view(
    block: Mapping[str, Any],
    b: int,
    controls: Mapping[tuple[int, int, int], Control],
    names: tuple[Mapping[str, str], Mapping[str, str]],
) -> RenderableType:
    kind = block.get("type")
    if kind == "header":
        return _text_object(block.get("text"), names, style="bold")
    if kind == "divider":
        return Rule(style="dim")
    if kind == "context":
        line = Text(style="dim")
        for element in block.get("elements") or []:
            if line:
                line.append("   ")
            if isinstance(element, dict) and element.get("type") == "image":
                line.append_text(plain_text(f"[{element.get('alt_text') or 'image'}]"))
            else:
                line.append_text(_text_object(element, names))
        return line
    if kind == "section":
        parts: list[RenderableType] = []
        if block.get("text"):
            parts.append(_text_object(block["text"], names))
        fields = [f for f in block.get("fields") or [] if isinstance(f, dict)]
        if fields:
            grid = Table.grid(padding=(0, 4))
            grid.add_column()
            grid.add_column()
            for i in range(0, len(fields), 2):
                grid.add_row(*(_text_object(f, names) for f in fields[i : i + 2]))
            if parts:
                parts.append(Text(""))
            parts.append(grid)
        body: RenderableType = Group(*parts) if len(parts) != 1 else parts[0]
        accessory = block.get("accessory")
        if not isinstance(accessory, dict):
            return body
        row = Table.grid(expand=True, padding=(0, 2))
        row.add_column(ratio=1)
        row.add_column(justify="right", max_width=40)
        row.add_row(body, _element_view(accessory, controls, b, -1))
        return row
    if kind == "actions":
        shown = [
            _element_view(e, controls, b, i) for i, e in enumerate(block.get("elements") or []) if isinstance(e, dict)
        ]
        line = Text()
        for item in shown:
            if line:
                line.append("\n" if "\n" in item.plain or "\n" in line.plain else "   ")
            line.append_text(item)
        return line
    if kind == "image":
        return plain_text(f"[image: {block.get('alt_text') or 'no description'}]")
    if kind == "rich_text":
        return Text(inert(_rich_text(block)))
    return Text(f"({inert(str(kind))[:40]} block: not drawn in the sandbox)", style="dim")


def _rich_text(node: object) -> str:
    """The words of a rich_text block, without its styling."""
    if isinstance(node, dict):
        if isinstance(node.get("text"), str):
            return str(node["text"])
        return "".join(_rich_text(child) for child in node.get("elements") or [])
    if isinstance(node, list):
        return "".join(_rich_text(child) for child in node)
    return ""


def message_view(
    message: Message,
    controls: Sequence[Control] = (),
    channels: Mapping[str, str] | None = None,
    users: Mapping[str, str] | None = None,
    *,
    updated: bool = False,
) -> RenderableType:
    """One message as a panel: who sees it (only you, or the channel), its blocks and numbered controls."""
    names = (channels or {}, users or {})
    where = "#" + inert(names[0].get(message.channel) or message.channel)
    if message.ephemeral:
        title = Text(f"Only you can see this · in {where}", style="dim italic")
        border = "blue"
    else:
        title = Text(f"Posted in {where} · everyone there sees it", style="bold")
        border = "green"
    if updated:
        title.append(" · updated in place", style="dim")
    numbered = {c.where: c for c in controls if c.message is message}
    if message.blocks:
        parts: list[RenderableType] = []
        for b, block in enumerate(message.blocks):
            if parts and "divider" not in (block.get("type"), message.blocks[b - 1].get("type")):
                parts.append(Text(""))  # Slack leaves a gap between blocks; a divider is a gap of its own
            parts.append(_block_view(block, b, numbered, names))
    else:
        parts = [mrkdwn_text(message.text, *names)]
    return Panel(Group(*parts), title=title, title_align="left", border_style=border)


def reply_view(sandbox: SlackSandbox, reply: SlackReply) -> RenderableType:
    """Every message of a reply, and what Slack would have refused."""
    parts: list[RenderableType] = [
        Text("Slack would have refused: " + inert(p), style="yellow") for p in reply.problems
    ]
    channels, users = sandbox.channel_names(), sandbox.user_names()
    for message in reply.messages:
        if message.deleted:
            parts.append(Text("(the message was deleted)", style="dim"))
            continue
        parts.append(message_view(message, reply.controls, channels, users, updated=message is reply.updated))
    return Group(*parts)


def choices_view(found: Sequence[Control]) -> RenderableType:
    """The entries `? words` fetched, numbered."""
    if not found:
        return Text("No entries: try other words.", style="dim")
    lines = Text()
    for control in found:
        if lines:
            lines.append("\n")
        lines.append_text(_number(control))
        lines.append_text(plain_text(control.label))
    return lines


# -- rehearsals ---------------------------------------------------------------------------------------------------


class SlackRehearsalPoster(PrintingPoster):
    """A rehearsal's notices stamped with the simulated time, posted by the app's own live poster into #general."""

    def __init__(self, sandbox: SlackSandbox, console: Console, clock: Clock, zone: ZoneInfo) -> None:
        super().__init__(clock, zone, lambda line: console.print(Text(line, style="dim")))
        bot = sandbox.bot
        if bot is None:
            raise UserFacingError("The sandbox's app is not running.")
        self.sandbox = sandbox
        self.console = console
        self.ids = bot.ids
        # A poster of its own: what one rehearsal sent is no reason to skip the next one's notices.
        self.live = SlackLivePoster(bot.client, bot.ids, bot.live_poster.store, clock)

    async def up_next(self, guild_id: int, channel_id: int, notice: UpNext, nonce: str) -> PostResult:
        """Post the talks about to start, as the app does."""
        team, channel = await self._where()
        return self._shown(await self.live.up_next(team, channel, notice, nonce))

    async def changes(self, guild_id: int, channel_id: int, notice: ChangeNotice, nonce: str) -> PostResult:
        """Post a batch of programme changes, as the app does."""
        team, channel = await self._where()
        return self._shown(await self.live.changes(team, channel, notice, nonce))

    async def _where(self) -> tuple[int, int]:
        return await self.ids.number(self.sandbox.emulator.team_id), await self.ids.number(GENERAL)

    def _shown(self, result: PostResult) -> PostResult:
        self.say(f"{self._stamp()}  #general")
        reply = self.sandbox.unseen()
        if reply is not None:
            self.console.print(reply_view(self.sandbox, reply))
        self.posted += 1
        return result


# -- the prompt --------------------------------------------------------------------------------------------------

_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u206a-\u206f\ufeff\ufff9-\ufffb]")


def json_document(value: object) -> str:
    """JSON for a terminal: characters that could drive it, or make text read backwards, escaped as JSON allows."""
    text = json.dumps(value, indent=2, ensure_ascii=False)  # C0 controls are escaped by json itself
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def show(console: Console, sandbox: SlackSandbox, reply: SlackReply, *, as_json: bool) -> None:
    """Print a reply drawn for people, or (`as_json`) what the bot sent: one object, or a list of several."""
    if as_json:
        console.out(json_document(reply.raw[0] if len(reply.raw) == 1 else reply.raw), highlight=False)
    else:
        console.print(reply_view(sandbox, reply))


async def rehearse_here(sandbox: SlackSandbox, arguments: str, console: Console) -> int:
    """`rehearse EVENT [start:] [speed:] [lead:] [timezone:]` through the app; how many notices it posted."""
    return await rehearse_through(
        sandbox.database, arguments, console, lambda clock, zone: SlackRehearsalPoster(sandbox, console, clock, zone)
    )


async def run_once(sandbox: SlackSandbox, line: str, console: Console, *, as_json: bool) -> int:
    """Run one command (`--command`) and print its reply; 1 if it could not be sent or came to nothing."""
    try:
        rehearsal = rehearsal_line(line)
        if rehearsal is not None:
            return 0 if await rehearse_here(sandbox, rehearsal, console) else 1
        show(console, sandbox, await sandbox.send(line), as_json=as_json)
    except UserFacingError as exc:
        console.print(Text(inert(exc.message), style="red"))
        return 1
    except TimeoutError:
        console.print(Text("The app did not answer in time.", style="red"))
        return 1
    return 0


def admin_switch(sandbox: SlackSandbox, line: str) -> str | None:
    """Handle `admin`, `admin on` or `admin off`; what to say, or None if the line is something else."""
    match = _ADMIN.fullmatch(line)
    if match is None:
        return None
    if match.group(1):
        sandbox.admin = match.group(1) == "on"
    if sandbox.admin:
        return "You are an admin of the sandbox workspace: /highlights is yours. (admin off to be a member again)"
    return "You are a member of the sandbox workspace. (admin on to be an admin, to set up /highlights)"


async def _each(lines: Iterable[str] | AsyncIterable[str]) -> AsyncIterator[str]:
    if isinstance(lines, AsyncIterable):
        async for line in lines:
            yield line
    else:
        for line in lines:
            yield line


async def interact(
    sandbox: SlackSandbox, console: Console, lines: Iterable[str] | AsyncIterable[str], *, echo: bool = True
) -> int:
    """Answer each line (commands, numbers, `? words`, admin, help) until quit or the end of the lines.

    With `echo`, each line is printed after the prompt first, as a transcript shows it.
    """
    async for typed in _each(lines):
        line = typed.strip()
        if echo:
            console.print(Text(PROMPT + inert(line), style="bold"))
        if line in _QUIT:
            return 0
        await _answer(sandbox, console, line)
        posted = sandbox.unseen()
        if posted is not None:
            console.print(Text("Meanwhile, the bot posted:", style="dim"))
            show(console, sandbox, posted, as_json=False)
    return 0


async def _answer(sandbox: SlackSandbox, console: Console, line: str) -> None:
    """Answer one line that is not quit."""
    if not line:
        return
    if line in ("help", "/help"):
        console.print(Text(HELP))
        return
    said = admin_switch(sandbox, line)
    if said is not None:
        console.print(Text(said, style="cyan"))
        return
    try:
        rehearsal = rehearsal_line(line)
        if rehearsal is not None:
            await rehearse_here(sandbox, rehearsal, console)
        elif line.isdigit():
            show(console, sandbox, await sandbox.click(int(line)), as_json=False)
        elif line.startswith("?"):
            console.print(choices_view(await sandbox.search(line[1:].strip())))
        else:
            show(console, sandbox, await sandbox.send(line), as_json=False)
    except UserFacingError as exc:
        console.print(Text(inert(exc.message), style="red"))
    except TimeoutError:
        console.print(Text("The app did not answer in time.", style="red"))


async def _typed_lines(console: Console) -> AsyncIterator[str]:
    """Lines typed at the prompt, until Ctrl-D."""
    while True:
        try:
            yield await asyncio.to_thread(input, "\n" + PROMPT)
        except EOFError:
            console.print()
            return


async def interactive(sandbox: SlackSandbox, console: Console) -> int:
    """The prompt, until quit or Ctrl-D."""
    _install_completion()
    console.rule("Talk highlights sandbox · Slack")
    console.print(Text("The real Slack app, answering a local stand-in for Slack. Type help for help.", style="dim"))
    console.print(Text("Try: " + "   ".join(EXAMPLES), style="cyan"))
    zone = sandbox.emulator.users[USER].tz
    console.print(Text(f"You are “{USER_NAME}” ({zone}), typing in #general.", style="dim"))
    if sandbox.admin:
        console.print(Text("You are a workspace admin, so /highlights setup works too.", style="dim"))
    return await interact(sandbox, console, _typed_lines(console), echo=False)


def completions(text: str) -> list[str]:
    """Tab's candidates for the line typed so far: command names, /highlights' subcommands, option names."""
    if " " not in text:
        words = [f"/{name} " for name in COMMAND_NAMES] + ["help", "quit", "admin on", "admin off"]
        return [word for word in words if word.startswith(text)]
    name, _, rest = text.partition(" ")
    name = name.removeprefix("/")
    if name == "highlights":
        sub, space, rest = rest.partition(" ")
        if not space:
            return [f"/highlights {s} " for s in HIGHLIGHTS_SUBCOMMANDS if s.startswith(sub)]
        spec = SUBCOMMANDS.get(f"highlights {sub}")
    else:
        spec = COMMANDS.get(name)
    if spec is None:
        return []
    start = text.rfind(" ") + 1
    word = text[start:]
    if ":" in word:
        return []
    given = set(re.findall(r"\s([a-z_][a-z0-9_-]*):", text))
    return [text[:start] + f"{option}:" for option in spec.options if option.startswith(word) and option not in given]


def _install_completion() -> None:
    try:
        import readline
    except ImportError:
        return

    found: list[str] = []

    def complete(text: str, state: int) -> str | None:
        if state == 0:
            found[:] = completions(text)  # the whole line up to the cursor: no delimiters are set
        return found[state] if state < len(found) else None

    readline.set_completer_delims("")
    readline.parse_and_bind("tab: complete")
    readline.set_completer(complete)


async def run_slack_sandbox(
    database: Path, console: Console, command: str | None, *, as_json: bool, admin: bool = False
) -> int:
    """`python -m bot sandbox --platform slack`: one command (`command`) or the prompt; the exit status."""
    async with SlackSandbox(database, admin=admin) as sandbox:
        if command is not None:
            return await run_once(sandbox, command, console, as_json=as_json)
        return await interactive(sandbox, console)
