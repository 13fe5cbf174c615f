"""The import command's core: format detection, guards, dry runs, reports, progress, crashes and export."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

import bot.catalogue.writer
from bot.catalogue import importer
from bot.catalogue.export import export_document
from bot.catalogue.importer import (
    ImportOptions,
    detect_format,
    export_file,
    format_report,
    import_file,
    make_progress,
    read_document,
)
from bot.catalogue.native import BUNDLED_CATALOGUE, load_native
from bot.catalogue.writer import ImportReport
from bot.db.connection import sync_db
from bot.errors import CatalogueFormatError, DatabaseError, EventNotFound

from .conftest import CONFERENCE, FRAB, PRETALX, SESSIONIZE_TRACKS, SESSIONIZE_VIDEOS, XML, counts, snapshot

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("path", "expected"),
    [(PRETALX, "schedule-json"), (FRAB, "schedule-json"), (XML, "schedule-xml"), (SESSIONIZE_TRACKS, "sessionize"),
     (SESSIONIZE_VIDEOS, "sessionize"), (CONFERENCE, "native"), (BUNDLED_CATALOGUE, "native")],
)  # fmt: skip
def test_the_format_is_told_from_the_content_not_the_file_name(path: Path, expected: str, tmp_path: Path) -> None:
    assert detect_format(path.read_bytes()) == expected
    disguised = tmp_path / "schedule.csv"  # a misleading name changes nothing
    disguised.write_bytes(path.read_bytes())
    assert read_document(disguised, ImportOptions(event="E" if expected == "sessionize" else None)).talks


def test_csv_is_detected_and_unknown_content_is_explained() -> None:
    assert detect_format(b"title;speakers\nA;B\n") == "csv"
    with pytest.raises(CatalogueFormatError, match="cannot tell the format from the content; pass --format"):
        detect_format(b"just some words\n", "notes.txt")
    with pytest.raises(CatalogueFormatError, match="JSON, but neither"):
        detect_format(b'{"talks": []}')
    with pytest.raises(CatalogueFormatError, match="the file is empty"):
        detect_format(b"\n  \n")


def test_files_over_the_size_limit_or_missing_fail_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "MAX_FILE_BYTES", 1000)
    with pytest.raises(CatalogueFormatError, match=r"the file is 0 MB; an import reads at most 0 MB\. Split it"):
        read_document(FRAB)
    with pytest.raises(CatalogueFormatError, match="no such file"):
        read_document(tmp_path / "missing.json")
    with pytest.raises(CatalogueFormatError, match="is a folder"):
        read_document(tmp_path)


def test_a_dry_run_reports_what_would_change_and_changes_nothing(bundled: sqlite3.Connection, tmp_path: Path) -> None:
    before = snapshot(bundled)
    report = import_file(bundled, CONFERENCE, ImportOptions(), True)
    assert report.dry_run and len(report.added) == 27
    assert snapshot(bundled) == before
    lines = format_report(report, limit=3)
    assert lines[0].startswith("Dry run, nothing was changed: would add 27, would change 0, would remove 0")
    assert "new events: cascadeconf-na-2023, meshday-na-2023, proxycon-2023, telemetry-summit-na-2023" in lines[0]
    assert lines[1] == "Would add:" and lines[-1] == "  … and 24 more" and len(lines) == 6


def test_the_report_lists_every_removed_talk() -> None:
    report = ImportReport(
        added=[("a", "A")], changed=[("c", "C")], removed=[(f"r{n}", f"R{n}") for n in range(30)], unchanged=5
    )
    lines = format_report(report, limit=1)
    assert lines[0] == "added 1, changed 1, removed 30, unchanged 5"
    assert "  + a  A" in lines and "  ~ c  C" in lines and "  - r29  R29" in lines
    assert format_report(ImportReport(unchanged=3))[-1] == "Nothing to change: the catalogue already matches the file."


def test_an_event_the_catalogue_knows_keeps_its_id_name_dates_and_parent(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    import_file(conn, CONFERENCE)
    path = tmp_path / "extra.csv"
    path.write_text("title,speakers\nA late addition,Jane Doe (Acme)\n", encoding="utf-8")
    report = import_file(conn, path, ImportOptions(event="Mesh Day 2023"))  # its short name
    assert report.added == [("meshday-na-2023-a-late-addition", "A late addition")]
    # The CSV lists one talk of Mesh Day: the event's other talks are withdrawn, as the file says.
    assert len(report.removed) == 4 and all(slug.startswith("meshday-na-2023-") for slug, _ in report.removed)
    row = conn.execute(
        "SELECT e.name, e.short_name, e.start_date, e.end_date, e.location, p.slug"
        " FROM events e JOIN events p ON p.id = e.parent_id WHERE e.slug = ?",
        ("meshday-na-2023",),
    ).fetchone()
    assert row == ("Mesh Day North America 2023", "Mesh Day 2023", "2023-10-16", "2023-10-16", "Portland",
                   "cascadeconf-na-2023")  # fmt: skip


def test_event_option_picks_one_event_and_its_children_out_of_a_bundled_file(conn: sqlite3.Connection) -> None:
    document = read_document(CONFERENCE, ImportOptions(event="ProxyCon 2023"))
    assert [e.slug for e in document.events] == ["proxycon-2023"] and len(document.talks) == 3
    assert {t.event for t in document.talks} == {"proxycon-2023"}
    summit = read_document(CONFERENCE, ImportOptions(event="Telemetry Summit 2023"))  # by its short name
    assert [e.slug for e in summit.events] == ["telemetry-summit-na-2023"] and len(summit.talks) == 3
    everything = read_document(CONFERENCE, ImportOptions(event="cascadeconf-na-2023"))
    assert len(everything.events) == 4 and len(everything.talks) == 27
    with pytest.raises(CatalogueFormatError, match="--event 'PyCon': no such event in the file"):
        read_document(CONFERENCE, ImportOptions(event="PyCon"))


def test_a_50_mb_line_in_a_bundled_file_fails_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text(
        '[[events]]\nid = "e"\nname = "E"\n\n[[talks]]\nid = "t"\ntitle = "T"\nevent = "e"\n'
        f'summary = "{"s" * 50_000_000}"\n',
        encoding="utf-8",
    )
    with pytest.raises(
        CatalogueFormatError, match=r"line 9 \(in \[\[talks\]\] #1\): the line is 50,000,012 characters"
    ):
        read_document(path)


def test_an_exception_mid_transaction_leaves_the_catalogue_exactly_as_it_was(
    bundled: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(bundled)
    real = bot.catalogue.writer._signature
    calls = 0

    def failing(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 14:  # half-way: the file has 27 talks
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.catalogue.writer, "_signature", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_file(bundled, CONFERENCE)
    assert calls == 14
    assert snapshot(bundled) == before
    monkeypatch.undo()
    assert len(import_file(bundled, CONFERENCE).added) == 27  # the connection is still usable


def test_a_database_error_mid_import_is_reported_and_rolled_back(bundled: sqlite3.Connection) -> None:
    before = snapshot(bundled)
    calls = 0

    def interrupt_half_way() -> int:
        nonlocal calls
        calls += 1
        return int(calls >= 45)  # the whole import takes about 95 calls: SQLite stops it half-way

    bundled.set_progress_handler(interrupt_half_way, 100)
    try:
        with pytest.raises(DatabaseError, match="the import failed and nothing was changed"):
            import_file(bundled, CONFERENCE)
    finally:
        bundled.set_progress_handler(None, 0)
    assert snapshot(bundled) == before


_KILLED_IMPORT = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from bot.catalogue.importer import ImportOptions, import_file
    from bot.db.connection import connect_sync

    conn = connect_sync(Path(sys.argv[1]))
    inserted = 0

    def trace(statement):
        global inserted
        if statement.startswith("INSERT INTO talks"):
            inserted += 1
            if inserted == 14:
                os.kill(os.getpid(), signal.SIGKILL)  # killed mid-transaction, no chance to clean up

    conn.set_trace_callback(trace)
    import_file(conn, Path(sys.argv[2]), ImportOptions())
    print("finished")
    """
)


