"""Scheduled highlights in Slack channels: the scheduler's `Poster` for Slack.

Slack has no nonce, so "exactly once" is kept another way (see bot/highlights/ports.py for the rest):

- the slot is claimed in the database before anything is sent, as on Discord;
- the Web API client never retries by itself (`build_client`): a repeated `chat.postMessage` is a second
  message;
- every post carries the slot's nonce in its message metadata (`event_type` "talk_highlight");
- a slot whose send had an unknown outcome (a timeout, a dropped connection, a crash mid-send) is sent again
  only after the channel's recent history was read and holds no message with that nonce. If the history
  cannot be read, the outcome stays unknown and the slot is given up once the scheduler's window passes:
  a missed post is possible then, a double post never.

Slack's answers become the scheduler's failures: 429 with `Retry-After` is waited out; `channel_not_found`,
`not_in_channel`, `is_archived` and a revoked token or uninstalled app are failures with a reason the
admins see in `/highlights status`, and pause the schedule after repeated failures.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalogue.service import CatalogueService
from bot.highlights.ports import (
    ChannelGone,
    GuildGone,
    PostFailure,
    PostResult,
    RateLimited,
    Schedule,
    TalkGone,
    TransientError,
    UnknownOutcome,
)
from bot.platforms.slack import blocks
from bot.services.ids import SlackIds

log = logging.getLogger(__name__)

EVENT_TYPE = "talk_highlight"
POST_TIMEOUT = 10.0  # seconds; a post that takes longer has an unknown outcome
HISTORY_PAGE = 200
_GONE = {"account_inactive", "invalid_auth", "not_authed", "token_revoked", "token_expired", "team_access_not_granted",
         "app_uninstalled", "ekm_access_denied"}  # fmt: skip
_UNCERTAIN = {"fatal_error", "internal_error"}  # Slack: "some aspect of the operation may have succeeded"
_TRANSIENT = {"service_unavailable", "request_timeout", "team_added_to_org"}


def build_client(token: str | None, api_url: str | None = None) -> AsyncWebClient:
    """A Web API client that never retries on its own (see the module docstring)."""
    client = AsyncWebClient(token=token, base_url=api_url or AsyncWebClient.BASE_URL, timeout=int(POST_TIMEOUT))
    client.retry_handlers.clear()
    return client


def ts_number(ts: str) -> int:
    """A message's ts ("1700000000.000100") as the integer the schedule tables keep (its microseconds)."""
    seconds, _, fraction = ts.partition(".")
    return int(seconds) * 1_000_000 + int((fraction + "000000")[:6])


def ts_text(number: int) -> str:
    """The ts an integer from `ts_number` stands for."""
    return f"{number // 1_000_000}.{number % 1_000_000:06d}"


