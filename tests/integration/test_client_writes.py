"""Create, PATCH and delete through the library, and the errors they raise."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest
from client_support import (
    GATEWAY_ID,
    MYSQL_SOURCE_ID,
    TenantFixture,
    mysql_properties,
    settled_requests,
    settled_writes,
    write_service_account,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from qtc_connections.api.models import Connection
from qtc_connections.catalog import get_kind
from qtc_connections.client import QlikClient
from qtc_connections.emulator import EmulatorServer
from qtc_connections.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConflictError,
    ConnectionExistsError,
    InputError,
    NotFoundError,
    PatchRuleError,
    PermissionDeniedError,
)
from qtc_connections.keyfiles import load_key_file
from qtc_connections.patch import build_patch, check_patch_rules, patch_body
from qtc_connections.secrets import Secret

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(autouse=True)
def settled_journal(emulator_server: EmulatorServer) -> None:
    """Let the previous test's last request reach the journal before the reset."""
    settled_requests(emulator_server.emulator)


@pytest.fixture
def create_mysql(
    client: QlikClient, tenant: TenantFixture
) -> Callable[..., Connection]:
    """Create a MySQL source through the library; the password is a canary."""

    def create(
        name: str = "SRC_MySQL_01",
        *,
        space: str | None = "Data Integration",
        password: str = "CANARY-mysql-password-0a1b",
        as_client: QlikClient | None = None,
    ) -> Connection:
        space_id = tenant.space_id(space) if space else None
        return (as_client or client).connections.create(
            name=name,
            data_source_id=MYSQL_SOURCE_ID,
            connection_properties=mysql_properties(password, GATEWAY_ID),
            space_id=space_id,
        )

    return create


def member_key(tenant: TenantFixture) -> str:
    return tenant.config.member.api_keys[0]


# Create


def test_second_create_raises_exists(
    create_mysql: Callable[..., Connection], tenant: TenantFixture
) -> None:
    first = create_mysql()
    before = len(settled_requests(tenant.server.emulator))

    with pytest.raises(ConnectionExistsError) as caught:
        create_mysql()

    second_run = settled_requests(tenant.server.emulator)[before:]
    assert caught.value.connection_id == first.id
    assert caught.value.space_id == tenant.space_id()
    assert "already exists in space" in str(caught.value)
    assert [entry.method for entry in second_run] == ["GET"]


def test_second_create_sends_no_post(
    create_mysql: Callable[..., Connection], tenant: TenantFixture
) -> None:
    create_mysql()
    with pytest.raises(ConnectionExistsError):
        create_mysql()

    posts = [e for e in settled_writes(tenant.server.emulator) if e.method == "POST"]
    assert len(posts) == 1
    assert len(tenant.server.emulator.store.connections()) == 1


@pytest.mark.parametrize(
    "name",
    ["Ventes_été", "データ接続", 'with "quotes"', "back\\slash", "a/b"],
    ids=["accents", "japanese", "quotes", "backslash", "slash"],
)
def test_second_create_odd_name(
    name: str, create_mysql: Callable[..., Connection], tenant: TenantFixture
) -> None:
    first = create_mysql(name)

    with pytest.raises(ConnectionExistsError) as caught:
        create_mysql(name)

    posts = [e for e in settled_writes(tenant.server.emulator) if e.method == "POST"]
    assert caught.value.connection_id == first.id
    assert len(posts) == 1


def test_same_name_other_space_allowed(
    create_mysql: Callable[..., Connection], tenant: TenantFixture
) -> None:
    in_integration = create_mysql("Same_Name", space="Data Integration")
    in_finance = create_mysql("Same_Name", space="Finance Data")

    assert in_integration.id != in_finance.id
    assert in_finance.space_id == tenant.space_id("Finance Data")


def test_personal_create_ignores_shared_name(
    create_mysql: Callable[..., Connection],
) -> None:
    create_mysql("Same_Name", space="Data Integration")

    personal = create_mysql("Same_Name", space=None)

    assert personal.space_id is None
    assert personal.name == "Same_Name"


def test_second_personal_create_raises_exists(
    create_mysql: Callable[..., Connection], tenant: TenantFixture
) -> None:
    first = create_mysql("Mine", space=None)

    with pytest.raises(ConnectionExistsError) as caught:
        create_mysql("Mine", space=None)

    posts = [e for e in settled_writes(tenant.server.emulator) if e.method == "POST"]
    assert caught.value.connection_id == first.id
    assert "the personal space" in str(caught.value)
    assert len(posts) == 1


def test_create_rejected_without_echoing_secret(
    client: QlikClient, tenant: TenantFixture
) -> None:
    password = "CANARY-rejected-password-77e1"
    properties = {**mysql_properties(password, GATEWAY_ID), "serverName": "typo"}

    with pytest.raises(BadRequestError) as caught:
        client.connections.create(
            name="SRC_Rejected",
            data_source_id=MYSQL_SOURCE_ID,
            connection_properties=properties,
            space_id=tenant.space_id(),
        )

    message = str(caught.value)
    assert caught.value.status == 400
    assert "serverName" in message
    assert password not in message
    assert password not in repr(caught.value.errors)
    assert tenant.server.emulator.store.connections() == []


