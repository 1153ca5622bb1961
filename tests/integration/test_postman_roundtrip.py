"""Round trip of the example manifest through a Postman collection.

The example manifest is exported as a collection and environment, the
collection is imported back into a manifest, and that manifest is loaded
and applied to the emulator. Key files are real: an encrypted PKCS#8 RSA
key and a service-account JSON, both made with ``cryptography``. Every
secret is a fresh canary, so a value found in a written file is a leak.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from apply_support import SyncRun, write_encrypted_key
from cli_support import b64, canary, secret_fragments
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import TenantHandle
from qtc_connections.client import QlikClient
from qtc_connections.manifest.loader import load_manifest
from qtc_connections.manifest.model import DesiredConnection, Manifest
from qtc_connections.postman.export import export_manifest
from qtc_connections.postman.importer import (
    ImportResult,
    import_collection,
    write_manifest,
)

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLE = REPOSITORY / "examples" / "manifest" / "connections.yaml"
EXAMPLE_CONNECTIONS = 14

# Secret variables that the example manifest reads, each set to a canary
# before export, so that an export which read them would leak a known value.
EXAMPLE_SECRET_VARIABLES = (
    "DEMO_MYSQL_PASSWORD",
    "DEMO_MSSQL_PASSWORD",
    "DEMO_POSTGRES_PASSWORD",
    "DEMO_ORACLE_PASSWORD",
    "DEMO_SNOWFLAKE_PASSPHRASE",
    "DEMO_DATABRICKS_TOKEN",
    "DEMO_ADLS_CLIENT_SECRET",
    "DEMO_S3_ACCESS_KEY",
    "DEMO_S3_SECRET_KEY",
)

SNOWFLAKE = "TGT_Snowflake"
PASSPHRASE_PROPERTY = "privateKeyPassphrase"


@dataclass(frozen=True)
class KeyFiles:
    """The key files of the example manifest and the secrets inside them."""

    folder: Path
    passphrase: str
    rsa_key: Path
    service_account: Path

    def canaries(self) -> list[str]:
        """Return every secret text: the passphrase, the files and their base64."""
        texts = [self.passphrase]
        for path in (self.rsa_key, self.service_account):
            texts.append(path.read_text(encoding="utf-8"))
            texts.append(b64(path.read_bytes()))
        account = json.loads(self.service_account.read_text(encoding="utf-8"))
        texts.append(account["private_key"])
        return secret_fragments(texts)


@dataclass(frozen=True)
class RoundTrip:
    """The files and manifests of one export and import."""

    original: Manifest
    collection_path: Path
    environment_path: Path
    manifest_path: Path
    imported: ImportResult


@pytest.fixture
def key_files(tmp_path: Path) -> KeyFiles:
    # SyncRun keeps its fingerprint key under tmp_path/keys, so the
    # manifest's key files get a folder of their own.
    folder = tmp_path / "key-files"
    folder.mkdir()
    passphrase = canary("snowflake-passphrase")
    rsa_key = write_encrypted_key(folder / "snowflake_rsa_key.p8", passphrase)
    service_account = folder / "service-account.json"
    service_account.write_text(_service_account_json(), encoding="utf-8")
    return KeyFiles(folder, passphrase, rsa_key, service_account)


@pytest.fixture
def example_secrets(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Export a canary for each secret variable of the example manifest."""
    values: list[str] = []
    for variable in EXAMPLE_SECRET_VARIABLES:
        value = canary(variable.lower())
        monkeypatch.setenv(variable, value)
        values.append(value)
    return values


@pytest.fixture
def round_trip(
    tmp_path: Path, key_files: KeyFiles, example_secrets: list[str]
) -> RoundTrip:
    original = load_manifest(
        [EXAMPLE], environment="dev", variables={"key_dir": str(key_files.folder)}
    )
    exported = export_manifest(original)

    postman = tmp_path / "postman"
    postman.mkdir()
    collection_path = postman / "collection.json"
    environment_path = postman / "environment.json"
    collection_path.write_text(json.dumps(exported.collection), encoding="utf-8")
    environment_path.write_text(json.dumps(exported.environment), encoding="utf-8")

    imported = import_collection(collection_path, environment_path=environment_path)
    manifest_path = tmp_path / "imported" / "connections.yaml"
    manifest_path.parent.mkdir()
    write_manifest(imported, manifest_path)
    return RoundTrip(
        original, collection_path, environment_path, manifest_path, imported
    )


