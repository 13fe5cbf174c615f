"""What a person can tell an import: the format, the event, and hints for sources that leave things out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError


class Progress(Protocol):
    """Told how far an import has got: `stage` is 'parse' or 'write'; `total` is None when unknown."""

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        """Report that `done` of `total` items of `stage` are done."""


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How to read a file; every field is optional (see `python -m bot import --help`).

    - `format`: auto | native | schedule-json | schedule-xml | sessionize | sched | csv.
    - `event`: the event's name; overrides the file's (schedule formats), is needed by Sessionize
      exports (they do not name their event), is the event of CSV rows without an `event` column,
      and picks one event (with its co-located events) out of a bundled-format file.
    - `timezone`: an IANA zone (Europe/Berlin) for times written without an offset (Sessionize, CSV,
      old frab files); without it, such times keep only their date, and a warning says so.
    - `track_group`: the Sessionize category group holding tracks (its title, or part of it, or its id).
    - `recording_question`: the Sessionize custom question holding recording links (title or id).
    - `csv_map`: our column name -> the file's (`title` -> `Session name`); `separator` splits the
      speakers (and topics, organisations) of one CSV row.
    - `date_format`: how the CSV's dates are written, as for `datetime.strptime` (`%d/%m/%y`); without
      it, ISO dates and unambiguous day-first or month-first dates (27/12/14, 12/27/2014, 27.12.2014) are read.
    - `allow_empty`: let an import remove every talk of an event the catalogue has while adding none
      (refused otherwise: an empty export is far more often a mistake than a cancelled event).
    - `interface`: where the options were given, so that errors name them as the person typed them.
    """

    format: str = "auto"
    event: str | None = None
    timezone: str | None = None
    track_group: str | None = None
    recording_question: str | None = None
    csv_map: Mapping[str, str] = field(default_factory=dict)
    separator: str = ";"
    date_format: str | None = None
    allow_empty: bool = False
    interface: Literal["cli", "discord", "slack"] = "cli"

    def zone(self) -> ZoneInfo | None:
        """The `timezone` option as a zone, or None; a name that is no zone fails clearly."""
        if not self.timezone:
            return None
        return zone_named(self.timezone, self.option("timezone"))

    def option(self, field: str) -> str:
        """The option for `field` as the person typed it: `--track-group` on the command line, else `track_group`."""
        if self.interface in ("discord", "slack"):
            return _DISCORD_NAMES.get(field, field)
        return _CLI_NAMES.get(field, "--" + field.replace("_", "-"))


# Where an option's name is not the field's name: `--map` and the /catalog import option `columns`.
_CLI_NAMES = {"csv_map": "--map"}
_DISCORD_NAMES = {"csv_map": "columns"}


def zone_named(name: str, where: str) -> ZoneInfo:
    """The IANA zone of that name, or a ConfigError that says where the name came from."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{where}: {name!r} is not a time zone; use an IANA name like Europe/Berlin or UTC.") from exc


class Ticker:
    """Reports progress through a `Progress` about a hundred times per stage, not once per record."""

    def __init__(self, progress: Progress | None, stage: str, total: int | None) -> None:
        self.progress = progress
        self.stage = stage
        self.total = total
        self.step = max(1, (total or 0) // 100) if total else 1000
        self.next = 0

    def __call__(self, done: int) -> None:
        """Report `done` items, unless that is too soon after the last report."""
        if self.progress is not None and (done >= self.next or done == self.total):
            self.progress(self.stage, done, self.total)
            self.next = done + self.step

    def finish(self, done: int) -> None:
        """Report the stage as complete."""
        if self.progress is not None:
            self.progress(self.stage, done, self.total if self.total is not None else done)
