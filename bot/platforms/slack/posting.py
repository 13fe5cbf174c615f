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

Members' reminders (`SlackReminderSender`) go to the member's direct messages with the app the same way: the
reminder's nonce in the message's metadata (`event_type` "talk_reminder"), and a send that may have gone out
sent again only after the DM's history (`im:history`) was read and holds no message with that nonce.

Live mode's notices (`SlackLivePoster`: "Starting in 5 minutes" and programme changes) go to channels the same
way, with the notice's nonce in the metadata (`event_type` "live_notice") and the channel's history read
before a notice that may have gone out is sent again; so do announcements of new recordings
(`SlackAnnouncementPoster`, `event_type` "new_recordings").
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
    Clock,
    GuildGone,
    PostFailure,
    PostResult,
    RateLimited,
    Schedule,
    TalkGone,
    TransientError,
    UnknownOutcome,
)
from bot.live.jobs import nonce_of
from bot.live.notices import ChangeNotice, UpNext
from bot.live.store import LiveStore
from bot.platforms.slack import blocks
from bot.recordings.announce import AnnouncementStore, RecordingsNotice
from bot.recordings.announce import nonce_of as announcement_nonce
from bot.services.ids import SlackIds
from bot.watchlist.reminders import DirectMessagesClosed, Reminder

log = logging.getLogger(__name__)

EVENT_TYPE = "talk_highlight"
REMINDER_EVENT_TYPE = "talk_reminder"
LIVE_EVENT_TYPE = "live_notice"
RECORDINGS_EVENT_TYPE = "new_recordings"
POST_TIMEOUT = 10.0  # seconds; a post that takes longer has an unknown outcome
HISTORY_PAGE = 200
_GONE = {"account_inactive", "invalid_auth", "not_authed", "token_revoked", "token_expired", "team_access_not_granted",
         "app_uninstalled", "ekm_access_denied"}  # fmt: skip
_UNCERTAIN = {"fatal_error", "internal_error"}  # Slack: "some aspect of the operation may have succeeded"
_TRANSIENT = {"service_unavailable", "request_timeout", "team_added_to_org"}
# Slack's answers that mean this member's direct messages with the app cannot take a message, now or later:
# conversations.open's (a bot, an unknown, deactivated or hidden user) and chat.postMessage's (the app's
# Messages tab switched off, the DM archived with a deactivated member, posting restricted by the workspace).
_DM_CLOSED = {"cannot_dm_bot", "user_not_found", "user_disabled", "user_not_visible", "messages_tab_disabled",
              "is_archived", "restricted_action", "not_in_channel"}  # fmt: skip


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


async def _history_nonce(
    client: AsyncWebClient,
    channel: str,
    nonce: str,
    since: datetime,
    token: dict[str, Any],
    *,
    event_type: str,
    wait: float,
) -> str | None:
    """The ts of a message in the channel carrying `nonce` (of `event_type`), sent since `since`; None if none."""
    try:
        response = await asyncio.wait_for(
            client.conversations_history(
                channel=channel,
                oldest=f"{since.timestamp() - 60:.6f}",
                limit=HISTORY_PAGE,
                include_all_metadata=True,
                **token,
            ),
            wait,
        )
    except (SlackApiError, TimeoutError, aiohttp.ClientError, OSError) as error:
        reason = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
        raise UnknownOutcome(
            f"an earlier send may have gone out and the channel's history could not be read to check ({reason})"
        ) from error
    for message in response.get("messages") or []:
        if _nonce_of(message, event_type) == nonce:
            return str(message["ts"])
    return None


def _nonce_of(message: dict[str, Any], event_type: str = EVENT_TYPE) -> str | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != event_type:
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


class SlackDirectMessagesClosed(DirectMessagesClosed):
    """Slack will not take a direct message from the app to this member; retrying will not help."""

    def __init__(self, code: str) -> None:
        PostFailure.__init__(
            self,
            f"Slack would not deliver a direct message from the app to you ({code}); the app's Messages tab must"
            " be open to you",
        )


