"""Installing in many workspaces: the installation and OAuth state stores on the database, and the app using them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from slack_sdk.oauth.installation_store import Installation

from bot.db.gateway import Database
from bot.highlights.ports import PostFailure, Schedule
from bot.highlights.rules import next_slot
from bot.platforms.slack.app import SlackBot
from bot.platforms.slack.installs import SlackInstallations, SlackOAuthStates
from bot.services.container import Services
from emulator.slack import SlackEmulator
from tests.slack.conftest import serving, slack_bot


def installation(team: str, token: str, user: str = "U1") -> Installation:
    return Installation(
        app_id="A1", enterprise_id=None, team_id=team, team_name=f"team {team}", user_id=user, bot_token=token,
        bot_id="B1", bot_user_id="U0BOT", bot_scopes="commands,chat:write",
    )  # fmt: skip


async def test_installations_are_kept_found_and_forgotten_by_workspace(db: Database):
    store = SlackInstallations(db)
    await store.async_save(installation("T1", "xoxb-one"))
    await store.async_save(installation("T2", "xoxb-two", user="U9"))
    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == "xoxb-one"
    found = await store.async_find_installation(enterprise_id=None, team_id="T2", user_id="U9")
    assert found is not None and found.user_id == "U9" and found.bot_token == "xoxb-two"
    latest = await store.async_find_installation(enterprise_id=None, team_id="T2")
    assert latest is not None and latest.bot_token == "xoxb-two"
    await store.async_save(installation("T1", "xoxb-one-again"))  # reinstalled: the new token wins
    assert (await store.async_find_bot(enterprise_id=None, team_id="T1")).bot_token == "xoxb-one-again"
    await store.async_delete_all(enterprise_id=None, team_id="T1")
    assert await store.async_find_bot(enterprise_id=None, team_id="T1") is None
    assert await store.async_find_bot(enterprise_id=None, team_id="T2") is not None


async def test_an_oauth_state_works_once_and_only_until_it_expires(db: Database):
    states = SlackOAuthStates(db)
    state = await states.async_issue()
    assert await states.async_consume(state)
    assert not await states.async_consume(state)  # once
    assert not await states.async_consume("made-up")
    short = SlackOAuthStates(db, lifetime=-1.0)
    expired = await short.async_issue()
    assert not await states.async_consume(expired)


@pytest.fixture
async def many(slack_emulator: SlackEmulator, services: Services) -> AsyncIterator[tuple[SlackEmulator, SlackBot]]:
    """The app installed in many workspaces (OAuth), the emulator's workspace among them."""
    bot = slack_bot(
        slack_emulator, services, token=None, client_id="emulator-client-id", client_secret="emulator-client-secret"
    )
    assert bot.installations is not None
    await bot.installations.async_save(installation(slack_emulator.team_id, slack_emulator.token))
    async with serving(slack_emulator, bot):
        yield slack_emulator, bot


async def test_each_request_and_post_uses_its_workspace_token(many):
    slack, _ = many
    reply = await slack.slash("/recommend", "linkerd")
    assert "Talks for" in json.dumps(reply.last.blocks, ensure_ascii=False)
    made = await slack.slash("/highlights", "setup time:09:00 timezone:UTC", user="U2", channel="C2")
    assert "Scheduled" in made.last.text
    post = await slack.slash("/highlights", "now 1", user="U2", channel="C2")
    assert post.ack["text"].startswith("Posted")
    [sent] = [m for m in slack.channels["C2"].messages if m.metadata]
    assert sent.metadata["event_payload"]["schedule"] == 1


async def test_uninstalling_forgets_the_token_and_switches_the_schedules_off(many, services):
    slack, bot = many
    await slack.slash("/highlights", "setup time:09:00 timezone:UTC", user="U2", channel="C2")
    await bot._uninstalled({"team_id": slack.team_id})
    assert await bot.installations.async_find_bot(enterprise_id=None, team_id=slack.team_id) is None
    [info] = await services.highlights.list(await bot.ids.number(slack.team_id))
    assert info.state == "disabled" and info.paused_reason == "the app was uninstalled from this workspace"
    schedule = Schedule(info.id, info.guild_id, info.channel_id, info.rule, next_slot(info.rule, info.created_at))
    with pytest.raises(PostFailure, match="no longer installed"):
        await bot.poster.post(schedule, "any-talk", "n" * 24)
