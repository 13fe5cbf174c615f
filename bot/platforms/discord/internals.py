"""The one place the bot leans on discord.py's internals, each for a measured need; nowhere else does.

`tests/test_discord_internals.py` checks that every name used here still exists in the installed discord.py
with the shape relied on, so an upgrade that changes one fails loudly there rather than quietly in use:

- `Route.BASE` and `DiscordWebSocket.DEFAULT_GATEWAY`: where discord.py sends its traffic (Discord, a REST
  proxy, or the local emulator). discord.py has no setting for them.
- `HTTPClient._try_clear_expired_ratelimits`: swept at most every 10 s (see `sweep_buckets_sparingly`).
- `handle_message_parameters` and `HTTPClient.send_message`: a highlight's message is built once per talk and
  sent as a payload, without building a `Message` from each answer (scheduled posts went from 438 to 2,000
  a second with the limit lifted, measured with benchmarks/scheduler_bench.py).
"""

from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

import discord
import discord.gateway
import discord.http
import yarl
from discord.http import MultipartParameters, handle_message_parameters

BUCKET_SWEEP_EVERY = 10.0  # seconds; discord.py drops a rate-limit bucket only after 300 s idle anyway


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


def sweep_buckets_sparingly(http: Any) -> bool:
    """Let discord.py sweep its rate-limit buckets at most every `BUCKET_SWEEP_EVERY` seconds.

    discord.py (2.7) scans every bucket it holds each time it makes a new one, that is, for the first
    message to each channel: when 10,000 servers' highlights fall due together, the scans cost more than
    the posts (18 s of a 70 s run, measured with benchmarks/scheduler_bench.py). The sweep is
    housekeeping, so it keeps its effect at a fraction of the cost. Without the private hook (another
    discord.py version), nothing changes; returns whether the hook was found.
    """
    sweep = getattr(http, "_try_clear_expired_ratelimits", None)
    if not callable(sweep):
        return False
    last = -math.inf

    def sweep_sparingly() -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= BUCKET_SWEEP_EVERY:
            last = now
            sweep()

    http._try_clear_expired_ratelimits = sweep_sparingly
    return True


def message_payload(
    *, embed: discord.Embed, view: discord.ui.View, allowed_mentions: discord.AllowedMentions | None
) -> dict[str, Any]:
    """The JSON body discord.py would send for a message with this embed and view (mentions as allowed)."""
    with handle_message_parameters(embed=embed, view=view, previous_allowed_mentions=allowed_mentions) as params:
        return dict(params.payload or {})


async def send_payload(http: discord.http.HTTPClient, channel_id: int, payload: dict[str, Any]) -> Any:
    """POST a message body to a channel through discord.py's HTTP client (its rate limits kept); the raw answer."""
    return await http.send_message(channel_id, params=MultipartParameters(payload, None, None))
