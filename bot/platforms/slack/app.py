"""The Slack app: slash commands, buttons and selects over the same services as Discord's.

Slack hands a slash command its options as one line of text, read by `bot.commands.text` (bare words fill
the first option, `key:value` and `key:"two words"` the others). Every answer goes to the asker only, with a
"Share in channel" button; the blocks come from `bot.platforms.slack.blocks`.

Buttons carry what they need in their value (the command, its options and the page), so a click works the
same after a restart and needs no state kept in memory. Results are ephemeral: only the asker sees them, so
only the asker can turn their pages.

Watch lists (`/save`, `/watchlist`, `/recommend for:me`, `/settings`, `/forget-me`, and "Save" under every
talk) and reminders (`/remind-me`, `/reminders`) belong to a member of a workspace, keyed by `member_key`; every
answer about them is ephemeral, and a button acts for whoever presses it (its value names a talk, a page or a
reminder, never a member: cancelling a reminder that is not the presser's own does nothing). After a command
has its answer, the member is told once, privately, of reminders missed or not delivered since they last came.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalogue.service import SPEAKER_CARD_TALKS, CatalogueService, Result
from bot.commands.text import CommandSpec, UsageError
from bot.domain.models import Talk
from bot.errors import NotFoundError, UserFacingError
from bot.highlights.scheduler import Scheduler
from bot.live.follow import Follow, ScheduleChange
from bot.live.jobs import LiveJobs
from bot.platforms.slack import blocks
from bot.platforms.slack.background import in_background
from bot.platforms.slack.catalog import MODAL as CATALOG_MODAL
from bot.platforms.slack.catalog import RECORDINGS_MODAL, SlackCatalog
from bot.platforms.slack.highlights import SlackHighlights
from bot.platforms.slack.installs import SlackInstallations, SlackOAuthStates
from bot.platforms.slack.live import SlackLive
from bot.platforms.slack.posting import (
    SlackAnnouncementPoster,
    SlackLivePoster,
    SlackPoster,
    SlackReminderSender,
    build_client,
)
from bot.recordings.announce import AnnouncementJobs
from bot.services.container import Services
from bot.services.ids import SlackIds
from bot.watchlist.reminders import ReminderJobs
from bot.watchlist.service import PAGE_SIZE as WATCHLIST_PAGE
from bot.watchlist.service import WatchPage
from bot.watchlist.store import MAX_SAVED, STATES, State

log = logging.getLogger(__name__)

PAGE_SIZE = 5
MAX_RESULTS = 25  # five pages
SIMILAR = 15
SLACK_POSTS_PER_SECOND = 10
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
UNINSTALLED = "the app was uninstalled from this workspace"
# What the app asks a workspace for (the manifest, slack-manifest.yml, asks for the same).
# `im:write` and `files:write` open a member's direct messages with the app and send the watch list's calendar
# and reminders; `im:history` reads those direct messages only to settle a reminder whose send's outcome was lost.
BOT_SCOPES = ("commands", "chat:write", "users:read", "channels:read", "groups:read", "channels:history",
              "groups:history", "files:read", "files:write", "im:write", "im:history")  # fmt: skip
ACK_BUDGET = 2.0  # seconds an answer may take to go in the acknowledgement itself (Slack waits 3)
WORKING = "Working on it…"
GENERIC_ERROR = "Something went wrong on our side while answering that. It has been logged; please try again."

COMMANDS = {
    spec.name: spec
    for spec in (
        CommandSpec("recommend", ("topic", "event", "language", "for"), (), "/recommend mtls event:kubecon"),
        CommandSpec("talk", ("title",), ("title",), "/talk linkerd at scale"),
        CommandSpec("similar", ("title",), ("title",), "/similar linkerd at scale"),
        CommandSpec("speaker", ("name",), ("name",), "/speaker morgan"),
        CommandSpec("topics", ("tree",), (), "/topics tree:yes"),
        CommandSpec("events", (), (), "/events"),
        CommandSpec("highlight", ("topic", "event", "language"), (), "/highlight security"),
        CommandSpec("save", ("title",), ("title",), "/save tap tap"),
        CommandSpec("watchlist", ("show",), (), "/watchlist unwatched"),
        CommandSpec(
            "remind-me", ("title", "when", "timezone"), ("title", "when"), "/remind-me tap tap when:in 2 hours"
        ),
        CommandSpec("reminders", (), (), "/reminders"),
        CommandSpec("settings", ("timezone",), (), "/settings timezone:Europe/Berlin"),
        CommandSpec("forget-me", (), (), "/forget-me"),
    )
}
FOR_ME = "me"  # /recommend for:me
EXPORT = "export"  # /watchlist export
CALENDAR_FILE = "talks-to-watch.ics"  # the exported calendar's name, as Discord's export names it
CALENDAR_TITLE = "Your watch list"
REINSTALL = (
    "I could not send you your calendar: this workspace installed the app before it could send files. "
    "Ask a workspace admin to reinstall the app (it asks for permission to send you files), then try again."
)
NO_DM = "I could not send you a direct message. Open the app's Messages tab once, then try again."
ZONE_LOOKUP_TIMEOUT = 1.0  # seconds users.info may take for /remind-me's time zone (the ack waits 3 in all)
NOTHING_SAVED = (
    "Your watch list is empty, so there is nothing to go on yet. Save a few talks first (the Save button "
    "under a talk, or `/save` and a title), then try `/recommend for:me` again."
)
Message = dict[str, Any]
# A command typed without its words offers a menu that suggests as one types (Discord's autocomplete).
PICKERS = {
    "recommend": ("Which topic? Type a few letters, or give any words after /recommend.", "pick_topic", "A topic"),
    "talk": ("Which talk? Type part of its title.", "pick_talk", "A talk's title"),
    "similar": ("Talks like which one? Type part of its title.", "pick_similar", "A talk's title"),
    "speaker": ("Whose talks? Type part of a name.", "pick_person", "A speaker's name"),
    "save": ("Save which talk to your watch list? Type part of its title.", blocks.PICK_SAVE, "A talk's title"),
}


@dataclass(frozen=True, slots=True)
class Asked:
    """One slash command as Slack sent it."""

    user: str
    channel: str
    team: str
    options: dict[str, str]
    client: AsyncWebClient | None = None  # the workspace's Web API client (for a direct message)

    @property
    def member(self) -> str:
        """The asker's watch list key."""
        return member_key(self.team, self.user)


