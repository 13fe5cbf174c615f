"""Pointing discord.py at another Discord, and running a client against the emulator in tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import discord
import discord.gateway
import discord.http
import yarl

if TYPE_CHECKING:
    from emulator.server import DiscordEmulator

__all__ = [
    "Endpoints",
    "current_endpoints",
    "fast_client_options",
    "no_identify_delay",
    "point_discord_at",
    "run_client",
]

ClientT = TypeVar("ClientT", bound=discord.Client)


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


def fast_client_options() -> dict[str, Any]:
    """Client keyword arguments that remove discord.py's start-up waits in tests.

    - `guild_ready_timeout=0.05`: `on_ready` fires 50 ms after the last GUILD_CREATE instead of 2 s;
    - `chunk_guilds_at_startup=False`: no member chunk requests (the emulator does not answer op 8).

    Pair with `no_identify_delay` (applied by `run_client`), which removes the 5 s sleep before each
    re-IDENTIFY, e.g. after INVALID_SESSION(false).
    """
    return {"guild_ready_timeout": 0.05, "chunk_guilds_at_startup": False}


async def no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
    """A `before_identify_hook` that does not wait."""


@contextlib.asynccontextmanager
async def run_client(
    emulator: DiscordEmulator,
    client: ClientT,
    token: str | None = None,
    *,
    ready_timeout: float = 5.0,
    skip_identify_delay: bool = True,
) -> AsyncIterator[ClientT]:
    """Start `client` against `emulator`, wait for `on_ready`, and close it (and restore endpoints) on exit.

    If the client task dies (e.g. a payload it could not parse), its exception is raised here: while waiting
    for ready, or on leaving the block, chained to whatever the block raised.
    """
    previous = point_discord_at(emulator.api_base_url, emulator.gateway_url)
    if skip_identify_delay:
        client.before_identify_hook = no_identify_delay  # type: ignore[method-assign]
    task = asyncio.create_task(client.start(token or emulator.token), name="discord-client")
    try:
        await _wait_ready(client, task, ready_timeout)
        try:
            yield client
        except BaseException as error:
            _raise_if_failed(task, error)
            raise
        _raise_if_failed(task, None)
    finally:
        await client.close()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, ready_timeout)
        point_discord_at(*previous)


async def _wait_ready(client: discord.Client, task: asyncio.Task[None], timeout: float) -> None:  # noqa: ASYNC109
    ready = asyncio.create_task(client.wait_until_ready())
    try:
        done, _ = await asyncio.wait({ready, task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ready.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ready
    if task in done:
        task.result()
        raise RuntimeError("the client stopped before it was ready")
    if ready not in done:
        raise TimeoutError(f"the client was not ready after {timeout}s")


def _raise_if_failed(task: asyncio.Task[None], cause: BaseException | None) -> None:
    """Raise the client task's exception, if it has died with one."""
    if task.done() and not task.cancelled() and (error := task.exception()) is not None:
        raise error from cause
