"""Settings read from the environment (and `.env`, loaded by the entry point only)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import ConfigError

APP_NAME = "talk-highlights"
DATABASE_NAME = "highlights.sqlite3"
DISCORD_API_BASE_URL = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"
SLACK_API_BASE_URL = "https://slack.com/api/"

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# A bot token is three base64url parts joined by dots; anything else is certainly not one.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]{10,}$")


def redact_url(url: str) -> str:
    """A URL as it may be shown or logged: its password hidden, wherever the URL holds one.

    The user part is what comes before the last "@" ahead of any "?" or "#" (a password may hold "@" or "/"
    unescaped, which libpq accepts); `password=` in the query is a password too, and so is a libpq
    "key=value" string's, quoted or not. When in doubt, more is hidden, never less.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:  # not a URL: a libpq "key=value" string
        return re.sub(r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S+)", r"\1***", url)
    end = _end_of_userinfo(rest)
    userinfo, rest = (rest[:end], rest[end + 1 :]) if end >= 0 else ("", rest)
    if ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
    cut = _query_start(rest)
    hosts, tail = rest[:cut], re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", rest[cut:])
    return f"{scheme}{sep}{userinfo}{'@' if end >= 0 else ''}{hosts}{tail}"


def _query_start(rest: str) -> int:
    """Where a URL's query or fragment begins ("?" or "#"); its length if it has neither."""
    return min([at for at in (rest.find("?"), rest.find("#")) if at >= 0] or [len(rest)])


def _end_of_userinfo(rest: str) -> int:
    """Where the user part of a URL's remainder (after "://") ends: its last "@" ahead of any "?" or "#".

    Without one there, a "user:" followed by an "@" further on still reads as a password holding "?" or "#"
    (hidden up to the last "@"): a stranger URL is shown less readably rather than its password shown.
    """
    end = rest.rfind("@", 0, _query_start(rest))
    if end < 0 and 0 <= rest.find(":") < rest.find("@"):
        end = rest.rfind("@")
    return end


