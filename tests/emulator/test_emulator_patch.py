"""PATCH of data connections: paths, value checks and the four update rules."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from emulator_helpers import (
    b64,
    create_body,
    create_connection,
    error_detail,
    mysql_properties,
    unique,
)

OLD_PASSWORD = "CANARY-old-password-2f4a"
NEW_PASSWORD = "CANARY-new-password-6b1c"
NEW_KEY_FILE = "CANARY-new-service-account-0e9d"


@pytest.fixture
def space_id(config) -> str:
    return config.space("Data Integration").space_id


@pytest.fixture
def mysql(admin, space_id) -> dict[str, Any]:
    body = create_body(space_id, properties=mysql_properties(OLD_PASSWORD))
    return create_connection(admin, body)


@pytest.fixture
def bigquery(admin, space_id) -> dict[str, Any]:
    properties = {
        "jsonCredentials": [{"name": "old.json", "value": b64("old-content")}]
    }
    body = create_body(
        space_id, data_source_id="reptgt_qdibigquery", properties=properties
    )
    return create_connection(admin, body)


def _patch(
    client: httpx.Client, connection: dict[str, Any], operations: Any
) -> httpx.Response:
    return client.patch(f"/api/v1/data-connections/{connection['id']}", json=operations)


def _get(client: httpx.Client, connection: dict[str, Any]) -> dict[str, Any]:
    response = client.get(
        f"/api/v1/data-connections/{connection['id']}",
        params={"parseConnection": "true"},
    )
    body: dict[str, Any] = response.json()
    return body


def _replace(path: str, value: Any, key: str = "value") -> dict[str, Any]:
    return {"op": "replace", "path": path, key: value}


def _assert_rejected(response: httpx.Response, expected: str) -> None:
    assert response.status_code == 400, response.text
    assert expected in error_detail(response)
    assert NEW_PASSWORD not in response.text
    assert OLD_PASSWORD not in response.text


def test_rename_returns_empty_204(admin, mysql):
    name = unique("renamed")

    response = _patch(admin, mysql, [_replace("/qName", name)])

    assert response.status_code == 204
    assert response.content == b""
    after = _get(admin, mysql)
    assert after["qName"] == name
    assert after["updated"] > mysql["updated"]


def test_capital_value_key_accepted(admin, mysql):
    name = unique("capital")

    response = _patch(admin, mysql, [_replace("/qName", name, key="Value")])

    assert response.status_code == 204
    assert _get(admin, mysql)["qName"] == name


def test_rename_to_taken_name_conflicts(admin, mysql, space_id):
    other = create_connection(admin, create_body(space_id))

    response = _patch(admin, mysql, [_replace("/qName", other["qName"])])

    assert response.status_code == 409


def test_tags_replaced_and_removed(admin, mysql):
    replaced = _patch(admin, mysql, [_replace("/tags", ["a", "b"])])
    tags_after_replace = _get(admin, mysql)["tags"]
    removed = _patch(admin, mysql, [{"op": "remove", "path": "/tags"}])

    assert replaced.status_code == 204
    assert tags_after_replace == ["a", "b"]
    assert removed.status_code == 204
    assert _get(admin, mysql)["tags"] == []


def test_password_property_rotation(admin, server, mysql):
    before = server.emulator.secret_digest(mysql["id"], "password")

    response = _patch(
        admin, mysql, [_replace("/connectionProperties/password", NEW_PASSWORD)]
    )

    assert response.status_code == 204
    assert server.emulator.secret_digest(mysql["id"], "password") != before
    assert server.emulator.secret_matches(mysql["id"], "password", NEW_PASSWORD)
    assert _get(admin, mysql)["updated"] > mysql["updated"]


def test_qpassword_rotates_password_property(admin, server, mysql):
    response = _patch(admin, mysql, [_replace("/qPassword", NEW_PASSWORD)])

    assert response.status_code == 204
    assert server.emulator.secret_matches(mysql["id"], "password", NEW_PASSWORD)


def test_username_and_password_together(admin, server, mysql):
    operations = [
        _replace("/connectionProperties/password", NEW_PASSWORD),
        _replace("/connectionProperties/username", "ALP"),
    ]

    response = _patch(admin, mysql, operations)

    assert response.status_code == 204
    after = _get(admin, mysql)
    assert after["connectionProperties"]["username"] == "ALP"
    assert "username=ALP;" in after["qConnectStatement"]
    assert NEW_PASSWORD not in str(after)


def test_integer_port_stored_as_string(admin, mysql):
    response = _patch(admin, mysql, [_replace("/connectionProperties/port", 3307)])

    assert response.status_code == 204
    assert _get(admin, mysql)["connectionProperties"]["port"] == "3307"


def test_integer_for_text_property_rejected(admin, mysql):
    response = _patch(admin, mysql, [_replace("/connectionProperties/username", 42)])

    _assert_rejected(response, "connectionProperties.username must be a JSON string")


def test_string_for_boolean_rejected(admin, mysql):
    response = _patch(
        admin, mysql, [_replace("/connectionProperties/sshEnable", "true")]
    )

    _assert_rejected(response, "connectionProperties.sshEnable must be a JSON boolean")


def test_enum_mismatch_rejected(admin, mysql):
    response = _patch(
        admin, mysql, [_replace("/connectionProperties/sslMode", "Prefer")]
    )

    _assert_rejected(response, "sslMode value 'Prefer' is not one of")


def test_unknown_property_path_rejected(admin, mysql):
    response = _patch(admin, mysql, [_replace("/connectionProperties/hostname", "x")])

    _assert_rejected(response, "connectionProperties.hostname is not a property")


def test_unknown_top_level_path_rejected(admin, mysql):
    response = _patch(admin, mysql, [_replace("/qType", "x")])

    _assert_rejected(response, "path '/qType' cannot be patched")


def test_remove_required_property_rejected(admin, mysql):
    response = _patch(
        admin, mysql, [{"op": "remove", "path": "/connectionProperties/server"}]
    )

    _assert_rejected(response, "server is required and cannot be removed")


def test_remove_optional_property(admin, mysql):
    response = _patch(
        admin, mysql, [{"op": "remove", "path": "/connectionProperties/port"}]
    )

    assert response.status_code == 204
    assert "port" not in _get(admin, mysql)["connectionProperties"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"op": "replace", "path": "/qName", "value": "x"}, "non-empty JSON array"),
        ([], "non-empty JSON array"),
        (["replace"], "must be an object"),
        ([{"op": "move", "path": "/qName", "value": "x"}], "op must be one of"),
        ([{"op": "replace", "value": "x"}], "path must be a JSON Pointer"),
        ([{"op": "replace", "path": "/qName"}], "replace needs a value"),
        ([{"op": "remove", "path": "/qName"}], "qName cannot be removed"),
        ([_replace("/qName", 5)], "qName must be a non-empty string"),
        ([_replace("/tags", "x")], "tags must be an array of strings"),
    ],
)
def test_malformed_body_rejected(admin, mysql, body, expected):
    response = _patch(admin, mysql, body)

    _assert_rejected(response, expected)


def test_non_json_body_rejected(admin, mysql):
    response = admin.patch(
        f"/api/v1/data-connections/{mysql['id']}",
        content=b"[{",
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400


def test_rejected_body_changes_nothing(admin, server, mysql):
    operations = [
        _replace("/connectionProperties/password", NEW_PASSWORD),
        _replace("/connectionProperties/bogus", "x"),
    ]

    response = _patch(admin, mysql, operations)

    assert response.status_code == 400
    assert server.emulator.secret_matches(mysql["id"], "password", OLD_PASSWORD)
    assert _get(admin, mysql)["updated"] == mysql["updated"]


def test_rule_statement_with_properties(admin, mysql):
    operations = [
        _replace("/qConnectStatement", 'CUSTOM CONNECT TO "provider=x;"'),
        _replace("/connectionProperties/password", NEW_PASSWORD),
    ]

    response = _patch(admin, mysql, operations)

    _assert_rejected(
        response, "cannot patch both qConnectStatement and connectionProperties"
    )


def test_rule_statement_needs_credentials(admin, mysql):
    response = _patch(
        admin, mysql, [_replace("/qConnectStatement", 'CUSTOM CONNECT TO "x;"')]
    )

    _assert_rejected(response, "qConnectStatement needs credentials")


def test_statement_with_qpassword_accepted(admin, mysql):
    statement = (
        'CUSTOM CONNECT TO "provider=QlikConnectorsCommonService.exe;server=new;"'
    )
    operations = [
        _replace("/qConnectStatement", statement),
        _replace("/qPassword", NEW_PASSWORD),
    ]

    response = _patch(admin, mysql, operations)

    assert response.status_code == 204
    assert _get(admin, mysql)["qConnectStatement"] == statement


def test_rule_new_server_needs_credentials(admin, mysql):
    response = _patch(
        admin, mysql, [_replace("/connectionProperties/server", "other.host")]
    )

    _assert_rejected(response, "changing connectionProperties.server to a new value")


def test_same_server_value_needs_nothing(admin, mysql):
    response = _patch(
        admin, mysql, [_replace("/connectionProperties/server", "mysql.internal")]
    )

    assert response.status_code == 204


def test_new_server_with_password_accepted(admin, mysql):
    operations = [
        _replace("/connectionProperties/server", "other.host"),
        _replace("/connectionProperties/password", NEW_PASSWORD),
    ]

    response = _patch(admin, mysql, operations)

    assert response.status_code == 204
    assert "server=other.host;" in _get(admin, mysql)["qConnectStatement"]


def test_rule_new_host_needs_credentials(admin, space_id):
    properties = {
        "agentId": "gw",
        "host": "pg.old",
        "username": "u",
        "password": OLD_PASSWORD,
    }
    body = create_body(
        space_id, data_source_id="reptgt_qdipostgresql", properties=properties
    )
    created = create_connection(admin, body)

    response = _patch(
        admin, created, [_replace("/connectionProperties/host", "pg.new")]
    )

    _assert_rejected(response, "connectionProperties.host to a new value")


def test_rule_password_given_twice(admin, mysql):
    operations = [
        _replace("/qPassword", NEW_PASSWORD),
        _replace("/connectionProperties/password", NEW_PASSWORD),
    ]

    response = _patch(admin, mysql, operations)

    _assert_rejected(
        response, "both as /qPassword and as connectionProperties.password"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/connectionProperties/jsonCredentials/0/value",
        "/connectionProperties/jsonCredentials/value",
    ],
)
def test_file_content_rotation(admin, server, bigquery, path):
    response = _patch(admin, bigquery, [_replace(path, b64(NEW_KEY_FILE), key="Value")])

    assert response.status_code == 204
    store = server.emulator.store
    assert store.secret_matches(bigquery["id"], "jsonCredentials", b64(NEW_KEY_FILE))
    assert store.secret_file_name(bigquery["id"], "jsonCredentials") == "old.json"


@pytest.mark.parametrize(
    "path",
    [
        "/connectionProperties/jsonCredentials/0/name",
        "/connectionProperties/jsonCredentials/name",
    ],
)
def test_file_name_replaced(admin, server, bigquery, path):
    response = _patch(admin, bigquery, [_replace(path, "new.json")])

    assert response.status_code == 204
    assert (
        server.emulator.store.secret_file_name(bigquery["id"], "jsonCredentials")
        == "new.json"
    )


def test_whole_file_array_replaced(admin, server, bigquery):
    value = [{"name": "whole.json", "value": b64(NEW_KEY_FILE)}]

    response = _patch(
        admin, bigquery, [_replace("/connectionProperties/jsonCredentials", value)]
    )

    assert response.status_code == 204
    store = server.emulator.store
    assert store.secret_file_name(bigquery["id"], "jsonCredentials") == "whole.json"
    assert store.secret_matches(bigquery["id"], "jsonCredentials", b64(NEW_KEY_FILE))


def test_file_index_other_than_zero(admin, bigquery):
    path = "/connectionProperties/jsonCredentials/1/value"

    response = _patch(admin, bigquery, [_replace(path, b64(NEW_KEY_FILE))])

    assert response.status_code == 400
    assert "use index 0" in error_detail(response)


def test_file_content_not_base64(admin, bigquery):
    path = "/connectionProperties/jsonCredentials/0/value"

    response = _patch(admin, bigquery, [_replace(path, "%%%")])

    assert response.status_code == 400
    assert "is not valid base64" in error_detail(response)


def test_patch_by_name(admin, mysql, space_id):
    response = admin.patch(
        f"/api/v1/data-connections/{mysql['qName']}",
        params={"type": "connectionname", "spaceId": space_id},
        json=[_replace("/connectionProperties/port", "3310")],
    )

    assert response.status_code == 204
    assert _get(admin, mysql)["connectionProperties"]["port"] == "3310"


def test_patch_unknown_connection_404(admin):
    response = admin.patch(
        f"/api/v1/data-connections/{uuid.uuid4()}", json=[_replace("/qName", "x")]
    )

    assert response.status_code == 404


def test_patch_without_update_privilege_403(admin, member, config):
    finance = config.space("Finance Data").space_id
    created = create_connection(admin, create_body(finance))

    response = _patch(member, created, [_replace("/qName", "taken over")])

    assert response.status_code == 403


def test_patch_invisible_connection_404(member, mysql):
    response = _patch(member, mysql, [_replace("/qName", "x")])

    assert response.status_code == 404
