"""Running the Slack app: over Socket Mode when an app-level token is set, otherwise an HTTP endpoint."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.errors import ConfigError
from bot.highlights.scheduler import SchedulerConfig
from bot.platforms.slack.app import SlackBot
from bot.services.container import open_services

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


async def serve(settings: Settings, *, follow_schedules: bool = True) -> None:
    """Serve Slack until cancelled (Ctrl-C); the database must exist (the entry point prepares it).

    `follow_schedules` is False when a Discord bot runs in the same process: it polls the followed schedules.
    """
    if not settings.slack_enabled:
        raise ConfigError(
            "SLACK_BOT_TOKEN is not set: install the app in your workspace (see the README's Slack section) and "
            "put its bot token in .env (or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install it in many)."
        )
    config = SchedulerConfig(
        grace=timedelta(minutes=settings.highlight_grace_minutes), max_failures=settings.highlight_max_failures
    )
    async with open_services(settings.store, platform="slack", scheduler_config=config) as services:
        bot = SlackBot(
            services,
            token=settings.slack_bot_token,
            signing_secret=settings.slack_signing_secret,
            api_url=settings.slack_api_url,
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            managers=settings.slack_highlights_managers,
            catalog_owners=settings.slack_catalog_owners,
            follow_schedules=follow_schedules,
        )
        await bot.start()
        try:
            if settings.slack_app_token:
                handler = AsyncSocketModeHandler(
                    bot.app, settings.slack_app_token, web_client=AsyncWebClient(base_url=settings.slack_api_url)
                )
                log.info("Connecting to Slack over Socket Mode")
                try:
                    await handler.start_async()  # type: ignore[no-untyped-call]
                finally:
                    await handler.close_async()  # type: ignore[no-untyped-call]
                return
            runner = web.AppRunner(bot.app.web_app(path=EVENTS_PATH, port=settings.slack_port))
            await runner.setup()
            try:
                await web.TCPSite(runner, port=settings.slack_port).start()
                log.info("Listening for Slack on port %d at %s", settings.slack_port, EVENTS_PATH)
                await asyncio.Event().wait()
            finally:
                await runner.cleanup()
        finally:
            await bot.close()
