"""SQLite state of an emulated tenant.

One ``sqlite3`` connection serves the whole process. The server's event
loop and in-process test helpers call the store from different threads, so
every access holds one re-entrant lock. Secrets never reach the database in
clear: API keys and access tokens are stored as SHA-256 digests, and OAuth
client secrets and connection secrets as salted SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from qtc_connections.emulator.catalog import CATALOG
from qtc_connections.emulator.config import EmulatorConfig
from qtc_connections.emulator.ids import now_timestamp

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tenant (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, hostnames TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, subject TEXT NOT NULL,
    email TEXT NOT NULL, tenant_admin INTEGER NOT NULL, created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_digest TEXT PRIMARY KEY, user_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS oauth_clients (
    client_id TEXT PRIMARY KEY, salt TEXT NOT NULL, secret_digest TEXT NOT NULL,
    user_id TEXT NOT NULL, lifetime INTEGER NOT NULL, scopes TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS access_tokens (
    token_digest TEXT PRIMARY KEY, user_id TEXT NOT NULL,
    client_id TEXT NOT NULL, expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS spaces (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
    description TEXT NOT NULL, owner_id TEXT NOT NULL, created_by TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS space_roles (
    space_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL,
    PRIMARY KEY (space_id, user_id, role)
);
CREATE TABLE IF NOT EXISTS data_source_settings (
    id TEXT PRIMARY KEY, disabled INTEGER NOT NULL, updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS connections (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT NOT NULL,
    datasource_id TEXT NOT NULL, space_id TEXT NOT NULL, owner_id TEXT NOT NULL,
    q_type TEXT NOT NULL, connect_statement TEXT NOT NULL,
    properties TEXT NOT NULL, tags TEXT NOT NULL, qri TEXT NOT NULL,
    credentials_id TEXT NOT NULL, log_on INTEGER NOT NULL,
    architecture INTEGER NOT NULL, separate_credentials INTEGER NOT NULL,
    username TEXT NOT NULL, app_owner TEXT NOT NULL, style TEXT NOT NULL,
    created TEXT NOT NULL, updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS connection_secrets (
    connection_id TEXT NOT NULL, property TEXT NOT NULL, salt TEXT NOT NULL,
    digest TEXT NOT NULL, file_name TEXT,
    PRIMARY KEY (connection_id, property)
);
"""

_TABLES = (
    "tenant",
    "users",
    "api_keys",
    "oauth_clients",
    "access_tokens",
    "spaces",
    "space_roles",
    "data_source_settings",
    "connections",
    "connection_secrets",
)


@dataclass(frozen=True)
class TenantRecord:
    """The emulated tenant."""

    tenant_id: str
    name: str
    hostnames: list[str]
    created: str


@dataclass(frozen=True)
class UserRecord:
    """A user of the tenant."""

    user_id: str
    name: str
    subject: str
    email: str
    tenant_admin: bool
    created: str


@dataclass(frozen=True)
class OAuthClientRecord:
    """An OAuth client, with its secret as a salted digest."""

    client_id: str
    salt: str
    secret_digest: str
    user_id: str
    lifetime: int
    scopes: tuple[str, ...]


@dataclass
class SpaceRecord:
    """A shared, managed or data space."""

    space_id: str
    name: str
    type: str
    description: str
    owner_id: str
    created_by: str
    created_at: str
    updated_at: str


@dataclass
class ConnectionRecord:
    """A data connection without its secrets.

    ``space_id`` is empty for a connection in the owner's personal space.
    ``style`` is ``"properties"`` for a connection created from
    ``connectionProperties`` and ``"statement"`` for one created from a
    connect statement. ``properties`` holds only non-secret values.
    """

    connection_id: str
    name: str
    datasource_id: str
    space_id: str
    owner_id: str
    q_type: str
    connect_statement: str
    properties: dict[str, Any]
    tags: list[str]
    qri: str
    credentials_id: str
    log_on: int
    architecture: int
    separate_credentials: bool
    username: str
    app_owner: str
    style: str
    created: str
    updated: str
    seq: int = 0


