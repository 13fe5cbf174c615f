"""The Slack emulator's Socket Mode and OAuth installs, driven by the real slack-bolt handlers and OAuth flow."""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from collections.abc import AsyncIterator
from logging import Logger
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from emulator.slack import SlackEmulator
from emulator.slack.installs import authorize_link, basic_credentials
from emulator.slack.pytest_plugin import slack_emulator
from emulator.slack.webapi import SlackError

__all__ = ["slack_emulator"]

PING_BLOCKS = [
    {"type": "section", "block_id": "pong", "text": {"type": "mrkdwn", "text": "pong"}},
    {
        "type": "actions",
        "block_id": "buttons",
        "elements": [
            {"type": "button", "action_id": "again", "value": "1", "text": {"type": "plain_text", "text": "Again"}}
        ],
    },
]
MODAL = {
    "type": "modal",
    "callback_id": "search",
    "title": {"type": "plain_text", "text": "Search"},
    "blocks": [{"type": "input", "block_id": "q", "label": {"type": "plain_text", "text": "Q"}, "element": {}}],
}


# slack-sdk sends oauth.v2.access's client id and secret with aiohttp's BasicAuth, deprecated since aiohttp 3.14.
SDK_BASIC_AUTH = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


@pytest.fixture
def emulator(slack_emulator: SlackEmulator) -> SlackEmulator:
    return slack_emulator


# -- Socket Mode ----------------------------------------------------------------------------------------


