"""Where discord.py sends its traffic: Discord itself, a REST proxy, or the local emulator."""

from __future__ import annotations

from typing import NamedTuple

import discord.gateway
import discord.http
import yarl


class Endpoints(NamedTuple):
    """Where discord.py sends REST requests and opens its first gateway connection."""

    api_base_url: str
    gateway_url: str


def current_endpoints() -> Endpoints:
    """The endpoints discord.py uses now."""
    return Endpoints(discord.http.Route.BASE, str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY))


def point_discord_at(api_base_url: str, gateway_url: str) -> Endpoints:
    """Send all of discord.py's REST (webhooks and callbacks included) and gateway traffic elsewhere.

    These are class attributes, so this affects every client in the process; returns the previous endpoints.
    """
    previous = current_endpoints()
    discord.http.Route.BASE = api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    return previous
