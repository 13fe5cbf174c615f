"""What bot/platforms/discord/internals.py relies on in discord.py: fails loudly if an upgrade changes it."""

from __future__ import annotations

import inspect

import discord
import discord.gateway
import discord.http
import pytest
import yarl

from bot.platforms.discord import internals


def test_the_endpoints_are_still_class_attributes_of_the_expected_types() -> None:
    assert isinstance(discord.http.Route.BASE, str) and discord.http.Route.BASE.startswith("https://discord.com/api")
    assert isinstance(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY, yarl.URL)
    previous = internals.point_discord_at("http://127.0.0.1:9/api/v10", "ws://127.0.0.1:9/")
    try:
        assert discord.http.Route("GET", "/users/@me").url == "http://127.0.0.1:9/api/v10/users/@me"
        assert internals.current_endpoints() == ("http://127.0.0.1:9/api/v10", "ws://127.0.0.1:9/")
    finally:
        internals.point_discord_at(*previous)
    assert internals.current_endpoints() == previous


def test_the_bucket_sweep_hook_is_still_there_and_is_thinned() -> None:
    assert callable(getattr(discord.http.HTTPClient, "_try_clear_expired_ratelimits", None))
    assert not inspect.iscoroutinefunction(discord.http.HTTPClient._try_clear_expired_ratelimits)
    calls: list[int] = []

    class Http:
        def _try_clear_expired_ratelimits(self) -> None:
            calls.append(1)

    http = Http()
    assert internals.sweep_buckets_sparingly(http)
    for _ in range(5):
        http._try_clear_expired_ratelimits()
    assert calls == [1]  # once, then not again within BUCKET_SWEEP_EVERY
    assert not internals.sweep_buckets_sparingly(object())  # another discord.py: nothing to thin, no error


def test_message_parameters_still_build_the_body_discord_is_sent() -> None:
    names = inspect.signature(discord.http.handle_message_parameters).parameters
    assert {"embed", "view", "previous_allowed_mentions"} <= set(names)
    assert {"params"} <= set(inspect.signature(discord.http.HTTPClient.send_message).parameters)
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label="More like this", custom_id="more:x"))
    body = internals.message_payload(
        embed=discord.Embed(title="A talk"), view=view, allowed_mentions=discord.AllowedMentions.none()
    )
    assert body["embeds"][0]["title"] == "A talk"
    assert body["components"][0]["components"][0]["custom_id"] == "more:x"
    assert body["allowed_mentions"] == {"parse": []}


@pytest.mark.parametrize("name", ["MultipartParameters", "handle_message_parameters", "Route", "HTTPClient"])
def test_every_name_used_from_discord_http_still_exists(name: str) -> None:
    assert hasattr(discord.http, name)
