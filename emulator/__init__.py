"""A local Discord (REST and gateway) on 127.0.0.1 that the real, unmodified discord.py client talks to.

- `server.DiscordEmulator`: start it, drive interactions (`slash`, `autocomplete`, `click`, `select`) and read
  what the bot sent (`InteractionHandle.response()`, `.followups`, `.original`, `next_post`, `posts`).
  Every body the bot sends and every reply the emulator gives is checked against Discord's OpenAPI spec
  (`spec`) and documented limits (`limits`); problems get Discord's 400 and are kept in `violations`.
  `faults` breaks the gateway or REST routes on demand.
- `harness`: `point_discord_at` (it needs only discord.py), `run_client`, `fast_client_options`.
- `pytest_plugin`: the `discord_emulator` fixture.
- `postgres`: not an emulator but the real PostgreSQL, a throwaway server for the tests and benchmarks.

It is a tool beside the bot, not part of it: it imports nothing from `bot` (the sandbox, `bot.sandbox`, runs
the bot against it). Nothing is imported here, so that `harness` can be used without the test-only
dependencies (jsonschema) that the emulator itself needs.
"""
