"""The Slack emulator, driven by the real slack-sdk client and a tiny real slack-bolt app over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from emulator.slack import Message, SlackEmulator
from emulator.slack.pytest_plugin import slack_emulator

__all__ = ["slack_emulator"]

BUTTON_BLOCKS = [
    {"type": "section", "block_id": "talk", "text": {"type": "mrkdwn", "text": "*Talk* by Ada"}},
    {
        "type": "actions",
        "block_id": "buttons",
        "elements": [
            {"type": "button", "action_id": "more", "value": "talk-7", "text": {"type": "plain_text", "text": "More"}},
            {
                "type": "button",
                "action_id": "details",
                "value": "talk-7",
                "text": {"type": "plain_text", "text": "Details"},
            },
        ],
    },
]
TALKS = ["Rust for Pythonistas", "Python typing in practice", "Async all the way down"]


def client_for(emulator: SlackEmulator, **options: Any) -> AsyncWebClient:
    return AsyncWebClient(token=emulator.token, base_url=emulator.api_url, **options)


@pytest.fixture
def emulator(slack_emulator: SlackEmulator) -> SlackEmulator:
    return slack_emulator


@pytest.fixture
def client(emulator: SlackEmulator) -> AsyncWebClient:
    return client_for(emulator)


@pytest.fixture
async def bodies(emulator: SlackEmulator) -> AsyncIterator[list[dict[str, Any]]]:
    """A real bolt app serving on a free port (emulator.app_url points at it); yields the bodies it handled."""
    seen: list[dict[str, Any]] = []
    app = AsyncApp(signing_secret=emulator.signing_secret, client=client_for(emulator))

    @app.command("/hl")
    async def highlights(ack: Any, body: dict[str, Any], respond: Any, client: AsyncWebClient) -> None:
        seen.append(body)
        if body["text"] == "blocks":
            await ack(text="1 talk", blocks=BUTTON_BLOCKS)
        elif body["text"] == "later":
            await ack()
            await respond(text="Shared with the channel", response_type="in_channel")
        else:
            await ack()
            await client.chat_postMessage(channel=body["channel_id"], text="Talk of the day", blocks=BUTTON_BLOCKS)

    @app.action("more")
    async def more(ack: Any, body: dict[str, Any], respond: Any) -> None:
        seen.append(body)
        await ack()
        await respond(
            text="Expanded",
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "All of it"}}],
            replace_original=True,
        )

    @app.action("details")
    async def details(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        seen.append(body)
        await ack()
        modal = {"type": "modal", "title": {"type": "plain_text", "text": "Talk"}, "blocks": []}
        await client.views_open(trigger_id=body["trigger_id"], view=modal)

    @app.options("talk")
    async def talk_options(ack: Any, body: dict[str, Any]) -> None:
        seen.append(body)
        typed = body["value"].lower()
        await ack(
            options=[
                {"text": {"type": "plain_text", "text": t}, "value": str(i)}
                for i, t in enumerate(TALKS)
                if typed in t.lower()
            ]
        )

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        user = (await client.users_info(user=event["user"]))["user"]
        view = {
            "type": "home",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"Hi {user['name']} ({user['tz']})"}}],
        }
        await client.views_publish(user_id=event["user"], view=view)

    runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    emulator.app_url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    yield seen
    await runner.cleanup()


# -- driving a bolt app ---------------------------------------------------------------------------------


async def test_a_slash_command_answered_by_ack_with_blocks_is_an_ephemeral_message(
    emulator: SlackEmulator, bodies: list[dict[str, Any]]
) -> None:
    reply = await emulator.slash("/hl", "blocks")

    assert reply.status == 200
    assert reply.ack == {"text": "1 talk", "blocks": BUTTON_BLOCKS}
    [message] = reply.messages
    assert (message.ephemeral, message.user, message.channel, message.source) == (True, "U1", "C1", "ack")
    assert message.blocks == BUTTON_BLOCKS
    assert emulator.ephemeral == [message]
    assert emulator.channels["C1"].messages == []
    command = bodies[0]
    assert (command["command"], command["user_id"], command["user_name"], command["channel_name"]) == (
        "/hl",
        "U1",
        "ada",
        "general",
    )
    assert command["response_url"].startswith(emulator.base_url)


async def test_respond_to_the_response_url_posts_in_channel(
    emulator: SlackEmulator, bodies: list[dict[str, Any]]
) -> None:
    reply = await emulator.slash("/hl", "later", channel="C3")  # the bot is not in C3: a response URL still works

    assert reply.ack is None
    assert reply.last.text == "Shared with the channel"
    assert (reply.last.ephemeral, reply.last.source, reply.last.response_url_of) == (
        False,
        "response_url",
        reply.request_id,
    )
    assert emulator.channels["C3"].messages == [reply.last]


async def test_posts_made_while_handling_a_command_belong_to_its_reply(
    emulator: SlackEmulator, bodies: list[dict[str, Any]]
) -> None:
    reply = await emulator.slash("/hl", "post")

    assert [m.text for m in reply.messages] == ["Talk of the day"]
    assert emulator.channels["C1"].messages == reply.messages
    [(method, arguments)] = [call for call in emulator.calls if call[0] != "auth.test"]  # bolt checks its token first
    assert method == "chat.postMessage"
    assert arguments == {**arguments, "channel": "C1", "text": "Talk of the day", "blocks": BUTTON_BLOCKS}


async def test_a_click_whose_handler_responds_with_replace_original_edits_the_message(
    emulator: SlackEmulator, bodies: list[dict[str, Any]]
) -> None:
    posted = (await emulator.slash("/hl", "post")).last

    reply = await emulator.click(posted, "more")

    assert reply.last is posted
    assert (posted.text, posted.replaced, posted.history[0].text) == ("Expanded", True, "Talk of the day")
    assert emulator.channels["C1"].messages == [posted]  # edited in place, same ts
    action_body = bodies[-1]
    assert action_body["actions"][0] == {
        **action_body["actions"][0],
        "action_id": "more",
        "block_id": "buttons",
        "value": "talk-7",
        "type": "button",
    }
    assert action_body["container"] == {
        "type": "message",
        "message_ts": posted.ts,
        "channel_id": "C1",
        "is_ephemeral": False,
    }
    assert action_body["message"]["ts"] == posted.ts


async def test_a_click_on_an_ephemeral_message_has_no_message_and_replaces_it(
    emulator: SlackEmulator, bodies: list[dict[str, Any]]
) -> None:
    shown = (await emulator.slash("/hl", "blocks")).last

    reply = await emulator.click(shown, "more")

    assert "message" not in bodies[-1]
    assert bodies[-1]["container"]["is_ephemeral"] is True
    assert reply.last is shown and shown.text == "Expanded" and shown.ephemeral


async def test_a_click_can_open_a_modal_with_its_trigger(emulator: SlackEmulator, bodies: list[dict[str, Any]]) -> None:
    posted = (await emulator.slash("/hl", "post")).last

    await emulator.click(posted, "details")

    assert [view["title"]["text"] for view in emulator.views_opened] == ["Talk"]
    with pytest.raises(LookupError):
        await emulator.click(posted, "no-such-button")


async def test_a_block_suggestion_is_answered_with_options(
    emulator: SlackEmulator, bodies: list[dict[str, Any]]
) -> None:
    options = await emulator.suggest("talk", "pyth")

    assert [option["text"]["text"] for option in options] == ["Rust for Pythonistas", "Python typing in practice"]
    assert (bodies[-1]["type"], bodies[-1]["value"], bodies[-1]["block_id"]) == ("block_suggestion", "pyth", "b")


async def test_opening_the_home_tab_publishes_a_view(emulator: SlackEmulator, bodies: list[dict[str, Any]]) -> None:
    await emulator.open_home("U1")

    assert emulator.homes["U1"]["blocks"][0]["text"]["text"] == "Hi ada (Europe/Berlin)"


async def test_bolt_refuses_a_request_signed_with_another_secret(
    emulator: SlackEmulator, bodies: list[dict[str, Any]]
) -> None:
    emulator.signing_secret = "not-the-apps-secret"

    reply = await emulator.slash("/hl", "blocks")

    assert reply.status == 401
    assert reply.messages == [] and bodies == []


# -- the Web API with the real client ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"channel": "C9", "text": "hi"}, "channel_not_found"),
        ({"channel": "C3", "text": "hi"}, "not_in_channel"),
        ({"channel": "C4", "text": "hi"}, "is_archived"),
        ({"channel": "C1", "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": "C1", "text": "hi", "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"channel": "C1", "text": "hi", "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
    ],
)
async def test_chat_post_message_errors(
    emulator: SlackEmulator, client: AsyncWebClient, arguments: dict[str, Any], error: str
) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(**arguments)

    assert raised.value.response["error"] == error
    assert all(channel.messages == [] for channel in emulator.channels.values())


async def test_posting_fast_to_one_channel_is_rate_limited_with_retry_after(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    for number in range(5):
        await client.chat_postMessage(channel="C1", text=f"burst {number}")
    await client.chat_postMessage(channel="C2", text="another channel has its own budget")

    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C1", text="one too many")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "1"
    assert raised.value.response["error"] == "ratelimited"
    assert emulator.rate_limited == [("chat.postMessage", "C1")]
    assert len(emulator.channels["C1"].messages) == 5


async def test_metadata_is_kept_and_returned_by_history_when_asked_for(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    before = f"{time.time() - 1:.6f}"
    metadata = {"event_type": "highlight_posted", "event_payload": {"talk": "talk-7"}}
    posted = await client.chat_postMessage(channel="C1", text="Talk of the day", metadata=metadata, unfurl_links=False)
    await client.chat_postMessage(channel="C1", text="second")

    history = await client.conversations_history(channel="C1", oldest=before, include_all_metadata=True, limit=10)
    plain = await client.conversations_history(channel="C1", limit=1)

    assert [m["text"] for m in history["messages"]] == ["second", "Talk of the day"]
    assert history["messages"][1]["metadata"] == metadata and history["messages"][1]["ts"] == posted["ts"]
    assert "metadata" not in plain["messages"][0] and plain["has_more"] is True
    stored = emulator.channels["C1"].messages[0]
    assert (stored.metadata, stored.unfurl_links, stored.user) == (metadata, False, "U0BOT")


async def test_users_conversations_update_delete_and_ephemeral(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    user = (await client.users_info(user="U1"))["user"]
    assert (user["name"], user["tz"], user["tz_offset"] in (3600, 7200)) == ("ada", "Europe/Berlin", True)
    assert (await client.conversations_info(channel="C3"))["channel"]["is_member"] is False
    posted = await client.chat_postMessage(channel="C1", text="draft")
    await client.chat_update(channel="C1", ts=posted["ts"], text="final")
    assert emulator.channels["C1"].messages[0].text == "final"
    await client.chat_delete(channel="C1", ts=posted["ts"])
    assert emulator.channels["C1"].messages == []
    shown = await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert [(m.ts, m.user, m.text) for m in emulator.ephemeral] == [(shown["message_ts"], "U1", "only you")]
    for call, error in [
        (client.users_info(user="U9"), "user_not_found"),
        (client.api_call("chat.fly"), "unknown_method"),
    ]:
        with pytest.raises(SlackApiError) as raised:
            await call
        assert raised.value.response["error"] == error


async def test_faults_fail_revoke_and_time_out(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    emulator.fail_next("chat.postMessage", "internal_error", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError, match="internal_error"):
            await client.chat_postMessage(channel="C1", text="hi")
    await client.chat_postMessage(channel="C1", text="third time lucky")

    emulator.time_out_next("chat.postMessage")
    impatient = client_for(emulator, timeout=0.3)
    with pytest.raises(asyncio.TimeoutError):
        await impatient.chat_postMessage(channel="C2", text="did it land?")
    history = await client.conversations_history(channel="C2")
    assert [m["text"] for m in history["messages"]] == ["did it land?"]  # the outcome was unknown, the post exists

    with pytest.raises(SlackApiError, match="invalid_auth"):
        await AsyncWebClient(token="xoxb-wrong", base_url=emulator.api_url).auth_test()
    emulator.revoke_token()
    with pytest.raises(SlackApiError, match="token_revoked"):
        await client.auth_test()
    assert [method for method, _ in emulator.calls].count("chat.postMessage") == 4


async def test_messages_have_unique_increasing_ts(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    fast = SlackEmulator(post_rate_per_channel=1000, post_burst=1000)
    async with fast:
        fast.add_channel("C1", "general")
        quick = client_for(fast)
        stamps = [(await quick.chat_postMessage(channel="C1", text=str(n)))["ts"] for n in range(20)]
    assert stamps == sorted(stamps, key=lambda ts: tuple(map(int, ts.split(".")))) and len(set(stamps)) == 20
    assert all(isinstance(m, Message) for m in fast.channels["C1"].messages)


async def test_a_response_url_deletes_the_original_takes_five_messages_and_reports_misuse(
    emulator: SlackEmulator, bodies: list[dict[str, Any]]
) -> None:
    shown = (await emulator.slash("/hl", "blocks")).last
    await emulator.click(shown, "more")
    hook = AsyncWebhookClient(bodies[-1]["response_url"])

    assert (await hook.send(text="", delete_original=True)).status_code == 200
    assert shown.deleted
    for number in range(3):
        assert (await hook.send(text=f"note {number}")).status_code == 200
    assert (await hook.send(text="sixth")).status_code == 404  # used_url: five messages per response URL
    assert [m.text for m in emulator.ephemeral] == ["Expanded", "note 0", "note 1", "note 2"]
    [problem] = emulator.problems
    assert "used_url" in problem
    emulator.problems.clear()


async def test_blocks_beyond_slacks_documented_limits_are_refused(slack_emulator):
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=slack_emulator.token, base_url=slack_emulator.api_url)
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    wide_button = [{"type": "actions", "elements": [
        {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "y" * 76}}]}]  # fmt: skip
    for blocks in (too_long, wide_button):
        with pytest.raises(SlackApiError) as refused:
            await client.chat_postMessage(channel="C1", text="t", blocks=blocks)
        assert refused.value.response["error"] == "invalid_blocks"
    fine = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}]
    assert (await client.chat_postMessage(channel="C1", text="t", blocks=fine))["ok"]
