"""The command line as a newcomer meets it: first use, JSON output, clear errors and exit codes."""

import json
import sqlite3
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.db.migrations import latest_version


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("BOT_DATABASE", str(path))
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_first_command_creates_and_loads_the_database(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert not db.exists()
    document = run_json(capsys, "search", "mtls")
    results = document["results"]
    assert isinstance(results, list)
    first = results[0]
    assert first["id"] == "compliance-the-easy-way-zero-conf-mtls"
    assert set(first) >= {"id", "title", "event", "speakers", "topics", "recording_url", "score"}
    assert {"name": "Christian Hüning", "organization": "Finleap Connect", "role": "speaker"} in first["speakers"]


def test_william_morgan_has_his_four_talks(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    matches = run_json(capsys, "speaker", "william morgan")["matches"]
    assert isinstance(matches, list)
    titles = {t["title"] for t in matches[0]["talks"]}
    assert matches[0]["name"] == "William Morgan" and matches[0]["organizations"] == ["Buoyant"]
    assert titles == {
        "Keynote: Linkerd vs. COVID-19: Addressing the Global Pandemic with a Service Mesh",
        "Panel: The State of Service Mesh",
        "Panel Discussion: Rust in the Cloud",
        "Overview and State of Linkerd",
    }


def test_talk_prints_the_search_keys_plus_its_summary(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    talk = run_json(capsys, "talk", "tap tap")
    assert talk["id"] == "tap-tap-debugging-an-app-with-your-service-mesh"
    assert talk["summary"] and talk["recording_url"] == "https://youtu.be/YJ8zP-lqB5E"


def test_events_and_topics_list_counts(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = {e["id"]: e for e in run_json(capsys, "events")["events"]}  # type: ignore[union-attr]
    assert (
        events["servicemeshcon-eu-2021"]["talks"] == 5
        and events["servicemeshcon-eu-2021"]["parent"] == "kubecon-eu-2021"
    )
    topics = {t["id"]: t["talks"] for t in run_json(capsys, "topics")["topics"]}  # type: ignore[union-attr]
    assert topics["rust"] == 2


def test_init_is_idempotent(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    assert "11 talks added" in capsys.readouterr().out
    assert main(["init"]) == 0
    assert "0 talks added, 0 changed, 0 removed, 11 unchanged" in capsys.readouterr().out


def test_people_output_is_readable_not_a_dump(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "mtls"]) == 0
    out = capsys.readouterr().out
    assert "Compliance the Easy Way" in out and "{" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["search", ""], "Type a few words"), (["talk", "no-such-talk-zzz"], "No talk matches"),
     (["speaker", "Qqq Zzz"], "Nobody called"), (["search", "x", "--topic", "astrology"], "There is no topic")],
)  # fmt: skip
def test_bad_input_is_one_clear_line_and_a_failure_status(
    db: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err


def test_a_malformed_setting_exits_2_naming_the_key(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEV_GUILD_ID", "general")
    assert main(["events"]) == 2
    assert "DEV_GUILD_ID" in capsys.readouterr().err


def test_a_newer_database_is_refused_and_left_as_it_was(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {latest_version() + 5}")
    conn.close()
    before = db.read_bytes()
    assert main(["events"]) == 1
    assert "newer version" in capsys.readouterr().err
    assert db.read_bytes() == before


def test_a_damaged_database_is_a_clear_error(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db.write_bytes(b"garbage" * 1000)
    assert main(["events"]) == 1
    assert "not a usable catalogue database" in capsys.readouterr().err


def test_the_tour_runs_without_a_token(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tour"]) == 0
    assert "William Morgan" in capsys.readouterr().out


# A pretalx schedule.json written for the tests (see tests/fixtures/README.md): 8 talks.
SCHEDULE = Path(__file__).resolve().parent / "fixtures" / "pretalx-schedule.json"


def test_import_dry_run_then_import_then_export_round_trip(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = SCHEDULE
    assert main(["events"]) == 0
    before = db.read_bytes()
    assert main(["import", str(source), "--dry-run"]) == 0
    assert "would add 8" in capsys.readouterr().out
    assert db.read_bytes() == before  # a dry run changes nothing
    assert main(["import", str(source)]) == 0
    assert "added 8" in capsys.readouterr().out
    exported = tmp_path / "winter.toml"
    assert main(["export", str(exported)]) == 0
    capsys.readouterr()
    assert main(["import", str(exported)]) == 0
    assert "added 0, changed 0, removed 0" in capsys.readouterr().out
    assert before != db.read_bytes()


def test_a_broken_import_names_the_file_and_changes_nothing(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["events"]) == 0
    capsys.readouterr()
    conn = sqlite3.connect(db)
    before = conn.execute("SELECT COUNT(*), (SELECT version FROM catalogue_state) FROM talks").fetchone()
    conn.close()
    broken = tmp_path / "broken.json"
    broken.write_text('{"schedule": {"conference": {"title": "X", "days": [{"rooms": {"A": [{"id": 1}]}}]}}}')
    assert main(["import", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "broken.json" in err and "Traceback" not in err
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*), (SELECT version FROM catalogue_state) FROM talks").fetchone() == before
    conn.close()


def test_events_keep_every_id_whole_in_a_narrow_terminal(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["events"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    for slug in ("kubecon-eu-2021", "servicemeshcon-eu-2021", "cloud-native-rust-day-2021"):
        assert slug in out


def test_a_broken_bundled_catalogue_creates_no_database(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "catalogue.toml"
    broken.write_text("[[events]\nname = 'x'\n", encoding="utf-8")
    monkeypatch.setattr("bot.__main__.BUNDLED_CATALOGUE", broken)
    assert main(["search", "mtls"]) == 1
    assert "catalogue.toml" in capsys.readouterr().err
    assert not db.exists()
