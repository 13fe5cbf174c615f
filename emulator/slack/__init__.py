"""A local Slack (Web API, response URLs, Socket Mode, OAuth installs, and Slack's side of an app's request URL).

The real, unmodified slack-bolt `AsyncApp` (over HTTP or Socket Mode) and slack-sdk `AsyncWebClient` talk to it
on 127.0.0.1:

- `server.SlackEmulator`: start it, point the app's client at `api_url`, then either set `app_url` to where the
  app listens or connect the app through Socket Mode (`AsyncSocketModeHandler` with `app_token` and a web client
  on `api_url`), and drive the app as Slack does (`slash`, `click`, `click_home`, `suggest`, `open_home`,
  `submit_view`; HTTP requests are signed with the signing secret, Socket Mode ones come as envelopes) and read
  what it did (`Reply.messages`, `channels`, `ephemeral`, `homes`, `views_opened`, `files`, `calls`,
  `envelopes`).
- `installs`: the OAuth v2 install (`SlackEmulator.install` plays the person approving; oauth.v2.access trades
  the code), the workspaces and every token issued; `socket_mode`: apps.connections.open's websocket.
- `webapi`: the Web API methods (chat.postMessage and friends, conversations.open, the three steps of a file
  upload) with Slack's errors, the scopes some of them need, and a per-channel rate limit; `faults`: errors,
  hangs and a revoked token on demand.
- `model`: workspaces, tokens, users, channels, messages and replies; `payloads`: what Slack sends to the app;
  `signing`: Slack's v0 request signatures.
- `pytest_plugin`: the `slack_emulator` fixture.

Like the Discord emulator beside it, it imports nothing from `bot`, and nothing from slack-sdk or
slack-bolt either: it needs only aiohttp.
"""

from __future__ import annotations

from emulator.slack.installs import InstallResult
from emulator.slack.model import Channel, File, Message, Reply, Team, User
from emulator.slack.server import SlackEmulator

__all__ = ["Channel", "File", "InstallResult", "Message", "Reply", "SlackEmulator", "Team", "User"]
