"""``qtc emulator``: run the local emulator of a tenant's API."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import sqlite3
from pathlib import Path

import click

from qtc_connections.cli.output import emit
from qtc_connections.tenant import is_loopback


@click.group()
def emulator() -> None:
    """Run a local emulator of a Qlik Cloud tenant's API."""


@emulator.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Loopback address to listen on.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="TCP port; 0 picks a free one.",
)
@click.option(
    "--db",
    "db_path",
    default=":memory:",
    show_default=True,
    help="SQLite file for the emulator's state; :memory: keeps it in memory.",
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the generated API key to this file (mode 0600).",
)
@click.option(
    "--ready-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write {url, pid} as JSON to this file once the server accepts connections.",
)
@click.option(
    "--write-limit",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Writes (POST, PUT, PATCH, DELETE) allowed per user a minute.",
)
@click.option(
    "--read-limit",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Reads (GET) allowed per user a minute.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print {url, key_file} as one JSON line on standard output once ready.",
)
def serve(
    as_json: bool,
    host: str,
    port: int,
    db_path: str,
    key_file: Path | None,
    ready_file: Path | None,
    write_limit: int,
    read_limit: int,
) -> None:
    """Serve the emulator until interrupted.

    The API key is QTC_EMULATOR_API_KEY when set, otherwise a new random
    key; it is never printed. Use --key-file and then
    `--token file:PATH` (or QTC_TOKEN) to reach the emulator with qtc.
    """
    from qtc_connections.emulator import EmulatorConfig, EmulatorServer, RateLimits

    host = host.strip("[]")
    if not is_loopback(host):
        raise click.BadParameter(
            f"{host!r} is not a loopback address; the emulator listens only on "
            "127.0.0.1, ::1 or localhost",
            param_hint="--host",
        )
    api_key = os.environ.get("QTC_EMULATOR_API_KEY") or secrets.token_urlsafe(32)
    config = EmulatorConfig.default(api_key=api_key)
    config.db_path = db_path
    config.rate_limits = RateLimits(
        read_per_minute=read_limit, write_per_minute=write_limit
    )

    if db_path != ":memory:":
        _lock_database(Path(db_path))
    try:
        server = EmulatorServer(config, host=host, port=port)
    except sqlite3.Error as exc:
        raise click.BadParameter(
            f"cannot open the database {db_path!r} ({exc}); give a writable SQLite file path in an existing folder, or :memory:",
            param_hint="--db",
        ) from exc
    try:
        server.start()
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port, or 0 for a free one"
        ) from exc
    try:
        if key_file is not None:
            _write_private(key_file, api_key + "\n")
        if ready_file is not None:
            _write_private(
                ready_file, json.dumps({"url": server.url, "pid": os.getpid()}) + "\n"
            )
        if as_json:
            emit(
                json.dumps(
                    {"url": server.url, "key_file": str(key_file) if key_file else None}
                )
            )
        where = (
            f"; API key in {key_file}"
            if key_file
            else "; the API key is not saved: pass --key-file PATH to use it with qtc"
        )
        emit(f"emulator listening on {server.url}{where}", err=True)
        server.serve_forever()
    finally:
        server.stop()


# Kept open for the life of the process, so that the lock lasts.
_database_locks: list[int] = []


def _lock_database(path: Path) -> None:
    """Refuse a second emulator on the same database file.

    Each emulator seeds its API keys into the file, so a second one would
    replace the first one's keys and make its clients fail with 401.
    """
    lock_path = path.with_name(f"{path.name}.lock")
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise click.BadParameter(
            f"cannot use the database {str(path)!r} ({exc.strerror}); give a writable file path in an existing folder, or :memory:",
            param_hint="--db",
        ) from exc
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise click.BadParameter(
            f"the database {str(path)!r} is in use by another emulator; stop it, or give this one its own --db",
            param_hint="--db",
        ) from None
    _database_locks.append(descriptor)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only, replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)