def member_key(team: str, user: str) -> str:
    """A Slack member's key for their watch list and settings: one person in one workspace."""
    if not team or not user:
        raise UserFacingError("Slack did not say who asked. Please try again.")
    return f"slack:{team}:{user}"


def _member_of(body: dict[str, Any]) -> str:
    """The key of whoever pressed a button or picked in a menu."""
    user = body.get("user") or {}
    team = str((body.get("team") or {}).get("id") or user.get("team_id") or "")
    return member_key(team, str(user.get("id") or ""))


def _state(kind: str, **values: object) -> str:
    """A button's value: what to run again when it is clicked (within Slack's 2,000 characters)."""
    return json.dumps({"k": kind, **{key: value for key, value in values.items() if value is not None}})


def _read_state(value: str | None) -> dict[str, Any]:
    try:
        state = json.loads(value or "")
    except ValueError:
        state = None
    if not isinstance(state, dict) or "k" not in state:
        raise UserFacingError("These controls are out of date. Run the command again to get fresh ones.")
    return state


def _place(team: str, channel: str) -> str | None:
    """Where a save was made, for the workspace's highlights: the workspace, or None in the app's DMs or Home."""
    if not team or not channel or channel.startswith("D"):
        return None
    return f"slack:{team}"


def _place_of(body: dict[str, Any]) -> str | None:
    """Where a button or menu was used: `_place` of its workspace and channel (none in the Home tab or a modal)."""
    team = str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or "")
    return _place(team, str((body.get("channel") or {}).get("id") or ""))


def _talk_id(value: object) -> str:
    """A talk's id from a button's value or a menu's pick."""
    slug = str(value or "").strip()
    if not slug:
        raise UserFacingError("These controls are out of date. Run the command again to get fresh ones.")
    return slug


def _watchlist_state(value: str | None) -> tuple[State, int, dict[str, Any]]:
    """A watch list control's value: the state shown, the page's offset, and the rest (`s`: a talk's id)."""
    read = _read_state(value)
    state, offset = read.get("f", "all"), read.get("o", 0)
    if read["k"] != "w" or state not in STATES or not isinstance(offset, int) or not 0 <= offset <= MAX_SAVED:
        raise UserFacingError("These controls are out of date. Run /watchlist again to get fresh ones.")
    return state, offset, read


def _watchlist_message(page: WatchPage) -> Message:
    """A page of a watch list with its controls, each value naming the page (and the talk), never the member."""
    state, offset = page.state, page.offset

    def at(where: int, shown: State = state) -> str:
        return _state("w", f=shown, o=where)

    return blocks.watchlist_message(
        page,
        mark_value=lambda item: _state("w", f=state, o=offset, s=item.slug, w=0 if item.watched else 1),
        remove_value=lambda item: _state("w", f=state, o=offset, s=item.slug),
        prev_value=at(max(0, offset - WATCHLIST_PAGE)) if offset else None,
        next_value=at(offset + len(page.items)) if page.has_more else None,
        show_values={other: at(0, other) for other in STATES if other != state},
    )


async def _send_calendar(client: AsyncWebClient, user: str, calendar: bytes, comment: str) -> None:
    """Upload the calendar to the member's direct messages with the app.

    A failure is told kindly, and logged by its Slack error code alone (never a token).
    """
    try:
        opened = await client.conversations_open(users=user)
        channel = str((opened.get("channel") or {}).get("id") or "")
        if not channel:
            raise UserFacingError(NO_DM)
        await client.files_upload_v2(
            channel=channel, content=calendar, filename=CALENDAR_FILE, title=CALENDAR_TITLE, initial_comment=comment
        )
    except SlackApiError as error:
        code = str(error.response.get("error") or "")
        needed = str(error.response.get("needed") or "")
        log.warning("a watch list export could not be sent: %s %s", code, needed)
        if code == "missing_scope":
            raise UserFacingError(REINSTALL) from error
        if error.response.status_code == 429:
            raise UserFacingError("Slack asked me to slow down. Please try the export again in a minute.") from error
        raise UserFacingError(NO_DM) from error
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:  # the upload URL refused or timed out
        log.warning("a watch list export could not be uploaded: %s", type(error).__name__)
        raise UserFacingError(NO_DM) from error


def _truthy(text: str | None) -> bool:
    return (text or "").strip().lower() in {"yes", "true", "1", "on", "y"}


