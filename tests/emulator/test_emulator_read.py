"""Reading data connections: get by id or name, list, paging, filter, sort."""

from __future__ import annotations

import time
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
    new_space,
)

CANARY = "CANARY-read-password-8d3e"


@pytest.fixture(scope="module")
def listing(admin: httpx.Client) -> dict[str, Any]:
    """A fresh space holding seven connections with known names and kinds."""
    space_id = new_space(admin)
    names = ["alpha", "Bravo", "charlie", "delta", "Echo", "foxtrot", "golf"]
    created = []
    for index, name in enumerate(names):
        kind = "repsrc_mysql" if index % 2 == 0 else "reptgt_qdimysql"
        body = create_body(space_id, name, kind, mysql_properties(CANARY))
        created.append(create_connection(admin, body))
        time.sleep(0.002)  # distinct creation times for date filters
    return {"space": space_id, "created": created, "names": names}


def _list(client: httpx.Client, **params: Any) -> httpx.Response:
    return client.get("/api/v1/data-connections", params=params)


def _names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["qName"] for item in response.json()["data"]]


def test_get_by_id_returns_connection(admin, listing):
    wanted = listing["created"][0]

    response = admin.get(f"/api/v1/data-connections/{wanted['id']}")

    assert response.status_code == 200
    body = response.json()
    assert body["qID"] == wanted["id"]
    assert body["qLogOn"] == 1
    assert body["tenant"] == wanted["tenant"]
    assert body["privileges"] == [
        "change_owner",
        "change_space",
        "delete",
        "list",
        "read",
        "update",
    ]
    assert "connectionProperties" not in body
    assert "qConnectionSecret" not in body


def test_get_non_uuid_returns_400(admin):
    response = admin.get("/api/v1/data-connections/not-a-uuid")

    assert response.status_code == 400
    assert "not a valid UUID" in error_detail(response)


def test_get_unknown_returns_404(admin):
    response = admin.get(f"/api/v1/data-connections/{uuid.uuid4()}")

    assert response.status_code == 404
    assert response.json()["errors"][0]["status"] == 404


def test_get_invisible_returns_404(member, listing):
    response = member.get(f"/api/v1/data-connections/{listing['created'][0]['id']}")

    assert response.status_code == 404


def test_get_by_name_with_space(admin, listing):
    response = admin.get(
        "/api/v1/data-connections/alpha",
        params={"type": "connectionname", "spaceId": listing["space"]},
    )

    assert response.status_code == 200
    assert response.json()["id"] == listing["created"][0]["id"]


def test_get_by_ambiguous_name_needs_space(admin, config, listing):
    other = config.space("Finance Data").space_id
    create_connection(admin, create_body(other, "alpha"))

    response = admin.get(
        "/api/v1/data-connections/alpha", params={"type": "connectionname"}
    )

    assert response.status_code == 400
    assert "add spaceId" in error_detail(response)


def test_get_by_unknown_name_returns_404(admin):
    response = admin.get(
        "/api/v1/data-connections/nothing", params={"type": "connectionname"}
    )

    assert response.status_code == 404


def test_parse_connection_hides_secrets(admin, config):
    properties = {
        "agentId": "$$qlikManagedGateway$$",
        "bucketName": "landing",
        "jsonCredentials": [{"name": "sa.json", "value": b64(CANARY)}],
    }
    body = create_body(
        config.space("Data Integration").space_id,
        data_source_id="reptgt_qdigooglecloudstorage",
        properties=properties,
    )
    created = create_connection(admin, body)

    response = admin.get(
        f"/api/v1/data-connections/{created['id']}", params={"parseConnection": "true"}
    )

    assert response.json()["connectionProperties"] == {
        "agentId": "$$qlikManagedGateway$$",
        "bucketName": "landing",
    }
    assert b64(CANARY) not in response.text


def test_parse_connection_lists_plain_values(admin, listing):
    wanted = listing["created"][0]

    response = admin.get(
        f"/api/v1/data-connections/{wanted['id']}", params={"parseConnection": "true"}
    )

    properties = response.json()["connectionProperties"]
    assert properties["server"] == "mysql.internal"
    assert "password" not in properties
    assert CANARY not in response.text


