"""Chat platform adapters: each turns a platform's commands, buttons and messages into calls on the services.

`discord` is the one in use (its extensions, one per command group, are the top-level `cogs` package, which
discord.py loads by module name). Slack's adapter goes beside it, in `slack`. The features (`bot.catalogue`,
`bot.search`, `bot.highlights`) import no platform; an adapter is handed them as `bot.services.container.Services`.
"""
