"""The command line: `python -m bot <command>`. Loads `.env`, sets up logging, runs the chosen command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dotenv import find_dotenv, load_dotenv
from rich.console import Console
from rich.text import Text

from bot.catalogue.importer import (
    add_export_arguments,
    add_import_arguments,
    database_for_import,
    export_file,
    format_report,
    import_file,
    make_progress,
    options_from_arguments,
)
from bot.catalogue.native import BUNDLED_CATALOGUE, load_native
from bot.catalogue.service import CatalogueService
from bot.catalogue.writer import ImportReport, apply_document
from bot.cli import records, terminal
from bot.config import Settings
from bot.db.connection import atomic, sync_db
from bot.db.dialect import database_file, for_update
from bot.db.gateway import Database
from bot.errors import ConfigError, NotFoundError, UserFacingError
from bot.live import cli as follow
from bot.live import rehearse as rehearsal
from bot.recordings import cli as recordings
from bot.sandbox.options import add_sandbox_arguments
from bot.search.corpus import load_engine

if TYPE_CHECKING:
    from bot.platforms.discord.client import HighlightsBot

log = logging.getLogger("bot")

EXIT_FAILURE = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """Every command and option."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Talk highlights: a catalogue of conference talks, on the command line and in Discord.",
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="the database file (default: $BOT_DATABASE, else ~/.local/share/talk-highlights/highlights.sqlite3)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, *, json_output: bool = False) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if json_output:
            sub.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
        return sub

    command("init", "create or upgrade the database and load the bundled catalogue")
    search = command("search", "find talks by free text, topic and event", json_output=True)
    search.add_argument("query", nargs="?", default="", help="words to look for (may be empty with --topic or --event)")
    search.add_argument("--topic", help="only talks on this topic (its id or name)")
    search.add_argument("--event", help="only talks at this event (its id or name; includes co-located events)")
    search.add_argument("--language", help="only talks given in this language (a code such as de, or a name)")
    search.add_argument("--limit", type=_positive, default=10, help="how many results (default 10, at most 50)")
    talk = command("talk", "show one talk in full", json_output=True)
    talk.add_argument("talk", help="the talk's id or (part of) its title")
    similar = command("similar", "talks like a given one", json_output=True)
    similar.add_argument("talk", help="the talk's id or (part of) its title")
    similar.add_argument("--limit", type=_positive, default=5, help="how many results (default 5)")
    speaker = command("speaker", "a speaker's organisations and talks", json_output=True)
    speaker.add_argument("name", help="a name or part of one")
    command("events", "events with their number of talks", json_output=True)
    add_import_arguments(
        command("import", "import talks from a schedule export (pretalx, frab, pentabarf, Sessionize, Sched, CSV)")
    )
    add_export_arguments(command("export", "write the catalogue, or one event, in the bundled format"))
    recordings.add_arguments(
        command("recordings", "match a list of videos (YouTube, yt-dlp, pyvideo, media.ccc.de...) to talks")
    )
    follow.add_arguments(command("follow", "keep an event in step with a published schedule's URL, polling it"))
    rehearsal.add_arguments(command("rehearse", "replay an event's live notices on a simulated clock, printing them"))
    topics = command("topics", "topics with their number of talks", json_output=True)
    topics.add_argument("--tree", action="store_true", help="broad topics with their narrower ones under them")
    command("run", "start the bot on every platform whose credentials are set (DISCORD_TOKEN, SLACK_BOT_TOKEN)")
    command("sync", "publish the slash commands to Discord globally (needs DISCORD_TOKEN)")
    command("slack", "start the Slack app (needs SLACK_BOT_TOKEN, and SLACK_SIGNING_SECRET or SLACK_APP_TOKEN)")
    add_sandbox_arguments(command("sandbox", "try every slash command in the terminal, no Discord account needed"))
    command("tour", "a short tour of the catalogue on the command line")
    command("start", "the bot when DISCORD_TOKEN or SLACK_BOT_TOKEN is set, otherwise the sandbox")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def ensure_catalogue(path: Path | str) -> ImportReport | None:
    """Create and migrate the database; load the bundled catalogue into an empty one. Returns what loading did."""
    file = database_file(path)
    if file is not None and not file.exists():
        load_native(BUNDLED_CATALOGUE)  # a broken bundled file fails here, before a database file is created
    with sync_db(path) as conn, atomic(conn):
        # Processes starting together over one database load it once: the first holds the lock until it is in.
        conn.execute(f"SELECT version FROM catalogue_state WHERE id = 1{for_update(conn)}").fetchone()
        empty = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM events)").fetchone()[0]
        if not empty:
            return None
        return apply_document(conn, load_native(BUNDLED_CATALOGUE))


