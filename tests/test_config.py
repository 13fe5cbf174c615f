from pathlib import Path

import pytest

from bot.config import Settings, redact_url
from bot.errors import ConfigError

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.abcdefghijklmnopqrstuvwxyz0123456789AB"


def test_defaults_need_nothing() -> None:
    settings = Settings.from_env({"HOME": "/home/ada"})
    assert settings.database == Path("/home/ada/.local/share/talk-highlights/highlights.sqlite3")
    assert settings.discord_token is None
    assert settings.api_base_url == "https://discord.com/api/v10"


def test_values_are_read_and_converted() -> None:
    settings = Settings.from_env(
        {"DISCORD_TOKEN": TOKEN, "DEV_GUILD_ID": "123456789012345678", "LOG_LEVEL": "debug",
         "BOT_DATABASE": "/tmp/x.db", "DISCORD_API_BASE_URL": "http://127.0.0.1:9/api/v10/",
         "DISCORD_GATEWAY_URL": "ws://127.0.0.1:9/gateway"}
    )  # fmt: skip
    assert settings.dev_guild_id == 123456789012345678 and settings.log_level == "DEBUG"
    assert settings.database == Path("/tmp/x.db") and settings.api_base_url == "http://127.0.0.1:9/api/v10"


def test_the_default_database_follows_the_user_data_folder_wherever_the_program_runs() -> None:
    assert Settings.from_env({"XDG_DATA_HOME": "/data/x", "HOME": "/home/ada"}).database == Path(
        "/data/x/talk-highlights/highlights.sqlite3"
    )
    # A relative XDG_DATA_HOME is invalid by the spec and ignored; ~ in BOT_DATABASE is the user's home.
    assert Settings.from_env({"XDG_DATA_HOME": "rel", "HOME": "/h"}).database.parts[:2] == ("/", "h")
    assert Settings.from_env({"BOT_DATABASE": "~/talks.db"}).database == Path.home() / "talks.db"


def test_the_command_line_database_wins_over_the_environment() -> None:
    assert Settings.from_env({"BOT_DATABASE": "a.db"}, database="b.db").database == Path("b.db")


@pytest.mark.parametrize(
    ("env", "key"),
    [({"DISCORD_TOKEN": "not a token"}, "DISCORD_TOKEN"), ({"DEV_GUILD_ID": "my-server"}, "DEV_GUILD_ID"),
     ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"), ({"DISCORD_API_BASE_URL": "discord.com"}, "DISCORD_API_BASE_URL"),
     ({"DISCORD_GATEWAY_URL": "http://x"}, "DISCORD_GATEWAY_URL")],
)  # fmt: skip
def test_a_malformed_value_names_its_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        Settings.from_env(env)


def test_the_token_never_shows_in_a_repr() -> None:
    settings = Settings.from_env({"DISCORD_TOKEN": TOKEN})
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)


def test_without_a_home_folder_the_default_database_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    with pytest.raises(ConfigError, match="set BOT_DATABASE"):
        Settings.from_env({})
    assert Settings.from_env({"BOT_DATABASE": "/srv/talks.db"}).database == Path("/srv/talks.db")


def test_slack_settings_are_checked_and_name_what_is_wrong():
    ok = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "s3cret"})
    assert ok.slack_enabled and ok.slack_api_url == "https://slack.com/api/"
    assert "s3cret" not in repr(ok) and "xoxb" not in repr(ok)
    socket = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    assert socket.slack_app_token == "xapp-1"
    many = Settings.from_env(
        {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c", "SLACK_SIGNING_SECRET": "s", "SLACK_PORT": "8080"}
    )
    assert many.slack_enabled and many.slack_bot_token is None and many.slack_port == 8080
    managers = Settings.from_env(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_HIGHLIGHTS_MANAGERS": "U024BE7LH, W0123ABC"}
    )
    assert managers.slack_highlights_managers == ("U024BE7LH", "W0123ABC")
    for env, named in (
        ({"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, "SLACK_APP_TOKEN"),
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_SIGNING_SECRET": "s"}, "SLACK_CLIENT_SECRET"),
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "ftp://x"}, "SLACK_API_URL"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_PORT": "99999"}, "SLACK_PORT"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_HIGHLIGHTS_MANAGERS": "@ada"}, "MANAGERS"),
    ):
        with pytest.raises(ConfigError, match=named):
            Settings.from_env(env)