def socket_app(emulator: SlackEmulator, seen: list[dict[str, Any]]) -> AsyncApp:
    """A bolt app with /ping (answers with a button), the button, an options source, a modal and a Home."""
    app = AsyncApp(client=AsyncWebClient(token=emulator.token, base_url=emulator.api_url))

    @app.command("/ping")
    async def ping(ack: Any, body: dict[str, Any]) -> None:
        seen.append(body)
        await ack(text="pong", blocks=PING_BLOCKS)

    @app.action("again")
    async def again(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        seen.append(body)
        await ack()
        await client.chat_postMessage(channel=body["channel"]["id"], text="pong again")

    @app.options("talk")
    async def talks(ack: Any, body: dict[str, Any]) -> None:
        await ack(options=[{"text": {"type": "plain_text", "text": body["value"].upper()}, "value": "1"}])

    @app.view("search")
    async def search(ack: Any, view: dict[str, Any]) -> None:
        typed = view["state"]["values"]["q"]["q"]["value"]
        await ack(response_action="update", view={**MODAL, "title": {"type": "plain_text", "text": typed}})

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Home"}}]
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": blocks})

    return app


@pytest.fixture
async def connected(emulator: SlackEmulator) -> AsyncIterator[list[dict[str, Any]]]:
    """A bolt app connected through the real AsyncSocketModeHandler (no app_url); yields the bodies it handled."""
    seen: list[dict[str, Any]] = []
    handler = AsyncSocketModeHandler(
        socket_app(emulator, seen), emulator.app_token, web_client=AsyncWebClient(base_url=emulator.api_url)
    )
    await handler.connect_async()
    yield seen
    await handler.close_async()


async def test_slash_and_click_go_through_the_socket(emulator: SlackEmulator, connected: list[dict[str, Any]]) -> None:
    assert emulator.app_url is None

    reply = await emulator.slash("/ping", "hello", user="U2", channel="C2")

    assert (reply.status, reply.error) == (200, None)
    assert reply.ack == {"text": "pong", "blocks": PING_BLOCKS}
    [shown] = reply.messages
    assert (shown.ephemeral, shown.user, shown.channel, shown.source) == (True, "U2", "C2", "ack")
    assert (connected[0]["command"], connected[0]["text"], connected[0]["user_id"]) == ("/ping", "hello", "U2")

    click = await emulator.click(shown, "again", user="U2")

    assert click.status == 200 and click.ack is None
    assert [m.text for m in click.messages] == ["pong again"]
    assert emulator.channels["C2"].messages == click.messages
    slash_envelope, click_envelope = emulator.envelopes
    assert slash_envelope == {
        "envelope_id": slash_envelope["envelope_id"],
        "type": "slash_commands",
        "payload": {**slash_envelope["payload"], "command": "/ping", "text": "hello", "team_id": emulator.team_id},
        "accepts_response_payload": True,
    }
    assert (click_envelope["type"], click_envelope["accepts_response_payload"]) == ("interactive", False)
    assert click_envelope["payload"]["actions"][0]["action_id"] == "again"
    assert slash_envelope["envelope_id"] != click_envelope["envelope_id"]
    assert ("apps.connections.open", {}) in emulator.calls


async def test_options_modals_and_events_go_through_the_socket(
    emulator: SlackEmulator, connected: list[dict[str, Any]]
) -> None:
    options = await emulator.suggest("talk", "rust")
    answer = await emulator.submit_view(MODAL, {"q": "typed"})
    await emulator.open_home("U1")

    assert [option["text"]["text"] for option in options] == ["RUST"]
    assert answer is not None and answer["view"]["title"]["text"] == "typed"
    assert emulator.homes["U1"]["blocks"][0]["text"]["text"] == "Home"
    kinds = [(e["type"], e["payload"]["type"], e["accepts_response_payload"]) for e in emulator.envelopes]
    assert kinds == [
        ("interactive", "block_suggestion", True),
        ("interactive", "view_submission", True),
        ("events_api", "event_callback", False),
    ]
    assert (emulator.envelopes[-1]["retry_attempt"], emulator.envelopes[-1]["retry_reason"]) == (0, "")


async def test_the_app_reconnects_when_asked_and_requests_follow_it(
    emulator: SlackEmulator, connected: list[dict[str, Any]]
) -> None:
    await emulator.refresh_socket()
    await emulator.wait_for_socket()

    reply = await emulator.slash("/ping", "")

    assert reply.ack == {"text": "pong", "blocks": PING_BLOCKS}
    assert [method for method, _ in emulator.calls].count("apps.connections.open") == 2
    assert emulator.socket_connections == 1


async def test_an_unacknowledged_envelope_times_out(emulator: SlackEmulator, connected: list[dict[str, Any]]) -> None:
    emulator.ack_deadline = 0.2

    reply = await emulator.slash("/nobody-handles-this", "")  # bolt answers 404 to itself and sends no ack

    assert (reply.status, reply.error, reply.messages) == (0, "operation_timeout", [])


async def test_socket_mode_needs_the_app_level_token(emulator: SlackEmulator) -> None:
    for token, error in [("xapp-wrong", "invalid_auth"), (emulator.token, "not_allowed_token_type")]:
        with pytest.raises(SlackApiError) as raised:
            await AsyncWebClient(base_url=emulator.api_url).apps_connections_open(app_token=token)
        assert raised.value.response["error"] == error
    app_level = AsyncWebClient(token=emulator.app_token, base_url=emulator.api_url)
    with pytest.raises(SlackApiError, match="not_allowed_token_type"):
        await app_level.chat_postMessage(channel="C1", text="hi")
    url = (await app_level.apps_connections_open(app_token=emulator.app_token))["url"]
    assert url.startswith(f"ws://127.0.0.1:{emulator.base_url.rsplit(':', 1)[1]}/socket?ticket=")
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            hello = await ws.receive_json()
        assert (hello["type"], hello["connection_info"]["app_id"]) == ("hello", "A0EMULATOR")
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(url)  # a URL is good once
    with pytest.raises(RuntimeError, match="Socket Mode"):
        await emulator.slash("/ping", "")  # no app_url and no connection


# -- OAuth installs -------------------------------------------------------------------------------------


class MemoryInstallations(AsyncInstallationStore):
    """Installations by workspace, in a dict."""

    def __init__(self) -> None:
        self.saved: dict[str | None, Installation] = {}
        self.forgot = asyncio.Event()

    def forget(self, team_id: str) -> None:
        self.saved.pop(team_id, None)
        self.forgot.set()

    @property
    def logger(self) -> Logger:
        return logging.getLogger(__name__)

    async def async_save(self, installation: Installation) -> None:
        self.saved[installation.team_id] = installation

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        found = self.saved.get(team_id)
        return found.to_bot() if found is not None else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return self.saved.get(team_id)


class MemoryStates(AsyncOAuthStateStore):
    """OAuth states, each good once."""

    def __init__(self) -> None:
        self.issued: set[str] = set()

    @property
    def logger(self) -> Logger:
        return logging.getLogger(__name__)

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_hex(8)
        self.issued.add(state)
        return state

    async def async_consume(self, state: str) -> bool:
        if state in self.issued:
            self.issued.remove(state)
            return True
        return False


@pytest.fixture(params=[True, False], ids=["install-page", "redirect"])
async def oauth_app(
    emulator: SlackEmulator, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[str, MemoryInstallations]]:
    """A bolt app installed through OAuth, over HTTP; yields its install URL and installation store."""
    store = MemoryInstallations()
    app = AsyncApp(
        signing_secret=emulator.signing_secret,
        client=AsyncWebClient(base_url=emulator.api_url),
        oauth_settings=AsyncOAuthSettings(
            client_id="emulator-client-id",
            client_secret="emulator-client-secret",
            scopes=["commands", "chat:write"],
            installation_store=store,
            state_store=MemoryStates(),
            install_path="/slack/install",
            redirect_uri_path="/slack/oauth_redirect",
            install_page_rendering_enabled=request.param,
        ),
    )

    @app.command("/ping")
    async def ping(ack: Any, body: dict[str, Any], client: AsyncWebClient, context: Any) -> None:
        await ack(text=f"pong from {context.team_id}")
        await client.chat_postMessage(channel=body["channel_id"], text="posted with the workspace's token")

    @app.event("app_uninstalled")
    async def uninstalled(body: dict[str, Any]) -> None:
        store.forget(body["team_id"])

    runner = web.AppRunner(app.web_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    emulator.app_url = base + "/slack/events"
    yield base + "/slack/install", store
    await runner.cleanup()


@SDK_BASIC_AUTH
async def test_an_install_stores_a_token_that_then_authorizes_that_workspace(
    emulator: SlackEmulator, oauth_app: tuple[str, MemoryInstallations]
) -> None:
    install_url, store = oauth_app

    result = await emulator.install(install_url, team_id="T0SECOND", team_name="Second Team", user="U2")

    assert result.status == 200, result.body
    installation = store.saved["T0SECOND"]
    assert installation.bot_token == result.token and result.token.startswith("xoxb-T0SECOND-")
    assert (installation.team_name, installation.user_id, installation.bot_user_id) == ("Second Team", "U2", "U0BOT")
    assert installation.bot_scopes == ["commands", "chat:write"]
    assert installation.bot_id == "B0BOT"  # bolt called auth.test with the new token

    reply = await emulator.slash("/ping", "", team="T0SECOND")

    assert reply.ack == "pong from T0SECOND"  # over HTTP, bolt answers a text-only ack as plain text
    assert [m.text for m in reply.messages] == ["pong from T0SECOND", "posted with the workspace's token"]
    assert ("T0SECOND", "auth.test") in emulator.calls_by_team
    assert ("T0SECOND", "chat.postMessage") in emulator.calls_by_team
    assert not any(team == emulator.team_id for team, _ in emulator.calls_by_team)


@SDK_BASIC_AUTH
async def test_each_workspace_has_its_own_token_and_an_uninstall_revokes_it(
    emulator: SlackEmulator, oauth_app: tuple[str, MemoryInstallations]
) -> None:
    install_url, store = oauth_app
    first = await emulator.install(install_url)
    second = await emulator.install(install_url)

    assert first.team_id != second.team_id and first.token != second.token
    for result in (first, second):
        test = await AsyncWebClient(token=result.token, base_url=emulator.api_url).auth_test()
        assert (test["team_id"], test["user_id"]) == (result.team_id, "U0BOT")
    assert set(store.saved) == {first.team_id, second.team_id}

    await emulator.uninstall(first.team_id)

    await asyncio.wait_for(store.forgot.wait(), 2)  # the app heard app_uninstalled
    assert set(store.saved) == {second.team_id}
    with pytest.raises(SlackApiError, match="invalid_auth"):
        await AsyncWebClient(token=first.token, base_url=emulator.api_url).auth_test()
    assert (await AsyncWebClient(token=second.token, base_url=emulator.api_url).auth_test())["ok"]


@SDK_BASIC_AUTH
async def test_oauth_v2_access_checks_the_client_and_takes_a_code_once(emulator: SlackEmulator) -> None:
    client = AsyncWebClient(base_url=emulator.api_url)
    emulator.oauth_redirect_url = "https://app.example/slack/oauth_redirect"
    team = emulator.add_workspace("T0THIRD", "Third")
    location, code = emulator.installs.authorize(
        {"client_id": "emulator-client-id", "scope": "commands", "user_scope": "search:read", "state": "s1"},
        team=team,
        user="U1",
        approve=True,
        redirect_url=emulator.oauth_redirect_url,
    )
    assert code is not None and location == f"https://app.example/slack/oauth_redirect?code={code}&state=s1"

    with pytest.raises(SlackApiError, match="bad_client_secret"):
        await client.oauth_v2_access(client_id="emulator-client-id", client_secret="wrong", code=code)
    granted = await client.oauth_v2_access(
        client_id="emulator-client-id", client_secret="emulator-client-secret", code=code
    )
    with pytest.raises(SlackApiError, match="invalid_code"):
        await client.oauth_v2_access(client_id="emulator-client-id", client_secret="emulator-client-secret", code=code)

    assert granted.data == {
        "ok": True,
        "access_token": granted["access_token"],
        "token_type": "bot",
        "scope": "commands",
        "bot_user_id": "U0BOT",
        "app_id": "A0EMULATOR",
        "team": {"name": "Third", "id": "T0THIRD"},
        "enterprise": None,
        "is_enterprise_install": False,
        "authed_user": {
            "id": "U1",
            "scope": "search:read",
            "access_token": granted["authed_user"]["access_token"],
            "token_type": "user",
        },
    }
    user_test = await AsyncWebClient(
        token=granted["authed_user"]["access_token"], base_url=emulator.api_url
    ).auth_test()
    assert (user_test["team_id"], user_test["user_id"], user_test["user"]) == ("T0THIRD", "U1", "ada")
    assert all("client_secret" not in arguments for _, arguments in emulator.calls)
    with pytest.raises(SlackError, match="bad_redirect_uri"):
        emulator.installs.authorize(
            {"client_id": "emulator-client-id", "scope": "commands", "redirect_uri": "https://evil.example/"},
            team=team,
            user="U1",
            approve=True,
            redirect_url=emulator.oauth_redirect_url,
        )


@SDK_BASIC_AUTH
async def test_the_authorize_page_redirects_with_a_code_and_a_denial_reaches_the_app(
    emulator: SlackEmulator, oauth_app: tuple[str, MemoryInstallations]
) -> None:
    install_url, store = oauth_app
    denied = await emulator.install(install_url, approve=False)
    assert denied.token is None and store.saved == {}

    async with aiohttp.ClientSession() as browser:
        query = {"client_id": "emulator-client-id", "scope": "commands", "state": "s", "redirect_uri": "http://x/r"}
        async with browser.get(emulator.authorize_url, params=query, allow_redirects=False) as page:
            assert page.status == 302 and page.headers["Location"].startswith("http://x/r?code=")
        async with browser.get(emulator.authorize_url, params={**query, "client_id": "nope"}) as page:
            assert page.status == 400 and "invalid_client_id" in await page.text()


def test_helpers_find_the_add_to_slack_link_and_read_basic_auth() -> None:
    page = '<p><a href="/elsewhere">x</a><a href="https://slack.com/oauth/v2/authorize?state=a&amp;client_id=b">Add</a>'
    assert authorize_link(page) == "https://slack.com/oauth/v2/authorize?state=a&client_id=b"
    assert basic_credentials("Basic " + base64.b64encode(b"id:secret").decode()) == ("id", "secret")
    assert basic_credentials("Bearer xoxb") is None