class SlackReminderSender:
    """The reminders' sender for Slack: a direct message to the member, once (see the module docstring).

    A reminder's address is `team:user`. The DM is found with conversations.open (its id kept for the
    process's life) and the message posted there with chat.postMessage. A send is checked against the DM's
    history first when it may have gone out already: its nonce was tried by this process, or the reminder was
    claimed before this process began.
    """

    def __init__(
        self,
        client: AsyncWebClient,
        catalogue: CatalogueService,
        clock: Clock,
        *,
        timeout: float = POST_TIMEOUT,
        tokens: Callable[[str], Awaitable[str | None]] | None = None,
    ) -> None:
        self.client = client
        self.catalogue = catalogue
        self.tokens = tokens  # a workspace's bot token, when the app is installed in many (else the client's)
        self.timeout = timeout
        self._started = clock.now()
        self._tried: set[str] = set()  # nonces this process has sent (or tried to)
        self._channels: dict[str, str] = {}  # address -> DM channel id

    async def remind(self, reminder: Reminder, nonce: str) -> PostResult:
        """Send the reminder; Slack's answers become PostFailures (DirectMessagesClosed for a DM that cannot be)."""
        team, _, user = reminder.address.partition(":")
        if not team or not user:
            raise SlackDirectMessagesClosed("no_member")
        token: dict[str, Any] = {}
        if self.tokens is not None:
            bot_token = await self.tokens(team)
            if bot_token is None:
                raise PostFailure("the app is no longer installed in this workspace")
            token = {"token": bot_token}
        channel = await self._open(reminder.address, user, token)
        if nonce in self._tried or (reminder.claimed_at is not None and reminder.claimed_at < self._started):
            earlier = await self._posted(channel, nonce, reminder.claimed_at or self._started, token)
            if earlier is not None:
                log.info("reminder %s: its earlier send went out; not sending again", reminder.id)
                return PostResult(ts_number(earlier))
        talk = await self.catalogue.talk_by_slug(reminder.talk)
        message = blocks.reminder_message(reminder, talk, usual_language=self.catalogue.usual_language())
        metadata = {"event_type": REMINDER_EVENT_TYPE, "event_payload": {"nonce": nonce, "reminder": reminder.id}}
        self._tried.add(nonce)
        try:
            response = await asyncio.wait_for(
                self.client.chat_postMessage(
                    channel=channel,
                    text=str(message["text"]),
                    blocks=message["blocks"],
                    metadata=metadata,
                    unfurl_links=False,
                    unfurl_media=False,
                    **token,
                ),
                self.timeout,
            )
        except TimeoutError as error:
            raise UnknownOutcome("Slack did not answer in time; the reminder may or may not have gone out") from error
        except SlackApiError as error:
            if error.response.get("error") == "channel_not_found":
                self._channels.pop(reminder.address, None)  # opened again next time
                raise TransientError("Slack no longer knows the direct message") from error
            raise _reminder_failure(error) from error
        except aiohttp.ClientConnectorError as error:
            raise TransientError(f"could not reach Slack ({error.__class__.__name__})") from error
        except (aiohttp.ClientError, OSError) as error:
            raise UnknownOutcome(f"the connection to Slack failed mid-request ({error.__class__.__name__})") from error
        return PostResult(ts_number(str(response["ts"])))

    async def _open(self, address: str, user: str, token: dict[str, Any]) -> str:
        """The member's DM channel with the app (nothing is sent yet: every failure here is certain)."""
        known = self._channels.get(address)
        if known is not None:
            return known
        try:
            opened = await asyncio.wait_for(self.client.conversations_open(users=user, **token), self.timeout)
        except TimeoutError as error:
            raise TransientError("Slack did not answer in time opening the direct message") from error
        except SlackApiError as error:
            raise _reminder_failure(error) from error
        except (aiohttp.ClientError, OSError) as error:
            raise TransientError(f"could not reach Slack ({error.__class__.__name__})") from error
        channel = str((opened.get("channel") or {}).get("id") or "")
        if not channel:
            raise TransientError("Slack opened no direct message")
        self._channels[address] = channel
        return channel

    async def _posted(self, channel: str, nonce: str, since: datetime, token: dict[str, Any]) -> str | None:
        """The ts of a reminder in the DM carrying `nonce`, sent since `since`; None if there is none."""
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
                f"an earlier send may have gone out and the direct message's history could not be read ({reason})"
            ) from error
        for message in response.get("messages") or []:
            if _nonce_of(message, REMINDER_EVENT_TYPE) == nonce:
                return str(message["ts"])
        return None


def _reminder_failure(error: SlackApiError) -> PostFailure:
    """Slack's refusal of a direct message as the reminders' failure."""
    code = str(error.response.get("error") or "unknown_error")
    if error.response.status_code != 429 and code in _DM_CLOSED:
        return SlackDirectMessagesClosed(code)
    if code == "missing_scope":
        return PostFailure("the app may not send direct messages in this workspace yet: an admin must reinstall it")
    return _failure(error)


