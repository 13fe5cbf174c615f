"""Commands written as one line of text: `words key:value key:"two words"`.

Slack hands a slash command its text in one argument, and the sandbox reads a whole command line; both read
it here. Bare words before the first `key:` fill the command's first option; `key:value` runs to the next
`key:`, so values may hold spaces; a value in quotes keeps its quotes' content exactly.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from bot.errors import UserFacingError

_OPTION = re.compile(r"(?:^|\s)([a-z_][a-z0-9_-]*):")
MAX_TEXT = 4000  # Slack's own limit on a slash command's text is about this


@dataclass(frozen=True, slots=True)
class SplitText:
    """A line split into the bare words before the first option, the options, and the option written last."""

    head: str
    options: dict[str, str]
    last: str | None


def split(text: str) -> SplitText:
    """Split `words key:value key:"two words"` (see the module docstring)."""
    matches = list(_OPTION.finditer(text))
    head = (text[: matches[0].start()] if matches else text).strip()
    options: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        options[match.group(1)] = _unquote(text[match.end() : end].strip())
    return SplitText(head, options, matches[-1].group(1) if matches else None)


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        if raw.count(raw[0]) == 2:
            try:
                return shlex.split(raw)[0]
            except ValueError:
                return raw[1:-1]
        return raw[1:-1]
    return raw


class UsageError(UserFacingError):
    """A command's text could not be read; the message says how to write it."""

    def __init__(self, problem: str, usage: str) -> None:
        super().__init__(f"{problem}\nUsage: {usage}")
        self.problem = problem
        self.usage = usage


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command's options in order (the first takes bare words) and which of them must be given."""

    name: str
    options: Sequence[str] = ()
    required: Sequence[str] = ()
    example: str = ""

    @property
    def usage(self) -> str:
        """How to write the command, such as `/recommend <topic> [event:…] [language:…]`."""
        parts = [f"/{self.name}"]
        for index, name in enumerate(self.options):
            shown = f"<{name}>" if index == 0 else f"{name}:…"
            parts.append(shown if name in self.required else f"[{shown}]")
        usage = " ".join(parts)
        return f"{usage}  (for example {self.example})" if self.example else usage

    def read(self, text: str) -> dict[str, str]:
        """The options the text gives (bare words fill the first); a UsageError for anything else."""
        if len(text) > MAX_TEXT:
            raise UsageError(f"That is {len(text):,} characters; a command takes at most {MAX_TEXT:,}.", self.usage)
        parts = split(text)
        unknown = [key for key in parts.options if key not in self.options]
        if unknown:
            raise UsageError(f"/{self.name} has no option “{unknown[0]}”.", self.usage)
        options = {key: value for key, value in parts.options.items() if value}
        if parts.head:
            if not self.options:
                raise UsageError(f"/{self.name} takes no words.", self.usage)
            first = self.options[0]
            if first in options:
                raise UsageError(f"Give {first} once: as the first words or as {first}:…, not both.", self.usage)
            options[first] = parts.head
        missing = [name for name in self.required if name not in options]
        if missing:
            raise UsageError(f"/{self.name} needs {missing[0]}.", self.usage)
        return options