@dataclass(frozen=True)
class Settings:
    """Everything the program reads from its environment, converted and checked."""

    database: Path = field(default_factory=lambda: default_database({}))
    database_url: str | None = field(default=None, repr=False)  # DATABASE_URL: PostgreSQL instead of the file
    discord_token: str | None = field(default=None, repr=False)
    dev_guild_id: int | None = None
    log_level: str = "INFO"
    api_base_url: str = DISCORD_API_BASE_URL
    gateway_url: str = DISCORD_GATEWAY_URL
    highlight_grace_minutes: int = 60  # a scheduled post missed for longer than this is skipped, not sent late
    highlight_max_failures: int = 5  # failures in a row before a schedule pauses itself
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)  # Socket Mode, when set
    slack_client_id: str | None = None  # OAuth: installs in many workspaces, with SLACK_CLIENT_SECRET
    slack_client_secret: str | None = field(default=None, repr=False)
    slack_highlights_managers: tuple[str, ...] = ()  # Slack user ids who may change schedules besides admins
    slack_catalog_owners: tuple[str, ...] = ()  # Slack user ids who may import into the catalogue (/catalog)
    slack_api_url: str = SLACK_API_BASE_URL
    slack_port: int = 3000  # where the HTTP endpoint listens without Socket Mode
    shard_count: int | None = None  # Discord shards in all (None: as many as Discord recommends, all run here)
    shard_ids: tuple[int, ...] | None = None  # the shards this process runs (None: every one)
    split_global_budget: bool = True  # pace to the shards' share of 50/s; False behind a REST proxy that queues

    @property
    def store(self) -> Path | str:
        """Where the bot keeps everything: DATABASE_URL's PostgreSQL when it is set, else the SQLite file."""
        return self.database_url or self.database

    @property
    def store_name(self) -> str:
        """`store` as it may be shown: a URL without its password."""
        return redact_url(self.database_url) if self.database_url else str(self.database)

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, database: str | None = None) -> Settings:
        """Build settings from a mapping such as `os.environ`; `database` (from `--db`) wins over the env."""

        def get(key: str) -> str | None:
            value = env.get(key)
            return value.strip() if value is not None and value.strip() else None

        token = get("DISCORD_TOKEN")
        if token is not None and not _TOKEN_SHAPE.match(token):
            raise ConfigError(
                "DISCORD_TOKEN does not look like a bot token: copy it again from the Bot page of your "
                "application in the Discord developer portal (or unset it to use the sandbox)."
            )
        guild = get("DEV_GUILD_ID")
        if guild is not None and not (guild.isdigit() and 15 <= len(guild) <= 21):
            raise ConfigError(
                "DEV_GUILD_ID must be a server id (a long number such as 81384788765712384): in Discord, enable "
                "Developer Mode, right-click the server and choose 'Copy Server ID'."
            )
        level = (get("LOG_LEVEL") or "INFO").upper()
        if level not in _LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)} (got {level!r}).")
        api = _url(get("DISCORD_API_BASE_URL"), "DISCORD_API_BASE_URL", ("http", "https"))
        gateway = _url(get("DISCORD_GATEWAY_URL"), "DISCORD_GATEWAY_URL", ("ws", "wss"))
        grace = _whole(get("HIGHLIGHT_GRACE_MINUTES"), "HIGHLIGHT_GRACE_MINUTES", 0, 7 * 24 * 60, "minutes")
        failures = _whole(get("HIGHLIGHT_MAX_FAILURES"), "HIGHLIGHT_MAX_FAILURES", 1, 1000, "failures")
        db = database or get("BOT_DATABASE")
        database_url = get("DATABASE_URL")
        if database_url is not None and not database_url.startswith(("postgresql://", "postgres://")):
            raise ConfigError(
                "DATABASE_URL must be a PostgreSQL URL (postgresql://user:password@host:5432/name); leave it unset "
                "to keep the catalogue in a SQLite file (BOT_DATABASE)."
            )
        slack_token, slack_app = get("SLACK_BOT_TOKEN"), get("SLACK_APP_TOKEN")
        slack_secret = get("SLACK_SIGNING_SECRET")
        if slack_token is not None and not slack_token.startswith("xoxb-"):
            raise ConfigError(
                "SLACK_BOT_TOKEN must be the app's bot token (it starts with xoxb-): copy it from OAuth & Permissions "
                "in your Slack app's settings."
            )
        if slack_app is not None and not slack_app.startswith("xapp-"):
            raise ConfigError(
                "SLACK_APP_TOKEN must be an app-level token (it starts with xapp-) with the connections:write "
                "scope, from Basic Information in your Slack app's settings; unset it to use the HTTP endpoint."
            )
        client_id, client_secret = get("SLACK_CLIENT_ID"), get("SLACK_CLIENT_SECRET")
        if (client_id is None) != (client_secret is None):
            missing = "SLACK_CLIENT_SECRET" if client_secret is None else "SLACK_CLIENT_ID"
            raise ConfigError(
                f"{missing} is not set: installing in many workspaces (OAuth) needs both SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET, from Basic Information in your Slack app's settings."
            )
        if client_id is not None and slack_app is not None:
            raise ConfigError(
                "SLACK_APP_TOKEN (Socket Mode) serves one workspace; with SLACK_CLIENT_ID the app is installed in many "
                "through its HTTP endpoint. Unset one of them."
            )
        if client_id is not None and slack_secret is None:
            raise ConfigError(
                "SLACK_SIGNING_SECRET is needed with SLACK_CLIENT_ID: the OAuth pages are served over HTTP, where "
                "every request's signature is checked (Basic Information in your Slack app's settings)."
            )
        if slack_token is not None and slack_app is None and slack_secret is None:
            raise ConfigError(
                "SLACK_SIGNING_SECRET is needed to check that requests come from Slack (Basic Information in your "
                "Slack app's settings), unless SLACK_APP_TOKEN selects Socket Mode."
            )
        slack_api = _url(get("SLACK_API_URL"), "SLACK_API_URL", ("http", "https"))
        managers = _member_ids(get("SLACK_HIGHLIGHTS_MANAGERS"), "SLACK_HIGHLIGHTS_MANAGERS")
        owners = _member_ids(get("SLACK_CATALOG_OWNERS"), "SLACK_CATALOG_OWNERS")
        port = _whole(get("SLACK_PORT"), "SLACK_PORT", 1, 65535, "port")
        shard_count, shard_ids = _shards(get("SHARD_COUNT"), get("SHARD_IDS"))
        budget = (get("DISCORD_GLOBAL_BUDGET") or "split").lower()
        if budget not in ("split", "whole"):
            raise ConfigError(
                f"DISCORD_GLOBAL_BUDGET must be split (each process paces to its shards' share of Discord's 50 "
                f"requests a second) or whole (behind a REST proxy that holds the limit for all); got {budget!r}."
            )
        return cls(
            database=Path(db).expanduser() if db else default_database(env),
            database_url=database_url,
            split_global_budget=budget == "split",
            discord_token=token,
            dev_guild_id=int(guild) if guild else None,
            log_level=level,
            api_base_url=(api or DISCORD_API_BASE_URL).rstrip("/"),
            gateway_url=gateway or DISCORD_GATEWAY_URL,
            highlight_grace_minutes=60 if grace is None else grace,
            highlight_max_failures=5 if failures is None else failures,
            slack_bot_token=slack_token,
            slack_signing_secret=slack_secret,
            slack_app_token=slack_app,
            slack_client_id=client_id,
            slack_client_secret=client_secret,
            slack_highlights_managers=managers,
            slack_catalog_owners=owners,
            slack_api_url=(slack_api or SLACK_API_BASE_URL).rstrip("/") + "/",
            slack_port=3000 if port is None else port,
            shard_count=shard_count,
            shard_ids=shard_ids,
        )

    @property
    def slack_enabled(self) -> bool:
        """Whether Slack is configured: one workspace's bot token, or OAuth for many."""
        return bool(self.slack_bot_token or self.slack_client_id)

    @property
    def log_level_number(self) -> int:
        """The log level as the `logging` module's number."""
        return int(logging.getLevelName(self.log_level))


