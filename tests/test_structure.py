"""The shape of the house: a core free of chat platforms, no import cycles, and an emulator beside the bot."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"discord", "sqlite3"}
CHAT_LIBRARIES = {"discord", "slack_bolt", "slack_sdk"}
# The core: the features and what they share. Platform adapters (bot/platforms), the command line's
# presenters (bot/cli) and the sandbox depend on it, never the reverse.
CORE = ("catalogue", "search", "highlights", "domain", "db", "data", "services", "commands", "watchlist", "recordings", "live")
TOP_PACKAGES = ("bot", "cogs", "emulator")


def imported_modules(path: Path) -> set[str]:
    """The top-level names of everything `path` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_the_domain_and_search_import_neither_discord_nor_the_database() -> None:
    files = list((ROOT / "bot" / "domain").rglob("*.py")) + [
        p for p in (ROOT / "bot" / "search").rglob("*.py") if p.name != "corpus.py"
    ]
    assert files
    for path in files:
        assert not imported_modules(path) & FORBIDDEN, path


def test_the_core_imports_no_chat_library() -> None:
    for package in CORE:
        files = list((ROOT / "bot" / package).rglob("*.py"))
        assert files, f"bot/{package} is gone: update CORE"
        for path in files:
            found = imported_modules(path) & CHAT_LIBRARIES
            assert not found, f"{path.relative_to(ROOT)} imports {', '.join(sorted(found))}"


def test_the_emulator_imports_nothing_from_the_bot() -> None:
    files = list((ROOT / "emulator").rglob("*.py"))
    assert files
    for path in files:
        assert "bot" not in imported_modules(path), f"{path.relative_to(ROOT)} imports bot"


# -- import cycles ------------------------------------------------------------------------------------------


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_modules() -> dict[str, Path]:
    return {module_name(path): path for top in TOP_PACKAGES for path in (ROOT / top).rglob("*.py")}


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(body: list[ast.stmt], *, types: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports run when the module is imported: not those in functions; those under TYPE_CHECKING if `types`."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if types or not _type_checking(node.test):
                yield from _module_level_imports(node.body, types=types)
            yield from _module_level_imports(node.orelse, types=types)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _module_level_imports(block, types=types)
        elif isinstance(node, ast.With | ast.ClassDef):
            yield from _module_level_imports(node.body, types=types)


def resolve(package: str, level: int, module: str | None) -> str:
    """The absolute name of `from {"." * level}{module} import ...` written in `package`."""
    if not level:
        return module or ""
    parts = package.split(".")
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base)