# PATCH rotation


def send_patch(
    client: QlikClient, connection: Connection, kind_name: str, **changes: object
) -> None:
    """Build, check and send a PATCH, as ``qtc connections patch`` does."""
    current = client.connections.get(connection.id, parse_connection=True)
    operations = build_patch(**changes)  # type: ignore[arg-type]
    check_patch_rules(
        operations,
        current_properties=current.connection_properties,
        credential_properties=get_kind(kind_name).credential_properties,
    )
    client.connections.patch(connection.id, patch_body(operations))


def test_patch_rotates_password(
    client: QlikClient,
    create_mysql: Callable[..., Connection],
    tenant: TenantFixture,
) -> None:
    old_password = "CANARY-old-password-1111"
    new_password = "CANARY-new-password-2222"
    connection = create_mysql(password=old_password)
    emulator = tenant.server.emulator
    old_digest = emulator.secret_digest(connection.id, "password")

    send_patch(
        client, connection, "mysql-source", secrets={"password": Secret(new_password)}
    )

    patches = [e for e in settled_writes(emulator) if e.method == "PATCH"]
    assert [entry.status for entry in patches] == [204]
    assert emulator.secret_matches(connection.id, "password", new_password)
    assert not emulator.secret_matches(connection.id, "password", old_password)
    assert emulator.secret_digest(connection.id, "password") != old_digest


def test_patch_keeps_other_properties(
    client: QlikClient, create_mysql: Callable[..., Connection]
) -> None:
    connection = create_mysql()
    before = client.connections.get(connection.id, parse_connection=True)

    send_patch(
        client,
        connection,
        "mysql-source",
        secrets={"password": Secret("CANARY-rotated-3")},
    )

    after = client.connections.get(connection.id, parse_connection=True)
    assert after.connection_properties == before.connection_properties
    assert after.name == before.name


def test_patch_rotates_key_file(
    client: QlikClient,
    tenant: TenantFixture,
    tmp_path: Path,
    rsa_private_key: rsa.RSAPrivateKey,
) -> None:
    kind = get_kind("bigquery-target")
    file_property = kind.files["jsonCredentials"]
    old_path = write_service_account(tmp_path / "old.json", pem_of(rsa_private_key))
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new_path = write_service_account(tmp_path / "new.json", pem_of(new_key))
    old_file = load_key_file(old_path, file_property)
    new_file = load_key_file(new_path, file_property)
    connection = client.connections.create(
        name="TGT_BigQuery_01",
        data_source_id=kind.data_source_id,
        connection_properties={
            "datasetLocation": "US",
            "jsonCredentials": old_file.to_property_value(),
        },
        space_id=tenant.space_id(),
    )

    send_patch(
        client, connection, "bigquery-target", files={"jsonCredentials": new_file}
    )

    emulator = tenant.server.emulator
    new_value = base64.b64encode(new_path.read_bytes()).decode()
    old_value = base64.b64encode(old_path.read_bytes()).decode()
    assert emulator.secret_matches(connection.id, "jsonCredentials", new_value)
    assert not emulator.secret_matches(connection.id, "jsonCredentials", old_value)
    stored_name = emulator.store.secret_file_name(connection.id, "jsonCredentials")
    assert stored_name == "service-account.json"