class SlackCommands:
    """The listeners: each reads its command, calls a service and answers with blocks."""

    def __init__(self, services: Services, highlights: SlackHighlights, live: SlackLive | None = None) -> None:
        self.catalogue: CatalogueService = services.catalogue
        self.services = services
        self.schedules = highlights
        self.live = live

    def register(self, app: AsyncApp) -> None:
        """Add every command, button and select to `app`."""
        handlers: dict[str, Callable[[Asked], Awaitable[Message]]] = {
            "recommend": self.recommend,
            "talk": self.talk,
            "similar": self.similar,
            "speaker": self.speaker,
            "topics": self.topics,
            "events": self.events,
            "highlight": self.highlight,
            "save": self.save,
            "watchlist": self.watchlist,
            "remind-me": self.remind,  # Slack keeps /remind for its own reminders
            "reminders": self.reminders,
            "settings": self.settings,
            "forget-me": self.forget_me,
        }
        for name, handler in handlers.items():
            app.command(f"/{name}")(self._command(COMMANDS[name], handler))
        app.command("/highlights")(self._highlights)
        if self.live is not None:
            app.command("/live")(self._live)
        app.action("page_next")(self._action(self._page))
        app.action("page_prev")(self._action(self._page))
        app.action("more_like_this")(self._action(self._more_like_this, replace=False))
        app.action("share")(self._action(self._share, replace=False))
        app.action("pick_speaker")(self._action(self._pick_speaker))
        app.action("pick_talk")(self._action(self._pick_talk))
        app.options("pick_talk")(self._suggest(self.catalogue.suggest_titles))
        app.action("pick_similar")(self._action(self._pick_similar))
        app.options("pick_similar")(self._suggest(self.catalogue.suggest_titles))
        app.action("pick_person")(self._action(self._pick_person))
        app.options("pick_person")(self._suggest(self.catalogue.suggest_speakers))
        app.options("pick_topic")(self._suggest(self.catalogue.suggest_topics))
        app.action("pick_topic")(self._action(self._pick_topic))
        app.action(blocks.SAVE)(self._action(self._save, replace=False))
        app.action(blocks.PICK_SAVE)(self._action(self._pick_save, replace=False))
        app.options(blocks.PICK_SAVE)(self._suggest(self.catalogue.suggest_titles))
        for action_id in (blocks.WATCHLIST_PREV, blocks.WATCHLIST_NEXT, *blocks.WATCHLIST_SHOW.values()):
            app.action(action_id)(self._action(self._watchlist_turn))
        app.action(blocks.WATCHLIST_MARK)(self._action(self._watchlist_mark))
        app.action(blocks.WATCHLIST_REMOVE)(self._action(self._watchlist_remove))
        app.action(blocks.FORGET_ME)(self._action(self._forget_confirmed))
        app.action(blocks.REMINDER_CANCEL)(self._action(self._reminder_cancel))
        app.event("app_home_opened")(self._home)
        app.action(blocks.HOME_SEARCH)(self._open_search)
        app.view(blocks.SEARCH_MODAL)(self._search_submitted)

    # -- plumbing ----------------------------------------------------------------------------------------

    def _command(
        self, spec: CommandSpec, handler: Callable[[Asked], Awaitable[Message]]
    ) -> Callable[..., Awaitable[None]]:
        async def listener(
            ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
        ) -> None:
            async def answer() -> Message:
                text = str(command.get("text") or "").strip()
                if not text and spec.name in PICKERS:
                    return blocks.picker_message(*PICKERS[spec.name])
                asked = Asked(
                    str(command.get("user_id", "")),
                    str(command.get("channel_id", "")),
                    str(command.get("team_id", "")),
                    spec.read(str(command.get("text") or "")),
                    client,
                )
                return await handler(asked)

            await _answer_in_time(ack, respond, answer(), f"/{spec.name}", then=self._notices(command, respond))

        listener.__name__ = f"slash_{spec.name}"
        return listener

    def _action(
        self, handler: Callable[[dict[str, Any], dict[str, Any]], Awaitable[Message]], *, replace: bool = True
    ) -> Callable[..., Awaitable[None]]:
        """A button or select: acknowledged at once, answered through the response URL."""

        async def listener(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond) -> None:
            async def answer() -> None:
                try:
                    message = await handler(body, action)
                except Exception as error:  # as for commands
                    await respond(response_type="ephemeral", replace_original=False, **_failure(error, "a button"))
                    return
                shared = message.pop("response_type", "ephemeral")
                await respond(response_type=shared, replace_original=replace and shared == "ephemeral", **message)

            await ack()
            in_background(answer(), "a button")

        listener.__name__ = f"action_{handler.__name__.strip('_')}"
        return listener

    def _suggest(self, suggest: Callable[[str], list[Any]]) -> Callable[..., Awaitable[None]]:
        """An external select's options, from the same suggestions Discord's autocomplete shows."""

        async def listener(ack: AsyncAck, body: dict[str, Any]) -> None:
            try:
                found = suggest(str(body.get("value") or "")[:200])
            except Exception:  # an answer with no options beats an error in a menu
                log.exception("suggestions failed")
                found = []
            await ack(options=[blocks.option(s.key, s.label) for s in found[:100]])

        return listener

    async def _highlights(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        answer = self.schedules.answer(
            str(command.get("text") or ""),
            team=str(command.get("team_id", "")),
            channel=str(command.get("channel_id", "")),
            user=str(command.get("user_id", "")),
            request=str(command.get("trigger_id") or ""),
            client=client,
        )
        await _answer_in_time(ack, respond, answer, "/highlights", then=self._notices(command, respond))

    async def _live(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        assert self.live is not None  # noqa: S101 - registered only with it
        answer = self.live.answer(
            str(command.get("text") or ""),
            team=str(command.get("team_id", "")),
            channel=str(command.get("channel_id", "")),
            user=str(command.get("user_id", "")),
            client=client,
        )
        await _answer_in_time(ack, respond, answer, "/live", then=self._notices(command, respond))

    def _notices(self, command: dict[str, Any], respond: AsyncRespond) -> Callable[[], Awaitable[None]]:
        """After a command's answer: tell the member, once and privately, of reminders missed or not delivered."""

        async def tell() -> None:
            team, user = str(command.get("team_id") or ""), str(command.get("user_id") or "")
            if not team or not user:
                return
            notices = await self.services.reminders.notices(member_key(team, user))
            if notices:
                await respond(response_type="ephemeral", replace_original=False, **blocks.notices_message(notices))

        return tell

    # -- commands ----------------------------------------------------------------------------------------

    async def recommend(self, asked: Asked) -> Message:
        """/recommend: a first page of talks on a topic or for any words; with for:me, like the asker's saved talks."""
        o = asked.options
        spec = COMMANDS["recommend"]
        if "for" in o:
            if o["for"].strip().lower() != FOR_ME:
                raise UsageError(f"for: takes only `{FOR_ME}` (talks like the ones you saved).", spec.usage)
            if len(o) > 1:
                raise UsageError("for:me goes alone: it recommends from your watch list.", spec.usage)
            return await self._results_page(_state("m", p=1), member=asked.member)
        if "topic" not in o:
            raise UsageError("/recommend needs topic (or for:me).", spec.usage)
        return await self._results_page(_state("r", q=o["topic"], e=o.get("event"), l=o.get("language"), p=1))

    async def talk(self, asked: Asked) -> Message:
        """/talk: one talk in full."""
        return await self._talk_message(asked.options["title"])

    async def similar(self, asked: Asked) -> Message:
        """/similar: talks like one."""
        return await self._results_page(_state("s", q=asked.options["title"], p=1))

    async def speaker(self, asked: Asked) -> Message:
        """/speaker: a profile, or a list to pick one from."""
        name = asked.options["name"]
        profiles = await self.catalogue.speakers(name, talks=0)
        if len(profiles) == 1:
            return await self._profile(profiles[0].slug)
        return blocks.profiles_message(profiles, name)

    async def topics(self, asked: Asked) -> Message:
        """/topics: every topic with its talks (as a tree with tree:yes)."""
        tree = _truthy(asked.options.get("tree"))
        return blocks.topics_message(await (self.catalogue.topic_tree() if tree else self.catalogue.topics()))

    async def events(self, asked: Asked) -> Message:
        """/events: every event with its talks."""
        return blocks.events_message(await self.catalogue.events())

    async def highlight(self, asked: Asked) -> Message:
        """/highlight: one talk now, in this channel's rotation (no repeats before every talk has had its turn)."""
        o = asked.options
        # In a direct message the rotation is the member's own, kept under their key: /forget-me deletes it.
        scope = asked.member if asked.channel.startswith("D") else f"slack:{asked.team}:{asked.channel}"
        talk = await self.services.highlights.adhoc(scope, o.get("topic"), o.get("event"), language=o.get("language"))
        return self._talk_card(talk, share=_state("t", q=talk.slug))

    async def save(self, asked: Asked) -> Message:
        """/save: put a talk (by (part of) its title, or its id) on the asker's watch list."""
        place = _place(asked.team, asked.channel)
        saved, newly = await self.services.watchlist.save(asked.member, asked.options["title"], place=place)
        return blocks.saved_message(saved.title, newly)

    async def watchlist(self, asked: Asked) -> Message:
        """/watchlist [all|unwatched|watched] [export]: a page of the asker's list, or it as a calendar."""
        words = asked.options.get("show", "").lower().split()
        spec = COMMANDS["watchlist"]
        unknown = [word for word in words if word not in (*STATES, EXPORT)]
        if unknown or len([word for word in words if word in STATES]) > 1 or words.count(EXPORT) > 1:
            raise UsageError("Show `all`, `unwatched` or `watched` talks, and add `export` for a calendar.", spec.usage)
        if EXPORT in words:
            return await self._export(asked)
        state: State = next((word for word in STATES if word in words), "all")
        return await self._watchlist_page(asked.member, state, 0)

    async def remind(self, asked: Asked) -> Message:
        """/remind-me: a direct message at a time the asker names, in their zone (given, remembered, or Slack's)."""
        o = asked.options
        reminders = self.services.reminders
        fallback = None
        if not o.get("timezone") and await reminders.zone_of(asked.member) is None:
            fallback = await self._slack_zone(asked)
        reminder, zone_name = await reminders.remind(
            asked.member, "slack", f"{asked.team}:{asked.user}", o["title"], o["when"],
            timezone=o.get("timezone"), fallback_zone=fallback,
        )  # fmt: skip
        return blocks.reminder_set_message(reminder, await reminders.zone_of(asked.member), zone_name)

    async def _slack_zone(self, asked: Asked) -> str | None:
        """The asker's time zone as their Slack profile gives it (users.info), or None if Slack does not say."""
        if asked.client is None:
            return None
        try:
            found = await asyncio.wait_for(asked.client.users_info(user=asked.user), ZONE_LOOKUP_TIMEOUT)
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            log.info("users.info for a reminder's time zone failed: %s", type(error).__name__)
            return None
        zone = (found.get("user") or {}).get("tz")
        return str(zone) if isinstance(zone, str) and zone else None

    async def reminders(self, asked: Asked) -> Message:
        """/reminders: the asker's waiting reminders, each with "Cancel"."""
        return await self._reminders_message(asked.member)

    async def _reminders_message(self, member: str, note: str | None = None) -> Message:
        reminders = self.services.reminders
        waiting = await reminders.waiting(member)
        return blocks.reminders_message(
            waiting, cancel_value=lambda r: _state("rc", i=r.id), zone=await reminders.zone_of(member), note=note
        )

    async def settings(self, asked: Asked) -> Message:
        """/settings: the asker's time zone, or (timezone:…) setting it."""
        if "timezone" in asked.options:
            zone = await self.services.watchlist.set_timezone(asked.member, asked.options["timezone"])
            return blocks.settings_message(zone, changed=True)
        return blocks.settings_message(await self.services.watchlist.timezone(asked.member))

    async def forget_me(self, asked: Asked) -> Message:
        """/forget-me: asks to confirm, with a button, deleting everything kept about the asker."""
        return blocks.forget_confirm_message(_state("f"))

    # -- buttons and selects -----------------------------------------------------------------------------

    async def _page(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        value = str(action.get("value") or "")
        mine = _read_state(value)["k"] == "m"
        return await self._results_page(value, member=_member_of(body) if mine else None)

    async def _more_like_this(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        return await self._results_page(_state("s", q=str(action.get("value") or ""), p=1))

    async def _share(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        state = _read_state(action.get("value"))
        if state["k"] == "t":
            message = self._talk_card(await self.catalogue.talk(str(state["q"])))
        elif state["k"] == "m":
            raise UserFacingError("Recommendations from your watch list stay yours: they cannot be shared.")
        else:
            message = await self._results_page(json.dumps(state), shared=True)
        return {**message, "response_type": "in_channel"}

    async def _pick_speaker(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        selected = action.get("selected_option") or {}
        return await self._profile(str(selected.get("value") or ""))

    async def _pick_talk(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        selected = action.get("selected_option") or {}
        return await self._talk_message(str(selected.get("value") or ""))

    async def _pick_similar(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        selected = action.get("selected_option") or {}
        return await self._results_page(_state("s", q=str(selected.get("value") or ""), p=1))

    async def _pick_person(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        selected = action.get("selected_option") or {}
        return await self._profile(str(selected.get("value") or ""))

    async def _pick_topic(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        selected = action.get("selected_option") or {}
        return await self._results_page(_state("r", q=str(selected.get("value") or ""), p=1))

    # -- watch lists: buttons and menus --------------------------------------------------------------------

    async def _save(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        """The "Save" button under a talk: on the list of whoever pressed it (answered to them alone)."""
        saved, newly = await self.services.watchlist.save(
            _member_of(body), _talk_id(action.get("value")), place=_place_of(body)
        )
        return blocks.saved_message(saved.title, newly)

    async def _pick_save(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        selected = action.get("selected_option") or {}
        saved, newly = await self.services.watchlist.save(
            _member_of(body), _talk_id(selected.get("value")), place=_place_of(body)
        )
        return blocks.saved_message(saved.title, newly)

    async def _watchlist_turn(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        """Previous, Next, or another state of the list: that page, in place."""
        state, offset, _ = _watchlist_state(action.get("value"))
        return await self._watchlist_page(_member_of(body), state, offset)

    async def _watchlist_mark(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        """Mark a talk watched (or not watched again); the page shown again, in place, as the state now reads."""
        state, offset, value = _watchlist_state(action.get("value"))
        member = _member_of(body)
        await self.services.watchlist.mark_watched(member, _talk_id(value.get("s")), bool(value.get("w", 1)))
        return await self._watchlist_page(member, state, offset)

    async def _watchlist_remove(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        """Take a talk off the list; the page shown again, in place."""
        state, offset, value = _watchlist_state(action.get("value"))
        member = _member_of(body)
        await self.services.watchlist.remove(member, _talk_id(value.get("s")))
        return await self._watchlist_page(member, state, offset)

    async def _forget_confirmed(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        """The /forget-me button: delete everything kept about whoever pressed it, and say what."""
        _read_state(action.get("value"))
        return blocks.forgotten_message(await self.services.watchlist.forget(_member_of(body)))

    async def _reminder_cancel(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        """A reminder's "Cancel": cancels it if it is the presser's own; the list shown again, in place."""
        state = _read_state(action.get("value"))
        reminder_id = state.get("i")
        if state["k"] != "rc" or not isinstance(reminder_id, int):
            raise UserFacingError("These controls are out of date. Run /reminders again to get fresh ones.")
        member = _member_of(body)  # whoever pressed: only their own reminders can go
        cancelled = await self.services.reminders.cancel(member, reminder_id)
        note = (
            f"Cancelled the reminder for “{blocks.escape(cancelled.title, 200)}”."
            if cancelled is not None
            else "That reminder is no longer waiting (it was sent or cancelled)."
        )
        return await self._reminders_message(member, note)

    # -- App Home and the search modal ---------------------------------------------------------------------

    async def _home(self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        """Publish the member's Home tab when they open it."""
        if event.get("tab", "home") != "home":
            return
        team = str(body.get("team_id") or "")
        latest = []
        if team:
            infos = await self.services.highlights.list(await self.schedules.ids.number(team))
            posted = sorted((i for i in infos if i.last_talk and i.last_post_at), key=lambda i: i.last_post_at or 0)
            for info in reversed(posted):
                talk = await self.catalogue.talk_by_slug(str(info.last_talk))
                if talk is not None and talk not in latest:
                    latest.append(talk)
        view = blocks.home_view(
            await self.catalogue.talk_count(),
            latest,
            await self.catalogue.events(),
            await self.catalogue.topics(),
            usual_language=self.catalogue.usual_language(),
        )
        await client.views_publish(user_id=str(event.get("user", "")), view=view)

    async def _open_search(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=str(body.get("trigger_id", "")), view=blocks.search_modal())

    async def _search_submitted(self, ack: AsyncAck, view: dict[str, Any]) -> None:
        """Show what the words found, in the modal itself."""
        values = (view.get("state") or {}).get("values") or {}
        query = str(((values.get(blocks.SEARCH_INPUT) or {}).get(blocks.SEARCH_INPUT) or {}).get("value") or "")
        results: list[Result] = []
        if query.strip():
            try:
                results = list((await self.catalogue.recommend(query, limit=10)).results)
            except UserFacingError:
                results = []
        modal = blocks.search_modal(query, results, usual_language=self.catalogue.usual_language())
        await ack(response_action="update", view=modal)

    # -- answers -----------------------------------------------------------------------------------------

    async def _talk_message(self, ident: str) -> Message:
        talk = await self.catalogue.talk(ident)
        return self._talk_card(talk, share=_state("t", q=talk.slug))

    def _talk_card(self, talk: Talk, *, share: str | None = None) -> Message:
        """One talk in full with "More like this", "Save" and, given the button's value, "Share in channel"."""
        return blocks.talk_message(
            talk,
            usual_language=self.catalogue.usual_language(),
            more_value=talk.slug,
            share_value=share,
            save_value=talk.slug,
        )

    async def _watchlist_page(self, member: str, state: State, offset: int) -> Message:
        """A page of the member's watch list, with its controls; the last page if `offset` is past the end."""
        watchlist = self.services.watchlist
        page = await watchlist.list(member, state=state, offset=offset, limit=WATCHLIST_PAGE)
        if not page.items and page.offset and page.total:  # the last talks of the last page were removed
            last = (page.total - 1) // WATCHLIST_PAGE * WATCHLIST_PAGE
            page = await watchlist.list(member, state=state, offset=last, limit=WATCHLIST_PAGE)
        return _watchlist_message(page)

    async def _export(self, asked: Asked) -> Message:
        """/watchlist export: the list as an iCalendar file, uploaded to the asker's direct messages with the app.

        conversations.open finds the DM; slack-sdk's files_upload_v2 announces the file
        (files.getUploadURLExternal), sends its bytes and shares it there (files.completeUploadExternal) with
        a comment naming the saved talks that have no date. An install that predates `files:write` or
        `im:write` answers missing_scope: the member is told to have the app reinstalled.
        """
        watchlist = self.services.watchlist
        total = (await watchlist.list(asked.member, limit=1)).total
        if not total:
            return blocks.notice_message("Your watch list is empty: nothing to export. Save a few talks first.")
        if asked.client is None:
            raise UserFacingError("A direct message cannot be sent from here.")
        calendar, undated = await watchlist.export_ics(asked.member)
        dated = total - len(undated)
        await _send_calendar(asked.client, asked.user, calendar, blocks.calendar_comment(dated, undated))
        sent = f"{dated} dated talk{'' if dated == 1 else 's'}"
        if undated:
            sent += f"; {len(undated)} without a date {'is' if len(undated) == 1 else 'are'} listed with it"
        return blocks.notice_message(
            f":calendar: I sent you your watch list as a calendar file ({sent}) in a direct message."
        )

    async def _profile(self, slug: str) -> Message:
        profiles = await self.catalogue.speakers(slug, talks=SPEAKER_CARD_TALKS)
        if not profiles:
            raise NotFoundError("That speaker is no longer in the catalogue.")
        return blocks.profiles_message(profiles[:1], profiles[0].name)

    async def _results_page(self, value: str, *, shared: bool = False, member: str | None = None) -> Message:
        """The page a state names: recommendations (`r`), talks like one (`s`), or like `member`'s saved ones (`m`)."""
        state = _read_state(value)
        query, page = str(state.get("q", "")), max(1, int(state.get("p", 1)))
        if state["k"] == "m" and member is not None:
            results = await self.services.watchlist.recommend_for(member, limit=MAX_RESULTS)
            if not results:
                if not (await self.services.watchlist.list(member, limit=1)).total:
                    raise UserFacingError(NOTHING_SAVED)
                raise NotFoundError("No other talk is like the ones on your watch list yet.")
            heading, note, total = "Recommended for you", "Like the talks on your watch list", len(results)
        elif state["k"] == "s":
            source, results = await self.catalogue.similar(query, limit=SIMILAR)
            if not results:
                raise NotFoundError(f"No other talk is like “{source.title}” yet.")
            heading, note, total = f"More like “{source.title}”", "", len(results)
            query = source.slug
        elif state["k"] == "r":
            # Only the pages up to this one are read and explained; the rest are counted (up to five pages).
            found = await self.catalogue.recommend(
                query, event=state.get("e"), language=state.get("l"), limit=MAX_RESULTS, read=page * PAGE_SIZE
            )
            if not found.results:
                suggestions = ", ".join(found.suggestions) if found.suggestions else "a broader word"
                raise NotFoundError(f"No talk matches “{query}”. Try {suggestions}.")
            results, heading = list(found.results), f"Talks for “{query}”"
            total, note = len(results) + len(found.pending), ""
            if found.corrected:
                note = "Read as: " + ", ".join(f"{typed} → {used}" for typed, used in found.corrected.items())
        else:
            raise UserFacingError("These controls are out of date. Run the command again to get fresh ones.")
        return self._page_message(state, query, heading, note, results, total, page, shared=shared)

    def _page_message(
        self,
        state: dict[str, Any],
        query: str,
        heading: str,
        note: str,
        results: list[Result],
        total: int,
        page: int,
        *,
        shared: bool,
    ) -> Message:
        private = state["k"] == "m"  # recommendations from the member's watch list are not shared
        pages = max(1, math.ceil(total / PAGE_SIZE), math.ceil(len(results) / PAGE_SIZE))
        page = min(page, max(1, math.ceil(len(results) / PAGE_SIZE)))
        shown = results[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]

        def at(number: int) -> str:
            return json.dumps({**state, "q": query, "p": number})

        return blocks.results_message(
            heading,
            shown,
            note=note,
            usual_language=self.catalogue.usual_language(),
            page=page,
            pages=pages,
            prev_value=None if shared or page == 1 else at(page - 1),
            next_value=None if shared or page == pages else at(page + 1),
            share_value=None if shared or private else at(page),
            save=True,
        )


async def _answer_in_time(
    ack: AsyncAck,
    respond: AsyncRespond,
    answer: Awaitable[Message],
    where: str,
    *,
    then: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Answer in the acknowledgement when the answer is ready within `ACK_BUDGET`, else through the response URL.

    Slack gives up on an app after 3 seconds: a slower answer (a post now, the first command after an import)
    is acknowledged with "Working on it" and follows. `then` runs after the answer, once the acknowledgement
    has left.
    """
    task = asyncio.ensure_future(_kindly(answer, where))
    done, _ = await asyncio.wait({task}, timeout=ACK_BUDGET)
    if task in done:
        await ack(response_type="ephemeral", **task.result())
        if then is not None:
            in_background(then(), where)
        return
    await ack(response_type="ephemeral", text=WORKING)

    async def follow() -> None:
        await respond(response_type="ephemeral", **await task)
        if then is not None:
            await then()

    in_background(follow(), where)


async def _kindly(answer: Awaitable[Message], where: str) -> Message:
    try:
        return await answer
    except UsageError as error:
        return blocks.usage_message(error.message)
    except Exception as error:  # every failure gets a kind answer; the log has the rest
        return _failure(error, where)


def _failure(error: BaseException, where: str) -> Message:
    if isinstance(error, NotFoundError):
        return blocks.error_message(error.message, error.suggestions)
    if isinstance(error, UserFacingError):
        return blocks.error_message(error.message)
    log.exception("%s failed", where, exc_info=error)
    return blocks.error_message(GENERIC_ERROR)


class SlackBot:
    """The Slack app with its listeners, its Web API client, and the scheduler of its channels' highlights.

    With `token`, it serves the one workspace that token belongs to. With `client_id` and `client_secret`
    instead, it serves every workspace that installs it through OAuth (`/slack/install`, then
    `/slack/oauth_redirect`): each workspace's bot token is kept in the database (`installs`), each request
    is answered with its workspace's token, and each scheduled post is sent with it.

    Live mode's notices go out through the same scheduler's engine. With `follow_schedules` the app also polls
    the followed schedules (`/catalog follow`), whose changes become live notices: only when no Discord bot
    runs in the same process (see `__init__`).
    """

    def __init__(
        self,
        services: Services,
        *,
        token: str | None,
        signing_secret: str | None,
        api_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        managers: Sequence[str] = (),
        catalog_owners: Sequence[str] = (),
        follow_schedules: bool = True,
    ) -> None:
        if services.db is None:
            raise RuntimeError("the Slack app needs the services' database gateway")
        if not token and not (client_id and client_secret):
            raise ValueError("a bot token, or an OAuth client id and secret, is needed")
        self.services = services
        self.client = build_client(token, api_url)
        self.ids = SlackIds(services.db)
        self.installations: SlackInstallations | None = None
        if token:
            self.poster = SlackPoster(self.client, services.catalogue, self.ids)
            self.app = AsyncApp(signing_secret=signing_secret, client=self.client, process_before_response=True)
        else:
            self.installations = SlackInstallations(services.db)
            oauth = AsyncOAuthSettings(
                client_id=client_id,
                client_secret=client_secret,
                scopes=list(BOT_SCOPES),
                installation_store=self.installations,
                state_store=SlackOAuthStates(services.db),
                install_path=INSTALL_PATH,
                redirect_uri_path=REDIRECT_PATH,
            )
            self.poster = SlackPoster(self.client, services.catalogue, self.ids, tokens=self._token_of)
            self.app = AsyncApp(
                signing_secret=signing_secret, client=self.client, oauth_settings=oauth, process_before_response=True
            )
        self.commands = SlackCommands(
            services,
            SlackHighlights(
                services.highlights,
                self.ids,
                self.client,
                self.poster,
                managers=managers,
                announcements=services.announcements,
            ),
            SlackLive(services.live, self.ids, self.client, managers=managers),
        )
        self.commands.register(self.app)
        self.catalog = SlackCatalog(
            services.catalogue,
            catalog_owners,
            follows=services.follows,
            live=services.live,
            announcements=services.announcements,
        )
        self.app.command("/catalog")(self._catalog)
        self.app.view(CATALOG_MODAL)(self.catalog.submitted)
        self.app.view(RECORDINGS_MODAL)(self.catalog.submitted)
        self.app.event("app_uninstalled")(self._uninstalled)
        self.app.event("tokens_revoked")(self._tokens_revoked)
        config = services.scheduler_config
        # Slack has no nonce; the poster reads the channel's history instead, so an unknown outcome may be
        # settled for as long as a late post may still go out. Slack limits posts per channel (about one a
        # second, answered with 429 and Retry-After), not per app: a modest global pace, 429s waited out.
        self.scheduler = Scheduler(
            services.schedule_store,
            self.poster,
            services.clock,
            replace(config, nonce_window=config.grace, per_second=SLACK_POSTS_PER_SECOND),
        )
        services.highlights.on_change = self.scheduler.notify_changed
        # Members' reminders go through the same engine, as direct messages (see SlackReminderSender).
        self.reminder_sender = SlackReminderSender(
            self.client, services.catalogue, services.clock, tokens=None if token else self._token_of
        )
        services.reminders.on_change = self.scheduler.add(
            ReminderJobs(services.reminder_store, self.reminder_sender, self.scheduler.runtime)
        )
        # Live mode's notices too: the setups' "Starting in 5 minutes" and programme changes, planned again
        # whenever a setup or the programme changes (the engine reloads them).
        self.live_poster = SlackLivePoster(
            self.client, self.ids, services.live.store, services.clock, tokens=None if token else self._token_of
        )
        self.scheduler.add(LiveJobs(services.live, services.live.store, self.live_poster, self.scheduler.runtime))
        services.live.on_change = self.scheduler.reload
        # And the announcements of new recordings, in the workspaces that turned them on.
        self.announcement_poster = SlackAnnouncementPoster(
            self.client,
            self.ids,
            services.announcements.store,
            services.clock,
            tokens=None if token else self._token_of,
        )
        self.scheduler.add(
            AnnouncementJobs(services.announcements.store, self.announcement_poster, self.scheduler.runtime)
        )
        services.announcements.on_change = self.scheduler.reload
        # One loop per process polls the followed schedules. When a Discord bot runs in the same process
        # (`run_platforms`), its live cog polls them already, and a second loop here would only fetch every
        # schedule twice: the changes its polls record reach this app's setups through `watch_changes`.
        self.follow_schedules = follow_schedules
        self._following: list[asyncio.Task[None]] = []  # polling followed schedules, taking their changes

    async def _token_of(self, team: str) -> str | None:
        """The workspace's bot token, or None if the app is not installed there (any more)."""
        assert self.installations is not None  # noqa: S101 - only with OAuth
        found = await self.installations.async_find_bot(enterprise_id=None, team_id=team)
        return None if found is None else found.bot_token

    async def _uninstalled(self, body: dict[str, Any]) -> None:
        """The app was uninstalled from a workspace: forget its tokens and switch its schedules off."""
        team = str(body.get("team_id") or "")
        if not team:
            return
        if self.installations is not None:
            await self.installations.async_delete_all(enterprise_id=body.get("enterprise_id"), team_id=team)
        ids = await self.services.highlights.guild_left(await self.ids.number(team), UNINSTALLED)
        log.info("Slack workspace %s uninstalled the app; %d schedules switched off", team, len(ids))

    async def _tokens_revoked(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        """The workspace's bot token was revoked: forget it (its schedules fail, then pause, with the reason)."""
        team = str(body.get("team_id") or "")
        if self.installations is not None and team and (event.get("tokens") or {}).get("bot"):
            await self.installations.async_delete_bot(enterprise_id=body.get("enterprise_id"), team_id=team)

    async def _catalog(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        """/catalog: `import` and `recordings` open a modal; `follow`, `following` and `unfollow` answer in words."""
        text = str(command.get("text") or "")
        if self.catalog.opens_modal(text):
            await self.catalog.command(ack, command, client)
            return
        answer = self.catalog.answer(text, user=str(command.get("user_id", "")))
        await _answer_in_time(ack, respond, answer, "/catalog")

    async def _schedule_changed(self, follow: Follow, changes: Sequence[ScheduleChange]) -> None:
        """A followed schedule changed: the poll recorded its changes; told at once rather than at the next look."""
        await self.services.live.take_changes()

    async def start(self) -> None:
        """Start posting scheduled highlights and live notices (and polling followed schedules, if this app does).

        Programme changes recorded by whoever polled (this app, the Discord bot, `python -m bot follow`)
        become this app's change notices within `CHANGES_EVERY`.
        """
        await self.scheduler.start()
        if not self._following:
            self._following = [asyncio.create_task(self.services.live.watch_changes(), name="programme-changes")]
            if self.follow_schedules:
                run = self.services.follows.run(self._schedule_changed)
                self._following.append(asyncio.create_task(run, name="followed-schedules"))

    async def close(self) -> None:
        """Stop polling and the scheduler (posts in flight are settled on the next start)."""
        for task in self._following:
            task.cancel()
        for task in self._following:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._following = []
        await self.scheduler.stop()
