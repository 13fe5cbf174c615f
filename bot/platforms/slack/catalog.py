"""/catalog in Slack: importing a schedule export into the catalogue, for the members the operator names.

A slash command cannot carry a file, so `/catalog import` opens a modal with a file input and the import's
options; on submit the file is fetched from Slack with the bot's token and imported all or nothing, and the
report comes as a direct message. The catalogue is the bot's (shared by every workspace it serves), so
only the Slack member ids in `SLACK_CATALOG_OWNERS` may change it, never a workspace's admins as such.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalogue.formats.options import ImportOptions
from bot.catalogue.importer import MAX_FILE_BYTES, format_report
from bot.catalogue.service import CatalogueService
from bot.errors import UserFacingError
from bot.platforms.slack import blocks
from bot.platforms.slack.background import in_background

log = logging.getLogger(__name__)

MODAL = "catalog_import"
FILE, FORMAT, DRY_RUN, EVENT, TIMEZONE = "file", "format", "dry_run", "event", "timezone"
FORMATS = ("auto", "native", "schedule-json", "schedule-xml", "sessionize", "sched", "csv")
FILE_TYPES = ("json", "xml", "csv", "ics", "toml", "txt")
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


def _text_input(block_id: str, label: str) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": {"type": "plain_text", "text": label},
        "element": {"type": "plain_text_input", "action_id": block_id, "max_length": 200},
    }


class SlackCatalog:
    """`/catalog import` and its modal."""

    def __init__(self, catalogue: CatalogueService, owners: Sequence[str]) -> None:
        self.catalogue = catalogue
        self.owners = frozenset(owners)

    async def command(self, ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        """`/catalog import`: the modal for owners, a kind refusal for everyone else."""
        if str(command.get("user_id", "")) not in self.owners:
            await ack(response_type="ephemeral", **blocks.error_message(NOT_ALLOWED))
            return
        if (command.get("text") or "").strip().split()[:1] != ["import"]:
            await ack(response_type="ephemeral", **blocks.usage_message("Usage: /catalog import"))
            return
        await ack()
        await client.views_open(trigger_id=str(command.get("trigger_id", "")), view=import_modal())

    async def submitted(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The modal was submitted: close it at once; the import runs on and its report comes as a message."""
        user = str((body.get("user") or {}).get("id", ""))
        if user not in self.owners:
            await ack(response_action="errors", errors={FILE: NOT_ALLOWED[:150]})
            return
        values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
        files = _value(values, FILE).get("files") or []
        if not files:
            await ack(response_action="errors", errors={FILE: "Pick the file to import."})
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
            text = "\n".join(format_report(report, limit=10))
            message: dict[str, Any] = {"text": blocks.escape(text, 3000), "blocks": [blocks.code_section(text)]}
        except UserFacingError as error:
            message = blocks.error_message(error.message)
        except Exception:
            log.exception("the import of %s from Slack failed", name)
            message = blocks.error_message(f"The import of {name} failed on our side; nothing was changed.")
        await client.chat_postMessage(channel=user, **message)


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
