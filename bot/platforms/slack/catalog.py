"""/catalog in Slack: the bot owner's catalogue tools, for the members the operator names.

A slash command cannot carry a file, so `/catalog import` (a schedule export) and `/catalog recordings` (a
list of videos, matched to their talks) open a modal with a file input and the options; on submit the file
is fetched from Slack with the bot's token and applied all or nothing, and the report comes as a direct
message. `/catalog follow <url> [interval:5]` keeps an event in step with its published schedule (polled
once at once; its changes become live notices), `/catalog following` lists what is followed and
`/catalog unfollow <n>` stops. The catalogue is the bot's (shared by every workspace it serves), so only the
Slack member ids in `SLACK_CATALOG_OWNERS` may change it, never a workspace's admins as such.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalogue.formats.options import ImportOptions
from bot.catalogue.importer import MAX_FILE_BYTES, format_report
from bot.catalogue.service import CatalogueService
from bot.commands.text import CommandSpec, UsageError
from bot.errors import UserFacingError
from bot.live.follow import FollowService
from bot.live.service import LiveService
from bot.platforms.slack import blocks
from bot.platforms.slack.background import in_background
from bot.recordings.announce import AnnouncementService
from bot.recordings.apply import RecordingOptions, import_recordings
from bot.recordings.matcher import DEFAULT_MIN_CONFIDENCE
from bot.recordings.summary import summary_lines

log = logging.getLogger(__name__)

MODAL = "catalog_import"
RECORDINGS_MODAL = "catalog_recordings"
FILE, FORMAT, DRY_RUN, EVENT, TIMEZONE = "file", "format", "dry_run", "event", "timezone"
MIN_CONFIDENCE = "min_confidence"
FORMATS = ("auto", "native", "schedule-json", "schedule-xml", "sessionize", "sched", "csv")
FILE_TYPES = ("json", "xml", "csv", "ics", "toml", "txt")
RECORDING_FILE_TYPES = ("json", "jsonl", "csv", "xml", "toml", "txt")
USAGE = "/catalog import | recordings | follow <url> [interval:5] | following | unfollow <n>"
MODALS = ("import", "recordings")  # the subcommands that open a modal (a file cannot come with a command)
FOLLOW = CommandSpec(
    "catalog follow",
    ("url", "interval", "event", "timezone"),
    ("url",),
    "/catalog follow https://pretalx.example.org/conf/schedule/export/schedule.json interval:5",
)
_ADDRESS = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)  # a bare address (its scheme is checked later)
UNFOLLOW = CommandSpec("catalog unfollow", ("follow",), ("follow",), "/catalog unfollow 2")
DOWNLOAD_TIMEOUT = 60.0
NOT_ALLOWED = (
    "Only the members the bot's operator names in SLACK_CATALOG_OWNERS can change the catalogue from Slack "
    "(it is shared by every workspace the bot serves); the command line's `import` always can."
)


def import_modal() -> dict[str, Any]:
    """The modal of `/catalog import`: the file, its format, a dry run, and the options files may need."""
    formats = [{"text": {"type": "plain_text", "text": name}, "value": name} for name in FORMATS]
    return {
        "type": "modal",
        "callback_id": MODAL,
        "title": {"type": "plain_text", "text": "Import talks"},
        "submit": {"type": "plain_text", "text": "Import"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": FILE,
                "label": {"type": "plain_text", "text": "A schedule export"},
                "hint": {"type": "plain_text", "text": "pretalx/frab JSON or XML, Sessionize, Sched .ics, CSV, TOML"},
                "element": {"type": "file_input", "action_id": FILE, "filetypes": list(FILE_TYPES), "max_files": 1},
            },
            {
                "type": "input",
                "block_id": FORMAT,
                "label": {"type": "plain_text", "text": "Format"},
                "element": {
                    "type": "static_select",
                    "action_id": FORMAT,
                    "options": formats,
                    "initial_option": formats[0],
                },
            },
            {
                "type": "input",
                "block_id": DRY_RUN,
                "optional": True,
                "label": {"type": "plain_text", "text": "Dry run"},
                "element": {
                    "type": "checkboxes",
                    "action_id": DRY_RUN,
                    "options": [{"text": {"type": "plain_text", "text": "Only say what would change"}, "value": "yes"}],
                },
            },
            _text_input(EVENT, "Event name (Sessionize and CSV files do not carry one)"),
            _text_input(TIMEZONE, "Time zone of times without an offset, such as Europe/London"),
        ],
    }


def recordings_modal() -> dict[str, Any]:
    """The modal of `/catalog recordings`: the list of videos, the event, a dry run and the threshold."""
    return {
        "type": "modal",
        "callback_id": RECORDINGS_MODAL,
        "title": {"type": "plain_text", "text": "Match recordings"},
        "submit": {"type": "plain_text", "text": "Match"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": FILE,
                "label": {"type": "plain_text", "text": "A list of videos"},
                "hint": {
                    "type": "plain_text",
                    "text": "YouTube API or yt-dlp JSON, pyvideo, media.ccc.de, pretalx-youtube, CSV of url,title",
                },
                "element": {
                    "type": "file_input",
                    "action_id": FILE,
                    "filetypes": list(RECORDING_FILE_TYPES),
                    "max_files": 1,
                },
            },
            _text_input(EVENT, "Only talks of this event (and its co-located events)"),
            {
                "type": "input",
                "block_id": DRY_RUN,
                "optional": True,
                "label": {"type": "plain_text", "text": "Dry run"},
                "element": {
                    "type": "checkboxes",
                    "action_id": DRY_RUN,
                    "options": [{"text": {"type": "plain_text", "text": "Only say what would change"}, "value": "yes"}],
                },
            },
            _text_input(
                MIN_CONFIDENCE, f"How sure a match must be to be written ({DEFAULT_MIN_CONFIDENCE} unless given)"
            ),
        ],
    }


def _text_input(block_id: str, label: str) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": {"type": "plain_text", "text": label},
        "element": {"type": "plain_text_input", "action_id": block_id, "max_length": 200},
    }


class SlackCatalog:
    """`/catalog`: the import and recordings modals, and the followed schedules."""

    def __init__(
        self,
        catalogue: CatalogueService,
        owners: Sequence[str],
        *,
        follows: FollowService | None = None,
        live: LiveService | None = None,
        announcements: AnnouncementService | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.owners = frozenset(owners)
        self.follows = follows
        self.live = live
        self.announcements = announcements

    @staticmethod
    def opens_modal(text: str) -> bool:
        """Whether `/catalog <text>` opens a modal (`command`) rather than answering in words (`answer`)."""
        words = text.strip().split()
        return bool(words) and words[0] in MODALS

    async def command(self, ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        """`/catalog import` or `recordings`: the modal for owners, a kind refusal for everyone else."""
        if str(command.get("user_id", "")) not in self.owners:
            await ack(response_type="ephemeral", **blocks.error_message(NOT_ALLOWED))
            return
        word = (command.get("text") or "").strip().split()[:1]
        if not word or word[0] not in MODALS:
            await ack(response_type="ephemeral", **blocks.usage_message(f"Usage: {USAGE}"))
            return
        await ack()
        view = import_modal() if word == ["import"] else recordings_modal()
        await client.views_open(trigger_id=str(command.get("trigger_id", "")), view=view)

    async def answer(self, text: str, *, user: str) -> dict[str, Any]:
        """The answer to `/catalog follow | following | unfollow` (anything else: how to write /catalog)."""
        if user not in self.owners:
            raise UserFacingError(NOT_ALLOWED)
        word, _, rest = text.strip().partition(" ")
        if word == "follow":
            return await self._follow(rest)
        if word == "following":
            return await self._following()
        if word == "unfollow":
            return await self._unfollow(rest)
        raise UsageError("Say what to do with the catalogue." if not word else f"No /catalog {word[:40]}.", USAGE)

    async def submitted(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A modal was submitted: close it at once; the work runs on and its report comes as a message."""
        user = str((body.get("user") or {}).get("id", ""))
        if user not in self.owners:
            await ack(response_action="errors", errors={FILE: NOT_ALLOWED[:150]})
            return
        view = body.get("view") or {}
        values = (view.get("state") or {}).get("values") or {}
        files = _value(values, FILE).get("files") or []
        if not files:
            await ack(response_action="errors", errors={FILE: "Pick the file."})
            return
        if view.get("callback_id") == RECORDINGS_MODAL:
            await ack()
            in_background(self._recordings(user, files[0], values, client), "/catalog recordings")
            return
        await ack()
        in_background(self._import(user, files[0], values, client), "/catalog import")

    async def _import(self, user: str, file: dict[str, Any], values: dict[str, Any], client: AsyncWebClient) -> None:
        name = str(file.get("name") or "upload")
        try:
            options = ImportOptions(
                format=str((_value(values, FORMAT).get("selected_option") or {}).get("value") or "auto"),
                event=_text(values, EVENT),
                timezone=_text(values, TIMEZONE),
                interface="slack",
            )
            options.zone()  # a misspelt zone fails before the file is fetched
            dry_run = bool(_value(values, DRY_RUN).get("selected_options"))
            data = await _download(file, client.token)
            report = await self.catalogue.import_data(data, name, options, dry_run=dry_run)
            message = _report("\n".join(format_report(report, limit=10)))
        except UserFacingError as error:
            message = blocks.error_message(error.message)
        except Exception:
            log.exception("the import of %s from Slack failed", name)
            message = blocks.error_message(f"The import of {name} failed on our side; nothing was changed.")
        await client.chat_postMessage(channel=user, **message)

    async def _recordings(
        self, user: str, file: dict[str, Any], values: dict[str, Any], client: AsyncWebClient
    ) -> None:
        name = str(file.get("name") or "upload")
        try:
            threshold = _text(values, MIN_CONFIDENCE) or ""
            try:
                confidence = float(threshold) if threshold else DEFAULT_MIN_CONFIDENCE
            except ValueError:
                raise UserFacingError(f"min_confidence “{threshold[:20]}” is not a number such as 0.85.") from None
            options = RecordingOptions(event=_text(values, EVENT), min_confidence=confidence, interface="slack")
            options.check()  # a threshold outside 0-1 fails before the file is fetched
            dry_run = bool(_value(values, DRY_RUN).get("selected_options"))
            data = await _download(file, client.token)
            places = 0
            if self.announcements is not None:  # the links and their announcements in one transaction
                report, places = await self.announcements.import_recordings(data, name, options, dry_run=dry_run)
            else:
                report = await import_recordings(self.catalogue.db, data, name, options, dry_run=dry_run)
            await self.catalogue.refresh()
            lines = summary_lines(report)
            if places:
                lines.append(f"The new recordings will be announced in {places} place{'s' * (places != 1)}.")
            message = _report("\n".join(lines))
        except UserFacingError as error:
            message = blocks.error_message(error.message)
        except Exception:
            log.exception("the recordings of %s from Slack failed", name)
            message = blocks.error_message(f"The recordings of {name} failed on our side; nothing was changed.")
        await client.chat_postMessage(channel=user, **message)

    # -- followed schedules --------------------------------------------------------------------------------

    def _follows(self) -> FollowService:
        if self.follows is None:
            raise UserFacingError("Following schedules is not available here.")
        return self.follows

    async def _follow(self, text: str) -> dict[str, Any]:
        text = text.strip()
        first, _, rest = text.partition(" ")
        bare = first.strip("<>").split("|", 1)[0]  # Slack may write a link as <https://…> or <https://…|label>
        if _ADDRESS.match(bare):
            options = FOLLOW.read(f"url:{bare} {rest}")  # a bare address's "https:" would read as an option
        else:
            options = FOLLOW.read(text)
            options["url"] = options["url"].strip("<>").split("|", 1)[0]
        interval = options.get("interval", "").strip()
        if interval and not interval.isdigit():
            raise UsageError(f"interval: “{interval[:20]}” is not a number of minutes.", FOLLOW.usage)
        follows = self._follows()
        followed = await follows.follow(
            options["url"],
            int(interval) if interval else None,
            event_name=options.get("event"),
            timezone=options.get("timezone"),
        )
        result = await follows.poll(followed.id)
        if result.changes and self.live is not None:
            await self.live.take_changes()
        text = f"Following #{followed.id} every {followed.interval_minutes} minutes. First poll: {result.summary}"
        return blocks.notice_message(blocks.escape(text, 2000))

    async def _following(self) -> dict[str, Any]:
        follows = await self._follows().list()
        lines = [
            f"#{f.id} {f.url} every {f.interval_minutes} min · {f.last_status}"
            + (f" · fetched {f.last_fetched_at:%Y-%m-%d %H:%M} UTC" if f.last_fetched_at else "")
            + (f"\n    {f.last_summary}" if f.last_summary else "")
            for f in follows
        ]
        if not lines:
            return blocks.notice_message("No schedule is followed. `/catalog follow <url>` follows one.")
        return _report("\n".join(lines))

    async def _unfollow(self, text: str) -> dict[str, Any]:
        number = UNFOLLOW.read(text)["follow"].strip().lstrip("#")
        if not number.isdigit():
            raise UsageError(f"“{number[:20]}” is not a number from /catalog following.", UNFOLLOW.usage)
        gone = await self._follows().unfollow(int(number))
        return blocks.notice_message(f"No longer following {blocks.escape(gone.url, 300)}. Its talks stay.")