def default_database(env: Mapping[str, str]) -> Path:
    """Where the database lives when neither `BOT_DATABASE` nor `--db` says: the user's data folder.

    `$XDG_DATA_HOME/talk-highlights/` when that is set, else `~/.local/share/talk-highlights/` (on Windows,
    `%LOCALAPPDATA%/talk-highlights/`). It is the same wherever the program runs from, which is what an
    installed package (pip, pipx, a container's user) needs: the working folder may be read-only or change.
    """
    xdg = env.get("XDG_DATA_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():
        base = Path(xdg)
    elif env.get("LOCALAPPDATA", "").strip():
        base = Path(env["LOCALAPPDATA"].strip())
    else:
        home = env.get("HOME", "").strip()
        try:
            base = (Path(home) if home else Path.home()) / ".local" / "share"
        except RuntimeError as exc:  # no HOME and no home directory for this user (a bare container user)
            raise ConfigError(
                "There is no home folder to keep the database in: set BOT_DATABASE (or pass --db) to a file path."
            ) from exc
    return base / APP_NAME / DATABASE_NAME


def _member_ids(value: str | None, key: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in (value or "").split(",") if part.strip())
    for member in ids:
        if not re.fullmatch(r"[UW][A-Z0-9]{2,30}", member):
            raise ConfigError(
                f"{key} lists {member[:40]!r}, which is not a Slack member id (such as U024BE7LH: a member's "
                "profile, More, Copy member ID)."
            )
    return ids


def _shards(count_value: str | None, ids_value: str | None) -> tuple[int | None, tuple[int, ...] | None]:
    """SHARD_COUNT and SHARD_IDS: how many shards in all, and which of them this process runs."""
    count = _whole(count_value, "SHARD_COUNT", 1, 100_000, "shards")
    if ids_value is None:
        return count, None
    if count is None:
        raise ConfigError(
            "SHARD_IDS needs SHARD_COUNT: say how many shards there are in all (for example SHARD_COUNT=3), and "
            "which of them this process runs (SHARD_IDS=0,1)."
        )
    parts = [part.strip() for part in ids_value.split(",") if part.strip()]
    if not parts or not all(part.isdigit() for part in parts):
        raise ConfigError(f"SHARD_IDS must be shard numbers separated by commas, such as 0,1 (got {ids_value!r}).")
    ids = tuple(int(part) for part in parts)
    if any(shard >= count for shard in ids):
        raise ConfigError(
            f"SHARD_IDS lists shard {max(ids)}, but shards are numbered from 0 to {count - 1} with SHARD_COUNT={count}."
        )
    if len(set(ids)) != len(ids):
        raise ConfigError(f"SHARD_IDS lists a shard twice ({ids_value!r}).")
    return count, ids


def _whole(value: str | None, key: str, low: int, high: int, unit: str) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise ConfigError(f"{key} must be a whole number of {unit} from {low} to {high} (got {value!r}).")
    return int(value)


def _url(value: str | None, key: str, schemes: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    scheme, sep, rest = value.partition("://")
    if not sep or scheme.lower() not in schemes or not rest:
        raise ConfigError(f"{key} must be a URL starting with {' or '.join(s + '://' for s in schemes)}.")
    return value