def load_bundled(path: Path | str) -> ImportReport:
    """Apply the bundled catalogue (idempotent: a second run changes nothing) and index it for search."""
    document = load_native(BUNDLED_CATALOGUE)
    with sync_db(path) as conn:
        report = apply_document(conn, document)
        load_engine(conn)
        return report


async def with_service(settings: Settings, action: Callable[[CatalogueService], Awaitable[int]]) -> int:
    """Open the database and the catalogue service around one action."""
    await asyncio.to_thread(ensure_catalogue, settings.store)
    db = await Database.open(settings.store)
    try:
        return await action(await CatalogueService.open(db))
    finally:
        await db.close()


def emit_json(document: dict[str, Any]) -> None:
    """Exactly one JSON document on standard output."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def run_query(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    """The read-only catalogue commands."""

    async def action(service: CatalogueService) -> int:
        if args.command == "search":
            page = await service.search(
                args.query, topic=args.topic, event=args.event, language=args.language, limit=min(args.limit, 50)
            )
            emit_json(records.search_document(page)) if args.json else terminal.print_search(console, page)
        elif args.command == "talk":
            talk = await service.talk(args.talk)
            emit_json(records.talk_detail(talk)) if args.json else console.print(terminal.talk_panel(talk))
        elif args.command == "similar":
            talk, results = await service.similar(args.talk, args.limit)
            if args.json:
                emit_json(records.similar_document(talk, results))
            else:
                terminal.print_similar(console, talk, results)
        elif args.command == "speaker":
            profiles = await service.speakers(args.name)
            emit_json(records.speaker_document(profiles)) if args.json else terminal.print_profiles(console, profiles)
        elif args.command == "events":
            events = await service.events()
            emit_json(records.events_document(events)) if args.json else terminal.print_events(console, events)
        elif args.command == "topics":
            topics = await (service.topic_tree() if args.tree else service.topics())
            emit_json(records.topics_document(topics)) if args.json else terminal.print_topics(console, topics)
        return 0

    return asyncio.run(with_service(settings, action))


def run_import(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    """Import a schedule file in one transaction and say what changed (or, with --dry-run, would)."""
    options = options_from_arguments(args)
    with (
        database_for_import(settings.store, ensure_catalogue, keep=not args.dry_run) as database,
        sync_db(database) as conn,
    ):
        # Progress goes to standard error, so that standard output holds the report alone.
        with make_progress(Console(stderr=True)) as progress:
            report = import_file(conn, args.path, options, args.dry_run, progress)
        for line in format_report(report):
            console.print(Text(line), soft_wrap=True)
        if report.touched and not report.dry_run:
            # Index now, so the bot's next start (or its next command) loads the index instead of building it.
            with console.status("Indexing for search…"):
                load_engine(conn)
    return 0


def run_export(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    """Write the catalogue (or one event) in the bundled format."""
    ensure_catalogue(settings.store)
    with sync_db(settings.store) as conn:
        document = export_file(conn, args.path, args.event)
    talks, events = len(document.talks), len(document.events)
    written = f"{talks} talk{'s' * (talks != 1)} of {events} event{'s' * (events != 1)}"
    console.print(Text(f"Wrote {written} to {args.path}."))
    return 0


def run_tour(settings: Settings, console: Console) -> int:
    """A few commands' output, to show a newcomer what the catalogue holds and how to ask it things."""

    async def action(service: CatalogueService) -> int:
        count = await service.talk_count()
        console.rule(f"Talk highlights: {count} talks in the catalogue")
        console.print("No DISCORD_TOKEN is set, so here is the catalogue on the command line.\n")
        console.print("$ python -m bot events", style="bold cyan")
        terminal.print_events(console, await service.events())
        console.print("$ python -m bot search mtls", style="bold cyan")
        terminal.print_search(console, await service.search("mtls", limit=3))
        console.print("$ python -m bot speaker morgan", style="bold cyan")
        terminal.print_profiles(console, await service.speakers("morgan"))
        console.print("Try `python -m bot --help` for every command.", style="dim")
        return 0

    return asyncio.run(with_service(settings, action))


