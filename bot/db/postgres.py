"""PostgreSQL's engine of the gateway, over asyncpg: the same three doors as SQLite's, the same work functions.

The stores' work is plain synchronous functions over a DB-API connection (`bot.db.gateway`). Here each door
owns a thread with an event loop of its own and an asyncpg connection on that loop, and hands the work a
`PgSession`: its `execute` runs the statement on the thread's loop (`run_until_complete`) and returns a cursor
with the rows, as `sqlite3`'s does. So the work functions run unchanged, asyncpg's protocol runs in the
door's thread, and the bot's own loop is never blocked by a query.

- Parameters: `?` and `:name` become `$1, $2...` (`bot.db.dialect.parameters`), once per statement; the
  statement is prepared once per connection and kept.
- Types: SQLite converts a value to the column's type; asyncpg refuses one that is not already of it. The
  session does what SQLite does, from the types PostgreSQL infers for the prepared statement's parameters: an
  int for a text parameter is sent as its decimal text, a digit string for an integer one as the integer.
  Rows come back as tuples; `numeric` results (SUM over integers) as int or float.
- Transactions: the batching is SQLite's (`bot.db.batched`): one transaction per batch, a savepoint per piece
  of written work that shares it. The writer's transactions are READ COMMITTED; the readers' are REPEATABLE
  READ and READ ONLY, so a batch of reads sees one snapshot, as in SQLite's WAL (until a read fails: the
  transaction it aborted is begun again).
- Migrations: the same numbered files as SQLite's, their column types rewritten (`bot.db.dialect.schema`),
  all pending ones in one transaction under an advisory lock, so processes starting together migrate once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from bot.config import redact_url
from bot.db.batched import BatchedConnection
from bot.db.dialect import POSTGRESQL, parameters, schema
from bot.db.migrations import MIGRATIONS_DIR, load_migrations
from bot.errors import DatabaseError

log = logging.getLogger(__name__)

T = TypeVar("T")

_MIGRATION_LOCK = 0x7461_6C6B  # pg_advisory_xact_lock key: one process migrates at a time
_STATEMENT_CACHE = 1024
_UTILITY = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|END)\b", re.I)
_DDL = re.compile(r"^\s*(CREATE|ALTER|DROP)\b", re.I)
_BEGIN = re.compile(r"^\s*BEGIN(\s+(IMMEDIATE|DEFERRED|EXCLUSIVE))?\s*;?\s*$", re.I)
_INTEGERS = {"int2", "int4", "int8"}
_TEXTS = {"text", "varchar", "bpchar", "name"}


class PgCursor:
    """What `PgSession.execute` returns: the statement's rows, and its rowcount as sqlite3 counts it."""

    __slots__ = ("_at", "_rows", "rowcount")

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self._at = 0
        self.rowcount = rowcount

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row, or None."""
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchall(self) -> list[tuple[Any, ...]]:
        """The rows not fetched yet."""
        rows, self._at = self._rows[self._at :], len(self._rows)
        return rows

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        """Up to `size` more rows."""
        rows = self._rows[self._at : self._at + size]
        self._at += len(rows)
        return rows

    def __iter__(self) -> PgCursor:
        return self

    def __next__(self) -> tuple[Any, ...]:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row


class _Statement:
    """A prepared statement, with how to convert the caller's values and the server's results."""

    __slots__ = ("convert_in", "convert_out", "names", "prepared")

    def __init__(self, prepared: asyncpg.prepared_stmt.PreparedStatement, names: tuple[str, ...] | None) -> None:
        self.prepared = prepared
        self.names = names
        self.convert_in = tuple(_converter(t.name) for t in prepared.get_parameters())
        self.convert_out = tuple(i for i, a in enumerate(prepared.get_attributes()) if a.type.name == "numeric")


def _converter(type_name: str) -> Callable[[Any], Any] | None:
    if type_name in _INTEGERS:
        return _to_int
    if type_name in _TEXTS:
        return _to_text
    if type_name in {"float4", "float8"}:
        return _to_float
    if type_name == "bytea":
        return _to_bytes
    return None


def _to_int(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


def _to_text(value: Any) -> Any:
    if isinstance(value, str):  # PostgreSQL's text cannot hold NUL; SQLite's can, and nothing here writes one
        return value.replace("\x00", "") if "\x00" in value else value
    if value is None:
        return value
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return value


def _to_float(value: Any) -> Any:
    return float(value) if isinstance(value, int) else value


def _to_bytes(value: Any) -> Any:
    return value.encode() if isinstance(value, str) else bytes(value) if isinstance(value, memoryview) else value


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _rowcount(status: str | None) -> int:
    if not status:
        return -1
    verb, _, rest = status.partition(" ")
    if verb in {"INSERT", "UPDATE", "DELETE", "MERGE"}:
        return int(rest.rsplit(" ", 1)[-1])
    return -1


class PgSession:
    """A DB-API-like connection over asyncpg, for work functions run in one thread (see the module docstring).

    `readonly` sessions begin REPEATABLE READ, READ ONLY transactions. Open it in the thread that uses it.
    """

    engine = POSTGRESQL

    def __init__(self, url: str, *, readonly: bool = False) -> None:
        self._readonly = readonly
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # the usual case, a thread of the gateway's: the session's loop runs in it, call by call
        else:  # a thread with a running loop (a synchronous tool called from async code): a thread of its own
            self._thread = threading.Thread(target=self._loop.run_forever, name="pg-session", daemon=True)
            self._thread.start()
        try:
            self._conn: asyncpg.Connection = self._run(asyncpg.connect(url, statement_cache_size=0))
        except BaseException:
            self._stop_loop()
            raise
        self._statements: dict[str, _Statement] = {}

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (as `sqlite3.Connection.in_transaction`)."""
        return bool(self._conn.is_in_transaction())

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> PgCursor:
        """Run one statement with `?` (a sequence) or `:name` (a mapping) parameters; its rows in the cursor."""
        if not params and _UTILITY.match(sql):
            return PgCursor([], _rowcount(self._run(self._conn.execute(self._utility(sql)))))
        if not params and _DDL.match(sql):  # written for SQLite's types, as the migrations are
            return PgCursor([], _rowcount(self._run(self._conn.execute(schema(sql)))))
        statement = self._prepare(sql, params)
        rows = self._run(statement.prepared.fetch(*self._arguments(statement, params)))
        out = statement.convert_out
        result = [tuple(row) for row in rows]
        if out:
            result = [tuple(_number(v) if i in out else v for i, v in enumerate(row)) for row in result]
        return PgCursor(result, _rowcount(statement.prepared.get_statusmsg()))

    def executemany(self, sql: str, seq_of_params: Iterable[Sequence[Any] | Mapping[str, Any]]) -> PgCursor:
        """Run one statement for each set of parameters; the cursor's rowcount is the rows changed in all."""
        total = 0
        for params in seq_of_params:
            statement = self._prepare(sql, params)
            self._run(statement.prepared.fetch(*self._arguments(statement, params)))
            total += max(0, _rowcount(statement.prepared.get_statusmsg()))
        return PgCursor([], total)

    def commit(self) -> None:
        """Commit the open transaction, if any (as `sqlite3.Connection.commit`)."""
        if self.in_transaction:
            self.execute("COMMIT")

    def executescript(self, script: str) -> None:
        """Run statements without parameters as one string (the migrations)."""
        self._run(self._conn.execute(script))

    def close(self) -> None:
        """Close the connection and the session's event loop."""
        try:
            self._run(self._conn.close(timeout=5))
        except (TimeoutError, OSError, asyncpg.PostgresError):
            self._conn.terminate()
        finally:
            self._stop_loop()

    # -- inside ----------------------------------------------------------------------------------------------

    def _run(self, awaitable: Any) -> Any:
        if self._thread is not None:
            return asyncio.run_coroutine_threadsafe(awaitable, self._loop).result()
        return self._loop.run_until_complete(awaitable)

    def _stop_loop(self) -> None:
        if self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        self._loop.close()

    def _utility(self, sql: str) -> str:
        if _BEGIN.match(sql):
            return "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" if self._readonly else "BEGIN"
        return sql

    def _prepare(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> _Statement:
        statement = self._statements.get(sql)
        if statement is None:
            text, names = parameters(sql)
            if len(self._statements) >= _STATEMENT_CACHE:
                self._statements.clear()
            prepared = self._prepare_typed(sql, text, _values(names, params))
            statement = self._statements[sql] = _Statement(prepared, names)
        return statement

    def _prepare_typed(self, sql: str, text: str, values: list[Any]) -> Any:
        """Prepare `text`, typing what PostgreSQL cannot (`_typed`): a guess that fails is replaced by the next.

        A failed prepare aborts the transaction it is in, so within one each try is in a savepoint.
        """
        guarded = self.in_transaction
        untyped: tuple[str, int, list[str]] | None = None  # the text before the last guess, and the guesses left
        for _ in range(_MAX_PARAMETERS):
            if guarded:
                self._run(self._conn.execute("SAVEPOINT prepare"))
            try:
                prepared = self._run(self._conn.prepare(text))
            except (asyncpg.AmbiguousParameterError, asyncpg.UndefinedFunctionError) as error:
                if guarded:
                    self._run(self._conn.execute("ROLLBACK TO SAVEPOINT prepare; RELEASE SAVEPOINT prepare"))
                if isinstance(error, asyncpg.AmbiguousParameterError):
                    number = _ambiguous(error)
                    untyped = (text, number, _guesses(values, number))
                elif untyped is None or not untyped[2]:  # not a wrong guess of ours: the SQL is wrong
                    raise
                base, number, guesses = untyped
                text = _typed(base, number, guesses.pop(0), error)
                continue
            if guarded:
                self._run(self._conn.execute("RELEASE SAVEPOINT prepare"))
            return prepared
        raise DatabaseError(f"PostgreSQL could not type the parameters of: {sql[:200]}")

    @staticmethod
    def _arguments(statement: _Statement, params: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
        if statement.names is not None:
            if not isinstance(params, Mapping):
                raise TypeError("this statement's parameters are named: pass a mapping")
            values = [params[name] for name in statement.names]
        else:
            values = list(params)
        if len(values) != len(statement.convert_in):
            raise ValueError(f"the statement takes {len(statement.convert_in)} parameters, {len(values)} given")
        return [convert(v) if convert else v for convert, v in zip(statement.convert_in, values, strict=True)]


_MAX_PARAMETERS = 100
_AMBIGUOUS = re.compile(r"parameter \$(\d+)")
_PARAMETER_TYPES = ((bool, "bigint"), (int, "bigint"), (float, "double precision"), (bytes, "bytea"))


def _values(names: tuple[str, ...] | None, params: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
    if names is not None and isinstance(params, Mapping):
        return [params.get(name) for name in names]
    return list(params) if not isinstance(params, Mapping) else []


def _ambiguous(error: Exception) -> int:
    found = _AMBIGUOUS.search(str(error))
    if found is None:
        raise error
    return int(found.group(1))


def _guesses(values: list[Any], number: int) -> list[str]:
    """The types to try for parameter `number`: its value's, or for None, the types the stores use in turn."""
    value = values[number - 1] if number <= len(values) else None
    if value is None:
        return ["text", "bigint", "double precision"]
    return [next((name for python, name in _PARAMETER_TYPES if isinstance(value, python)), "text")]


def _typed(text: str, number: int, kind: str, error: Exception) -> str:
    """`text` with parameter `number` given the type `kind` where it is tested for NULL.

    `? IS NULL OR column = ?` is SQLite's way of an optional filter. PostgreSQL types a parameter where it
    first meets it, and `IS NULL` says nothing, so the test is where the type must be given: the value's
    type; for None, text, and if the rest of the statement wants another, the next guess.
    """
    typed, count = re.subn(rf"\${number}(?!\d)(?=\s+IS\b)", f"CAST(${number} AS {kind})", text)
    if not count:
        raise error
    return typed


# -- migrations --------------------------------------------------------------------------------------------


def migrate_postgres(session: PgSession, directory: Path = MIGRATIONS_DIR) -> int:
    """Bring the schema to the latest version in one transaction; returns the number of steps applied."""
    migrations = load_migrations(directory)
    session.execute("BEGIN")
    try:
        session.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
        session.executescript("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        row = session.execute("SELECT MAX(version) FROM schema_version").fetchone()
        have = int(row[0]) if row and row[0] is not None else 0
        if have > len(migrations):
            raise DatabaseError(
                f"This database was written by a newer version of the program (schema {have}, this program "
                f"knows up to {len(migrations)}). Upgrade the program; the database was left untouched."
            )
        for migration in migrations[have:]:
            session.executescript(schema(migration.sql))
            session.execute("INSERT INTO schema_version (version) VALUES (?)", (migration.version,))
        session.execute("COMMIT")
    except BaseException:
        if session.in_transaction:
            session.execute("ROLLBACK")
        raise
    if len(migrations) > have:
        log.info("PostgreSQL schema upgraded from version %d to %d", have, len(migrations))
    return len(migrations) - have


def connect_postgres(url: str, *, migrate_schema: bool = True) -> PgSession:
    """A session on the database at `url`, its schema brought up to date first; the caller closes it."""
    try:
        session = PgSession(url)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise DatabaseError(f"Cannot reach the PostgreSQL database {redact_url(url)}: {exc}") from exc
    except (ValueError, OverflowError, asyncpg.InterfaceError) as exc:  # the URL itself: its port, host or a parameter
        # The parser's own words may quote a piece of the URL, the password's included: only its kind is shown.
        raise DatabaseError(
            f"DATABASE_URL is not a usable PostgreSQL URL ({redact_url(url)}; {type(exc).__name__}): check its host, "
            "port and parameters"
        ) from None
    try:
        if migrate_schema:
            migrate_postgres(session)
    except BaseException:
        session.close()
        raise
    return session


def prepare_postgres(url: str) -> None:
    """Create the schema if needed and bring it up to date."""
    connect_postgres(url).close()


class PostgresDatabase:
    """The PostgreSQL engine of the gateway: `read`, `scan` and `write`, as `bot.db.gateway.Database`.

    Reads run in the readers' thread (a query cannot run in place on the bot's loop without blocking it);
    writes in the writer's, batched. `url` is the `postgresql://` URL (DATABASE_URL).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._scanner = BatchedConnection(url, connect=lambda u: PgSession(str(u), readonly=True))
        self._writer = BatchedConnection(url, connect=lambda u: PgSession(str(u)))

    @classmethod
    async def open(cls, url: str) -> PostgresDatabase:
        """The engine over the database at `url`, its schema created or brought up to date first."""
        await asyncio.to_thread(prepare_postgres, url)
        return cls(url)

    async def read(self, work: Callable[[Any], T]) -> T:
        """A small read, in the readers' thread (see the class docstring)."""
        return await self._scanner.run(work, writes=False)

    async def scan(self, work: Callable[[Any], T]) -> T:
        """A large read, in the readers' thread, batched with the others queued meanwhile."""
        return await self._scanner.run(work, writes=False)

    async def write(self, work: Callable[[Any], T]) -> T:
        """Work in the writer's next batch and transaction; its writes are kept only if it returns."""
        return await self._writer.run(work)

    async def close(self) -> None:
        """Finish the queued work, then close both connections."""
        try:
            await self._writer.close()
        finally:
            await self._scanner.close()
