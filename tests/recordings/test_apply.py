"""Writing recordings into the catalogue: atomic, idempotent, dry runs, conflicts, JSON, review files, the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.catalogue.service import CatalogueService
from bot.db.connection import sync_db
from bot.db.gateway import Database
from bot.errors import CatalogueFormatError, ConfigError, DatabaseError
from bot.recordings.apply import (
    RecordingOptions,
    apply_recordings,
    import_recordings,
    import_recordings_data,
    report_document,
    review_file,
)
from bot.recordings.formats import Recording, RecordingList, read_recordings

VIDEOS = (
    b"url,title,speakers\n"
    b"https://www.youtube.com/watch?v=AAAAAAAAAA1,PyConf 2024 - A Tale of Scaling Observability,Toomas Ormisson\n"
    b"https://www.youtube.com/watch?v=AAAAAAAAAA2,TankerEmbrace the relational model,Bertrand Chenal\n"
    b"https://www.youtube.com/watch?v=AAAAAAAAAA3,Lightning talks,\n"
    b"https://www.youtube.com/watch?v=AAAAAAAAAA4,It's time for datetime,Mario Corchero\n"
    b"https://www.youtube.com/watch?v=AAAAAAAAAA5,Cooking with cast iron,\n"
)


def snapshot(path: Path) -> tuple[list[tuple[object, ...]], int]:
    with sync_db(path) as conn:
        talks = list(conn.execute("SELECT slug, recording_url FROM talks ORDER BY slug"))
        version = conn.execute("SELECT version FROM catalogue_state").fetchone()[0]
    return talks, version


def recording_of(path: Path, slug: str) -> str | None:
    with sync_db(path) as conn:
        row = conn.execute("SELECT recording_url FROM talks WHERE slug = ?", (slug,)).fetchone()
    return row[0] if row else None


def test_an_import_writes_matches_reports_the_rest_and_bumps_the_version(programme_db: Path) -> None:
    _, before = snapshot(programme_db)
    with sync_db(programme_db) as conn:
        report = import_recordings_data(conn, VIDEOS, "videos.csv")
    assert [(m.talk.slug, m.status) for m in report.matched] == [
        ("pyconf-2024-101", "added"),
        ("pyconf-2024-102", "added"),
    ]
    assert [d.recording.title for d in report.ambiguous] == ["Lightning talks"]
    assert [d.recording.title for d in report.unmatched] == ["Cooking with cast iron"]
    # The talk that has a recording keeps it: a conflict, reported, not overwritten.
    [conflict] = report.conflicts
    assert conflict.talk.slug == "pyconf-2024-107"
    assert "already has another recording" in conflict.why
    assert recording_of(programme_db, "pyconf-2024-107") == "https://www.youtube.com/watch?v=EXISTING001"
    assert recording_of(programme_db, "pyconf-2024-101") == "https://www.youtube.com/watch?v=AAAAAAAAAA1"
    assert snapshot(programme_db)[1] == before + 1


def test_running_the_same_list_twice_changes_nothing_the_second_time(programme_db: Path) -> None:
    with sync_db(programme_db) as conn:
        import_recordings_data(conn, VIDEOS, "videos.csv")
    after_first = snapshot(programme_db)
    with sync_db(programme_db) as conn:
        again = import_recordings_data(conn, VIDEOS, "videos.csv")
    assert not again.touched
    assert {m.status for m in again.matched} == {"kept"}
    assert snapshot(programme_db) == after_first


def test_a_dry_run_reports_exactly_what_a_run_would_do_and_changes_nothing(programme_db: Path) -> None:
    before = snapshot(programme_db)
    with sync_db(programme_db) as conn:
        dry = import_recordings_data(conn, VIDEOS, "videos.csv", dry_run=True)
    assert snapshot(programme_db) == before
    with sync_db(programme_db) as conn:
        real = import_recordings_data(conn, VIDEOS, "videos.csv")
    assert dry.dry_run
    assert [(m.talk.slug, m.recording.url) for m in dry.added] == [(m.talk.slug, m.recording.url) for m in real.added]
    assert report_document(dry)["matched"][0]["status"] == "would add"


def test_a_failing_import_leaves_the_database_exactly_as_it_was(programme_db: Path) -> None:
    before = snapshot(programme_db)
    with sync_db(programme_db) as conn:
        # A trigger makes the second write fail, after the first one was made in the same transaction.
        conn.execute(
            "CREATE TRIGGER refuse BEFORE UPDATE OF recording_url ON talks WHEN NEW.slug = 'pyconf-2024-102'"
            " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
        )
        with pytest.raises(DatabaseError, match="nothing changed"):
            import_recordings_data(conn, VIDEOS, "videos.csv")
        conn.execute("DROP TRIGGER refuse")
    assert snapshot(programme_db) == before


def test_a_video_that_is_another_talks_recording_is_a_conflict(programme_db: Path) -> None:
    listed = RecordingList(
        "x", "x", [Recording(url="https://youtu.be/EXISTING001", title="A Tale of Scaling Observability")]
    )
    with sync_db(programme_db) as conn:
        report = apply_recordings(conn, listed)
    [conflict] = report.conflicts
    assert conflict.why == "the video is already the recording of pyconf-2024-107"
    assert recording_of(programme_db, "pyconf-2024-101") is None


def test_the_review_file_round_trip_settles_ambiguous_videos_and_conflicts(programme_db: Path) -> None:
    with sync_db(programme_db) as conn:
        report = import_recordings_data(conn, VIDEOS, "videos.csv")
    review = review_file(report)
    assert "candidate pyconf-2024-108" in review and "candidate pyconf-2024-109" in review
    assert "# [[talks]]" in review  # the unmatched video, commented out
    # The reviewer picks the Wednesday lightning talks, and lets the conflicting video replace the old one.
    edited = review.replace("replace = true\n", "").replace(
        'title = "It\'s time for datetime"', 'title = "It\'s time for datetime"\nreplace = true'
    )
    parsed = read_recordings(edited.encode(), "review.toml")
    assert {r.talk_id for r in parsed.recordings} == {"pyconf-2024-108", "pyconf-2024-107"}
    with sync_db(programme_db) as conn:
        settled = apply_recordings(conn, parsed)
    assert sorted(m.talk.slug for m in settled.added) == ["pyconf-2024-107", "pyconf-2024-108"]
    assert recording_of(programme_db, "pyconf-2024-107") == "https://www.youtube.com/watch?v=AAAAAAAAAA4"
    assert recording_of(programme_db, "pyconf-2024-108") == "https://www.youtube.com/watch?v=AAAAAAAAAA3"


def test_a_review_entry_naming_no_talk_is_unmatched_not_guessed(programme_db: Path) -> None:
    data = b'[[talks]]\nid = "no-such-talk"\nrecording_url = "https://youtu.be/zzz"\n'
    with sync_db(programme_db) as conn:
        report = import_recordings_data(conn, data, "review.toml")
    assert [d.recording.url for d in report.unmatched] == ["https://youtu.be/zzz"]


def test_options_are_checked(programme_db: Path) -> None:
    with sync_db(programme_db) as conn, pytest.raises(ConfigError, match="--min-confidence"):
        import_recordings_data(conn, VIDEOS, "v.csv", RecordingOptions(min_confidence=1.5))


async def test_the_running_bot_imports_through_the_write_path_and_reloads(programme_db: Path) -> None:
    db = await Database.open(programme_db)
    try:
        catalogue = await CatalogueService.open(db)
        report = await import_recordings(db, VIDEOS, "videos.csv", RecordingOptions(event="PyConf 2024"))
        assert len(report.added) == 2
        talk = await catalogue.talk("pyconf-2024-101")
        assert talk.recording_url == "https://www.youtube.com/watch?v=AAAAAAAAAA1"
        with pytest.raises(CatalogueFormatError):
            await import_recordings(db, b"{", "broken.json")
    finally:
        await db.close()


# -- the command line, end to end on a real SQLite file ------------------------------------------------------


@pytest.fixture
def cli_db(programme_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("BOT_DATABASE", raising=False)
    path = tmp_path / "cli.sqlite3"
    shutil.copy(programme_db, path)
    return path


def test_cli_json_is_one_document(cli_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    videos = tmp_path / "videos.csv"
    videos.write_bytes(VIDEOS)
    assert main(["--db", str(cli_db), "recordings", str(videos), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [m["talk_id"] for m in document["matched"]] == ["pyconf-2024-101", "pyconf-2024-102"]
    first = document["matched"][0]
    assert first["video_url"] == "https://www.youtube.com/watch?v=AAAAAAAAAA1"
    assert first["confidence"] >= 0.85 and first["reason"]
    assert document["ambiguous"][0]["candidates"][0]["talk_id"] in ("pyconf-2024-108", "pyconf-2024-109")
    assert document["unmatched"] == [
        {"url": "https://www.youtube.com/watch?v=AAAAAAAAAA5", "title": "Cooking with cast iron"}
    ]
    assert document["conflicts"][0]["talk_id"] == "pyconf-2024-107"


def test_cli_dry_run_review_out_and_back(cli_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    videos, review = tmp_path / "videos.csv", tmp_path / "review.toml"
    videos.write_bytes(VIDEOS)
    before = snapshot(cli_db)
    assert main(["--db", str(cli_db), "recordings", str(videos), "--dry-run", "--review-out", str(review)]) == 0
    out = capsys.readouterr().out
    assert "Dry run, nothing was changed" in out and "would add 2 recordings" in out
    assert snapshot(cli_db) == before
    assert main(["--db", str(cli_db), "recordings", str(review), "--json"]) == 0
    settled = json.loads(capsys.readouterr().out)
    assert [m["talk_id"] for m in settled["matched"]] in (["pyconf-2024-108"], ["pyconf-2024-109"])
    assert settled["conflicts"][0]["talk_id"] == "pyconf-2024-107"  # still not replaced without replace = true


def test_cli_bad_input_is_one_line_and_a_failure_status(
    cli_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"kind": "youtube#playlistItemListResponse", "items": [{"snippet": {}}]}')
    before = snapshot(cli_db)
    assert main(["--db", str(cli_db), "recordings", str(broken)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "no video id" in error and "\n" not in error
    assert main(["--db", str(cli_db), "recordings", str(tmp_path / "missing.csv")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["--db", str(cli_db), "recordings", str(broken), "--event", "NoSuchConf"]) == 1
    assert snapshot(cli_db) == before