@dataclass(frozen=True)
class SecretValue:
    """A secret to store: the clear value and, for a file, its name."""

    value: str
    file_name: str | None = None


@dataclass
class SecretChanges:
    """Secrets to set and to delete in one write of a connection."""

    values: dict[str, SecretValue] = field(default_factory=dict)
    file_names: dict[str, str] = field(default_factory=dict)
    removals: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.values or self.file_names or self.removals)


def key_digest(value: str) -> str:
    """Return the unsalted SHA-256 hex digest used to look up keys and tokens."""
    return hashlib.sha256(value.encode()).hexdigest()


def salted_digest(salt: str, value: str) -> str:
    """Return the SHA-256 hex digest of ``salt`` (hex) followed by ``value``."""
    return hashlib.sha256(bytes.fromhex(salt) + value.encode()).hexdigest()


class Store:
    """Tables of one tenant, behind a lock."""

    def __init__(self, db_path: str) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            db_path, check_same_thread=False, isolation_level=None
        )
        # The store lives as long as its app, which tests keep after stopping
        # the server, so the connection closes when the store is collected.
        weakref.finalize(self, self._db.close)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(_SCHEMA)
        self._next_seq = self._max_seq() + 1

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, *params: object) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, params))

    def _row(self, sql: str, *params: object) -> sqlite3.Row | None:
        rows = self._rows(sql, *params)
        return rows[0] if rows else None

    def _max_seq(self) -> int:
        row = self._row("SELECT COALESCE(MAX(seq), 0) AS seq FROM connections")
        return int(row["seq"]) if row else 0

    # Seeding

    def seed(self, config: EmulatorConfig) -> None:
        """Write the configured tenant, users, clients, spaces and settings.

        Rows that already exist keep their data, except that each identity's
        API keys and each client's secret are replaced by the configured
        ones, so a reopened database file accepts the current keys only.
        """
        created = now_timestamp()
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO tenant VALUES (?, ?, ?, ?)",
                (
                    config.tenant_id,
                    config.tenant_name,
                    json.dumps(config.hostnames),
                    created,
                ),
            )
            for identity in config.identities:
                db.execute(
                    "INSERT OR IGNORE INTO users VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        identity.user_id,
                        identity.name,
                        identity.subject,
                        identity.email,
                        int(identity.tenant_admin),
                        created,
                    ),
                )
                db.execute(
                    "DELETE FROM api_keys WHERE user_id = ?", (identity.user_id,)
                )
                for api_key in identity.api_keys:
                    db.execute(
                        "INSERT OR REPLACE INTO api_keys VALUES (?, ?)",
                        (key_digest(api_key), identity.user_id),
                    )
            for client in config.oauth_clients:
                salt = secrets.token_hex(16)
                db.execute(
                    "INSERT OR REPLACE INTO oauth_clients VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        client.client_id,
                        salt,
                        salted_digest(salt, client.client_secret),
                        client.user_id,
                        client.token_lifetime_seconds,
                        " ".join(client.scopes),
                    ),
                )
            for space in config.spaces:
                db.execute(
                    "INSERT OR IGNORE INTO spaces VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        space.space_id,
                        space.name,
                        space.type,
                        space.description,
                        space.owner_id,
                        space.owner_id,
                        created,
                        created,
                    ),
                )
                for user_id, roles in space.roles.items():
                    for role in roles:
                        db.execute(
                            "INSERT OR IGNORE INTO space_roles VALUES (?, ?, ?)",
                            (space.space_id, user_id, role),
                        )
            for data_source_id in CATALOG:
                db.execute(
                    "INSERT OR IGNORE INTO data_source_settings VALUES (?, 0, ?)",
                    (data_source_id, created),
                )

    def wipe(self) -> None:
        """Delete every row of every table."""
        with self._write() as db:
            for table in _TABLES:
                db.execute(f"DELETE FROM {table}")
        self._next_seq = 1

    # Tenant and users

    def tenant(self) -> TenantRecord | None:
        """Return the tenant, or ``None`` before seeding."""
        row = self._row("SELECT * FROM tenant LIMIT 1")
        if row is None:
            return None
        return TenantRecord(
            row["id"], row["name"], json.loads(row["hostnames"]), row["created"]
        )

    def set_hostnames(self, hostnames: list[str]) -> None:
        """Replace the tenant's host names."""
        with self._write() as db:
            db.execute("UPDATE tenant SET hostnames = ?", (json.dumps(hostnames),))

    def user(self, user_id: str) -> UserRecord | None:
        """Return the user with ``user_id``, if any."""
        row = self._row("SELECT * FROM users WHERE id = ?", user_id)
        return _user_record(row) if row else None

    def user_for_api_key(self, api_key: str) -> UserRecord | None:
        """Return the user that ``api_key`` belongs to, if any."""
        row = self._row(
            "SELECT users.* FROM users JOIN api_keys ON api_keys.user_id = users.id "
            "WHERE api_keys.key_digest = ?",
            key_digest(api_key),
        )
        return _user_record(row) if row else None

    def oauth_client(self, client_id: str) -> OAuthClientRecord | None:
        """Return the OAuth client with ``client_id``, if any."""
        row = self._row("SELECT * FROM oauth_clients WHERE client_id = ?", client_id)
        if row is None:
            return None
        return OAuthClientRecord(
            row["client_id"],
            row["salt"],
            row["secret_digest"],
            row["user_id"],
            int(row["lifetime"]),
            tuple(row["scopes"].split()),
        )

    def save_access_token(
        self, token: str, user_id: str, client_id: str, expires_at: float
    ) -> None:
        """Store an issued access token (as a digest) and its expiry time."""
        with self._write() as db:
            db.execute(
                "INSERT INTO access_tokens VALUES (?, ?, ?, ?)",
                (key_digest(token), user_id, client_id, expires_at),
            )

    def user_for_access_token(self, token: str, now: float) -> UserRecord | None:
        """Return the user of an unexpired access token, if any.

        ``now`` is a Unix time; tokens whose expiry is not after it are
        rejected.
        """
        row = self._row(
            "SELECT users.* FROM users JOIN access_tokens "
            "ON access_tokens.user_id = users.id "
            "WHERE access_tokens.token_digest = ? AND access_tokens.expires_at > ?",
            key_digest(token),
            now,
        )
        return _user_record(row) if row else None

    # Spaces

    def spaces(self) -> list[SpaceRecord]:
        """Return every space, oldest first."""
        rows = self._rows("SELECT * FROM spaces ORDER BY created_at, id")
        return [_space_record(row) for row in rows]

    def space(self, space_id: str) -> SpaceRecord | None:
        """Return the space with ``space_id``, if any."""
        row = self._row("SELECT * FROM spaces WHERE id = ?", space_id)
        return _space_record(row) if row else None

    def roles_by_space(self, user_id: str) -> dict[str, set[str]]:
        """Return the roles ``user_id`` holds, keyed by space id."""
        roles: dict[str, set[str]] = {}
        rows = self._rows(
            "SELECT space_id, role FROM space_roles WHERE user_id = ?", user_id
        )
        for row in rows:
            roles.setdefault(row["space_id"], set()).add(row["role"])
        return roles

    def insert_space(self, space: SpaceRecord, roles: dict[str, list[str]]) -> None:
        """Insert a new space and its role assignments."""
        with self._write() as db:
            db.execute(
                "INSERT INTO spaces VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    space.space_id,
                    space.name,
                    space.type,
                    space.description,
                    space.owner_id,
                    space.created_by,
                    space.created_at,
                    space.updated_at,
                ),
            )
            for user_id, user_roles in roles.items():
                for role in user_roles:
                    db.execute(
                        "INSERT INTO space_roles VALUES (?, ?, ?)",
                        (space.space_id, user_id, role),
                    )

    # Data-source settings

    def disabled_data_sources(self) -> set[str]:
        """Return the ids of disabled data sources."""
        rows = self._rows("SELECT id FROM data_source_settings WHERE disabled = 1")
        return {row["id"] for row in rows}

    def set_data_source_disabled(self, data_source_id: str, disabled: bool) -> None:
        """Enable or disable a data source."""
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO data_source_settings VALUES (?, ?, ?)",
                (data_source_id, int(disabled), now_timestamp()),
            )

    def data_sources_updated(self) -> str:
        """Return when data-source settings last changed."""
        row = self._row("SELECT MAX(updated) AS updated FROM data_source_settings")
        if row is None or row["updated"] is None:
            return now_timestamp()
        return str(row["updated"])

    # Connections

    def connections(self) -> list[ConnectionRecord]:
        """Return every connection, in creation order."""
        rows = self._rows("SELECT * FROM connections ORDER BY seq")
        return [_connection_record(row) for row in rows]

    def connection(self, connection_id: str) -> ConnectionRecord | None:
        """Return the connection with ``connection_id``, if any."""
        row = self._row("SELECT * FROM connections WHERE id = ?", connection_id)
        return _connection_record(row) if row else None

    def insert_connection(
        self, record: ConnectionRecord, secret_values: dict[str, SecretValue]
    ) -> None:
        """Insert a new connection together with its secrets."""
        with self._write() as db:
            record.seq = self._next_seq
            self._next_seq += 1
            db.execute(
                "INSERT INTO connections VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _connection_row(record),
            )
            for name, secret in secret_values.items():
                _write_secret(db, record.connection_id, name, secret)

    def save_connection(
        self, record: ConnectionRecord, changes: SecretChanges | None = None
    ) -> None:
        """Replace a stored connection and apply secret changes atomically."""
        with self._write() as db:
            db.execute("DELETE FROM connections WHERE id = ?", (record.connection_id,))
            db.execute(
                "INSERT INTO connections VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _connection_row(record),
            )
            if changes is not None:
                _apply_secret_changes(db, record.connection_id, changes)

    def delete_connection(self, connection_id: str) -> bool:
        """Delete a connection and its secrets; return whether it existed."""
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM connections WHERE id = ?", (connection_id,)
            )
            db.execute(
                "DELETE FROM connection_secrets WHERE connection_id = ?",
                (connection_id,),
            )
            return cursor.rowcount > 0

    def copy_secrets(self, source_id: str, target_id: str) -> None:
        """Copy every stored secret digest of one connection to another."""
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO connection_secrets "
                "SELECT ?, property, salt, digest, file_name FROM connection_secrets "
                "WHERE connection_id = ?",
                (target_id, source_id),
            )

    def secret_properties(self, connection_id: str) -> set[str]:
        """Return the names of the secrets stored for a connection."""
        rows = self._rows(
            "SELECT property FROM connection_secrets WHERE connection_id = ?",
            connection_id,
        )
        return {row["property"] for row in rows}

    def secret_digest(self, connection_id: str, property_name: str) -> str | None:
        """Return the salted digest stored for a secret, or ``None``.

        The digest changes whenever the secret is written, even with the
        same value, because each write draws a new salt.
        """
        row = self._secret_row(connection_id, property_name)
        return str(row["digest"]) if row else None

    def secret_matches(
        self, connection_id: str, property_name: str, value: str
    ) -> bool:
        """Return whether the stored secret equals ``value``.

        For a file property ``value`` is the base64 text that was sent.
        """
        row = self._secret_row(connection_id, property_name)
        if row is None:
            return False
        return hmac.compare_digest(row["digest"], salted_digest(row["salt"], value))

    def secret_file_name(self, connection_id: str, property_name: str) -> str | None:
        """Return the stored file name of a file property, or ``None``."""
        row = self._secret_row(connection_id, property_name)
        if row is None or row["file_name"] is None:
            return None
        return str(row["file_name"])

    def _secret_row(self, connection_id: str, property_name: str) -> sqlite3.Row | None:
        return self._row(
            "SELECT * FROM connection_secrets WHERE connection_id = ? AND property = ?",
            connection_id,
            property_name,
        )