async def run_sandbox(
    settings: Settings,
    console: Console,
    command: str | None,
    *,
    as_json: bool,
    admin: bool = False,
    platform: str = "discord",
) -> int:
    """The emulator and the real bot in this process, driven from the terminal."""
    from bot.sandbox.repl import interactive, run_once
    from bot.sandbox.session import Sandbox

    await asyncio.to_thread(ensure_catalogue, settings.database)
    if platform == "slack":
        from bot.sandbox.slack import run_slack_sandbox

        return await run_slack_sandbox(settings.database, console, command, as_json=as_json, admin=admin)
    async with Sandbox(settings.database, admin=admin) as sandbox:
        if command is not None:
            return await run_once(sandbox, command, console, as_json=as_json)
        return await interactive(sandbox, console)


def _require_token(settings: Settings) -> str:
    if not settings.discord_token:
        raise ConfigError(
            "DISCORD_TOKEN is not set: put the bot's token in the environment or in .env (see .env.example), "
            "or try the bot without Discord with `python -m bot sandbox`."
        )
    return settings.discord_token


_GATEWAY_AUTHENTICATION_FAILED = 4004


@asynccontextmanager
async def discord_session(settings: Settings) -> AsyncIterator[tuple[HighlightsBot, str]]:
    """The bot, pointed at the configured endpoints, with Discord's refusals turned into one clear line."""
    import aiohttp
    import discord

    from bot.platforms.discord.client import HighlightsBot
    from bot.platforms.discord.internals import point_discord_at

    token = _require_token(settings)
    point_discord_at(settings.api_base_url, settings.gateway_url)
    await asyncio.to_thread(ensure_catalogue, settings.store)
    try:
        async with HighlightsBot(settings) as bot:
            yield bot, token
    except discord.LoginFailure as exc:
        raise UserFacingError(
            "Discord refused DISCORD_TOKEN: copy the token again from the Bot page of your application "
            "(Reset Token if needed) and put it in .env."
        ) from exc
    except discord.PrivilegedIntentsRequired as exc:
        raise UserFacingError("Discord refused the gateway intents this bot asked for.") from exc
    except aiohttp.ClientConnectorError as exc:
        raise UserFacingError(f"Cannot reach Discord at {settings.api_base_url}: {exc.os_error}.") from exc
    except discord.ConnectionClosed as exc:
        if exc.code == _GATEWAY_AUTHENTICATION_FAILED:  # a REST proxy may accept a token the gateway refuses
            raise UserFacingError(
                "Discord's gateway refused DISCORD_TOKEN: copy the token again from the Bot page of your "
                "application (Reset Token if needed) and put it in .env."
            ) from exc
        raise UserFacingError(
            f"Discord's gateway closed the connection for good (code {exc.code}"
            f"{': ' + exc.reason if exc.reason else ''}); try again later."
        ) from exc
    except discord.DiscordServerError as exc:
        raise UserFacingError(
            f"Discord is having trouble (it answered {exc.status} at {settings.api_base_url}); try again later."
        ) from exc
    except discord.HTTPException as exc:
        raise UserFacingError(f"Discord refused to start the bot ({exc.status}: {exc.text[:200]}).") from exc


async def run_bot(settings: Settings) -> int:
    """Connect to Discord and serve until stopped."""
    async with discord_session(settings) as (bot, token):
        await bot.start(token)
    return 0