def _report(text: str) -> dict[str, Any]:
    """A report shown as written, in a code block (nothing in it is read as a link or a mention)."""
    return {"text": blocks.escape(text, 3000), "blocks": [blocks.code_section(text)]}


def _value(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (values.get(block_id) or {}).get(block_id) or {}
    return found


def _text(values: dict[str, Any], block_id: str) -> str | None:
    text = str(_value(values, block_id).get("value") or "").strip()
    return text or None


async def _download(file: dict[str, Any], token: str | None) -> bytes:
    """The file's bytes, fetched from Slack with the bot's token; refused beyond MAX_FILE_BYTES."""
    size = int(file.get("size") or 0)
    if size > MAX_FILE_BYTES:
        raise UserFacingError(f"{file.get('name')} is {size:,} bytes; at most {MAX_FILE_BYTES:,} can be imported.")
    url = str(file.get("url_private_download") or file.get("url_private") or "")
    if not url.startswith(("https://", "http://")):
        raise UserFacingError("Slack gave no address to fetch the file from; try uploading it again.")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url, headers=headers) as response:
        if response.status != 200:
            raise UserFacingError(f"Slack would not hand over the file (HTTP {response.status}); try again.")
        data = await response.content.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UserFacingError(f"{file.get('name')} is larger than the {MAX_FILE_BYTES:,} bytes that can be imported.")
    return data