def test_shards_are_optional_and_checked():
    assert (Settings.from_env({}).shard_count, Settings.from_env({}).shard_ids) == (None, None)
    every = Settings.from_env({"SHARD_COUNT": "4"})
    assert (every.shard_count, every.shard_ids) == (4, None)
    some = Settings.from_env({"SHARD_COUNT": "3", "SHARD_IDS": " 0, 2 "})
    assert (some.shard_count, some.shard_ids) == (3, (0, 2))
    for env, said in (
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT must be a whole number"),
        ({"SHARD_COUNT": "three"}, "SHARD_COUNT must be a whole number"),
        ({"SHARD_IDS": "0"}, "SHARD_IDS needs SHARD_COUNT"),
        ({"SHARD_COUNT": "3", "SHARD_IDS": "0;1"}, "separated by commas"),
        ({"SHARD_COUNT": "3", "SHARD_IDS": "1,3"}, "numbered from 0 to 2"),
        ({"SHARD_COUNT": "3", "SHARD_IDS": "1,1"}, "twice"),
    ):
        with pytest.raises(ConfigError, match=said):
            Settings.from_env(env)


@pytest.mark.parametrize(
    ("count", "ids", "share"),
    [(None, None, 50), (4, None, 50), (3, (0,), 16), (3, (1, 2), 33), (2, (0, 1), 50), (100, (7,), 1)],
)
def test_each_process_keeps_its_shards_share_of_discords_global_limit(count, ids, share) -> None:
    from bot.platforms.discord.client import global_share

    assert global_share(count, ids) == share


def test_processes_splitting_the_shards_stay_within_the_global_limit_together() -> None:
    from bot.platforms.discord.client import DISCORD_GLOBAL_LIMIT, global_share

    for count in range(1, 51):
        for split in ({(shard,) for shard in range(count)}, {tuple(range(0, count, 2)), tuple(range(1, count, 2))}):
            parts = [ids for ids in split if ids]
            assert sum(global_share(count, ids) for ids in parts) <= DISCORD_GLOBAL_LIMIT


def test_database_url_chooses_postgresql_and_is_never_shown_with_its_password(tmp_path: Path) -> None:
    url = "postgresql://bot:hunter2@db.example.org:5432/talks"
    settings = Settings.from_env({"DATABASE_URL": url, "BOT_DATABASE": str(tmp_path / "x.db")})
    assert settings.store == url
    assert "hunter2" not in settings.store_name and "hunter2" not in repr(settings)
    assert settings.store_name == "postgresql://bot:***@db.example.org:5432/talks"
    assert Settings.from_env({"BOT_DATABASE": str(tmp_path / "x.db")}).store == tmp_path / "x.db"
    assert Settings.from_env({"DATABASE_URL": "  ", "BOT_DATABASE": str(tmp_path / "x.db")}).store == tmp_path / "x.db"
    with pytest.raises(ConfigError, match="DATABASE_URL must be a PostgreSQL URL"):
        Settings.from_env({"DATABASE_URL": "mysql://bot@db/talks"})


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bot:hunter2@db:5432/talks", "postgresql://bot:***@db:5432/talks"),
        ("postgresql://bot:hun@ter2@db/talks", "postgresql://bot:***@db/talks"),  # "@" in the password
        ("postgresql://bot:hun/ter2@db/talks", "postgresql://bot:***@db/talks"),  # "/" in the password
        ("postgresql://:hunter2@db/talks", "postgresql://:***@db/talks"),  # no user
        (
            "postgresql://bot@db/talks?sslmode=require&password=hunter2",
            "postgresql://bot@db/talks?sslmode=require&password=***",
        ),
        ("postgres://bot@db/talks?PASSWORD=hunter2#x", "postgres://bot@db/talks?PASSWORD=***#x"),
        ("host=db password=hunter2 dbname=talks", "host=db password=*** dbname=talks"),
        ("host=db password='hun ter2' dbname=talks", "host=db password=*** dbname=talks"),  # quoted, with a space
        ("postgresql://db/talks?password=hun@ter2", "postgresql://db/talks?password=***"),  # "@" after the host
        ("postgresql://db/talks?password=hunter2&app=a@b", "postgresql://db/talks?password=***&app=a@b"),
        ("postgresql://bot:pw@db/talks?options=a@b", "postgresql://bot:***@db/talks?options=a@b"),
        ("postgresql://bot:hun?ter2@db/talks", "postgresql://bot:***@db/talks"),  # "?" in the password
        ("postgresql://bot:hun#ter2@db/talks", "postgresql://bot:***@db/talks"),  # "#" in the password
        ("postgresql://bot:h/un?ter2@db/talks", "postgresql://bot:***@db/talks"),
        ("postgresql://bot@db/talks", "postgresql://bot@db/talks"),  # nothing to hide
    ],
)
def test_a_database_urls_password_is_hidden_wherever_it_is_written(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert not any(piece in redact_url(url) for piece in ("hunter2", "ter2", "hun", "pw"))


def test_the_global_budget_is_split_unless_a_proxy_holds_it_whole() -> None:
    assert Settings.from_env({}).split_global_budget
    assert not Settings.from_env({"DISCORD_GLOBAL_BUDGET": "Whole"}).split_global_budget
    with pytest.raises(ConfigError, match="DISCORD_GLOBAL_BUDGET must be split"):
        Settings.from_env({"DISCORD_GLOBAL_BUDGET": "half"})