async def run_platforms(settings: Settings) -> int:
    """Serve every platform whose credentials are set, together, until stopped (or one of them fails)."""
    if not settings.discord_token and not settings.slack_enabled:
        raise ConfigError(
            "Neither DISCORD_TOKEN nor SLACK_BOT_TOKEN is set: put one (or both) in the environment or in .env "
            "(see .env.example), or try the bot with `python -m bot sandbox`."
        )
    try:
        async with asyncio.TaskGroup() as platforms:
            if settings.discord_token:
                platforms.create_task(run_bot(settings))
            if settings.slack_enabled:  # the Discord bot, when it runs too, polls the followed schedules
                platforms.create_task(run_slack(settings, follow_schedules=not settings.discord_token))
    except* UserFacingError as failed:  # one line, as when a platform runs alone
        raise failed.exceptions[0] from None
    return 0


async def run_slack(settings: Settings, *, follow_schedules: bool = True) -> int:
    """Serve Slack until stopped (polling the followed schedules too unless a Discord bot in this process does)."""
    from bot.platforms.slack.serve import serve  # Slack's libraries load only for the Slack app

    await asyncio.to_thread(ensure_catalogue, settings.store)
    await serve(settings, follow_schedules=follow_schedules)
    return 0


async def sync_commands(settings: Settings) -> int:
    """Publish the slash commands globally (Discord may take up to an hour to show changes everywhere)."""
    async with discord_session(settings) as (bot, token):
        await bot.login(token)
        synced = await bot.tree.sync()
    print(f"Synced {len(synced)} commands globally: " + ", ".join("/" + c.name for c in synced))  # noqa: T201
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the command; user-facing errors become one line and an exit status."""
    args = build_parser().parse_args(argv)
    load_dotenv(find_dotenv(usecwd=True), override=False)  # the .env of the directory it is run from
    console = Console()
    errors = Console(stderr=True, soft_wrap=True)
    try:
        settings = Settings.from_env(os.environ, database=args.db)
    except ConfigError as exc:
        errors.print(f"error: {exc.message}", markup=False, highlight=False)
        return EXIT_USAGE
    logging.basicConfig(
        level=settings.log_level_number,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command not in ("run", "sync", "slack") and not os.environ.get("LOG_LEVEL"):
        logging.getLogger().setLevel(logging.WARNING)  # a one-shot command's output is its answer, not a log
    # A text-only bot has no use for voice; discord.py's warnings about it would only worry operators.
    logging.getLogger("discord.client").addFilter(
        lambda record: "voice will NOT be supported" not in record.getMessage()
    )
    try:
        if args.command == "init":
            report = load_bundled(settings.store)
            added, changed, removed = len(report.added), len(report.changed), len(report.removed)
            print(  # noqa: T201 - the command's output
                f"Catalogue ready in {settings.store_name}: {added} talks added, {changed} changed, {removed} removed, "
                f"{report.unchanged} unchanged."
            )
            return 0
        if args.command == "import":
            return run_import(args, settings, console)
        if args.command == "export":
            return run_export(args, settings, console)
        if args.command == "recordings":
            return recordings.run(args, settings.store, console, ensure_catalogue)
        if args.command == "rehearse":
            return rehearsal.run(args, settings.database, ensure_catalogue)
        if args.command == "follow":
            return follow.run(args, settings.store, console, ensure_catalogue)
        if args.command == "run" or (args.command == "start" and (settings.discord_token or settings.slack_enabled)):
            return asyncio.run(run_platforms(settings))
        if args.command == "sync":
            return asyncio.run(sync_commands(settings))
        if args.command == "slack":
            return asyncio.run(run_slack(settings))
        if args.command in ("sandbox", "start"):
            command, as_json = getattr(args, "command_line", None), getattr(args, "json", False)
            admin, platform = getattr(args, "admin", False), getattr(args, "platform", "discord")
            return asyncio.run(run_sandbox(settings, console, command, as_json=as_json, admin=admin, platform=platform))
        if args.command == "tour":
            return run_tour(settings, console)
        return run_query(args, settings, console)
    except ConfigError as exc:
        errors.print(f"error: {exc.message}", markup=False, highlight=False)
        return EXIT_USAGE
    except NotFoundError as exc:
        errors.print(f"error: {exc.message}", markup=False, highlight=False)
        if exc.suggestions:
            errors.print("Did you mean: " + "; ".join(exc.suggestions), markup=False, highlight=False)
        return EXIT_FAILURE
    except UserFacingError as exc:
        errors.print(f"error: {exc.message}", markup=False, highlight=False)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
