"""The services a platform adapter is handed, built once when it starts; each extension takes only what it needs.

`open_services` is the one place they are wired together, for every platform: the database gateway, the
catalogue, the highlights and the scheduler's store (sharing one cache of highlight pools), and members' watch lists and
reminders, live mode, and the announcements of new recordings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.catalogue.service import CatalogueService
from bot.db.gateway import Database
from bot.db.shards import ShardFilter
from bot.highlights.clock import SystemClock
from bot.highlights.ports import Clock
from bot.highlights.scheduler import SchedulerConfig
from bot.highlights.service import HighlightService
from bot.highlights.store import CataloguePool, ScheduleRepository, SqliteScheduleStore
from bot.live.follow import FollowService
from bot.live.service import LiveService
from bot.live.store import LiveStore
from bot.recordings.announce import AnnouncementService, AnnouncementStore
from bot.watchlist.reminders import Platform, RemindersService, ReminderStore
from bot.watchlist.service import WatchlistService
from bot.watchlist.store import WatchlistStore


@dataclass(frozen=True, slots=True)
class Services:
    """What the extensions are handed; each takes only what it needs."""

    catalogue: CatalogueService
    highlights: HighlightService
    watchlist: WatchlistService
    reminders: RemindersService
    reminder_store: ReminderStore  # the scheduler's, with only this platform's reminders
    live: LiveService
    follows: FollowService
    announcements: AnnouncementService  # new recordings told in servers' channels
    schedule_store: SqliteScheduleStore
    clock: Clock
    scheduler_config: SchedulerConfig
    view_timeout: float = 300.0
    db: Database | None = None  # the gateway, for an adapter's own small stores (Slack's ids)


@asynccontextmanager
async def open_services(
    database: Path | str,
    *,
    clock: Clock | None = None,
    scheduler_config: SchedulerConfig | None = None,
    view_timeout: float = 300.0,
    platform: Platform = "discord",
    shards: ShardFilter | None = None,
) -> AsyncIterator[Services]:
    """Open the database (creating and migrating it if needed) and build the services over it; closed on exit.

    The highlights see only `platform`'s schedules: each platform's process runs its own scheduler. With
    `shards`, a process running some of Discord's shards schedules only the highlights and live notices of the
    servers on them (its gateway cache holds only those). Reminders are direct messages, which need no shard:
    every process loads them, and their atomic claim has exactly one of them send each.
    """
    clock = clock or SystemClock()
    db = await Database.open(database)
    try:
        catalogue = await CatalogueService.open(db)
        pool = CataloguePool(db)
        settings = WatchlistStore(db)
        yield Services(
            catalogue=catalogue,
            highlights=HighlightService(catalogue, ScheduleRepository(db, pool, platform=platform), clock=clock),
            watchlist=WatchlistService(catalogue, settings, clock),
            reminders=RemindersService(catalogue, ReminderStore(db), settings, clock),
            reminder_store=ReminderStore(db, platform),
            live=LiveService(catalogue, LiveStore(db, platform, shards), clock),
            follows=FollowService(catalogue, db, clock),
            announcements=AnnouncementService(AnnouncementStore(db, platform, shards), pool, clock),
            schedule_store=SqliteScheduleStore(db, clock=clock, pool=pool, platform=platform, shards=shards),
            clock=clock,
            scheduler_config=scheduler_config or SchedulerConfig(),
            view_timeout=view_timeout,
            db=db,
        )
    finally:
        await db.close()