def test_list_without_limit_returns_all(admin, listing):
    response = _list(admin, spaceId=listing["space"])

    body = response.json()
    assert _names(response) == listing["names"]
    assert body["meta"]["count"] == 7
    assert "next" not in body["links"]
    assert "prev" not in body["links"]


def test_list_items_carry_no_secrets(admin, listing):
    response = _list(admin, spaceId=listing["space"])

    assert CANARY not in response.text
    for item in response.json()["data"]:
        assert "qConnectionSecret" not in item
        assert "connectionProperties" not in item
        assert "qri" not in item


def test_list_include_qris_adds_qri(admin, listing):
    response = _list(admin, spaceId=listing["space"], includeQris="true")

    for item in response.json()["data"]:
        assert item["qri"].startswith("qri:db:mysql://")


def test_list_pages_through_all_items(admin, server, listing):
    seen: list[str] = []
    pages = 0
    response = _list(admin, spaceId=listing["space"], limit=3)
    while True:
        body = response.json()
        assert body["meta"]["count"] == 7
        seen.extend(item["qName"] for item in body["data"])
        pages += 1
        next_link = body["links"].get("next")
        if next_link is None:
            break
        href = next_link["href"]
        assert href.startswith(f"{server.url}/api/v1/data-connections?")
        response = admin.get(href)

    assert pages == 3
    assert seen == listing["names"]


def test_list_prev_link_goes_back(admin, listing):
    first = _list(admin, spaceId=listing["space"], limit=3).json()
    second = admin.get(first["links"]["next"]["href"]).json()

    back = admin.get(second["links"]["prev"]["href"]).json()

    assert "prev" not in first["links"]
    assert [item["qName"] for item in back["data"]] == listing["names"][:3]


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_list_limit_out_of_range(admin, limit):
    response = _list(admin, limit=limit)

    assert response.status_code == 400


def test_list_bad_page_cursor(admin):
    response = _list(admin, limit=2, page="made-up")

    assert response.status_code == 400
    assert "not a valid page cursor" in error_detail(response)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('qName eq "alpha"', ["alpha"]),
        ('qName ne "alpha"', ["Bravo", "charlie", "delta", "Echo", "foxtrot", "golf"]),
        ('qName co "lf"', ["golf"]),
        ('qName sw "ch"', ["charlie"]),
        ('qName ew "o"', ["Bravo", "Echo"]),
        ('qName gt "e"', ["foxtrot", "golf"]),
        ('qName ge "foxtrot"', ["foxtrot", "golf"]),
        ('qName lt "Z"', ["Bravo", "Echo"]),
        ('qName le "Bravo"', ["Bravo"]),
        ("qri pr", ["alpha", "Bravo", "charlie", "delta", "Echo", "foxtrot", "golf"]),
        ('datasourceID eq "reptgt_qdimysql"', ["Bravo", "delta", "foxtrot"]),
        ('qName eq "alpha" or qName eq "golf"', ["alpha", "golf"]),
        ('datasourceID eq "repsrc_mysql" and qName sw "g"', ["golf"]),
        ('not (datasourceID eq "repsrc_mysql")', ["Bravo", "delta", "foxtrot"]),
        (
            'qName eq "alpha" or qName eq "Bravo" and datasourceID eq "repsrc_mysql"',
            ["alpha"],
        ),
        (
            (
                '(qName eq "alpha" or qName eq "Bravo") '
                'and datasourceID eq "reptgt_qdimysql"'
            ),
            ["Bravo"],
        ),
        ('QNAME EQ "alpha"', ["alpha"]),
        ('qType eq "QlikConnectorsCommonService.exe" and qName eq "delta"', ["delta"]),
    ],
)
def test_list_scim_filter(admin, listing, expression, expected):
    response = _list(admin, spaceId=listing["space"], filter=expression)

    assert _names(response) == expected
    assert response.json()["meta"]["count"] == len(expected)