def pem_of(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_patch_rule_checked_before_sending(
    client: QlikClient,
    create_mysql: Callable[..., Connection],
    tenant: TenantFixture,
) -> None:
    connection = create_mysql()
    before = len(settled_writes(tenant.server.emulator))

    with pytest.raises(PatchRuleError) as caught:
        send_patch(
            client,
            connection,
            "mysql-source",
            properties={"server": "elsewhere.internal"},
        )

    assert "credentials" in str(caught.value)
    assert len(settled_writes(tenant.server.emulator)) == before


def test_patch_rename_conflict_raises(
    client: QlikClient, create_mysql: Callable[..., Connection]
) -> None:
    create_mysql("Taken_Name")
    other = create_mysql("Other_Name")

    with pytest.raises(ConflictError) as caught:
        client.connections.patch(
            other.id, [{"op": "replace", "path": "/qName", "value": "Taken_Name"}]
        )

    assert caught.value.status == 409
    assert "Taken_Name" in str(caught.value)
    assert client.connections.get(other.id).name == "Other_Name"


def test_patch_unknown_connection_not_found(client: QlikClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.connections.patch(
            UNKNOWN_ID, [{"op": "replace", "path": "/qName", "value": "x"}]
        )

    assert caught.value.status == 404


# Delete


def test_delete_removes_connection(
    client: QlikClient, create_mysql: Callable[..., Connection]
) -> None:
    connection = create_mysql()

    client.connections.delete(connection.id)

    with pytest.raises(NotFoundError):
        client.connections.get(connection.id)


def test_delete_twice_raises_not_found(
    client: QlikClient, create_mysql: Callable[..., Connection]
) -> None:
    connection = create_mysql()
    client.connections.delete(connection.id)

    with pytest.raises(NotFoundError) as caught:
        client.connections.delete(connection.id)

    assert caught.value.status == 404
    assert connection.id in str(caught.value)


def test_delete_missing_ok_is_quiet(
    client: QlikClient,
    create_mysql: Callable[..., Connection],
    tenant: TenantFixture,
) -> None:
    connection = create_mysql()
    client.connections.delete(connection.id, missing_ok=True)

    client.connections.delete(connection.id, missing_ok=True)

    deletes = [
        e for e in settled_writes(tenant.server.emulator) if e.method == "DELETE"
    ]
    assert [entry.status for entry in deletes] == [204, 404]


def test_delete_missing_ok_keeps_forbidden(
    make_client: Callable[..., QlikClient],
    create_mysql: Callable[..., Connection],
    tenant: TenantFixture,
) -> None:
    connection = create_mysql(space="Finance Data")
    member = make_client(api_key=member_key(tenant))

    with pytest.raises(PermissionDeniedError):
        member.connections.delete(connection.id, missing_ok=True)

    assert len(tenant.server.emulator.store.connections()) == 1


# Error statuses


def test_bad_api_key_raises_401(
    make_client: Callable[..., QlikClient], tenant: TenantFixture
) -> None:
    wrong_key = "CANARY-wrong-api-key-5d5d"
    client = make_client(api_key=wrong_key)

    with pytest.raises(AuthenticationError) as caught:
        list(client.connections.list())

    message = str(caught.value)
    assert caught.value.status == 401
    assert "check QTC_TOKEN" in message
    assert wrong_key not in message
    assert len(settled_requests(tenant.server.emulator)) == 1


def test_empty_api_key_sends_nothing(
    make_client: Callable[..., QlikClient], tenant: TenantFixture
) -> None:
    with pytest.raises(ConfigError) as caught:
        make_client(api_key="   ")

    assert "QTC_TOKEN" in str(caught.value)
    assert settled_requests(tenant.server.emulator) == []


def test_member_create_forbidden_403(
    make_client: Callable[..., QlikClient],
    create_mysql: Callable[..., Connection],
    tenant: TenantFixture,
) -> None:
    member = make_client(api_key=member_key(tenant))

    with pytest.raises(PermissionDeniedError) as caught:
        create_mysql("SRC_Member", space="Finance Data", as_client=member)

    posts = [e for e in settled_writes(tenant.server.emulator) if e.method == "POST"]
    assert caught.value.status == 403
    assert "Can manage" in str(caught.value)
    assert [entry.status for entry in posts] == [403]
    assert tenant.server.emulator.store.connections() == []


def test_get_unknown_id_raises_404(client: QlikClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.connections.get(UNKNOWN_ID)

    assert caught.value.status == 404
    assert UNKNOWN_ID in str(caught.value)
    assert "check the id or name" in str(caught.value)


def test_get_invalid_id_raises_400(client: QlikClient) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.connections.get("not-a-uuid")

    assert caught.value.status == 400


def test_get_hidden_connection_raises_404(
    make_client: Callable[..., QlikClient],
    create_mysql: Callable[..., Connection],
    tenant: TenantFixture,
) -> None:
    connection = create_mysql(space="Data Integration")
    member = make_client(api_key=member_key(tenant))

    with pytest.raises(NotFoundError):
        member.connections.get(connection.id)


@pytest.mark.parametrize("connection_id", ["", "  ", ".", ".."])
def test_path_changing_id_rejected(
    connection_id: str, client: QlikClient, tenant: TenantFixture
) -> None:
    # Each of these would make the URL name the list or /api/v1 itself.
    calls: list[Callable[[], object]] = [
        lambda: client.connections.get(connection_id),
        lambda: client.connections.delete(connection_id, missing_ok=True),
        lambda: client.connections.patch(
            connection_id, [{"op": "replace", "path": "/qName", "value": "x"}]
        ),
    ]
    for call in calls:
        with pytest.raises(InputError) as caught:
            call()
        assert "connection id" in str(caught.value)

    assert settled_requests(tenant.server.emulator) == []


def test_create_in_unknown_space_raises_404(
    client: QlikClient, tenant: TenantFixture
) -> None:
    unknown_space = "0123456789abcdef01234567"

    with pytest.raises(NotFoundError) as caught:
        client.connections.create(
            name="SRC_Nowhere",
            data_source_id=MYSQL_SOURCE_ID,
            connection_properties=mysql_properties("CANARY-nowhere-pw", GATEWAY_ID),
            space_id=unknown_space,
        )

    assert unknown_space in str(caught.value)
    assert tenant.server.emulator.store.connections() == []