def test_an_import_killed_mid_way_leaves_a_consistent_unchanged_database(db_path: Path) -> None:
    with sync_db(db_path) as conn:
        import_file(conn, BUNDLED_CATALOGUE)
        before = snapshot(conn)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_IMPORT, str(db_path), str(CONFERENCE)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert "finished" not in done.stdout
    with sync_db(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert snapshot(conn) == before
        assert len(import_file(conn, CONFERENCE).added) == 27


def test_export_writes_one_event_with_its_children_or_everything(conn: sqlite3.Connection, tmp_path: Path) -> None:
    import_file(conn, BUNDLED_CATALOGUE)
    import_file(conn, CONFERENCE)
    document = export_file(conn, tmp_path / "cascadeconf.toml", "CascadeConf NA 2023")
    assert {e.slug for e in document.events} == {"cascadeconf-na-2023", "meshday-na-2023", "proxycon-2023",
                                                  "telemetry-summit-na-2023"}  # fmt: skip
    assert len(document.talks) == 27 and not document.readings
    child = export_file(conn, tmp_path / "proxycon.toml", "proxycon-2023")
    assert [e.parent for e in child.events] == [None] and len(child.talks) == 3
    everything = export_file(conn, tmp_path / "all.toml")
    assert len(everything.talks) == 27 + 11 and everything.readings
    again = read_document(tmp_path / "all.toml")
    assert len(again.talks) == 38
    with pytest.raises(EventNotFound) as missing:
        export_file(conn, tmp_path / "x.toml", "KubeCon EU 2091")
    assert "KubeCon EU 2021" in missing.value.suggestions


def test_export_marks_people_who_share_a_name_with_their_ids(conn: sqlite3.Connection, tmp_path: Path) -> None:
    path = tmp_path / "talks.csv"
    path.write_text("title,speakers,event\nA,Alex Smith (Acme),E\nB,Alex Smith (Globex),E\nC,Jo Bloggs,E\n",
                    encoding="utf-8")  # fmt: skip
    import_file(conn, path)
    keys = {s.organization: s.key for t in export_document(conn).talks for s in t.speakers}
    assert keys == {"Acme": "alex-smith", "Globex": "alex-smith-globex", None: None}


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_otherwise(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "big.csv"
    padding = "about service meshes " * 5
    rows = "".join(f"T{n},Talk number {n} {padding},Big Conf,Person {n % 500}\n" for n in range(8_000))
    path.write_text("id,title,event,speakers\n" + rows, encoding="utf-8")
    assert path.stat().st_size > importer.PROGRESS_MIN_BYTES
    plain = io.StringIO()
    with make_progress(Console(file=plain, force_terminal=False, width=100)) as progress:
        import_file(conn, path, ImportOptions(), False, progress)
    lines = plain.getvalue().splitlines()
    assert lines[0].startswith("Reading: ") and "Reading: 8,000 of 8,000 (100%)" in lines
    assert "Writing…" in lines and lines[-1] == "Writing: 8,000 of 8,000 (100%)"
    assert len(lines) <= 25
    terminal = io.StringIO()
    with make_progress(Console(file=terminal, force_terminal=True, width=100)) as progress:
        import_file(conn, path, ImportOptions(), False, progress)
    assert "Reading" in terminal.getvalue() and "━" in terminal.getvalue()


def test_small_files_show_no_progress(conn: sqlite3.Connection) -> None:
    seen: list[str] = []
    import_file(conn, FRAB, ImportOptions(), False, lambda stage, done, total: seen.append(stage))
    assert seen == []


def test_the_bundled_catalogue_still_imports_through_the_importer(conn: sqlite3.Connection) -> None:
    report = import_file(conn, BUNDLED_CATALOGUE)
    assert len(report.added) == len(load_native(BUNDLED_CATALOGUE).talks) == counts(conn)["talks"]
