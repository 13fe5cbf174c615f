"""The Slack app: slash commands, buttons and selects over the same services as Discord's.

Slack hands a slash command its options as one line of text, read by `bot.commands.text` (bare words fill
the first option, `key:value` and `key:"two words"` the others). Every answer goes to the asker only, with a
"Share in channel" button; the blocks come from `bot.platforms.slack.blocks`.

Buttons carry what they need in their value (the command, its options and the page), so a click works the
same after a restart and needs no state kept in memory. Results are ephemeral: only the asker sees them, so
only the asker can turn their pages.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalogue.service import SPEAKER_CARD_TALKS, CatalogueService, Result
from bot.commands.text import CommandSpec, UsageError
from bot.errors import NotFoundError, UserFacingError
from bot.highlights.scheduler import Scheduler
from bot.platforms.slack import blocks
from bot.platforms.slack.background import in_background
from bot.platforms.slack.catalog import MODAL as CATALOG_MODAL
from bot.platforms.slack.catalog import SlackCatalog
from bot.platforms.slack.highlights import SlackHighlights
from bot.platforms.slack.installs import SlackInstallations, SlackOAuthStates
from bot.platforms.slack.posting import SlackPoster, build_client
from bot.services.container import Services
from bot.services.ids import SlackIds

log = logging.getLogger(__name__)

PAGE_SIZE = 5
MAX_RESULTS = 25  # five pages
SIMILAR = 15
SLACK_POSTS_PER_SECOND = 10
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
UNINSTALLED = "the app was uninstalled from this workspace"
# What the app asks a workspace for (the manifest, slack-manifest.yml, asks for the same).
BOT_SCOPES = ("commands", "chat:write", "users:read", "channels:read", "groups:read", "channels:history",
              "groups:history", "files:read")  # fmt: skip
ACK_BUDGET = 2.0  # seconds an answer may take to go in the acknowledgement itself (Slack waits 3)
WORKING = "Working on it…"
GENERIC_ERROR = "Something went wrong on our side while answering that. It has been logged; please try again."

COMMANDS = {
    spec.name: spec
    for spec in (
        CommandSpec("recommend", ("topic", "event", "language"), ("topic",), "/recommend mtls event:kubecon"),
        CommandSpec("talk", ("title",), ("title",), "/talk linkerd at scale"),
        CommandSpec("similar", ("title",), ("title",), "/similar linkerd at scale"),
        CommandSpec("speaker", ("name",), ("name",), "/speaker morgan"),
        CommandSpec("topics", ("tree",), (), "/topics tree:yes"),
        CommandSpec("events", (), (), "/events"),
        CommandSpec("highlight", ("topic", "event", "language"), (), "/highlight security"),
    )
}
Message = dict[str, Any]
# A command typed without its words offers a menu that suggests as one types (Discord's autocomplete).
PICKERS = {
    "recommend": ("Which topic? Type a few letters, or give any words after /recommend.", "pick_topic", "A topic"),
    "talk": ("Which talk? Type part of its title.", "pick_talk", "A talk's title"),
    "similar": ("Talks like which one? Type part of its title.", "pick_similar", "A talk's title"),
    "speaker": ("Whose talks? Type part of a name.", "pick_person", "A speaker's name"),
}


@dataclass(frozen=True, slots=True)
class Asked:
    """One slash command as Slack sent it."""

    user: str
    channel: str
    team: str
    options: dict[str, str]


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


def _truthy(text: str | None) -> bool:
    return (text or "").strip().lower() in {"yes", "true", "1", "on", "y"}


class SlackCommands:
    """The listeners: each reads its command, calls a service and answers with blocks."""

    def __init__(self, services: Services, highlights: SlackHighlights) -> None:
        self.catalogue: CatalogueService = services.catalogue
        self.services = services
        self.schedules = highlights

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
        }
        for name, handler in handlers.items():
            app.command(f"/{name}")(self._command(COMMANDS[name], handler))
        app.command("/highlights")(self._highlights)
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
        app.event("app_home_opened")(self._home)
        app.action(blocks.HOME_SEARCH)(self._open_search)
        app.view(blocks.SEARCH_MODAL)(self._search_submitted)

    # -- plumbing ----------------------------------------------------------------------------------------

    def _command(
        self, spec: CommandSpec, handler: Callable[[Asked], Awaitable[Message]]
    ) -> Callable[..., Awaitable[None]]:
        async def listener(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
            async def answer() -> Message:
                text = str(command.get("text") or "").strip()
                if not text and spec.name in PICKERS:
                    return blocks.picker_message(*PICKERS[spec.name])
                asked = Asked(
                    str(command.get("user_id", "")),
                    str(command.get("channel_id", "")),
                    str(command.get("team_id", "")),
                    spec.read(str(command.get("text") or "")),
                )
                return await handler(asked)

            await _answer_in_time(ack, respond, answer(), f"/{spec.name}")

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
        await _answer_in_time(ack, respond, answer, "/highlights")

    # -- commands ----------------------------------------------------------------------------------------

    async def recommend(self, asked: Asked) -> Message:
        """/recommend: a first page of talks on a topic or for any words."""
        o = asked.options
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
        scope = f"slack:{asked.team}:{asked.channel}"
        talk = await self.services.highlights.adhoc(scope, o.get("topic"), o.get("event"), language=o.get("language"))
        return self._with_share(
            blocks.talk_message(
                talk, usual_language=self.catalogue.usual_language(), more_value=talk.slug, share_value=None
            ),
            _state("t", q=talk.slug),
        )

    # -- buttons and selects -----------------------------------------------------------------------------

    async def _page(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        return await self._results_page(str(action.get("value") or ""))

    async def _more_like_this(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        return await self._results_page(_state("s", q=str(action.get("value") or ""), p=1))

    async def _share(self, body: dict[str, Any], action: dict[str, Any]) -> Message:
        state = _read_state(action.get("value"))
        if state["k"] == "t":
            talk = await self.catalogue.talk(str(state["q"]))
            message = blocks.talk_message(
                talk, usual_language=self.catalogue.usual_language(), more_value=talk.slug, share_value=None
            )
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
        message = blocks.talk_message(
            talk, usual_language=self.catalogue.usual_language(), more_value=talk.slug, share_value=None
        )
        return self._with_share(message, _state("t", q=talk.slug))

    @staticmethod
    def _with_share(message: Message, share: str) -> Message:
        """The message with a "Share in channel" button after its other controls."""
        button = {
            "type": "button",
            "action_id": "share",
            "text": {"type": "plain_text", "text": "Share in channel"},
            "value": share,
        }
        for block in reversed(message["blocks"]):
            if block.get("type") == "actions" and len(block.get("elements", [])) < 25:
                block["elements"].append(button)
                return message
        message["blocks"].append({"type": "actions", "elements": [button]})
        return message

    async def _profile(self, slug: str) -> Message:
        profiles = await self.catalogue.speakers(slug, talks=SPEAKER_CARD_TALKS)
        if not profiles:
            raise NotFoundError("That speaker is no longer in the catalogue.")
        return blocks.profiles_message(profiles[:1], profiles[0].name)

    async def _results_page(self, value: str, *, shared: bool = False) -> Message:
        """The page a state names: recommendations (`r`) or talks like one (`s`)."""
        state = _read_state(value)
        query, page = str(state.get("q", "")), max(1, int(state.get("p", 1)))
        if state["k"] == "s":
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
            share_value=None if shared else at(page),
        )


async def _answer_in_time(ack: AsyncAck, respond: AsyncRespond, answer: Awaitable[Message], where: str) -> None:
    """Answer in the acknowledgement when the answer is ready within `ACK_BUDGET`, else through the response URL.

    Slack gives up on an app after 3 seconds: a slower answer (a post now, the first command after an import)
    is acknowledged with "Working on it" and follows.
    """
    task = asyncio.ensure_future(_kindly(answer, where))
    done, _ = await asyncio.wait({task}, timeout=ACK_BUDGET)
    if task in done:
        await ack(response_type="ephemeral", **task.result())
        return
    await ack(response_type="ephemeral", text=WORKING)

    async def follow() -> None:
        await respond(response_type="ephemeral", **await task)

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
            services, SlackHighlights(services.highlights, self.ids, self.client, self.poster, managers=managers)
        )
        self.commands.register(self.app)
        self.catalog = SlackCatalog(services.catalogue, catalog_owners)
        self.app.command("/catalog")(self.catalog.command)
        self.app.view(CATALOG_MODAL)(self.catalog.submitted)
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

    async def start(self) -> None:
        """Start posting scheduled highlights."""
        await self.scheduler.start()

    async def close(self) -> None:
        """Stop the scheduler (posts in flight are settled on the next start)."""
        await self.scheduler.stop()
