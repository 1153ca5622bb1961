"""Run the exported catalog collection with newman against the emulator.

newman comes from ``npm install --prefix .tools newman`` in the checkout;
the test is skipped when node or that install is missing.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import ADMIN_KEY, GATEWAY_ID, TenantHandle
from qtc_connections.postman.export import ConnectionVariables, export_catalog

REPOSITORY = Path(__file__).resolve().parents[2]
NEWMAN = REPOSITORY / ".tools" / "node_modules" / ".bin" / "newman"
NEWMAN_TIMEOUT_SECONDS = 180


def _require_newman() -> Path:
    if shutil.which("node") is None:
        pytest.skip("node is not installed, so newman cannot run")
    if not NEWMAN.exists():
        pytest.skip("newman is missing; run: npm install --prefix .tools newman")
    return NEWMAN


def _pem_key(passphrase: str) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase.encode()),
    )


def _service_account() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    account = {
        "type": "service_account",
        "client_email": "loader@demo-project.iam.gserviceaccount.com",
        "private_key": pem,
    }
    return json.dumps(account).encode()


def _secret_values(connection: ConnectionVariables) -> dict[str, str]:
    """Return canary values for the connection's secrets and files, by variable."""
    values = {
        variable: f"CANARY-{variable}" for variable in connection.secrets.values()
    }
    for prop, variable in connection.files.items():
        if prop == "privateKeyFile":
            passphrase = values[connection.secrets["privateKeyPassphrase"]]
            content = _pem_key(passphrase)
        else:
            content = _service_account()
        values[variable] = base64.b64encode(content).decode("ascii")
    return values


def test_newman_runs_catalog_collection(tenant: TenantHandle, tmp_path: Path) -> None:
    newman = _require_newman()
    exported = export_catalog()
    collection_path = tmp_path / "collection.json"
    collection_path.write_text(json.dumps(exported.collection))

    values: dict[str, str] = {
        "baseUrl": tenant.url,
        "token": ADMIN_KEY,
        "spaceId": tenant.space_id(),
        "gatewayId": GATEWAY_ID,
    }
    secrets: dict[str, str] = {}
    for connection in exported.connections:
        for prop, variable in connection.inputs.items():
            values[variable] = connection.kind.examples.get(prop, f"{prop}.example")
        secrets.update(_secret_values(connection))
    values.update(secrets)

    environment = dict(exported.environment)
    entries = environment["values"]
    assert isinstance(entries, list)
    for entry in entries:
        entry["value"] = values.get(entry["key"], entry["value"])
    environment_path = tmp_path / "environment.json"
    environment_path.write_text(json.dumps(environment))

    report_path = tmp_path / "report.json"
    completed = subprocess.run(
        [
            str(newman),
            "run",
            str(collection_path),
            "-e",
            str(environment_path),
            "--reporters",
            "cli,json",
            "--reporter-json-export",
            str(report_path),
        ],
        capture_output=True,
        text=True,
        timeout=NEWMAN_TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-4000:]

    stats = json.loads(report_path.read_text())["run"]["stats"]["assertions"]
    assert stats["failed"] == 0
    assert stats["total"] >= 14 * 3

    emulator = tenant.server.emulator
    created = {record.name: record for record in emulator.store.connections()}
    assert len(created) == 14
    for connection in exported.connections:
        stored = created[connection.name]
        for prop, variable in {**connection.secrets, **connection.files}.items():
            matches = emulator.secret_matches(
                stored.connection_id, prop, secrets[variable]
            )
            assert matches, f"{connection.name}.{prop}"


def test_export_files_hold_no_secret(tmp_path: Path) -> None:
    exported = export_catalog()
    text = json.dumps(exported.collection) + json.dumps(exported.environment)
    for connection in exported.connections:
        for value in _secret_values(connection).values():
            assert value not in text
    secret_entries = [
        entry
        for entry in exported.environment["values"]  # type: ignore[attr-defined]
        if entry["key"] in exported.secret_variables
    ]
    assert all(entry["type"] == "secret" for entry in secret_entries)
    assert all(entry["value"] == "" for entry in secret_entries)
