"""The Slack app as `python -m bot slack` serves it: over Socket Mode, and installed in many workspaces (OAuth)."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

from bot.config import Settings
from bot.platforms.slack.serve import serve
from emulator.slack import SlackEmulator


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_socket_mode_serves_the_commands_without_a_public_address(
    slack_emulator: SlackEmulator, bundled_db: Path
):
    settings = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": slack_emulator.token,
            "SLACK_APP_TOKEN": slack_emulator.app_token,
            "SLACK_API_URL": slack_emulator.api_url,
            **({"DATABASE_URL": bundled_db} if isinstance(bundled_db, str) else {}),
        },
        database=str(bundled_db),  # with TEST_ENGINE=postgresql, a URL: DATABASE_URL below wins
    )
    running = asyncio.create_task(serve(settings))
    try:
        await slack_emulator.wait_for_socket(within=10.0)
        reply = await slack_emulator.slash("/recommend", "linkerd")
        assert "Talks for" in json.dumps(reply.last.blocks, ensure_ascii=False)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_installed_through_oauth_each_workspace_is_served_with_its_own_token(
    slack_emulator: SlackEmulator, bundled_db: Path
):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings.from_env(
        {
            "SLACK_CLIENT_ID": "emulator-client-id",
            "SLACK_CLIENT_SECRET": "emulator-client-secret",
            "SLACK_SIGNING_SECRET": slack_emulator.signing_secret,
            "SLACK_API_URL": slack_emulator.api_url,
            "SLACK_PORT": str(port),
            **({"DATABASE_URL": bundled_db} if isinstance(bundled_db, str) else {}),
        },
        database=str(bundled_db),  # with TEST_ENGINE=postgresql, a URL: DATABASE_URL below wins
    )
    running = asyncio.create_task(serve(settings))
    try:
        for _ in range(200):  # until the endpoint listens
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            break
        slack_emulator.app_url = base + "/slack/events"
        installed = await slack_emulator.install(base + "/slack/install", team_id="T0SECOND", team_name="Second")
        assert installed.status == 200 and installed.token
        reply = await slack_emulator.slash("/recommend", "linkerd", team="T0SECOND")
        assert "Talks for" in json.dumps(reply.last.blocks, ensure_ascii=False)
        assert ("T0SECOND", "auth.test") in slack_emulator.calls_by_team
        await slack_emulator.slash(
            "/highlights", "setup time:09:00 timezone:UTC", user="U2", channel="C2", team="T0SECOND"
        )
        await slack_emulator.uninstall("T0SECOND")
        refused = await slack_emulator.slash("/recommend", "linkerd", team="T0SECOND")
        assert "install" in (refused.last.text or "").lower()  # no token for that workspace any more
        await slack_emulator.install(base + "/slack/install", team_id="T0SECOND", team_name="Second")
        listed = await slack_emulator.slash("/highlights", "list", team="T0SECOND")
        assert "the app was uninstalled from this workspace" in json.dumps(listed.last.blocks)  # switched off, and why
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
