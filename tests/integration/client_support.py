"""Helpers for the client tests: connection bodies, key files and recorders.

Every secret made here starts with ``CANARY-`` or is key material made with
``cryptography``, so a test can search any text for it.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from qtc_connections.catalog import Kind
from qtc_connections.emulator import Emulator, EmulatorConfig, EmulatorServer
from qtc_connections.emulator.journal import JournalEntry
from qtc_connections.keyfiles import KeyFile, load_key_file
from qtc_connections.properties import ConnectionInput, build_connection_properties
from qtc_connections.secrets import Secret
from qtc_connections.validation import validate_connection_input

MYSQL_SOURCE_ID = "repsrc_mysql"

# Data Movement gateway ids are opaque to the emulator; any value is valid.
GATEWAY_ID = "gw-client-tests-0001"


class TenantFixture(Protocol):
    """The interface of the ``tenant`` fixture in ``conftest.py``, for type checks."""

    server: EmulatorServer
    config: EmulatorConfig

    @property
    def url(self) -> str: ...

    def requests(self) -> list[JournalEntry]: ...

    def writes(self) -> list[JournalEntry]: ...

    def space_id(self, name: str = ...) -> str: ...


# The emulator adds a request to its journal just after the response has
# been sent, so a client can see the response before the entry exists.
JOURNAL_SETTLE_SECONDS = 0.02
JOURNAL_SETTLE_TIMEOUT_SECONDS = 2.0


def settled_requests(emulator: Emulator) -> list[JournalEntry]:
    """Return the journal once it has stopped growing.

    Two reads 20 ms apart that see the same number of entries count as
    settled, and the wait ends after 2 seconds in any case. NOTE: an entry
    recorded more than 20 ms after its response would still be missed.
    """
    deadline = time.monotonic() + JOURNAL_SETTLE_TIMEOUT_SECONDS
    entries = emulator.requests()
    while time.monotonic() < deadline:
        time.sleep(JOURNAL_SETTLE_SECONDS)
        again = emulator.requests()
        if len(again) == len(entries):
            return again
        entries = again
    return entries


def wait_for_latency_requests(emulator: Emulator, count: int) -> None:
    """Wait up to 10 seconds until ``count`` delayed requests are recorded.

    A request that a latency fault delays is recorded when the emulator
    finishes it, which may be long after the client gave up on it.
    """
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        delayed = [e for e in emulator.requests() if e.fault == "latency"]
        if len(delayed) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{count} delayed requests were not recorded in 10 s")


def reset_journal(emulator: Emulator) -> None:
    """Clear faults and the journal once the last request has been recorded."""
    settled_requests(emulator)
    emulator.reset()


def settled_writes(emulator: Emulator) -> list[JournalEntry]:
    """Return the settled journal entries other than GET."""
    return [entry for entry in settled_requests(emulator) if entry.method != "GET"]


@dataclass
class KeyMaterial:
    """Key files written for one test, and the secret text they contain."""

    pem_path: Path
    pem_passphrase: str
    service_account_path: Path
    canaries: list[str]


def write_key_material(folder: Path, key: rsa.RSAPrivateKey) -> KeyMaterial:
    """Write an encrypted PKCS#8 key and a service-account file into ``folder``."""
    passphrase = f"CANARY-passphrase-{secrets.token_hex(6)}"
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    )
    pem_path = folder / "rsa_key.p8"
    pem_path.write_bytes(pem)

    account_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    account_path = write_service_account(folder / "service-account.json", account_pem)
    return KeyMaterial(
        pem_path=pem_path,
        pem_passphrase=passphrase,
        service_account_path=account_path,
        canaries=[passphrase, pem.decode(), account_pem],
    )


