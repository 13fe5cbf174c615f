"""The services a platform adapter is handed, built once when it starts; each extension takes only what it needs."""

from __future__ import annotations

from dataclasses import dataclass

from bot.catalogue.service import CatalogueService
from bot.highlights.ports import Clock
from bot.highlights.scheduler import SchedulerConfig
from bot.highlights.service import HighlightService
from bot.highlights.store import SqliteScheduleStore


@dataclass(frozen=True, slots=True)
class Services:
    """What the extensions are handed; each takes only what it needs."""

    catalogue: CatalogueService
    highlights: HighlightService
    schedule_store: SqliteScheduleStore
    clock: Clock
    scheduler_config: SchedulerConfig
    view_timeout: float = 300.0
