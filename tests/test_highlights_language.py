"""Highlights in one language, and the schema step that brought the language to schedules and /highlight."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.catalogue.importer import import_file
from bot.catalogue.service import CatalogueService
from bot.db.connection import sync_db
from bot.db.gateway import Database
from bot.db.migrations import MIGRATIONS_DIR, current_version, latest_version, migrate
from bot.errors import UserFacingError
from bot.highlights.scheduler import Scheduler
from bot.highlights.service import EmptyPool, HighlightService, pool_text
from bot.highlights.store import ScheduleRepository, SqliteScheduleStore
from tests.db.test_schedules import SettlingClock, Tracked
from tests.scheduling.conftest import START, FakeDiscord
from tests.sql import sql

GUILD, CHANNEL = 10, 30
NINE = START.replace(hour=9)
DAY = timedelta(days=1)

# Talks in German, in English and in no language said; "Linkerd" and "Istio" are narrower than "Service mesh".
LANGUAGE_CATALOGUE = """
[topics]
service-mesh = "Service mesh"
linkerd = "Linkerd"
istio = "Istio"
rust = "Rust"

[[events]]
id = "conf-2026"
name = "Conf 2026"

[[talks]]
id = "mesh-de"
title = "Service Mesh im Betrieb"
event = "conf-2026"
language = "de"
topics = ["service-mesh"]
speakers = [{ name = "Erika Muster" }]

[[talks]]
id = "linkerd-de"
title = "Linkerd in der Praxis"
event = "conf-2026"
language = "de"
topics = ["linkerd"]
speakers = [{ name = "Max Muster" }]

[[talks]]
id = "rust-de"
title = "Rust für alle"
event = "conf-2026"
language = "de"
topics = ["rust"]
speakers = [{ name = "Erika Muster" }]

[[talks]]
id = "mesh-en"
title = "Service meshes explained"
event = "conf-2026"
language = "en"
topics = ["service-mesh"]
speakers = [{ name = "Ann Example" }]

[[talks]]
id = "istio-en"
title = "Istio at scale"
event = "conf-2026"
language = "en"
topics = ["istio"]
speakers = [{ name = "Bo Example" }]