def test_list_filter_on_created_time(admin, listing):
    third = listing["created"][2]["created"]

    after = _list(admin, spaceId=listing["space"], filter=f'created gt "{third}"')
    before = _list(admin, spaceId=listing["space"], filter=f'created le "{third}"')

    assert _names(after) == listing["names"][3:]
    assert _names(before) == listing["names"][:3]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("qName eq", "ends where a value"),
        ('qName xx "a"', "expected an operator"),
        ('password eq "a"', "cannot be filtered on"),
        ('qName eq "a', "is not closed"),
        ('(qName eq "a"', "ends where ')' was expected"),
        ('qName eq "a" qType eq "b"', "unexpected 'qType'"),
        ('created gt "yesterday"', "RFC 3339"),
        ('created co "2024"', "date-time"),
        ("qName eq alpha", "double-quoted string"),
        ("", "the filter is empty"),
    ],
)
def test_list_bad_filter_explained(admin, expression, expected):
    response = _list(admin, filter=expression)

    assert response.status_code == 400
    assert expected in error_detail(response)


def test_list_sort_descending(admin, listing):
    response = _list(admin, spaceId=listing["space"], sort="-qName")

    assert _names(response) == [
        "golf",
        "foxtrot",
        "delta",
        "charlie",
        "alpha",
        "Echo",
        "Bravo",
    ]


def test_list_sort_case_insensitive(admin, listing):
    response = _list(
        admin, spaceId=listing["space"], sort="+qName", caseinsensitive="true"
    )

    assert _names(response) == [
        "alpha",
        "Bravo",
        "charlie",
        "delta",
        "Echo",
        "foxtrot",
        "golf",
    ]


def test_list_sort_then_page(admin, listing):
    first = _list(admin, spaceId=listing["space"], sort="-qName", limit=2).json()
    second = admin.get(first["links"]["next"]["href"])

    assert _names(second) == ["delta", "charlie"]


def test_list_unknown_sort_field(admin):
    response = _list(admin, sort="+password")

    assert response.status_code == 400
    assert "cannot sort on 'password'" in error_detail(response)


def test_list_data_name_renames_key(admin, listing):
    response = _list(admin, spaceId=listing["space"], dataName="connections")

    assert len(response.json()["connections"]) == 7


def test_list_empty_data_name_rejected(admin):
    response = _list(admin, dataName="")

    assert response.status_code == 400


def test_list_bad_boolean_rejected(admin):
    response = _list(admin, personal="yes")

    assert response.status_code == 400


def test_list_owned_by_me(member, admin, config):
    shared = config.space("Analytics Shared").space_id
    mine = create_connection(member, create_body(shared))
    theirs = create_connection(admin, create_body(shared))

    ids = [
        item["id"]
        for item in _list(member, spaceId=shared, ownedByMe="true").json()["data"]
    ]

    assert mine["id"] in ids
    assert theirs["id"] not in ids


def test_list_member_sees_visible_spaces_only(member, listing, config):
    response = _list(member)

    spaces = {item.get("space") for item in response.json()["data"]}
    assert listing["space"] not in spaces
    assert config.space("Restricted Data").space_id not in spaces


def test_member_privileges_are_read_only(member, admin, config):
    finance = config.space("Finance Data").space_id
    created = create_connection(admin, create_body(finance))

    response = member.get(f"/api/v1/data-connections/{created['id']}")

    assert response.json()["privileges"] == ["list", "read"]


def test_list_other_user_needs_admin(member, config):
    response = _list(member, userId=config.admin.user_id)

    assert response.status_code == 403


def test_admin_lists_other_users_connections(admin, member, config):
    personal = create_connection(member, create_body(None))

    response = _list(admin, userId=config.member.user_id)

    assert personal["id"] in [item["id"] for item in response.json()["data"]]


def test_list_excludes_disabled_data_sources(admin, listing):
    settings = "/api/v1/data-sources/reptgt_qdimysql/settings"
    admin.put(settings, json={"disabled": True})
    try:
        hidden = _list(admin, spaceId=listing["space"])
        shown = _list(admin, spaceId=listing["space"], includeDisabled="true")
    finally:
        admin.put(settings, json={"disabled": False})

    assert _names(hidden) == ["alpha", "charlie", "Echo", "golf"]
    assert len(_names(shown)) == 7
