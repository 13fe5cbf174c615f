"""Where Slack installations live when the app is installed in many workspaces through OAuth.

slack-sdk ships stores for files, SQLite and SQLAlchemy; its SQLite one runs blocking calls on the event loop.
These implement slack-sdk's async interfaces on the bot's own database gateway instead: reads in place,
writes on the single write path (bot/data/migrations/0007_slack_installations.sql).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.db.gateway import Database, Session

log = logging.getLogger(__name__)

STATE_LIFETIME = 600.0  # seconds an OAuth state stays valid, as slack-sdk's own stores


def _json(record: dict[str, Any]) -> str:
    return json.dumps(record, default=lambda value: value.isoformat() if isinstance(value, datetime) else str(value))


def _key(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None) -> tuple[str, str]:
    return enterprise_id or "", "" if is_enterprise_install else team_id or ""


class SlackInstallations(AsyncInstallationStore):
    """slack-sdk's installation store on the database gateway."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def logger(self) -> logging.Logger:
        """The store's logger (slack-sdk's interface asks for one)."""
        return log

    async def async_save(self, installation: Installation) -> None:
        """Keep an installation: as the member's, as the workspace's latest, and its bot."""
        enterprise, team = _key(installation.enterprise_id, installation.team_id, installation.is_enterprise_install)
        data, at = _json(installation.to_dict()), datetime.now(UTC).isoformat()
        rows = [("installation", enterprise, team, installation.user_id or "", data, at)]
        rows.append(("installation", enterprise, team, "", data, at))
        if installation.bot_token:
            rows.append(("bot", enterprise, team, "", _json(installation.to_bot().to_dict()), at))
        await self.db.write(lambda conn: conn.executemany(_UPSERT, rows))

    async def async_save_bot(self, bot: Bot) -> None:
        """Keep a workspace's bot (its token)."""
        enterprise, team = _key(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        row = ("bot", enterprise, team, "", _json(bot.to_dict()), datetime.now(UTC).isoformat())
        await self.db.write(lambda conn: conn.execute(_UPSERT, row))

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        """The workspace's bot, or None if the app is not installed there."""
        data = await self._find("bot", enterprise_id, team_id, "", is_enterprise_install)
        return None if data is None else Bot(**data)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The member's installation, or (without `user_id`) the workspace's latest."""
        data = await self._find("installation", enterprise_id, team_id, user_id or "", is_enterprise_install)
        return None if data is None else Installation(**data)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget the workspace's bot."""
        enterprise, team = _key(enterprise_id, team_id, False)
        await self.db.write(lambda conn: _delete(conn, "bot", enterprise, team, None))

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """Forget a member's installation, or (without `user_id`) every installation of the workspace."""
        enterprise, team = _key(enterprise_id, team_id, False)
        await self.db.write(lambda conn: _delete(conn, "installation", enterprise, team, user_id))

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Forget everything of the workspace (the app was uninstalled)."""
        enterprise, team = _key(enterprise_id, team_id, False)

        def work(conn: Session) -> None:
            _delete(conn, "bot", enterprise, team, None)
            _delete(conn, "installation", enterprise, team, None)

        await self.db.write(work)

    async def _find(
        self,
        kind: str,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str,
        is_enterprise_install: bool | None,
    ) -> dict[str, Any] | None:
        enterprise, team = _key(enterprise_id, team_id, is_enterprise_install)
        row = await self.db.read(
            lambda conn: conn.execute(
                "SELECT data FROM slack_installations WHERE kind = ? AND enterprise_id = ? AND team_id = ?"
                " AND user_id = ?",
                (kind, enterprise, team, user_id),
            ).fetchone()
        )
        if row is None:
            return None
        data: dict[str, Any] = json.loads(str(row[0]))
        return data


_UPSERT = (
    "INSERT INTO slack_installations (kind, enterprise_id, team_id, user_id, data, installed_at)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind, enterprise_id, team_id, user_id)"
    " DO UPDATE SET data = excluded.data, installed_at = excluded.installed_at"
)


def _delete(conn: Session, kind: str, enterprise: str, team: str, user_id: str | None) -> None:
    if user_id is None:
        conn.execute(
            "DELETE FROM slack_installations WHERE kind = ? AND enterprise_id = ? AND team_id = ?",
            (kind, enterprise, team),
        )
    else:
        conn.execute(
            "DELETE FROM slack_installations WHERE kind = ? AND enterprise_id = ? AND team_id = ? AND user_id = ?",
            (kind, enterprise, team, user_id),
        )


class SlackOAuthStates(AsyncOAuthStateStore):
    """slack-sdk's OAuth state store on the database gateway: each state once, for ten minutes."""

    def __init__(self, db: Database, lifetime: float = STATE_LIFETIME) -> None:
        self.db = db
        self.lifetime = lifetime

    @property
    def logger(self) -> logging.Logger:
        """The store's logger (slack-sdk's interface asks for one)."""
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        """A new state value."""
        state = secrets.token_urlsafe(24)
        expires = time.time() + self.lifetime

        def work(conn: Session) -> None:
            conn.execute("DELETE FROM slack_oauth_states WHERE expires_at < ?", (time.time(),))
            conn.execute("INSERT INTO slack_oauth_states (state, expires_at) VALUES (?, ?)", (state, expires))

        await self.db.write(work)
        return state

    async def async_consume(self, state: str) -> bool:
        """Whether `state` was issued and has not expired; it cannot be used again either way."""
        row = await self.db.write(
            lambda conn: conn.execute(
                "DELETE FROM slack_oauth_states WHERE state = ? RETURNING expires_at", (state,)
            ).fetchone()
        )
        return row is not None and float(row[0]) >= time.time()