def write_service_account(path: Path, private_key_pem: str) -> Path:
    """Write a service-account key document in the shape Google writes."""
    document = {
        "type": "service_account",
        "project_id": "qtc-tests",
        "private_key_id": secrets.token_hex(20),
        "private_key": private_key_pem,
        "client_email": "loader@qtc-tests.iam.gserviceaccount.com",
        "client_id": "123456789012345678901",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path.write_text(json.dumps(document, indent=2))
    return path


@dataclass
class ConnectionPlan:
    """A validated create request for one kind, and the values in it.

    ``plain`` contains the values the user gave, ``secrets`` the secret values
    by property, and ``files`` the loaded key files by property.
    """

    kind: Kind
    name: str
    payload: dict[str, object]
    plain: dict[str, object]
    secrets: dict[str, str]
    files: dict[str, KeyFile] = field(default_factory=dict)


def plan_connection(
    kind: Kind,
    *,
    name: str,
    space_id: str | None,
    gateway_id: str,
    keys: KeyMaterial,
    api_spec: Mapping[str, Any],
) -> ConnectionPlan:
    """Fill every required input of ``kind``, validate, and build the body.

    ``api_spec`` is the decoded api-specs response of the kind's data
    source. Required plain inputs get the kind's example value, or a
    made-up value named after the property. Every secret gets a fresh
    canary value.

    Raises:
        ValidationError: the library rejects the values it was given.
    """
    plain: dict[str, object] = {
        required: kind.examples.get(required, f"{required}-value")
        for required in kind.required
    }
    secret_values: dict[str, str] = {
        property_name: f"CANARY-{property_name}-{secrets.token_hex(6)}"
        for property_name in kind.secrets
    }
    files = {
        property_name: _load_file(kind, property_name, keys, secret_values)
        for property_name in kind.files
    }
    connection = ConnectionInput(
        kind=kind,
        name=name,
        space_id=space_id,
        gateway_id=gateway_id,
        properties=plain,
        secrets={
            property_name: Secret(value)
            for property_name, value in secret_values.items()
        },
        files=files,
    )
    validate_connection_input(connection, api_spec)
    built = build_connection_properties(connection)
    return ConnectionPlan(
        kind=kind,
        name=name,
        payload=built.payload,
        plain=plain,
        secrets=secret_values,
        files=files,
    )


def _load_file(
    kind: Kind, property_name: str, keys: KeyMaterial, secret_values: dict[str, str]
) -> KeyFile:
    file_property = kind.files[property_name]
    passphrase_property = file_property.passphrase_property
    if passphrase_property is None:
        return load_key_file(keys.service_account_path, file_property)

    # The passphrase property must carry the passphrase that opens the key.
    secret_values[passphrase_property] = keys.pem_passphrase
    return load_key_file(
        keys.pem_path, file_property, passphrase=Secret(keys.pem_passphrase)
    )


def mysql_properties(password: str, gateway_id: str) -> dict[str, object]:
    """Return a valid ``connectionProperties`` object for ``repsrc_mysql``."""
    return {
        "server": "mysql.example.internal",
        "username": "qtc_reader",
        "password": password,
        "agentId": gateway_id,
        "port": "3306",
        "replicateEndpointType": "mysql###None",
    }


class RecordingSleep:
    """A ``sleep`` for retry policies that records each delay and returns."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class RecordingTransport(httpx.BaseTransport):
    """A real HTTP transport that keeps a copy of every exchange.

    The tests use it to learn the access token and the bodies that went
    over the wire, so that they can search logs and errors for them.
    ``requests`` has every request sent, and ``exchanges`` each request that
    got a response, with the response body.
    """

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.requests: list[httpx.Request] = []
        self.exchanges: list[tuple[httpx.Request, bytes]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self._inner.handle_request(request)
        body = response.read()
        self.exchanges.append((request, body))
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=body,
            request=request,
        )

    def close(self) -> None:
        self._inner.close()

    def access_tokens(self) -> list[str]:
        """Return each access token the tenant issued, in order."""
        tokens = []
        for request, body in self.exchanges:
            if request.url.path != "/oauth/token" or not body:
                continue
            value = json.loads(body).get("access_token")
            if isinstance(value, str):
                tokens.append(value)
        return tokens


class ListHandler(logging.Handler):
    """A logging handler that keeps every formatted record."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.levelname} {record.getMessage()}")


@contextmanager
def debug_log() -> Iterator[ListHandler]:
    """Capture the ``qtc_connections`` loggers at DEBUG, as ``--debug`` does.

    The handler is attached to the package logger itself, because the CLI
    turns off propagation to the root logger when it configures logging.
    """
    package_logger = logging.getLogger("qtc_connections")
    handler = ListHandler()
    previous_level = package_logger.level
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        package_logger.removeHandler(handler)
        package_logger.setLevel(previous_level)
