"""Live notices as a kind of job for the scheduler's engine (`bot.highlights.engine`).

Each planned post (`bot.live.store.LivePost`) is claimed ("sending", with what it will say) before it goes
out, sent with a nonce derived from its id, then marked sent: once and only once, as highlight slots are
(`bot.highlights.ports`). An "up next" notice is written when it is due, from the programme as it stands
then; one whose talks have started (the bot was not running) is skipped, never posted late. A send whose
outcome is unknown is retried with the same nonce inside the nonce window and given up after it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.highlights.engine import Runtime
from bot.highlights.ports import PostFailure
from bot.live.notices import LivePoster, UpNext
from bot.live.service import LiveService, change_notice
from bot.live.store import LivePost, LiveStore

log = logging.getLogger(__name__)


def nonce_of(post: LivePost) -> str:
    """The message nonce for a post: the same on every retry; 24 characters (Discord allows 25)."""
    return hashlib.blake2b(f"live/{post.id}".encode(), digest_size=12).hexdigest()


class LiveJobs:
    """Planned live posts of one platform; see the module docstring for the guarantees."""

    name = "live-post"

    def __init__(self, service: LiveService, store: LiveStore, poster: LivePoster, runtime: Runtime) -> None:
        self._service = service
        self._store = store
        self._poster = poster
        self._runtime = runtime
        self._clock = runtime.clock
        self._config = runtime.config

    async def load(self) -> list[LivePost]:
        """Plan every setup's notices (the programme may have changed while the bot was away), then load them."""
        await self._service.plan_all()
        return await self._store.waiting()

    async def get(self, job_id: int) -> LivePost | None:
        """One waiting post."""
        return await self._store.get(job_id)

    def later(self, job: LivePost, at: datetime) -> LivePost:
        """The post, looked at again at `at`."""
        return replace(job, retry_at=at)

    async def run(self, job: LivePost) -> LivePost | None:
        """Send the due post, or give it up with a reason."""
        setup = await self._store.setup(job.setup_id)
        if setup is None or setup.state != "enabled":
            return None
        now = self._clock.now()
        fresh = job.state == "pending"
        if not fresh and not self._may_resend(job):
            await self._store.end(
                job, "skipped", "the bot stopped while sending it; not sent again, to avoid a double post"
            )
            return None
        if job.kind == "next":
            start = datetime.fromisoformat(job.key)
            if now >= start:
                await self._store.end(job, "skipped", "its talks had started when the bot could post it")
                return None
            deadline = start
            if fresh:
                talks = await self._service.up_next(setup, job)
                if not talks:
                    await self._store.end(job, "skipped", "no talk left at that time in that channel")
                    return None
                body: dict[str, Any] = {"talks": [{"slug": t.slug, "start": job.key, "room": t.room} for t in talks]}
            else:
                body = job.body
                found = [await self._service.catalogue.talk_by_slug(str(t["slug"])) for t in body.get("talks", [])]
                talks = [t for t in found if t is not None]
            event = talks[0].event.name if talks else ""
            notice = UpNext(start, setup.lead_minutes, tuple(talks), event)

            async def send() -> object:
                return await self._poster.up_next(setup.guild_id, job.channel_id, notice, nonce_of(job))
        else:
            deadline = job.due_at + self._config.grace
            if now > deadline:
                await self._store.end(job, "skipped", "it was due while the bot was not running")
                return None
            body = job.body
            changes = change_notice(body)

            async def send() -> object:
                return await self._poster.changes(setup.guild_id, job.channel_id, changes, nonce_of(job))

        if fresh:
            claimed = await self._store.claim(job, body, now)
            if claimed is None:
                return None
            job = claimed
        try:
            result = await self._runtime.send(
                send, deadline=deadline, still_safe=None if fresh else lambda: self._may_resend(job)
            )
        except PostFailure as failure:
            await self._failed(job, failure, release=fresh and failure.certain)
            return None
        if result is None:
            await self._store.end(job, "skipped", "it may not have gone out; not sent again, to avoid a double post")
            return None
        message = getattr(result, "message_id", None)
        await self._store.mark_sent(job, None if message is None else str(message), self._clock.now())
        return None

    def _may_resend(self, job: LivePost) -> bool:
        return job.claimed_at is not None and self._clock.now() - job.claimed_at < self._config.nonce_window

    async def _failed(self, job: LivePost, failure: PostFailure, *, release: bool) -> None:
        failures = job.failures + 1
        if failures >= self._config.max_failures:
            log.warning("live post %s: given up after %d failures: %s", job.id, failures, failure.reason)
            await self._store.end(job, "failed", failure.reason)
            return
        delay = min(self._config.retry_delay(failures), timedelta(minutes=1))  # a notice is only useful soon
        await self._store.retry(job, failure.reason, self._clock.now() + delay, release=release)
