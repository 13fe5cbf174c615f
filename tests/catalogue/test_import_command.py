"""`python -m bot import` and `export` around the importer: new databases, empty exports, file modes, wording."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.catalogue.importer import export_file, import_file

from .conftest import CONFERENCE, PRETALX


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database path in a folder that does not exist yet."""
    path = tmp_path / "state" / "cli.sqlite3"
    monkeypatch.setenv("BOT_DATABASE", str(path))
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    return path


def _talks(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM talks").fetchone()[0])
    finally:
        conn.close()


def test_a_dry_run_on_a_new_database_path_reports_and_leaves_no_database(
    fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(PRETALX), "--dry-run"]) == 0
    assert "would add 8" in capsys.readouterr().out
    assert not fresh.parent.exists()  # neither the database nor the folder made for it


def test_a_failing_import_on_a_new_database_path_leaves_no_database(
    fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"schedule": {"conference": {"title": "X", "days": [{"rooms": {"A": [{"id": 1}]}}]}}}')
    assert main(["import", str(broken)]) == 1
    assert "broken.json" in capsys.readouterr().err
    assert not fresh.parent.exists()
    fresh.parent.mkdir()
    assert main(["import", str(tmp_path / "missing.json")]) == 1
    assert list(fresh.parent.iterdir()) == []  # a folder that was there stays, and stays empty


def test_an_import_on_a_new_database_path_creates_it_with_the_bundled_catalogue(
    fresh: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(PRETALX)]) == 0
    assert "added 8" in capsys.readouterr().out
    assert [p.name for p in fresh.parent.iterdir()] == [fresh.name]
    assert _talks(fresh) == 11 + 8
    assert main(["import", str(PRETALX)]) == 0  # an existing database is used where it is
    assert "added 0, changed 0, removed 0, unchanged 8" in capsys.readouterr().out


def test_an_empty_export_needs_allow_empty(fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(PRETALX)]) == 0
    data = json.loads(PRETALX.read_text(encoding="utf-8"))
    data["schedule"]["conference"]["days"] = []
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps(data), encoding="utf-8")
    capsys.readouterr()
    assert main(["import", str(empty)]) == 1
    err = capsys.readouterr().err
    assert "lists no talks of 'Winter Channels'" in err and "import again with --allow-empty" in err
    assert _talks(fresh) == 19
    assert main(["import", str(empty), "--allow-empty"]) == 0
    assert "removed 8" in capsys.readouterr().out
    assert _talks(fresh) == 11


def test_export_counts_talks_and_events_in_plain_english(
    fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(tmp_path / "rust.toml"), "--event", "cloud-native-rust-day-2021"]) == 0
    assert "Wrote 2 talks of 1 event to" in capsys.readouterr().out
    assert main(["export", str(tmp_path / "all.toml")]) == 0
    assert "Wrote 11 talks of 3 events to" in capsys.readouterr().out


@pytest.fixture
def umask() -> Iterator[None]:
    """Restore the process's umask after the test changes it."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("umask")
def test_an_export_gets_the_mode_an_ordinary_file_would(conn: sqlite3.Connection, tmp_path: Path) -> None:
    import_file(conn, CONFERENCE)
    export_file(conn, tmp_path / "shared.toml")
    assert stat.S_IMODE((tmp_path / "shared.toml").stat().st_mode) == 0o644
    os.umask(0o027)
    export_file(conn, tmp_path / "group.toml")
    assert stat.S_IMODE((tmp_path / "group.toml").stat().st_mode) == 0o640
    kept = tmp_path / "kept.toml"
    kept.write_text("")
    kept.chmod(0o664)
    export_file(conn, kept)  # replacing a file keeps its mode, as writing it in place would
    assert stat.S_IMODE(kept.stat().st_mode) == 0o664
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
