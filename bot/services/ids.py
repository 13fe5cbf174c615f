"""Numbers for Slack's text ids (workspaces T…, channels C…, users U…), which the schedule tables keep as integers.

Each id gets its number once, on first use, and keeps it (bot/data/migrations/0006_schedule_platform.sql).
Reads of known ids run in place; a new id is one small write.
"""

from __future__ import annotations

from bot.db.gateway import Database, Session


class SlackIds:
    """Slack id <-> number, remembered in memory once seen."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._numbers: dict[str, int] = {}
        self._ids: dict[int, str] = {}

    async def number(self, slack_id: str) -> int:
        """The number of a Slack id, given one if it has none yet."""
        found = self._numbers.get(slack_id)
        if found is None:
            found = await self.db.write(lambda conn: _intern(conn, slack_id))
            self._remember(slack_id, found)
        return found

    async def slack_id(self, number: int) -> str | None:
        """The Slack id a number stands for, or None for a number never given."""
        found = self._ids.get(number)
        if found is None:
            row = await self.db.read(
                lambda conn: conn.execute("SELECT slack_id FROM slack_ids WHERE id = ?", (number,)).fetchone()
            )
            if row is None:
                return None
            found = str(row[0])
            self._remember(found, number)
        return found

    def _remember(self, slack_id: str, number: int) -> None:
        self._numbers[slack_id] = number
        self._ids[number] = slack_id


def _intern(conn: Session, slack_id: str) -> int:
    conn.execute("INSERT INTO slack_ids (slack_id) VALUES (?) ON CONFLICT (slack_id) DO NOTHING", (slack_id,))
    row = conn.execute("SELECT id FROM slack_ids WHERE slack_id = ?", (slack_id,)).fetchone()
    return int(row[0])