@pytest.fixture
def imported_secrets(
    round_trip: RoundTrip, key_files: KeyFiles, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Export every variable that the imported manifest reads.

    Key file paths point at the files of the original manifest. The
    Snowflake passphrase is the one that encrypts its key, and every other
    secret is a fresh canary.

    Returns:
        The value of each secret variable, by variable name.
    """
    paths = _key_file_variables(round_trip)
    passphrase_variable = _secret_variable(round_trip, SNOWFLAKE, PASSPHRASE_PROPERTY)

    values: dict[str, str] = {}
    for variable in round_trip.imported.environment_variables:
        if variable in paths:
            monkeypatch.setenv(variable, str(paths[variable]))
            continue
        if variable == passphrase_variable:
            values[variable] = key_files.passphrase
        else:
            values[variable] = canary(variable.lower())
        monkeypatch.setenv(variable, values[variable])
    return values


@pytest.fixture
def reloaded(round_trip: RoundTrip, imported_secrets: dict[str, str]) -> Manifest:
    # The export resolved the dev environment, so the imported manifest has
    # no environments and loads without --env.
    return load_manifest([round_trip.manifest_path])


def _service_account_json() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    account = {
        "type": "service_account",
        "project_id": "qtc-roundtrip-tests",
        "private_key_id": canary("private-key-id"),
        "private_key": pem,
        "client_email": "loader@qtc-roundtrip-tests.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    return json.dumps(account, indent=2)


def _imported_entry(round_trip: RoundTrip, name: str) -> dict[str, Any]:
    for entry in round_trip.imported.manifest["connections"]:
        if entry["name"] == name:
            return dict(entry)
    raise AssertionError(f"imported manifest has no connection {name}")


def _env_name(reference: object) -> str:
    text = str(reference)
    assert text.startswith("env:"), f"{text!r} is not an env: reference"
    return text.removeprefix("env:")


def _secret_variable(round_trip: RoundTrip, name: str, prop: str) -> str:
    return _env_name(_imported_entry(round_trip, name)["secrets"][prop])


def _key_file_variables(round_trip: RoundTrip) -> dict[str, Path]:
    """Return the key file of the original manifest behind each path variable."""
    paths: dict[str, Path] = {}
    for connection in round_trip.original.connections:
        if not connection.key_files:
            continue
        entry = _imported_entry(round_trip, connection.name)
        for prop, spec in connection.key_files.items():
            value = entry["key_files"][prop]
            reference = value["path"] if isinstance(value, dict) else value
            paths[_env_name(reference)] = spec.path
    return paths


def _by_name(manifest: Manifest) -> dict[str, DesiredConnection]:
    return {connection.name: connection for connection in manifest.connections}


def _sent_properties(connection: DesiredConnection) -> dict[str, object]:
    # The export writes the kind's defaults into each create body, and the
    # importer keeps them as declared properties, so both sides are compared
    # with the defaults filled in, as build_connection_properties sends them.
    return {**connection.kind.defaults, **connection.properties}


def test_round_trip_keeps_connections(
    round_trip: RoundTrip, reloaded: Manifest
) -> None:
    original = _by_name(round_trip.original)
    again = _by_name(reloaded)

    assert len(original) == EXAMPLE_CONNECTIONS
    assert list(again) == list(original)
    for name, before in original.items():
        after = again[name]
        assert after.kind.name == before.kind.name, name
        assert after.space == before.space, name
        assert after.gateway_id == before.gateway_id, name
        assert after.tags == before.tags, name
        assert _sent_properties(after) == _sent_properties(before), name
        assert set(after.secrets) == set(before.secrets), name
        assert set(after.key_files) == set(before.key_files), name


def test_round_trip_keeps_declared_properties(
    round_trip: RoundTrip, reloaded: Manifest
) -> None:
    again = _by_name(reloaded)

    for before in round_trip.original.connections:
        after = again[before.name]
        for prop, value in before.properties.items():
            assert after.properties.get(prop) == value, f"{before.name}.{prop}"


def test_round_trip_keeps_key_file_names(
    round_trip: RoundTrip, reloaded: Manifest
) -> None:
    again = _by_name(reloaded)

    for before in round_trip.original.connections:
        after = again[before.name]
        for prop, spec in before.key_files.items():
            default = before.kind.files[prop].default_file_name
            expected = spec.file_name or default or spec.path.name
            label = f"{before.name}.{prop}"
            assert after.key_files[prop].file_name == expected, label
            assert after.key_files[prop].path == spec.path, label


def test_import_leaves_no_unresolved_variables(round_trip: RoundTrip) -> None:
    assert round_trip.imported.unresolved_variables == []
    assert round_trip.imported.warnings == []


def test_imported_manifest_applies_cleanly(
    client: QlikClient,
    tenant: TenantHandle,
    tmp_path: Path,
    round_trip: RoundTrip,
    reloaded: Manifest,
    imported_secrets: dict[str, str],
    key_files: KeyFiles,
) -> None:
    run = SyncRun(client, tmp_path)

    _, result = run.apply(reloaded)

    assert result.failed == []
    stored = {c.name: c for c in client.connections.list()}
    expected = {c.name: c.kind.data_source_id for c in round_trip.original.connections}
    assert len(stored) == EXAMPLE_CONNECTIONS
    assert {name: c.data_source_id for name, c in stored.items()} == expected

    emulator = tenant.server.emulator
    for connection in reloaded.connections:
        connection_id = stored[connection.name].id
        for prop, reference in connection.secrets.items():
            value = imported_secrets[_env_name(reference)]
            label = f"{connection.name}.{prop}"
            assert emulator.secret_matches(connection_id, prop, value), label
        for prop, spec in connection.key_files.items():
            content = b64(spec.path.read_bytes())
            label = f"{connection.name}.{prop}"
            assert emulator.secret_matches(connection_id, prop, content), label

    assert not run.plan(reloaded).has_changes


def test_postman_files_hold_no_canary(
    round_trip: RoundTrip,
    key_files: KeyFiles,
    example_secrets: list[str],
) -> None:
    # Only values that existed before the export can leak into these files,
    # so the canaries made later for the imported manifest are not searched.
    canaries = [*secret_fragments(example_secrets), *key_files.canaries()]
    files = (
        round_trip.collection_path,
        round_trip.environment_path,
        round_trip.manifest_path,
    )

    for path in files:
        text = path.read_text(encoding="utf-8")
        found = [fragment[:16] for fragment in canaries if fragment in text]
        assert found == [], f"{path.name} contains secret text starting {found}"