def _write_secret(
    db: sqlite3.Connection, connection_id: str, name: str, secret: SecretValue
) -> None:
    salt = secrets.token_hex(16)
    db.execute(
        "INSERT OR REPLACE INTO connection_secrets VALUES (?, ?, ?, ?, ?)",
        (
            connection_id,
            name,
            salt,
            salted_digest(salt, secret.value),
            secret.file_name,
        ),
    )


def _apply_secret_changes(
    db: sqlite3.Connection, connection_id: str, changes: SecretChanges
) -> None:
    for name in changes.removals:
        db.execute(
            "DELETE FROM connection_secrets WHERE connection_id = ? AND property = ?",
            (connection_id, name),
        )
    for name, secret in changes.values.items():
        file_name = changes.file_names.get(name, secret.file_name)
        if file_name is None:
            file_name = _stored_file_name(db, connection_id, name)
        _write_secret(db, connection_id, name, SecretValue(secret.value, file_name))
    for name, file_name in changes.file_names.items():
        if name not in changes.values:
            db.execute(
                "UPDATE connection_secrets SET file_name = ? "
                "WHERE connection_id = ? AND property = ?",
                (file_name, connection_id, name),
            )


def _stored_file_name(
    db: sqlite3.Connection, connection_id: str, name: str
) -> str | None:
    row = db.execute(
        "SELECT file_name FROM connection_secrets "
        "WHERE connection_id = ? AND property = ?",
        (connection_id, name),
    ).fetchone()
    return None if row is None or row["file_name"] is None else str(row["file_name"])