def import_graph(*, types: bool = False) -> dict[str, set[str]]:
    """Module -> the modules of bot, cogs and emulator it imports at module level (relative imports resolved)."""
    modules = our_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _module_level_imports(ast.parse(path.read_text(encoding="utf-8")).body, types=types):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            source = resolve(package, node.level, node.module)
            targets.add(source)
            targets.update(f"{source}.{alias.name}" for alias in node.names)  # `from pkg import module`
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def package_of(module: str) -> str:
    """The directory a module is in (`bot/x/y.py` is in `bot.x`); an entry point `__main__` stands for itself.

    Nothing imports an entry point, so it closes no loop; counted in its directory it would tie `bot`
    (config, errors, which everything uses) to everything `python -m bot` runs.
    """
    if module.endswith("__main__"):
        return module
    path = our_modules()[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        edges = packages.setdefault(package_of(module), set())
        edges.update(package_of(target) for target in targets if package_of(target) != package_of(module))
    return packages


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle, as the path that closes it (first node repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_resolves_relative_imports_and_tells_type_only_ones_apart() -> None:
    assert resolve("bot.catalogue.formats", 1, "fields") == "bot.catalogue.formats.fields"
    assert resolve("bot.catalogue.formats", 2, "writer") == "bot.catalogue.writer"
    assert resolve("bot.catalogue", 1, None) == "bot.catalogue"
    assert resolve("bot", 0, "bot.errors") == "bot.errors"
    graph, with_types = import_graph(), import_graph(types=True)
    assert "bot.highlights.rules" in graph["bot.highlights.service"]
    assert "bot.platforms.discord.client" not in graph["cogs.talks"]  # under TYPE_CHECKING
    assert "bot.platforms.discord.client" in with_types["cogs.talks"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_between_modules() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "modules import each other: " + " -> ".join(cycle or ())


def test_no_import_cycle_between_modules_even_through_type_only_imports() -> None:
    cycle = find_cycle(import_graph(types=True))
    assert cycle is None, "modules import each other (counting TYPE_CHECKING imports): " + " -> ".join(cycle or ())


def test_no_import_cycle_between_packages() -> None:
    cycle = find_cycle(package_graph(import_graph()))
    assert cycle is None, "packages import each other: " + " -> ".join(cycle or ())


# -- one way to the database ---------------------------------------------------------------------------------

OPENERS = {"connect_sync", "sync_db", "connect_reader", "prepare"}
# The command line's offline tools (init, import, export, recordings) run one synchronous transaction of their own.
OFFLINE_TOOLS = {"bot/__main__.py", "bot/recordings/cli.py"}


def opened_connections(path: Path) -> list[str]:
    """How `path` opens database connections itself: `sqlite3.connect` calls and the openers of bot.db."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr == "connect":
            if isinstance(node.value, ast.Name) and node.value.id in {"sqlite3", "aiosqlite"}:
                found.append(f"{node.value.id}.connect")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot.db"):
            found.extend(alias.name for alias in node.names if alias.name in OPENERS)
    return found


def test_only_the_database_gateway_opens_connections() -> None:
    sample = ROOT / "tests" / "fixtures" / "opener_sample.py"
    assert opened_connections(sample) == ["sync_db", "sqlite3.connect"]  # the check sees both ways
    for top in ("bot", "cogs"):
        for path in (ROOT / top).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith("bot/db/") or relative in OFFLINE_TOOLS:
                continue
            assert not opened_connections(path), f"{relative} opens the database itself: go through bot.db.gateway"


# -- the engine stays below the gateway -----------------------------------------------------------------------

# What only one engine has, or what tells the engines apart: above bot/db, a store asks the dialect for a
# named piece of SQL (`claimable`, `text_agg`...) or a blob (`bot.db.blobs`), and never learns which it got.
ENGINE_NAMES = {"POSTGRESQL", "SQLITE", "is_postgres_url", "PgSession", "PostgresDatabase"}
ENGINE_ONLY = {
    "blobopen", "zeroblob", "rowid", "PRAGMA", "sqlite_master", "group_concat", "string_agg", "json_each",
    "json_group_array", "json_agg", "jsonb", "julianday", "unixepoch", "clock_timestamp",
}  # fmt: skip


def engine_knowledge(source: str) -> list[str]:
    """What in `source` tells the engines apart: asyncpg, the engine's name, or SQL one engine alone has.

    Docstrings are prose and are not read; every other string is, as SQL.
    """
    tree = ast.parse(source)
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    database_modules = set()  # local names of bot.db modules: `from bot.db import dialect`, `import ... as d`
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and "asyncpg" in imported_modules_of(node):
            found.append("asyncpg")
        elif isinstance(node, ast.Import):
            database_modules.update(a.asname for a in node.names if a.asname and a.name.startswith("bot.db"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot.db"):
            found.extend(alias.name for alias in node.names if alias.name in ENGINE_NAMES | {"engine"})
            if node.module == "bot.db":
                database_modules.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Name) and node.id in ENGINE_NAMES:
            found.append(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in ENGINE_NAMES | ENGINE_ONLY:
            found.append(node.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
            found.extend("engine" for arg in node.args[1:2] if isinstance(arg, ast.Constant) and arg.value == "engine")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if node.value.lower() in {"postgresql", "sqlite"}:
                found.append(repr(node.value))
            found.extend(word for word in sorted(ENGINE_ONLY) if re.search(rf"(?i)\b{word}\b", node.value))
    for node in ast.walk(tree):  # `dialect.engine(conn)`, however the module was imported
        if isinstance(node, ast.Attribute) and node.attr == "engine" and isinstance(node.value, ast.Name):
            found.extend(["engine"] if node.value.id in database_modules or "bot.db.dialect" in source else [])
    return found


def imported_modules_of(node: ast.Import | ast.ImportFrom) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name.split(".")[0] for alias in node.names}
    return {node.module.split(".")[0]} if node.module and not node.level else set()


def test_nothing_above_the_gateway_knows_which_engine_it_is_on() -> None:
    sample = (
        "import asyncpg\nfrom bot.db.dialect import POSTGRESQL, engine, claimable\n"
        "conn.blobopen('t', 'c', 1)\nconn.execute('SELECT rowid, length(data) FROM t WHERE rowid=?')\n"
        "conn.execute('SELECT zeroblob(?)')\n"
        "conn.execute('SELECT id FROM t')  # standard SQL: nothing to see\n"
    )
    assert engine_knowledge(sample) == ["asyncpg", "POSTGRESQL", "engine", "blobopen", "rowid", "zeroblob"]
    # However the dialect was imported, and however the engine is asked for.
    assert engine_knowledge("from bot.db import dialect\nif dialect.engine(conn) == dialect.POSTGRESQL: pass") == [
        "POSTGRESQL",
        "engine",
    ]
    assert engine_knowledge("import bot.db.dialect as d\nd.engine(conn)") == ["engine"]
    assert engine_knowledge("getattr(conn, 'engine') == 'postgresql'") == ["engine", "'postgresql'"]
    assert engine_knowledge("conn.execute(\"SELECT julianday('now')\")") == ["julianday"]
    assert engine_knowledge('"""Unlike SQLite\'s rowid, ..."""\nx = 1') == []  # a docstring is prose
    for top in ("bot", "cogs"):
        for path in (ROOT / top).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith("bot/db/"):
                continue
            found = engine_knowledge(path.read_text(encoding="utf-8"))
            assert not found, f"{relative} knows the engine ({', '.join(found)}): ask bot.db.dialect or bot.db.blobs"