class _ChannelNotices:
    """Notices the engine posts in a workspace's channels, each once: live mode's and new recordings'.

    Ids are `SlackIds` numbers. A notice is checked against the channel's history before it is sent when it
    may have gone out already: its nonce was tried by this process, or its post was claimed ("sending") before
    this process began (`_claimed_before`, read once, at the first notice).
    """

    event_type = ""

    def __init__(
        self,
        client: AsyncWebClient,
        ids: SlackIds,
        clock: Clock,
        *,
        timeout: float = POST_TIMEOUT,
        tokens: Callable[[str], Awaitable[str | None]] | None = None,
    ) -> None:
        self.client = client
        self.ids = ids
        self.tokens = tokens  # a workspace's bot token, when the app is installed in many (else the client's)
        self.timeout = timeout
        self._started = clock.now()
        self._tried: set[str] = set()  # nonces this process has sent (or tried to)
        self._inherited: dict[str, datetime] | None = None  # nonces claimed before this process began

    async def _claimed_before(self, started: datetime) -> dict[str, datetime]:
        """The nonces of the posts claimed ("sending") at or before `started`, with when they were claimed."""
        raise NotImplementedError

    async def _send(self, guild_id: int, channel_id: int, message: dict[str, Any], nonce: str) -> PostResult:
        channel = await self.ids.slack_id(channel_id)
        if channel is None:
            raise ChannelGone()
        token: dict[str, Any] = {}
        if self.tokens is not None:
            team = await self.ids.slack_id(guild_id)
            bot_token = None if team is None else await self.tokens(team)
            if bot_token is None:
                raise PostFailure("the app is no longer installed in this workspace")
            token = {"token": bot_token}
        since = await self._maybe_sent(nonce)
        if since is not None:
            earlier = await _history_nonce(
                self.client, channel, nonce, since, token, event_type=self.event_type, wait=self.timeout
            )
            if earlier is not None:
                log.info("%s %s: its earlier send went out; not sending again", self.event_type, nonce)
                return PostResult(ts_number(earlier))
        metadata = {"event_type": self.event_type, "event_payload": {"nonce": nonce}}
        self._tried.add(nonce)
        try:
            response = await asyncio.wait_for(
                self.client.chat_postMessage(
                    channel=channel,
                    text=str(message["text"]),
                    blocks=message["blocks"],
                    metadata=metadata,
                    unfurl_links=False,
                    unfurl_media=False,
                    **token,
                ),
                self.timeout,
            )
        except TimeoutError as error:
            raise UnknownOutcome("Slack did not answer in time; the notice may or may not have gone out") from error
        except SlackApiError as error:
            raise _failure(error) from error
        except aiohttp.ClientConnectorError as error:  # no connection was made: nothing was sent
            raise TransientError(f"could not reach Slack ({error.__class__.__name__})") from error
        except (aiohttp.ClientError, OSError) as error:
            raise UnknownOutcome(f"the connection to Slack failed mid-request ({error.__class__.__name__})") from error
        return PostResult(ts_number(str(response["ts"])))

    async def _maybe_sent(self, nonce: str) -> datetime | None:
        """Since when a message with `nonce` may be in the channel; None when it cannot have been sent yet."""
        if self._inherited is None:
            self._inherited = await self._claimed_before(self._started)
        if nonce in self._inherited:
            return self._inherited[nonce]
        return self._started if nonce in self._tried else None


class SlackLivePoster(_ChannelNotices):
    """Live mode's `LivePoster` for Slack: "Starting in 5 minutes" and change notices (`event_type` "live_notice")."""

    event_type = LIVE_EVENT_TYPE

    def __init__(
        self,
        client: AsyncWebClient,
        ids: SlackIds,
        store: LiveStore,
        clock: Clock,
        *,
        timeout: float = POST_TIMEOUT,
        tokens: Callable[[str], Awaitable[str | None]] | None = None,
    ) -> None:
        super().__init__(client, ids, clock, timeout=timeout, tokens=tokens)
        self.store = store

    async def up_next(self, guild_id: int, channel_id: int, notice: UpNext, nonce: str) -> PostResult:
        """Post the talks about to start."""
        return await self._send(guild_id, channel_id, blocks.up_next_message(notice), nonce)

    async def changes(self, guild_id: int, channel_id: int, notice: ChangeNotice, nonce: str) -> PostResult:
        """Post a batch of programme changes."""
        return await self._send(guild_id, channel_id, blocks.changes_message(notice), nonce)

    async def _claimed_before(self, started: datetime) -> dict[str, datetime]:
        return {
            nonce_of(post): post.claimed_at
            for post in await self.store.waiting()
            if post.state == "sending" and post.claimed_at is not None and post.claimed_at <= started
        }


class SlackAnnouncementPoster(_ChannelNotices):
    """The announcements' poster for Slack: "5 new recordings from KubeCon EU 2021" (`event_type` "new_recordings")."""

    event_type = RECORDINGS_EVENT_TYPE

    def __init__(
        self,
        client: AsyncWebClient,
        ids: SlackIds,
        store: AnnouncementStore,
        clock: Clock,
        *,
        timeout: float = POST_TIMEOUT,
        tokens: Callable[[str], Awaitable[str | None]] | None = None,
    ) -> None:
        super().__init__(client, ids, clock, timeout=timeout, tokens=tokens)
        self.store = store

    async def announce(self, guild_id: int, channel_id: int, notice: RecordingsNotice, nonce: str) -> PostResult:
        """Post the new recordings, grouped per event, each title linked to its video."""
        return await self._send(guild_id, channel_id, blocks.recordings_message(notice), nonce)

    async def _claimed_before(self, started: datetime) -> dict[str, datetime]:
        return {
            announcement_nonce(post): post.claimed_at
            for post in await self.store.waiting()
            if post.state == "sending" and post.claimed_at is not None and post.claimed_at <= started
        }
