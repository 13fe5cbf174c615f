"""The shape of the house: the domain stays free of Discord and the database."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"discord", "aiosqlite", "sqlite3"}


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_domain_and_search_import_neither_discord_nor_the_database() -> None:
    files = list((ROOT / "bot" / "domain").rglob("*.py")) + [
        p for p in (ROOT / "bot" / "search").rglob("*.py") if p.name != "corpus.py"
    ]
    assert files
    for path in files:
        assert not imported_modules(path) & FORBIDDEN, path
