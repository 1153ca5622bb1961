"""PUT, DELETE and the bulk and duplicate actions on data connections."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from emulator_helpers import (
    create_body,
    create_connection,
    error_detail,
    mysql_properties,
    unique,
)

PASSWORD = "CANARY-actions-password-4c4c"
OVERRIDE = "CANARY-override-password-1d9f"


@pytest.fixture
def space_id(config) -> str:
    return config.space("Data Integration").space_id


@pytest.fixture
def connection(admin, space_id) -> dict[str, Any]:
    return create_connection(
        admin, create_body(space_id, properties=mysql_properties(PASSWORD))
    )


def _url(connection: dict[str, Any]) -> str:
    return f"/api/v1/data-connections/{connection['id']}"


def _put_body(connection: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {
        "qID": connection["id"],
        "qEngineObjectID": connection["id"],
        "qName": connection["qName"],
        "qType": connection["qType"],
        "qConnectStatement": connection["qConnectStatement"],
    }
    body.update(changes)
    return body


def _legacy(admin: httpx.Client, space_id: str) -> dict[str, Any]:
    body = {
        "qName": unique("legacy"),
        "qConnectStatement": 'CUSTOM CONNECT TO "provider=x;host=h;"',
        "qType": "x",
        "datasourceID": "repsrc_mysql",
        "space": space_id,
    }
    return create_connection(admin, body)


def test_put_replaces_statement_fields(admin, connection):
    name = unique("put")
    statement = 'CUSTOM CONNECT TO "provider=QlikConnectorsCommonService.exe;server=s;"'

    response = admin.put(
        _url(connection),
        json=_put_body(connection, qName=name, qConnectStatement=statement),
    )

    assert response.status_code == 204
    assert response.content == b""
    after = admin.get(_url(connection)).json()
    assert after["qName"] == name
    assert after["qConnectStatement"] == statement
    assert after["updated"] > connection["updated"]


def test_put_mismatched_id_rejected(admin, connection):
    response = admin.put(
        _url(connection), json=_put_body(connection, qID=str(uuid.uuid4()))
    )

    assert response.status_code == 400


def test_put_missing_field_rejected(admin, connection):
    body = _put_body(connection)
    del body["qType"]

    response = admin.put(_url(connection), json=body)

    assert response.status_code == 400
    assert "qType is missing" in error_detail(response)


def test_put_inline_password_rejected(admin, connection):
    response = admin.put(
        _url(connection), json=_put_body(connection, qPassword=OVERRIDE)
    )

    assert response.status_code == 400
    assert "use PATCH" in error_detail(response)
    assert OVERRIDE not in response.text


def test_put_stores_statement_secret(admin, server, space_id):
    legacy = _legacy(admin, space_id)

    response = admin.put(
        _url(legacy), json=_put_body(legacy, qConnectionSecret=OVERRIDE)
    )

    assert response.status_code == 204
    assert server.emulator.secret_matches(legacy["id"], "qConnectionSecret", OVERRIDE)


def test_put_empty_secret_clears_it(admin, server, space_id):
    legacy = _legacy(admin, space_id)
    admin.put(_url(legacy), json=_put_body(legacy, qConnectionSecret=OVERRIDE))

    response = admin.put(_url(legacy), json=_put_body(legacy, qConnectionSecret=""))

    assert response.status_code == 204
    assert server.emulator.secret_digest(legacy["id"], "qConnectionSecret") is None


def test_put_name_clash_conflicts(admin, connection, space_id):
    other = create_connection(admin, create_body(space_id))

    response = admin.put(
        _url(connection), json=_put_body(connection, qName=other["qName"])
    )

    assert response.status_code == 409


def test_put_unknown_connection_404(admin, connection):
    missing = dict(connection, id=str(uuid.uuid4()))

    response = admin.put(_url(missing), json=_put_body(missing))

    assert response.status_code == 404


def test_delete_then_get_404(admin, connection):
    response = admin.delete(_url(connection))

    assert response.status_code == 204
    assert admin.get(_url(connection)).status_code == 404


def test_delete_by_name(admin, connection, space_id):
    response = admin.delete(
        f"/api/v1/data-connections/{connection['qName']}",
        params={"type": "connectionname", "spaceId": space_id},
    )

    assert response.status_code == 204
    assert admin.get(_url(connection)).status_code == 404


def test_delete_without_privilege_403(admin, member, config):
    created = create_connection(
        admin, create_body(config.space("Finance Data").space_id)
    )

    response = member.delete(_url(created))

    assert response.status_code == 403


def test_delete_unknown_404(admin):
    response = admin.delete(f"/api/v1/data-connections/{uuid.uuid4()}")

    assert response.status_code == 404


def test_bulk_delete_reports_each_item(admin, connection):
    missing = str(uuid.uuid4())
    body = {"connections": [{"id": connection["id"]}, {"id": missing}, {"id": "nope"}]}

    response = admin.post("/api/v1/data-connections/actions/delete", json=body)

    assert response.status_code == 207
    items = response.json()["data"]
    assert [item["status"] for item in items] == [204, 404, 400]
    assert items[1]["error"]["code"] == "DCERROR-404"
    assert admin.get(_url(connection)).status_code == 404


def test_bulk_delete_needs_admin(member, connection):
    body = {"connections": [{"id": connection["id"]}]}

    response = member.post("/api/v1/data-connections/actions/delete", json=body)

    assert response.status_code == 403


@pytest.mark.parametrize(
    "body", [{}, {"connections": []}, {"connections": [{"name": "x"}]}]
)
def test_bulk_delete_bad_body(admin, body):
    response = admin.post("/api/v1/data-connections/actions/delete", json=body)

    assert response.status_code == 400


def test_bulk_update_moves_space(admin, config, connection):
    finance = config.space("Finance Data").space_id
    body = {
        "connections": [
            {"id": connection["id"], "spaceId": finance, "spaceType": "data"}
        ]
    }

    response = admin.post("/api/v1/data-connections/actions/update", json=body)

    assert response.status_code == 207
    assert response.json()["data"] == [{"id": connection["id"], "status": 204}]
    assert admin.get(_url(connection)).json()["space"] == finance


def test_bulk_update_changes_owner(admin, config, connection):
    body = {"connections": [{"id": connection["id"], "ownerId": config.member.user_id}]}

    response = admin.post("/api/v1/data-connections/actions/update", json=body)

    assert response.json()["data"][0]["status"] == 204
    assert admin.get(_url(connection)).json()["user"] == config.member.user_id


def test_bulk_update_to_personal_space(admin, connection):
    body = {
        "connections": [
            {"id": connection["id"], "spaceId": "", "spaceType": "personal"}
        ]
    }

    admin.post("/api/v1/data-connections/actions/update", json=body)

    assert "space" not in admin.get(_url(connection)).json()


@pytest.mark.parametrize(
    ("item", "status"),
    [
        ({"spaceId": "0" * 24, "spaceType": "data"}, 404),
        ({"spaceId": "022b8b9a1222d5f5374aa45b"}, 400),
        ({"spaceId": "022b8b9a1222d5f5374aa45b", "spaceType": "shared"}, 400),
        ({"ownerId": "nobody"}, 404),
    ],
)
def test_bulk_update_item_errors(admin, connection, item, status):
    body = {"connections": [dict(item, id=connection["id"])]}

    response = admin.post("/api/v1/data-connections/actions/update", json=body)

    assert response.status_code == 207
    result = response.json()["data"][0]
    assert result["status"] == status
    assert result["error"]["status"] == status


def test_bulk_update_needs_admin(member, connection):
    body = {"connections": [{"id": connection["id"], "ownerId": "x"}]}

    response = member.post("/api/v1/data-connections/actions/update", json=body)

    assert response.status_code == 403


def test_duplicate_copies_secrets(admin, server, connection):
    response = admin.post(
        "/api/v1/data-connections/actions/duplicate", json={"id": connection["id"]}
    )

    assert response.status_code == 201
    copy = response.json()
    assert copy["qName"] == f"{connection['qName']} - Copy"
    assert copy["id"] != connection["id"]
    assert copy["space"] == connection["space"]
    assert server.emulator.secret_matches(copy["id"], "password", PASSWORD)
    assert PASSWORD not in response.text


def test_duplicate_twice_numbers_names(admin, connection):
    url = "/api/v1/data-connections/actions/duplicate"
    admin.post(url, json={"id": connection["id"]})

    second = admin.post(url, json={"id": connection["id"]})

    assert second.json()["qName"] == f"{connection['qName']} - Copy (2)"


def test_duplicate_overrides_password(admin, server, connection, config):
    finance = config.space("Finance Data").space_id
    body = {
        "id": connection["id"],
        "name": unique("dup"),
        "spaceId": finance,
        "qPassword": OVERRIDE,
    }

    response = admin.post("/api/v1/data-connections/actions/duplicate", json=body)

    copy = response.json()
    assert copy["space"] == finance
    assert server.emulator.secret_matches(copy["id"], "password", OVERRIDE)
    assert server.emulator.secret_matches(connection["id"], "password", PASSWORD)


def test_duplicate_name_clash_conflicts(admin, connection, space_id):
    other = create_connection(admin, create_body(space_id))
    body = {"id": connection["id"], "name": other["qName"]}

    response = admin.post("/api/v1/data-connections/actions/duplicate", json=body)

    assert response.status_code == 409


def test_duplicate_unknown_404(admin):
    response = admin.post(
        "/api/v1/data-connections/actions/duplicate", json={"id": str(uuid.uuid4())}
    )

    assert response.status_code == 404


def test_duplicate_missing_id_400(admin):
    response = admin.post("/api/v1/data-connections/actions/duplicate", json={})

    assert response.status_code == 400


def test_duplicate_into_forbidden_space_403(member, admin, config):
    shared = config.space("Analytics Shared").space_id
    created = create_connection(member, create_body(shared))
    body = {"id": created["id"], "spaceId": config.space("Finance Data").space_id}

    response = member.post("/api/v1/data-connections/actions/duplicate", json=body)

    assert response.status_code == 403
