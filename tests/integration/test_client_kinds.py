"""Every catalog kind created through the library and read back over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from client_support import (
    GATEWAY_ID,
    KeyMaterial,
    TenantFixture,
    plan_connection,
    settled_requests,
    settled_writes,
    write_key_material,
)
from cryptography.hazmat.primitives.asymmetric import rsa

from qtc_connections.catalog import GATEWAY_PROPERTY, GatewayRule, Kind, list_kinds
from qtc_connections.client import QlikClient
from qtc_connections.emulator import EmulatorServer

KINDS = list_kinds()


@pytest.fixture(autouse=True)
def settled_journal(emulator_server: EmulatorServer) -> None:
    """Let the previous test's last request reach the journal before the reset."""
    settled_requests(emulator_server.emulator)


@pytest.fixture
def keys(tmp_path: Path, rsa_private_key: rsa.RSAPrivateKey) -> KeyMaterial:
    return write_key_material(tmp_path, rsa_private_key)


def test_catalog_has_fourteen_kinds() -> None:
    assert len(KINDS) == 14


@pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])
def test_kind_created_and_read_back(
    kind: Kind, client: QlikClient, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    space_id = tenant.space_id()
    plan = plan_connection(
        kind,
        name=f"IT_{kind.name}",
        space_id=space_id,
        gateway_id=GATEWAY_ID,
        keys=keys,
        api_spec=client.data_sources.api_specs(kind.data_source_id).raw,
    )

    created = client.connections.create(
        name=plan.name,
        data_source_id=kind.data_source_id,
        connection_properties=plan.payload,
        space_id=space_id,
    )
    read = client.connections.get(created.id, parse_connection=True)

    assert created.name == plan.name
    assert read.id == created.id
    assert read.data_source_id == kind.data_source_id
    assert read.space_id == space_id
    properties = read.connection_properties
    assert properties is not None
    for name, value in plan.plain.items():
        assert properties.get(name) == value, name
    for name, value in kind.defaults.items():
        assert properties.get(name) == value, name

    expected_gateway = {
        GatewayRule.DATA_MOVEMENT: GATEWAY_ID,
        GatewayRule.QLIK_MANAGED: "$$qlikManagedGateway$$",
        GatewayRule.NONE: None,
    }[kind.gateway]
    assert properties.get(GATEWAY_PROPERTY) == expected_gateway


@pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])
def test_kind_read_back_hides_secrets(
    kind: Kind, client: QlikClient, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    space_id = tenant.space_id()
    plan = plan_connection(
        kind,
        name=f"IT_{kind.name}",
        space_id=space_id,
        gateway_id=GATEWAY_ID,
        keys=keys,
        api_spec=client.data_sources.api_specs(kind.data_source_id).raw,
    )
    created = client.connections.create(
        name=plan.name,
        data_source_id=kind.data_source_id,
        connection_properties=plan.payload,
        space_id=space_id,
    )

    read = client.connections.get(created.id, parse_connection=True)
    listed = list(client.connections.list(space_id=space_id))
    texts = [json.dumps(read.raw), json.dumps([item.raw for item in listed])]
    encoded_files = [
        key_file.to_property_value()[0]["value"] for key_file in plan.files.values()
    ]

    properties = read.connection_properties or {}
    for name in [*plan.secrets, *plan.files]:
        assert name not in properties, name
    for text in texts:
        for value in [*plan.secrets.values(), *encoded_files, *keys.canaries]:
            assert value not in text


@pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])
def test_kind_secrets_reach_tenant(
    kind: Kind, client: QlikClient, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    space_id = tenant.space_id()
    plan = plan_connection(
        kind,
        name=f"IT_{kind.name}",
        space_id=space_id,
        gateway_id=GATEWAY_ID,
        keys=keys,
        api_spec=client.data_sources.api_specs(kind.data_source_id).raw,
    )
    created = client.connections.create(
        name=plan.name,
        data_source_id=kind.data_source_id,
        connection_properties=plan.payload,
        space_id=space_id,
    )

    emulator = tenant.server.emulator
    for name, value in plan.secrets.items():
        assert emulator.secret_matches(created.id, name, value), name
    for name, key_file in plan.files.items():
        encoded = key_file.to_property_value()[0]["value"]
        assert emulator.secret_matches(created.id, name, encoded), name
        stored_name = emulator.store.secret_file_name(created.id, name)
        assert stored_name == key_file.file_name, name


def test_create_sends_one_post_per_kind(
    client: QlikClient, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    space_id = tenant.space_id()
    for kind in KINDS:
        plan = plan_connection(
            kind,
            name=f"IT_{kind.name}",
            space_id=space_id,
            gateway_id=GATEWAY_ID,
            keys=keys,
            api_spec=client.data_sources.api_specs(kind.data_source_id).raw,
        )
        client.connections.create(
            name=plan.name,
            data_source_id=kind.data_source_id,
            connection_properties=plan.payload,
            space_id=space_id,
        )

    posts = [
        entry
        for entry in settled_writes(tenant.server.emulator)
        if entry.method == "POST"
    ]
    names = sorted(connection.name for connection in client.connections.list())
    assert len(posts) == len(KINDS)
    assert all(entry.status == 201 for entry in posts)
    assert names == sorted(f"IT_{kind.name}" for kind in KINDS)
