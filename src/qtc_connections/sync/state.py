"""The state that ``qtc apply`` keeps between runs, in a JSON file.

The tenant is the source of truth for which connections exist and what
their plain properties are. So the state contains only what the tenant
cannot return. For each connection, keyed by (space id, name), that is its
id and the fingerprint (see ``fingerprint``) of each secret and key file
last sent. The state also records the tenant host, so that a state file is
not used against another tenant by mistake. It never contains a secret.

Losing the file loses only the fingerprints: the next plan marks those
secrets as unknown, and ``--resend-secrets`` sends them again.

The file is ``.qtc-state.json`` next to the first manifest file unless
``--state`` names another. Every save writes a temporary file in the same
folder, flushes it to disk and renames it over the old file, so a run that
is killed leaves either the old state or the new one, never a torn file.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtc_connections.errors import ConfigError, QtcError
from qtc_connections.sync.fingerprint import FINGERPRINT_PREFIX

__all__ = [
    "STATE_FILE_NAME",
    "STATE_VERSION",
    "ConnectionKey",
    "ConnectionState",
    "StateFile",
    "default_state_path",
    "write_file_atomically",
]

STATE_FILE_NAME = ".qtc-state.json"
STATE_VERSION = 1


@dataclass(frozen=True, order=True)
class ConnectionKey:
    """The identity of a connection across runs: its space id and its name."""

    space_id: str
    name: str

    def __str__(self) -> str:
        return f"{self.name} (space {self.space_id})"


@dataclass(frozen=True)
class ConnectionState:
    """The state's record of one connection.

    Attributes:
        connection_id: The tenant's id of the connection when it was last
            written. A different id on the tenant means the connection was
            deleted and made again outside ``qtc``, so the fingerprints no
            longer describe it.
        fingerprints: Fingerprint of each secret or key file property last
            sent, by property name.
    """

    connection_id: str
    fingerprints: Mapping[str, str] = field(default_factory=dict)


def default_state_path(manifest_files: tuple[Path, ...]) -> Path:
    """Return ``.qtc-state.json`` next to the first manifest file, else here."""
    folder = manifest_files[0].parent if manifest_files else Path.cwd()
    return folder / STATE_FILE_NAME


class StateFile:
    """The state of one manifest, loaded from and saved to one file.

    Every method is thread-safe, because apply records each write from the
    worker thread that made it, and each change is saved at once.
    """

    def __init__(
        self,
        path: Path,
        *,
        tenant: str | None = None,
        connections: Mapping[ConnectionKey, ConnectionState] | None = None,
        existed: bool = False,
    ) -> None:
        self.path = path
        self.existed = existed
        self._tenant = tenant
        self._connections = dict(connections or {})
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path, *, exclusive: bool = False) -> StateFile:
        """Read the state at ``path``; a missing file gives an empty state.

        With ``exclusive``, first take an advisory lock on ``<path>.lock``
        that lasts until the process ends, so that two applies sharing a
        state file cannot overwrite each other's records.

        Raises:
            ConfigError: the file cannot be read, is not JSON, or is not a
                state file of this version. With ``exclusive``, also when
                another process has the lock.
        """
        if exclusive:
            _lock_for_process(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the state file {path}: {exc}") from exc

        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _invalid(path, f"it is not valid JSON ({exc.msg})") from exc
        tenant, connections = _parse_document(path, document)
        return cls(path, tenant=tenant, connections=connections, existed=True)

    @property
    def tenant(self) -> str | None:
        """The tenant host the state belongs to, or ``None`` for a new state."""
        with self._lock:
            return self._tenant

    def bind_tenant(self, hostname: str) -> None:
        """Tie the state to ``hostname``, or check that it is already tied to it.

        Raises:
            ConfigError: the state belongs to another tenant.
        """
        with self._lock:
            if self._tenant is None:
                self._tenant = hostname
                return
            if self._tenant != hostname:
                raise ConfigError(
                    f"the state file {self.path} belongs to tenant {self._tenant}, "
                    f"not {hostname}; give a state file for this tenant with "
                    "--state PATH"
                )

    def get(self, key: ConnectionKey) -> ConnectionState | None:
        """Return the record of ``key``, or ``None`` when the state has none."""
        with self._lock:
            return self._connections.get(key)

    def fingerprints(self, key: ConnectionKey, connection_id: str) -> Mapping[str, str]:
        """Return the fingerprints of ``key``, empty unless its id is ``connection_id``."""
        entry = self.get(key)
        if entry is None or entry.connection_id != connection_id:
            return {}
        return dict(entry.fingerprints)

    def keys(self) -> list[ConnectionKey]:
        """Return the keys of every remembered connection, sorted."""
        with self._lock:
            return sorted(self._connections)

    def record(
        self,
        key: ConnectionKey,
        connection_id: str,
        fingerprints: Mapping[str, str],
        *,
        replace: bool = False,
    ) -> None:
        """Remember a write to ``key`` and save the state at once.

        ``fingerprints`` are those of the values just sent. Unless
        ``replace``, fingerprints of properties not sent this time are kept,
        as long as the connection id did not change.

        Raises:
            QtcError: the state file could not be written.
        """
        with self._lock:
            previous = self._connections.get(key)
            merged: dict[str, str] = {}
            if previous and previous.connection_id == connection_id and not replace:
                merged.update(previous.fingerprints)
            merged.update(fingerprints)
            self._connections[key] = ConnectionState(connection_id, merged)
            self._save_locked()

    def forget(self, key: ConnectionKey) -> None:
        """Drop ``key`` from the state and save it at once.

        Raises:
            QtcError: the state file could not be written.
        """
        with self._lock:
            if self._connections.pop(key, None) is not None:
                self._save_locked()

    def save(self) -> None:
        """Write the state file atomically with mode 0600.

        Raises:
            QtcError: the state file could not be written.
        """
        with self._lock:
            self._save_locked()

    def to_json(self) -> dict[str, Any]:
        """Return the JSON document that the state file contains."""
        with self._lock:
            return self._document_locked()

    def __iter__(self) -> Iterator[tuple[ConnectionKey, ConnectionState]]:
        with self._lock:
            items = sorted(self._connections.items())
        return iter(items)

    def _document_locked(self) -> dict[str, Any]:
        entries = [
            {
                "space_id": key.space_id,
                "name": key.name,
                "id": entry.connection_id,
                "fingerprints": dict(sorted(entry.fingerprints.items())),
            }
            for key, entry in sorted(self._connections.items())
        ]
        return {
            "version": STATE_VERSION,
            "tenant": self._tenant,
            "connections": entries,
        }

    def _save_locked(self) -> None:
        text = json.dumps(self._document_locked(), indent=2) + "\n"
        try:
            write_file_atomically(self.path, text, mode=0o600)
        except OSError as exc:
            raise QtcError(
                f"cannot write the state file {self.path} ({exc.strerror or exc}); "
                "the write to the tenant succeeded, but the next plan will count "
                "its secrets as unknown"
            ) from exc
        self.existed = True


# Lock files held by this process, kept open so that their locks last.
_held_locks: dict[Path, int] = {}


def _lock_for_process(path: Path) -> None:
    lock_path = path.with_name(f"{path.name}.lock")
    if lock_path in _held_locks:
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise ConfigError(
            f"the state file {path} is in use by another qtc apply; wait for it to "
            "finish, or give each run its own --state"
        ) from None
    _held_locks[lock_path] = descriptor


def release_locks() -> None:
    """Release every state lock this process holds (for tests and long runs)."""
    for descriptor in _held_locks.values():
        os.close(descriptor)
    _held_locks.clear()


def _invalid(path: Path, problem: str) -> ConfigError:
    return ConfigError(
        f"the state file {path} is invalid: {problem}; move it away to start "
        "with an empty state (secrets then count as unknown until re-sent with "
        "--resend-secrets)"
    )


def _parse_document(
    path: Path, document: object
) -> tuple[str | None, dict[ConnectionKey, ConnectionState]]:
    if not isinstance(document, dict):
        raise _invalid(path, "it is not a JSON object")
    if document.get("version") != STATE_VERSION:
        raise _invalid(
            path, f"version {document.get('version')!r} is not {STATE_VERSION}"
        )

    tenant = document.get("tenant")
    if tenant is not None and not isinstance(tenant, str):
        raise _invalid(path, "tenant is not a string")
    entries = document.get("connections", [])
    if not isinstance(entries, list):
        raise _invalid(path, "connections is not a list")

    connections: dict[ConnectionKey, ConnectionState] = {}
    for position, entry in enumerate(entries):
        key, state = _parse_entry(path, position, entry)
        connections[key] = state
    return tenant, connections


def _parse_entry(
    path: Path, position: int, entry: object
) -> tuple[ConnectionKey, ConnectionState]:
    where = f"connection {position + 1}"
    if not isinstance(entry, dict):
        raise _invalid(path, f"{where} is not an object")
    for name in ("space_id", "name", "id"):
        if not isinstance(entry.get(name), str) or not entry[name]:
            raise _invalid(path, f"{where} has no {name} string")

    fingerprints = entry.get("fingerprints", {})
    if not isinstance(fingerprints, dict):
        raise _invalid(path, f"{where}: fingerprints is not an object")
    for name, value in fingerprints.items():
        if not isinstance(value, str) or not value.startswith(FINGERPRINT_PREFIX):
            raise _invalid(path, f"{where}: the fingerprint of {name} is malformed")

    key = ConnectionKey(entry["space_id"], entry["name"])
    return key, ConnectionState(entry["id"], dict(fingerprints))


def write_file_atomically(path: Path, text: str, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file.

    The text goes to a temporary file in the same folder (``os.replace`` is
    atomic only within one file system), which is flushed to disk before
    it is renamed over ``path``. The folder is created if missing.

    Raises:
        OSError: the folder or file cannot be written.
    """
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=folder, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    # The rename itself is durable only once the folder's entry is on disk.
    if sys.platform == "win32":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError:
        # Some file systems cannot sync a folder; the rename still happened.
        pass
    finally:
        os.close(descriptor)
