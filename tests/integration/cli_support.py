"""Helpers for the ``qtc`` command-line tests: canaries, key files, create flags.

Every secret made here is a fresh ``CANARY-...`` value or key material made
with ``cryptography``. Fresh values matter: the redaction registry of
``qtc_connections.redact`` lives for the whole test process, so a value
registered by an earlier test would be hidden from a later test's output
even where that later run leaked it.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from click.testing import Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from qtc_connections.emulator import EmulatorConfig, EmulatorServer
from qtc_connections.emulator.journal import JournalEntry

# Gateway id that the ``qtc`` fixture exports as QTC_GATEWAY_ID.
GATEWAY_ID = "gw-test-0001"
QLIK_MANAGED_GATEWAY = "$$qlikManagedGateway$$"

# Seconds without a new journal entry after which the journal counts as
# complete. The emulator records a request after its response has gone
# out, so a client can finish before the entry exists.
JOURNAL_QUIET_SECONDS = 0.05
JOURNAL_TIMEOUT_SECONDS = 2.0


# The ``qtc`` fixture: runs the CLI in-process and returns click's result.
Qtc = Callable[..., Result]


class TenantFixture(Protocol):
    """What the ``tenant`` fixture of ``conftest.py`` provides."""

    server: EmulatorServer
    config: EmulatorConfig

    @property
    def url(self) -> str: ...

    def requests(self) -> list[JournalEntry]: ...

    def writes(self) -> list[JournalEntry]: ...

    def space_id(self, name: str = ...) -> str: ...


def admin_key(tenant: TenantFixture) -> str:
    """Return the tenant admin's API key, which the ``qtc`` fixture exports."""
    return tenant.config.admin.api_keys[0]


def member_key(tenant: TenantFixture) -> str:
    """Return the API key of the member without admin rights."""
    return tenant.config.member.api_keys[0]


def canary(label: str) -> str:
    """Return a fresh secret value that no earlier test can have registered."""
    return f"CANARY-{label}-{secrets.token_hex(8)}"


def settled_requests(tenant: TenantFixture) -> list[JournalEntry]:
    """Return the journal once no new entry has arrived for a short while."""
    deadline = time.monotonic() + JOURNAL_TIMEOUT_SECONDS
    entries = tenant.requests()
    while time.monotonic() < deadline:
        time.sleep(JOURNAL_QUIET_SECONDS)
        latest = tenant.requests()
        if len(latest) == len(entries):
            return latest
        entries = latest
    return entries


def settled_writes(tenant: TenantFixture) -> list[JournalEntry]:
    """Return the requests other than GET from ``settled_requests``."""
    return [entry for entry in settled_requests(tenant) if entry.method != "GET"]


def secret_fragments(values: Iterable[str]) -> list[str]:
    """Return each value and each of its lines long enough to identify it.

    A key can leak line by line, so every PEM body line counts as well as
    the whole text. Armour lines such as ``-----BEGIN ...`` are public.
    """
    fragments: list[str] = []
    for value in values:
        fragments.append(value)
        for line in value.splitlines():
            stripped = line.strip()
            if len(stripped) > 20 and not stripped.startswith("-----"):
                fragments.append(stripped)
    return fragments


def leaked_fragments(result: Result, values: Iterable[str]) -> list[str]:
    """Return the fragments of ``values`` found on stdout or stderr of a run."""
    output = result.stdout + result.stderr
    return [fragment for fragment in secret_fragments(values) if fragment in output]


def b64(data: bytes) -> str:
    """Return the standard base64 text of ``data``, as a file property carries it."""
    return base64.b64encode(data).decode("ascii")


@dataclass
class KeyMaterial:
    """Key files of one test, valid and broken, and the secrets they hold.

    ``canaries`` lists every secret text: the passphrase and each private
    key in PEM form, encrypted and not.
    """

    folder: Path
    passphrase: str
    encrypted_key: Path
    plain_key: Path
    truncated_key: Path
    ec_key: Path
    service_account: Path
    rotated_service_account: Path
    service_account_without_key: Path
    malformed_service_account: Path
    canaries: list[str] = field(default_factory=list)