[[talks]]
id = "rust-any"
title = "Rust everywhere"
event = "conf-2026"
topics = ["rust"]
speakers = [{ name = "Cy Example" }]
"""
GERMAN = {"mesh-de", "linkerd-de", "rust-de"}
ALL_TALKS = 6


def build_language_catalogue(directory: Path) -> Path:
    """A database holding LANGUAGE_CATALOGUE, imported as any native catalogue file is."""
    source = directory / "languages.toml"
    source.write_text(LANGUAGE_CATALOGUE, encoding="utf-8")
    path = directory / "languages.sqlite3"
    with sync_db(path) as conn:
        import_file(conn, source)
    return path


@pytest.fixture
def language_db(tmp_path: Path) -> Path:
    return build_language_catalogue(tmp_path)


@pytest.fixture
def clock() -> SettlingClock:
    return SettlingClock(START)


@pytest.fixture
async def service(language_db: Path, clock: SettlingClock) -> AsyncIterator[HighlightService]:
    db = await Database.open(language_db)
    try:
        yield HighlightService(await CatalogueService.open(db), ScheduleRepository(db), clock=clock)
    finally:
        await db.close()


async def setup(service: HighlightService, **options):
    options = {"time_text": "09:00", "zone_text": "UTC", **options}
    return await service.setup(GUILD, options.pop("channel_id", CHANNEL), created_by=5, **options)


# --- schedules -------------------------------------------------------------------------------------------


async def test_a_schedule_in_a_language_posts_only_talks_in_it(service, language_db, clock):
    german = await setup(service, language="German")
    everything = await setup(service, channel_id=CHANNEL + 1)
    assert (german.language, german.language_name, german.filter_text) == ("de", "German", "German talks")
    assert everything.language is None

    store = SqliteScheduleStore(service.schedules.db, clock=clock)
    discord = FakeDiscord(clock)
    scheduler = Scheduler(Tracked(store, clock), discord, clock)
    try:
        await scheduler.start()
        await clock.settle()
        await clock.advance_to(NINE + 5 * DAY)
    finally:
        await scheduler.stop()
    posted = [m.talk for m in discord.posted(german.channel_id)]
    assert len(posted) == 6
    assert set(posted) == GERMAN  # every German talk, then again: nothing else
    assert len({m.talk for m in discord.posted(everything.channel_id)}) == ALL_TALKS


async def test_a_language_and_a_broader_topic_together(service):
    info = await setup(service, topic="Service mesh", language="de")
    assert info.filter_text == "German talks about Service mesh"
    state = await service.schedules.rotation(info.id)
    assert set(state.pool) == {"mesh-de", "linkerd-de"}  # Linkerd is a service mesh; the English ones are not
    assert (await service.preview(GUILD, info.id)).language == "de"


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("klingon", "“klingon” is not a language I know: use a code such as `en` or `de`"),
        ("fr", "No talk in the catalogue is marked as given in French. Languages: German (de), English (en)."),
    ],
)
async def test_setup_refuses_an_unknown_language_or_one_no_talk_has(service, language, message):
    with pytest.raises(UserFacingError) as raised:
        await setup(service, language=language)
    assert message in raised.value.message
    assert await service.list(GUILD) == []


async def test_an_empty_filter_with_a_language_says_so(service):
    with pytest.raises(EmptyPool, match="no English talks about Rust, so there would be nothing to post"):
        await setup(service, topic="rust", language="en")


async def test_the_same_schedule_in_another_language_is_not_a_duplicate(service):
    await setup(service, topic="rust")
    german = await setup(service, topic="rust", language="deutsch")
    assert german.filter_text == "German talks about Rust"
    assert [i.language for i in await service.list(GUILD)] == [None, "de"]


def test_pool_text_names_the_language():
    assert pool_text(None, None) == "all talks"
    assert pool_text("Rust", "RustConf") == "Rust talks at RustConf"
    assert pool_text(None, None, "German") == "German talks"
    assert pool_text("Rust", "RustConf", "German") == "German talks about Rust at RustConf"
    assert pool_text(None, "RustConf", "German") == "German talks at RustConf"


# --- /highlight -------------------------------------------------------------------------------------------


async def test_adhoc_in_a_language_shows_only_talks_in_it(service):
    shown = [(await service.adhoc("channel:1", language="de")).slug for _ in range(6)]
    assert set(shown[:3]) == set(shown[3:]) == GERMAN
    with pytest.raises(UserFacingError, match="not a language I know"):
        await service.adhoc("channel:1", language="xx-nope")


async def test_adhoc_rotations_for_different_languages_are_independent(service):
    german, english, anything = [], [], []
    for _ in range(2):  # interleaved in one channel, with the same topic
        german.append((await service.adhoc("channel:1", topic="service-mesh", language="de")).slug)
        english.append((await service.adhoc("channel:1", topic="service-mesh", language="en")).slug)
        anything.append((await service.adhoc("channel:1", topic="service-mesh")).slug)
    anything += [(await service.adhoc("channel:1", topic="service-mesh")).slug for _ in range(2)]
    assert set(german) == {"mesh-de", "linkerd-de"}
    assert set(english) == {"mesh-en", "istio-en"}
    assert set(anything) == {"mesh-de", "linkerd-de", "mesh-en", "istio-en"}  # its own round, whole
    rows = await sql(
        service.schedules.db,
        "SELECT language, MAX(round), COUNT(*) FROM adhoc_picks GROUP BY language ORDER BY language",
    )
    assert rows == [("", 0, 4), ("de", 0, 2), ("en", 0, 2)]


async def test_the_repository_keeps_a_rotation_per_language(db):
    repo = ScheduleRepository(db)
    pool = ("a", "b")
    picks = {
        language: [await repo.pick_adhoc("channel:1", "rust", None, pool, START, language=language) for _ in pool]
        for language in (None, "de", "en")
    }
    for language, made in picks.items():  # each covered the pool in its first round, untouched by the others
        assert [p.round for p in made] == [0, 0], language
        assert {p.talk for p in made} == set(pool), language


# --- the schema step ------------------------------------------------------------------------------------------


def test_the_migration_keeps_every_schedule_and_adhoc_pick(tmp_path: Path):
    older = tmp_path / "migrations-0004"
    older.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("000[1-4]_*.sql")):
        shutil.copy(path, older / path.name)
    database = tmp_path / "before.sqlite3"
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        migrate(conn, older)
        assert current_version(conn) == 4
        conn.executescript(
            "INSERT INTO schedules (guild_id, channel_id, local_time, zone, topic, event, next_day, next_due,"
            " next_key, created_at) VALUES"
            " (1, 2, '09:00', 'UTC', 'rust', NULL, '2025-01-06', '2025-01-06T09:00:00.000000+00:00', '2025-01-06',"
            " '2025-01-05T09:00:00.000000+00:00'),"
            " (1, 3, '10:30', 'Europe/Berlin', NULL, 'kubecon-eu-2021', '2025-01-06',"
            " '2025-01-06T09:30:00.000000+00:00', '2025-01-06', '2025-01-05T09:00:00.000000+00:00');"
            "INSERT INTO schedule_attempts (schedule_id, slot_key, talk, round, state, claimed_at, sent_at)"
            " VALUES (1, '2025-01-05', 'rust-talk', 0, 'sent', 'x', 'x');"
            "INSERT INTO adhoc_picks (scope, topic, event, talk, round, picked_at) VALUES"
            " ('channel:1', '', '', 'a', 0, 'x'), ('channel:1', '', '', 'b', 0, 'x'),"
            " ('channel:1', 'rust', '', 'a', 2, 'x'), ('user:9', '', 'kubecon-eu-2021', 'c', 1, 'x');"
        )
        picks_before = conn.execute("SELECT id, scope, topic, event, talk, round FROM adhoc_picks").fetchall()
    finally:
        conn.close()

    with sync_db(database) as db:  # the bot's own way in: it upgrades the schema
        assert current_version(db) == latest_version() >= 5
        assert db.execute("SELECT id, channel_id, topic, event, language FROM schedules ORDER BY id").fetchall() == [
            (1, 2, "rust", None, None),
            (2, 3, None, "kubecon-eu-2021", None),
        ]
        assert db.execute("SELECT COUNT(*) FROM schedule_attempts").fetchone()[0] == 1
        after = db.execute("SELECT id, scope, topic, event, talk, round, language FROM adhoc_picks").fetchall()
        assert after == [(*row, "") for row in picks_before]
        # The language is part of the key now: the same pick in another language's rotation is allowed...
        db.execute(
            "INSERT INTO adhoc_picks (scope, topic, event, language, talk, round, picked_at)"
            " VALUES ('channel:1', '', '', 'de', 'a', 0, 'x')"
        )
        with pytest.raises(sqlite3.IntegrityError):  # ...and in the same one it is not
            db.execute(
                "INSERT INTO adhoc_picks (scope, topic, event, talk, round, picked_at)"
                " VALUES ('channel:1', '', '', 'a', 0, 'x')"
            )


async def test_a_migrated_schedule_reads_as_one_in_any_language(tmp_path: Path, bundled_db: Path):
    # The bundled database is already at the latest version; its schedules read back with no language.
    db = await Database.open(bundled_db)
    try:
        repo = ScheduleRepository(db)
        await sql(
            db,
            "INSERT INTO schedules (guild_id, channel_id, local_time, zone, topic, next_day, next_due, next_key,"
            " created_at) VALUES (1, 2, '09:00', 'UTC', 'linkerd', '2025-01-06', '2025-01-06T09:00:00.000000+00:00',"
            " '2025-01-06', '2025-01-05T09:00:00.000000+00:00')",
        )
        record = (await repo.list_for_guild(1))[0]
        assert (record.topic, record.language) == ("linkerd", None)
        assert len((await repo.rotation(record.id)).pool) == 10
    finally:
        await db.close()
