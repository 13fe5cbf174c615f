"""A real, throwaway PostgreSQL server for the tests and benchmarks.

`initdb` in a temporary folder, then `pg_ctl start` on a free local port; stopped and deleted on exit. It is
PostgreSQL itself, from the machine's packages (Debian's `postgresql` puts its programs in
/usr/lib/postgresql/<version>/bin, off the PATH). `initdb` refuses to run as root, so as root the cluster is
made and run by the `postgres` user, which owns the folder. Durability is switched off (`fsync`,
`synchronous_commit`, `full_page_writes`): the server is thrown away, and the tests measure behaviour, not
disks. Run `python -m emulator.postgres` to start one by hand; it prints its URL and runs until interrupted.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_USER = "postgres"  # who runs the server when we are root (initdb refuses root)


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL programs on this machine, or the server would not start."""


def bin_dir() -> Path:
    """The folder holding initdb and pg_ctl: PG_BINDIR, then pg_config, then Debian's place, then the PATH."""
    candidates: list[str] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(os.environ["PG_BINDIR"])
    if shutil.which("pg_config"):
        try:
            pg_config = ["pg_config", "--bindir"]
            out = subprocess.run(pg_config, capture_output=True, text=True, check=True).stdout  # noqa: S603
            candidates.append(out.strip())
        except (OSError, subprocess.CalledProcessError):
            pass
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.append(str(Path(found).resolve().parent))
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    raise PostgresUnavailable(
        "PostgreSQL's programs (initdb, pg_ctl) were not found: install Debian's `postgresql` package "
        "or set PG_BINDIR"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", SERVER_USER, "--", *argv]


@contextmanager
def temporary_postgres(*, max_connections: int = 200) -> Iterator[str]:
    """Start a fresh PostgreSQL cluster; yield its URL (database `postgres`, user `postgres`, no password)."""
    bindir = bin_dir()
    root = Path(tempfile.mkdtemp(prefix="talk-highlights-pg-"))
    data, sockets, logfile = root / "data", root / "run", root / "server.log"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, SERVER_USER)
        shutil.chown(sockets, SERVER_USER)
    port = _free_port()
    try:
        _run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                              "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]))
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
            f" -c full_page_writes=off -c max_connections={max_connections}"
        )
        _run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(logfile), "-o", options,
                              "-w", "-t", "60", "start"]))
    except PostgresUnavailable:
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(  # noqa: S603 - our own arguments
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def _run(argv: list[str]) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True)  # noqa: S603 - our own arguments
    except OSError as exc:
        raise PostgresUnavailable(f"{argv[0]} could not run: {exc}") from exc
    if done.returncode != 0:
        raise PostgresUnavailable(f"{Path(argv[-1]).name} failed: {(done.stderr or done.stdout).strip()[-800:]}")


def main() -> int:
    """Start a server, print its URL, and keep it until interrupted (Ctrl-C or SIGTERM stop it cleanly)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with temporary_postgres() as url:
        print(url, flush=True)  # noqa: T201 - the URL is the output
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
