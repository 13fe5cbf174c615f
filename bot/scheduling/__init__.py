"""Scheduled highlight posts: the engine and the ports it talks through (no Discord, no database)."""

from bot.scheduling.clock import FakeClock, SystemClock
from bot.scheduling.limiter import RateLimiter
from bot.scheduling.memory import InMemoryScheduleStore
from bot.scheduling.ports import (
    Attempt,
    ChannelGone,
    Clock,
    GuildGone,
    MissingPermissions,
    Poster,
    PostFailure,
    PostResult,
    RateLimited,
    RotationState,
    Schedule,
    ScheduleStore,
    TalkGone,
    TransientError,
    UnknownOutcome,
)
from bot.scheduling.scheduler import Scheduler, SchedulerConfig

__all__ = [
    "Attempt",
    "ChannelGone",
    "Clock",
    "FakeClock",
    "GuildGone",
    "InMemoryScheduleStore",
    "MissingPermissions",
    "PostFailure",
    "PostResult",
    "Poster",
    "RateLimited",
    "RateLimiter",
    "RotationState",
    "Schedule",
    "ScheduleStore",
    "Scheduler",
    "SchedulerConfig",
    "SystemClock",
    "TalkGone",
    "TransientError",
    "UnknownOutcome",
]
