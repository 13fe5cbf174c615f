"""The sandbox keeps a SQLite file of its own, whatever engine the suite runs on (it never uses DATABASE_URL)."""

from pathlib import Path

import pytest


@pytest.fixture
def bundled_db(bundled_sqlite: Path) -> Path:
    return bundled_sqlite