def write_key_material(folder: Path, key: rsa.RSAPrivateKey) -> KeyMaterial:
    """Write every key file the tests need into ``folder``."""
    passphrase = canary("passphrase")
    encrypted = _pem(key, passphrase)
    plain = _pem(key, None)
    ec_pem = _pem(ec.generate_private_key(ec.SECP256R1()), None)
    account = _service_account(plain.decode())
    rotated = _service_account(plain.decode())
    without_key = {name: v for name, v in account.items() if name != "private_key"}

    files = {
        "encrypted_key": ("rsa_key.p8", encrypted),
        "plain_key": ("rsa_key_plain.p8", plain),
        "truncated_key": ("rsa_key_truncated.p8", encrypted[: len(encrypted) // 2]),
        "ec_key": ("ec_key.p8", ec_pem),
        "service_account": ("service-account.json", _json(account)),
        "rotated_service_account": ("service-account-2.json", _json(rotated)),
        "service_account_without_key": ("no-private-key.json", _json(without_key)),
        "malformed_service_account": ("malformed.json", b'{"type": "service_acc'),
    }
    paths: dict[str, Path] = {}
    for attribute, (file_name, content) in files.items():
        path = folder / file_name
        path.write_bytes(content)
        paths[attribute] = path
    return KeyMaterial(
        folder=folder,
        passphrase=passphrase,
        canaries=[passphrase, encrypted.decode(), plain.decode(), ec_pem.decode()],
        **paths,
    )


def _pem(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, passphrase: str | None
) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _service_account(private_key_pem: str) -> dict[str, str]:
    # A distinct private_key_id per file makes the rotated file's bytes differ.
    return {
        "type": "service_account",
        "project_id": "qtc-cli-tests",
        "private_key_id": secrets.token_hex(20),
        "private_key": private_key_pem,
        "client_email": "loader@qtc-cli-tests.iam.gserviceaccount.com",
        "client_id": "123456789012345678901",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


def _json(document: dict[str, str]) -> bytes:
    return json.dumps(document, indent=2).encode("utf-8")


@dataclass
class CreateFlags:
    """The ``qtc connections create`` flags for one kind, and what they hold.

    Attributes:
        kind: Catalog kind name.
        name: Connection name.
        args: Arguments after ``qtc connections create``.
        env: Environment variables that the ``env:`` references read.
        plain: Plain property values as the tenant stores them.
        secrets: Secret property values by property name.
        files: Key file paths by property name.
    """

    kind: str
    name: str
    args: list[str]
    env: dict[str, str | None]
    plain: dict[str, str]
    secrets: dict[str, str]
    files: dict[str, Path]

    @property
    def canaries(self) -> list[str]:
        """Every secret value and key file text that the flags send."""
        texts = list(self.secrets.values())
        texts.extend(path.read_text() for path in self.files.values())
        return texts


# Plain inputs of each catalog kind, written out here rather than read from
# the catalog, so that a catalog mistake cannot hide in the expected values.
KIND_INPUTS: dict[str, dict[str, str]] = {
    "mysql-source": {"server": "mysql.example.internal", "username": "qtc_reader"},
    "mysql-target": {"server": "mysql-dw.example.internal", "username": "qtc_writer"},
    "sqlserver-source": {
        "server": "mssql.example.internal",
        "username": "qtc_reader",
        "database": "sales",
    },
    "sqlserver-target": {
        "server": "mssql-dw.example.internal",
        "username": "qtc_writer",
        "database": "warehouse",
    },
    "postgresql-source": {
        "server": "pg.example.internal",
        "username": "qtc_reader",
        "database": "orders",
    },
    "postgresql-target": {
        "host": "pg-dw.example.internal",
        "username": "qtc_writer",
        "database": "warehouse",
    },
    "oracle-source": {
        "server": "//oracle.example.internal:1521/ORCL",
        "username": "qtc_reader",
    },
    "oracle-target": {
        "server": "//oracle-dw.example.internal:1521/DW",
        "username": "qtc_writer",
    },
    "snowflake-target": {
        "server": "acme-account.snowflakecomputing.com",
        "databaseQcsString": "ANALYTICS",
        "warehouse": "LOAD_WH",
        "username": "QTC_LOADER",
    },
    "databricks-target": {
        "server": "adb-1234567890123456.7.azuredatabricks.net",
        "httpPath": "/sql/1.0/warehouses/abc123def456",
    },
    "bigquery-target": {"datasetLocation": "US"},
    "adls-target": {
        "storageAccount": "qtclake",
        "fileSystem": "landing",
        "adlstenantid": "00000000-0000-4000-8000-000000000001",
        "adlsclientappid": "00000000-0000-4000-8000-000000000002",
    },
    "s3-target": {"bucketName": "qtc-landing"},
    "gcs-target": {"bucketName": "qtc-landing-gcs"},
}

# Secret properties of each kind; each gets a fresh canary value.
KIND_SECRETS: dict[str, tuple[str, ...]] = {
    "mysql-source": ("password",),
    "mysql-target": ("password",),
    "sqlserver-source": ("password",),
    "sqlserver-target": ("password",),
    "postgresql-source": ("password",),
    "postgresql-target": ("password",),
    "oracle-source": ("password",),
    "oracle-target": ("password",),
    "snowflake-target": (),
    "databricks-target": ("password",),
    "bigquery-target": (),
    "adls-target": ("adlsclientappkey",),
    "s3-target": ("s3AccessKey", "s3SecretKey"),
    "gcs-target": (),
}

# Data source id and gateway rule of each kind, from Qlik's published
# Data Integration connector examples.
KIND_SOURCES: dict[str, tuple[str, str]] = {
    "mysql-source": ("repsrc_mysql", "data-movement"),
    "mysql-target": ("reptgt_qdimysql", "data-movement"),
    "sqlserver-source": ("repsrc_mssql", "data-movement"),
    "sqlserver-target": ("reptgt_mssqltarget", "data-movement"),
    "postgresql-source": ("repsrc_postgresql", "data-movement"),
    "postgresql-target": ("reptgt_qdipostgresql", "data-movement"),
    "oracle-source": ("repsrc_oracle", "data-movement"),
    "oracle-target": ("reptgt_qdioracle", "data-movement"),
    "snowflake-target": ("reptgt_qdisnowflake", "none"),
    "databricks-target": ("reptgt_qdidatabricks", "none"),
    "bigquery-target": ("reptgt_qdibigquery", "none"),
    "adls-target": ("reptgt_qdiadls", "qlik-managed"),
    "s3-target": ("reptgt_qdis3", "qlik-managed"),
    "gcs-target": ("reptgt_qdigooglecloudstorage", "qlik-managed"),
}

KIND_NAMES = list(KIND_INPUTS)


def create_flags(
    kind: str, keys: KeyMaterial, *, name: str | None = None
) -> CreateFlags:
    """Build complete create flags for ``kind``, every secret a fresh canary."""
    connection_name = name or f"CLI_{kind.replace('-', '_')}"
    plain = dict(KIND_INPUTS[kind])
    args = ["--kind", kind, "--name", connection_name]
    for property_name, value in plain.items():
        args += ["--set", f"{property_name}={value}"]

    env: dict[str, str | None] = {}
    secret_values: dict[str, str] = {}
    for property_name in KIND_SECRETS[kind]:
        variable = f"QTC_TEST_{property_name.upper()}"
        secret_values[property_name] = canary(property_name)
        env[variable] = secret_values[property_name]
        args += ["--secret", f"{property_name}=env:{variable}"]

    files = _kind_files(kind, keys)
    for property_name, path in files.items():
        args += ["--key-file", f"{property_name}={path}"]
    if kind == "snowflake-target":
        secret_values["privateKeyPassphrase"] = keys.passphrase
        env["QTC_TEST_PASSPHRASE"] = keys.passphrase
        args += ["--secret", "privateKeyPassphrase=env:QTC_TEST_PASSPHRASE"]
    return CreateFlags(
        kind=kind,
        name=connection_name,
        args=args,
        env=env,
        plain=plain,
        secrets=secret_values,
        files=files,
    )


def _kind_files(kind: str, keys: KeyMaterial) -> dict[str, Path]:
    if kind == "snowflake-target":
        return {"privateKeyFile": keys.encrypted_key}
    if kind in ("bigquery-target", "gcs-target"):
        return {"jsonCredentials": keys.service_account}
    return {}


def error_lines(result: Result) -> list[str]:
    """Return the ``Error:`` lines that a run wrote to standard error."""
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]
