"""The spaces API: visibility, search, paging, get, create and types."""

from __future__ import annotations

import re

import pytest
from emulator_helpers import unique

SEEDED = ["Analytics Shared", "Data Integration", "Finance Data", "Restricted Data"]


def _names(response):
    assert response.status_code == 200, response.text
    return [space["name"] for space in response.json()["data"]]


def test_admin_sees_seeded_spaces(admin):
    response = admin.get("/api/v1/spaces", params={"limit": 100, "sort": "+name"})

    assert set(SEEDED) <= set(_names(response))


def test_member_sees_two_spaces(member):
    response = member.get("/api/v1/spaces", params={"sort": "+name"})

    assert _names(response) == ["Analytics Shared", "Finance Data"]
    assert response.json()["meta"]["count"] == 2


def test_space_ids_are_hex(admin):
    response = admin.get("/api/v1/spaces")

    for space in response.json()["data"]:
        assert re.fullmatch(r"[0-9a-f]{24}", space["id"])


def test_space_meta_for_manager(admin, config):
    space_id = config.space("Data Integration").space_id

    body = admin.get(f"/api/v1/spaces/{space_id}").json()

    assert body["meta"]["roles"] == ["facilitator"]
    assert "create" in body["meta"]["actions"]
    assert "facilitator" in body["meta"]["assignableRoles"]
    assert body["tenantId"] == config.tenant_id
    assert body["links"]["assignments"]["href"].endswith(
        f"/spaces/{space_id}/assignments"
    )


def test_space_meta_for_consumer(member, config):
    space_id = config.space("Finance Data").space_id

    body = member.get(f"/api/v1/spaces/{space_id}").json()

    assert body["meta"]["roles"] == ["dataconsumer"]
    assert body["meta"]["actions"] == ["read"]


def test_name_search_is_case_insensitive_substring(member):
    response = member.get("/api/v1/spaces", params={"name": "FIN"})

    assert _names(response) == ["Finance Data"]


def test_type_filter_takes_comma_list(member):
    response = member.get(
        "/api/v1/spaces", params={"type": "shared,managed", "sort": "name"}
    )

    assert _names(response) == ["Analytics Shared"]


def test_list_filters_by_role(member):
    response = member.get("/api/v1/spaces", params={"roles": "producer"})

    assert _names(response) == ["Analytics Shared"]


@pytest.mark.parametrize(
    "params",
    [
        {"type": "personal"},
        {"roles": "owner"},
        {"sort": "+id"},
        {"limit": "0"},
        {"action": "delete"},
        {"next": "bogus"},
    ],
)
def test_invalid_list_parameters_400(admin, params):
    response = admin.get("/api/v1/spaces", params=params)

    assert response.status_code == 400
    assert "status" not in response.json()["errors"][0]


def test_paging_with_next_and_prev(member, server):
    first = member.get("/api/v1/spaces", params={"limit": 1, "sort": "-name"}).json()
    next_href = first["links"]["next"]["href"]
    second = member.get(next_href).json()
    back = member.get(second["links"]["prev"]["href"]).json()

    assert first["meta"]["count"] == 2
    assert [space["name"] for space in first["data"]] == ["Finance Data"]
    assert [space["name"] for space in second["data"]] == ["Analytics Shared"]
    assert "next" not in second["links"]
    assert [space["name"] for space in back["data"]] == ["Finance Data"]
    assert next_href.startswith(f"{server.url}/api/v1/spaces?")


def test_default_limit_is_ten(admin):
    for _ in range(8):
        admin.post("/api/v1/spaces", json={"name": unique("bulk"), "type": "shared"})

    body = admin.get("/api/v1/spaces").json()

    assert len(body["data"]) == 10
    assert body["meta"]["count"] > 10
    assert "next" in body["links"]


def test_get_invisible_space_404(member, config):
    response = member.get(f"/api/v1/spaces/{config.space('Restricted Data').space_id}")

    assert response.status_code == 404
    assert "traceId" in response.json()


def test_get_unknown_space_404(admin):
    response = admin.get(f"/api/v1/spaces/{'f' * 24}")

    assert response.status_code == 404


def test_space_types_listed(admin):
    response = admin.get("/api/v1/spaces/types")

    assert response.json() == {"data": ["shared", "managed", "data"]}


def test_create_space_and_read_back(admin, config):
    name = unique("Created")

    response = admin.post(
        "/api/v1/spaces", json={"name": name, "type": "data", "description": "d"}
    )

    assert response.status_code == 201
    space = response.json()
    assert space["ownerId"] == config.admin.user_id
    assert space["description"] == "d"
    assert admin.get(f"/api/v1/spaces/{space['id']}").json()["name"] == name


def test_create_duplicate_name_conflicts(admin):
    name = unique("Twice")
    admin.post("/api/v1/spaces", json={"name": name, "type": "shared"})

    response = admin.post("/api/v1/spaces", json={"name": name.upper(), "type": "data"})

    assert response.status_code == 409


def test_create_space_needs_admin(member):
    response = member.post(
        "/api/v1/spaces", json={"name": unique("mine"), "type": "shared"}
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"type": "data"},
        {"name": "a/b", "type": "data"},
        {"name": "x" * 257, "type": "data"},
        {"name": "ok", "type": "personal"},
    ],
)
def test_create_space_invalid_body(admin, body):
    response = admin.post("/api/v1/spaces", json=body)

    assert response.status_code == 400
