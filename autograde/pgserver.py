"""A private PostgreSQL server for the gradebook, kept inside the grading workspace.

SQLite is the gradebook by default and is all a small class needs. With several scoring
processes (``--scorers``) SQLite still takes one writer at a time; PostgreSQL takes them
together. nbgrader accepts any SQLAlchemy URL as ``CourseDirectory.db_url``, so this module
only has to run a server and hand out its URL::

    python -m autograde.pgserver start [--workspace autograde] [--tcp]   # prints the URL
    python -m autograde.pgserver url | status | stop

``make pg-start`` / ``make pg-stop`` call these, and ``make autograde ... POSTGRES=1`` grades
into it. The server's files live in ``<workspace>/postgres/`` (data, log, socket folder, URL).
It listens on a Unix socket in that folder only; ``--tcp`` adds 127.0.0.1 (never another
address). Every connection needs the password generated at ``start`` (kept, mode 0600, in
``postgres/url``). As root, the server runs as the ``postgres`` system user, because
PostgreSQL refuses to run as root. Needs the Debian ``postgresql`` package (``make setup``
installs it where it can; it is optional) and the ``psycopg`` driver (requirements.txt).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

DB_NAME = "gradebook"
DB_USER = "grader"
SERVER_USER_AS_ROOT = "postgres"
_SOCKET_PATH_MAX = 100  # Unix socket paths are limited to ~107 bytes


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server programs or the psycopg driver are not installed here."""


def binaries() -> Path | None:
    """Folder holding ``initdb`` and ``pg_ctl`` (PATH first, then Debian's versioned folders)."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


def available() -> tuple[bool, str]:
    """(usable, why not) — server programs, driver, and a non-root user to run them as."""
    if binaries() is None:
        return False, "PostgreSQL is not installed (Debian: apt-get install postgresql, or `make setup`)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return False, "the psycopg driver is not installed (pip install -r requirements.txt)"
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam(SERVER_USER_AS_ROOT)
        except KeyError:
            return False, f"running as root and there is no {SERVER_USER_AS_ROOT!r} user to run the server as"
    return True, ""


def folder(workspace: Path) -> Path:
    return Path(workspace) / "postgres"


def _data(workspace: Path) -> Path:
    return folder(workspace) / "data"


def _url_file(workspace: Path) -> Path:
    return folder(workspace) / "url"


def _run_as() -> dict:
    """subprocess arguments that run the server programs as a non-root user."""
    return {"user": SERVER_USER_AS_ROOT, "group": SERVER_USER_AS_ROOT} if os.geteuid() == 0 else {}


def _give(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, SERVER_USER_AS_ROOT, SERVER_USER_AS_ROOT)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _socket_dir(workspace: Path) -> Path:
    """The socket folder: in the workspace, unless that path is too long for a Unix socket."""
    inside = folder(workspace) / "socket"
    if len(str(inside)) + len("/.s.PGSQL.65535") <= _SOCKET_PATH_MAX:
        inside.mkdir(mode=0o700, exist_ok=True)
        return inside
    return Path(tempfile.mkdtemp(prefix="pg-"))


def url(workspace: Path) -> str | None:
    """The running server's SQLAlchemy URL (None when it was never started here)."""
    try:
        return _url_file(workspace).read_text().strip() or None
    except OSError:
        return None


def running(workspace: Path) -> bool:
    bin_dir = binaries()
    if bin_dir is None or not _data(workspace).is_dir():
        return False
    done = subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(_data(workspace)), "status"],
                          capture_output=True, text=True, **_run_as())
    return done.returncode == 0