class SlackPoster:
    """Posts a schedule's highlight to its Slack channel (the schedule's ids are `SlackIds` numbers)."""

    def __init__(
        self,
        client: AsyncWebClient,
        catalogue: CatalogueService,
        ids: SlackIds,
        *,
        timeout: float = POST_TIMEOUT,
        tokens: Callable[[str], Awaitable[str | None]] | None = None,
    ) -> None:
        self.client = client
        self.catalogue = catalogue
        self.ids = ids
        self.tokens = tokens  # a workspace's bot token, when the app is installed in many (else the client's)
        self.timeout = timeout  # seconds; a post that takes longer has an unknown outcome

    async def post(self, schedule: Schedule, talk: str, nonce: str) -> PostResult:
        """Post `talk` once (see the module docstring); raise a PostFailure if that fails."""
        channel = await self.ids.slack_id(schedule.channel_id)
        if channel is None:
            raise ChannelGone()
        token: dict[str, Any] = {}  # the workspace's own token, when the app is installed in many
        if self.tokens is not None:
            team = await self.ids.slack_id(schedule.guild_id)
            bot_token = None if team is None else await self.tokens(team)
            if bot_token is None:
                raise PostFailure("the app is no longer installed in this workspace")
            token = {"token": bot_token}
        found = await self.catalogue.talk_by_slug(talk)
        if found is None:
            raise TalkGone(talk)
        if schedule.attempt is not None and schedule.attempt.nonce == nonce:
            earlier = await self._posted(channel, nonce, schedule.attempt.claimed_at, token)
            if earlier is not None:
                log.info("schedule %s: its earlier send of slot %s went out; not sending again", schedule.id, nonce)
                return PostResult(ts_number(earlier))
        message = blocks.talk_message(
            found,
            usual_language=self.catalogue.usual_language(),
            more_value=found.slug,
            share_value=None,
            save_value=found.slug,  # whoever sees the post may save it to their own list
        )
        metadata = {"event_type": EVENT_TYPE, "event_payload": {"nonce": nonce, "schedule": schedule.id}}
        try:
            response = await asyncio.wait_for(
                self.client.chat_postMessage(
                    channel=channel,
                    text="Highlight: " + str(message["text"]),
                    blocks=message["blocks"],
                    metadata=metadata,
                    unfurl_links=False,
                    unfurl_media=False,
                    **token,
                ),
                self.timeout,
            )
        except TimeoutError as error:
            raise UnknownOutcome("Slack did not answer in time; the post may or may not have gone out") from error
        except SlackApiError as error:
            raise _failure(error) from error
        except aiohttp.ClientConnectorError as error:  # no connection was made: nothing was sent
            raise TransientError(f"could not reach Slack ({error.__class__.__name__})") from error
        except (aiohttp.ClientError, OSError) as error:
            raise UnknownOutcome(f"the connection to Slack failed mid-request ({error.__class__.__name__})") from error
        return PostResult(ts_number(str(response["ts"])))

    async def _posted(self, channel: str, nonce: str, since: datetime, token: dict[str, Any]) -> str | None:
        """The ts of a message in the channel carrying `nonce`, sent since `since`; None if there is none."""
        try:
            response = await asyncio.wait_for(
                self.client.conversations_history(
                    channel=channel,
                    oldest=f"{since.timestamp() - 60:.6f}",
                    limit=HISTORY_PAGE,
                    include_all_metadata=True,
                    **token,
                ),
                self.timeout,
            )
        except (SlackApiError, TimeoutError, aiohttp.ClientError, OSError) as error:
            reason = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
            raise UnknownOutcome(
                f"an earlier send may have gone out and the channel's history could not be read to check ({reason})"
            ) from error
        for message in response.get("messages") or []:
            if _nonce_of(message) == nonce:
                return str(message["ts"])
        return None


def _nonce_of(message: dict[str, Any]) -> str | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != EVENT_TYPE:
        return None
    nonce = (metadata.get("event_payload") or {}).get("nonce")
    return str(nonce) if nonce is not None else None


def _failure(error: SlackApiError) -> PostFailure:
    """Slack's refusal as the scheduler's failure."""
    response = error.response
    code = str(response.get("error") or "unknown_error")
    if response.status_code == 429:
        retry = response.headers.get("Retry-After") or response.headers.get("retry-after") or "1"
        try:
            seconds = max(1.0, float(retry))
        except ValueError:
            seconds = 1.0
        return RateLimited(seconds)
    if code == "channel_not_found":
        return ChannelGone()
    if code == "not_in_channel":
        return PostFailure("the app is not in the channel: invite it there with /invite")
    if code == "is_archived":
        return PostFailure("the channel is archived")
    if code in _GONE:
        return GuildGone() if code == "team_access_not_granted" else PostFailure(
            f"Slack no longer accepts the app's token ({code}): it was uninstalled or its token revoked"
        )  # fmt: skip
    if code in _UNCERTAIN:
        return UnknownOutcome(f"Slack failed while posting ({code}); the post may or may not have gone out")
    if code in _TRANSIENT or response.status_code >= 500:
        return TransientError(f"Slack is having trouble ({code})")
    return PostFailure(f"Slack refused the post ({code})")