def _user_record(row: sqlite3.Row) -> UserRecord:
    return UserRecord(
        row["id"],
        row["name"],
        row["subject"],
        row["email"],
        bool(row["tenant_admin"]),
        row["created"],
    )


def _space_record(row: sqlite3.Row) -> SpaceRecord:
    return SpaceRecord(
        row["id"],
        row["name"],
        row["type"],
        row["description"],
        row["owner_id"],
        row["created_by"],
        row["created_at"],
        row["updated_at"],
    )


def _connection_row(record: ConnectionRecord) -> tuple[object, ...]:
    return (
        record.connection_id,
        record.seq,
        record.name,
        record.datasource_id,
        record.space_id,
        record.owner_id,
        record.q_type,
        record.connect_statement,
        json.dumps(record.properties),
        json.dumps(record.tags),
        record.qri,
        record.credentials_id,
        record.log_on,
        record.architecture,
        int(record.separate_credentials),
        record.username,
        record.app_owner,
        record.style,
        record.created,
        record.updated,
    )


def _connection_record(row: sqlite3.Row) -> ConnectionRecord:
    return ConnectionRecord(
        connection_id=row["id"],
        name=row["name"],
        datasource_id=row["datasource_id"],
        space_id=row["space_id"],
        owner_id=row["owner_id"],
        q_type=row["q_type"],
        connect_statement=row["connect_statement"],
        properties=json.loads(row["properties"]),
        tags=json.loads(row["tags"]),
        qri=row["qri"],
        credentials_id=row["credentials_id"],
        log_on=int(row["log_on"]),
        architecture=int(row["architecture"]),
        separate_credentials=bool(row["separate_credentials"]),
        username=row["username"],
        app_owner=row["app_owner"],
        style=row["style"],
        created=row["created"],
        updated=row["updated"],
        seq=int(row["seq"]),
    )