def start(workspace: Path, tcp: bool = False) -> str:
    """Start (creating on first use) the workspace's server; returns the gradebook URL."""
    ok, why = available()
    if not ok:
        raise PostgresUnavailable(why)
    workspace = Path(workspace).resolve()
    if running(workspace):
        return url(workspace) or ""
    bin_dir = binaries()
    assert bin_dir is not None
    home = folder(workspace)
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o711)  # the server's user must reach its data; nobody may list it
    data = _data(workspace)
    password = None
    if not (data / "PG_VERSION").exists():
        password = secrets.token_urlsafe(24)
        data.mkdir(mode=0o700, exist_ok=True)
        _give(data)
        with tempfile.NamedTemporaryFile("w", dir=home, delete=False) as fh:
            fh.write(password)
        pwfile = Path(fh.name)
        _give(pwfile)
        try:
            done = subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", DB_USER, "--pwfile", str(pwfile),
                                   "--auth", "scram-sha-256", "-E", "UTF8", "--no-instructions"],
                                  capture_output=True, text=True, **_run_as())
        finally:
            pwfile.unlink(missing_ok=True)
        if done.returncode != 0:
            shutil.rmtree(data, ignore_errors=True)
            hint = (f" (as root the server runs as {SERVER_USER_AS_ROOT!r}, which must be able to reach {home})"
                    if os.geteuid() == 0 else "")
            raise RuntimeError(f"initdb failed{hint}: {done.stderr.strip()[-500:]}")
    sockets = _socket_dir(workspace)
    _give(sockets)
    port = _free_port()
    log = home / "server.log"
    log.touch(mode=0o600)
    _give(log)
    options = f"-k {sockets} -p {port} -h {'127.0.0.1' if tcp else ''!r}"
    done = subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                           "-o", options, "start"], capture_output=True, text=True, **_run_as())
    if done.returncode != 0:
        raise RuntimeError(f"PostgreSQL did not start: {done.stderr.strip() or done.stdout.strip()}\n"
                           f"{log.read_text()[-2000:]}")
    if password is None:  # an existing server: its password is in the URL written at creation
        old = url(workspace)
        if not old:
            raise RuntimeError(f"{home}: data exists but its URL file is gone; remove {home} to start afresh")
        password = old.split(":", 2)[2].split("@", 1)[0]
    gradebook_url = f"postgresql+psycopg://{DB_USER}:{password}@/{DB_NAME}?host={sockets}&port={port}"
    _create_database(password, sockets, port)
    url_file = _url_file(workspace)
    url_file.touch(mode=0o600)
    url_file.write_text(gradebook_url + "\n")
    return gradebook_url


def _create_database(password: str, sockets: Path, port: int) -> None:
    import psycopg

    with psycopg.connect(host=str(sockets), port=port, user=DB_USER, password=password, dbname="postgres",
                         autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone():
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def stop(workspace: Path) -> bool:
    """Stop the workspace's server (its data stays); True if one was running."""
    workspace = Path(workspace).resolve()
    if not running(workspace):
        return False
    bin_dir = binaries()
    assert bin_dir is not None
    subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(_data(workspace)), "-m", "fast", "-w", "stop"],
                   check=True, capture_output=True, text=True, **_run_as())
    return True


def serve(workspace: Path, cleanup: contextlib.ExitStack) -> str:
    """The workspace's gradebook URL, starting its server if needed; a server started here is
    stopped when ``cleanup`` closes (one that was already running is left running)."""
    if running(workspace) and url(workspace):
        return url(workspace) or ""
    gradebook_url = start(workspace)
    cleanup.callback(stop, workspace)
    return gradebook_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograde.pgserver", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "url", "status"])
    parser.add_argument("--workspace", type=Path, default=Path(__file__).resolve().parent,
                        help="grading workspace (default: autograde/)")
    parser.add_argument("--tcp", action="store_true", help="also listen on 127.0.0.1 (default: Unix socket only)")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            print(start(args.workspace, tcp=args.tcp))
        elif args.command == "stop":
            print("stopped" if stop(args.workspace) else "not running")
        elif args.command == "status":
            print("running" if running(args.workspace) else "not running")
            return 0 if running(args.workspace) else 3
        else:
            found = url(args.workspace) if running(args.workspace) else None
            if not found:
                print("no PostgreSQL gradebook is running for this workspace (make pg-start)", file=sys.stderr)
                return 3
            print(found)
    except PostgresUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
