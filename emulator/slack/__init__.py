"""A local Slack (Web API, response URLs, and Slack's side of an app's request URL) on 127.0.0.1.

The real, unmodified slack-bolt `AsyncApp` (HTTP mode) and slack-sdk `AsyncWebClient` talk to it:

- `server.SlackEmulator`: start it, point the app's client at `api_url`, set `app_url` to where the app
  listens, then drive the app as Slack does (`slash`, `click`, `click_home`, `suggest`, `open_home`; every
  request is signed with the signing secret) and read what it did (`Reply.messages`, `channels`,
  `ephemeral`, `homes`, `views_opened`, `calls`).
- `webapi`: the Web API methods (chat.postMessage and friends) with Slack's errors and a per-channel
  rate limit; `faults`: errors, hangs and a revoked token on demand.
- `model`: users, channels, messages and replies; `payloads`: what Slack sends to the app;
  `signing`: Slack's v0 request signatures.
- `pytest_plugin`: the `slack_emulator` fixture.

Like the Discord emulator beside it, it imports nothing from `bot`, and nothing from slack-sdk or
slack-bolt either: it needs only aiohttp.
"""

from __future__ import annotations

from emulator.slack.model import Channel, Message, Reply, User
from emulator.slack.server import SlackEmulator

__all__ = ["Channel", "Message", "Reply", "SlackEmulator", "User"]
