"""How a rotation is judged from its read-back, through the library.

The emulator moves ``updated`` on every PATCH and never changes anything
else, so it cannot produce a read-back that fails to show the write. These
tests put a transport between the client and the real emulator that edits
the JSON of connection reads once the PATCH has gone through: removing
``updated``, freezing it, changing a tag, or failing the read. Everything
else is the real server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_support import TenantFixture, canary
from sync_cli_support import mysql_source

from qtc_connections.api.models import Connection
from qtc_connections.catalog import get_kind
from qtc_connections.client import QlikClient
from qtc_connections.errors import InputError
from qtc_connections.secrets import Secret
from qtc_connections.sync.rotate import (
    RotationStatus,
    SecretChange,
    apply_rotation,
    judge_read_back,
    prepare_rotation,
    prepare_rotations,
    select_connections,
)

CONNECTIONS = "/api/v1/data-connections"

Rewrite = Callable[[dict[str, Any]], dict[str, Any] | None]


class ReadBackTransport(httpx.BaseTransport):
    """Real HTTP, but connection reads after a PATCH pass through ``rewrite``.

    ``rewrite`` gets the decoded body of each GET of one connection that
    follows a successful PATCH, and returns the body to deliver, or
    ``None`` to make the read fail with 404 instead.
    """

    def __init__(self, rewrite: Rewrite, *, always: bool = False) -> None:
        self._inner = httpx.HTTPTransport()
        self._rewrite = rewrite
        self._active = always

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        body = response.read()
        if request.method == "PATCH" and response.status_code == 204:
            self._active = True
        if not (self._active and _is_connection_read(request, response)):
            return _copy(response, body, request)

        rewritten = self._rewrite(json.loads(body))
        if rewritten is None:
            return httpx.Response(
                404,
                json={"errors": [{"code": "DCERROR-404", "title": "Not found"}]},
                request=request,
            )
        return httpx.Response(200, json=rewritten, request=request)

    def close(self) -> None:
        self._inner.close()


def _is_connection_read(request: httpx.Request, response: httpx.Response) -> bool:
    path = request.url.path
    is_one = path.startswith(f"{CONNECTIONS}/") and path.count("/") == 4
    return request.method == "GET" and is_one and response.status_code == 200


def _copy(
    response: httpx.Response, body: bytes, request: httpx.Request
) -> httpx.Response:
    headers = [
        (name, value)
        for name, value in response.headers.items()
        if name.lower() not in ("content-length", "content-encoding")
    ]
    return httpx.Response(
        response.status_code, headers=headers, content=body, request=request
    )


def _without_updated(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "updated"}


def _frozen_updated(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "updated": "2026-01-01T00:00:00.000Z"}


def _extra_tag(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "tags": [*body.get("tags", []), "added-by-someone-else"]}


def _not_found(body: dict[str, Any]) -> None:
    return None


@pytest.fixture
def rotate_with(
    make_client: Callable[..., QlikClient], client: QlikClient, tenant: TenantFixture
) -> Callable[..., tuple[Any, str, str]]:
    """Rotate one new MySQL source's password through a rewriting transport."""

    def rotate(rewrite: Rewrite, *, always: bool = False) -> tuple[Any, str, str]:
        created = mysql_source(
            client,
            f"SRC_{canary('rb')[-8:]}",
            canary("old"),
            space_id=tenant.space_id(),
        )
        rewriting = make_client(transport=ReadBackTransport(rewrite, always=always))
        new = canary("new")
        change = SecretChange(secrets={"password": Secret(new)})
        prepared = prepare_rotation(rewriting, created, change)
        return apply_rotation(rewriting, prepared), created.id, new

    return rotate


def test_missing_updated_is_unverified(rotate_with, tenant: TenantFixture) -> None:
    outcome, connection_id, new = rotate_with(_without_updated)

    assert outcome.status is RotationStatus.UNVERIFIED
    assert "no updated field" in outcome.reason
    assert outcome.updated_after is None
    assert tenant.server.emulator.secret_matches(connection_id, "password", new)


def test_frozen_updated_is_unverified(rotate_with) -> None:
    outcome, _, _ = rotate_with(_frozen_updated, always=True)

    assert outcome.status is RotationStatus.UNVERIFIED
    assert "did not advance past 2026-01-01T00:00:00.000Z" in outcome.reason


def test_other_change_is_unverified(rotate_with) -> None:
    outcome, _, _ = rotate_with(_extra_tag)

    assert outcome.status is RotationStatus.UNVERIFIED
    assert "besides the secret, tags changed" in outcome.reason


def test_failed_read_back_is_failed(rotate_with, tenant: TenantFixture) -> None:
    outcome, connection_id, new = rotate_with(_not_found)

    assert outcome.status is RotationStatus.FAILED
    assert "the PATCH was accepted, but reading the connection back failed" in (
        outcome.reason
    )
    assert "404" in outcome.reason
    assert tenant.server.emulator.secret_matches(connection_id, "password", new)


def test_failed_first_read_changes_nothing(rotate_with, tenant: TenantFixture) -> None:
    outcome, connection_id, new = rotate_with(_not_found, always=True)

    assert outcome.status is RotationStatus.FAILED
    assert outcome.reason.startswith("reading the connection before the PATCH failed")
    assert not tenant.server.emulator.secret_matches(connection_id, "password", new)


def _connection(**fields: Any) -> Connection:
    body = {
        "qID": "5f0c1a9e-0000-4000-8000-000000000001",
        "qName": "SRC",
        "datasourceID": "repsrc_mysql",
        "space": "0123456789abcdef01234567",
        "tags": ["a"],
        "updated": "2026-03-01T10:00:00.000Z",
        "connectionProperties": {"server": "db"},
        **fields,
    }
    return Connection.from_api(body, what="test connection")


def test_judge_accepts_advanced_timestamp() -> None:
    before = _connection()
    after = _connection(updated="2026-03-01T10:00:00.001Z")

    status, reason = judge_read_back(before, after)

    assert status is RotationStatus.VERIFIED
    assert "2026-03-01T10:00:00.001Z" in reason


def test_judge_compares_times_not_text() -> None:
    before = _connection(updated="2026-03-01T11:00:00+01:00")
    after = _connection(updated="2026-03-01T10:00:00.500Z")

    status, _ = judge_read_back(before, after)

    assert status is RotationStatus.VERIFIED


@pytest.mark.parametrize(
    ("after_fields", "expected"),
    [
        ({"updated": "yesterday"}, "is not an RFC 3339 timestamp"),
        ({"updated": "2026-03-01T10:00:01"}, "is not an RFC 3339 timestamp"),
        ({"updated": "2026-02-01T10:00:00.000Z"}, "did not advance"),
        ({"qName": "RENAMED"}, "qName changed"),
        ({"connectionProperties": {"server": "other"}}, "connectionProperties.server"),
    ],
)
def test_judge_reports_unverified(after_fields: dict[str, Any], expected: str) -> None:
    fields = {"updated": "2026-03-01T10:00:05.000Z", **after_fields}

    status, reason = judge_read_back(_connection(), _connection(**fields))

    assert status is RotationStatus.UNVERIFIED
    assert expected in reason


def test_judge_names_property_not_value() -> None:
    leaked = canary("echoed")
    after = _connection(
        updated="2026-03-01T10:00:05.000Z",
        connectionProperties={"server": "db", "password": leaked},
    )

    status, reason = judge_read_back(_connection(), after)

    assert status is RotationStatus.UNVERIFIED
    assert "connectionProperties.password" in reason
    assert leaked not in reason


def test_prepare_rejects_wrong_property(
    client: QlikClient, tenant: TenantFixture, tmp_path: Path
) -> None:
    space_id = tenant.space_id()
    connection = mysql_source(client, "SRC_Good", canary("pw"), space_id=space_id)
    change = SecretChange(
        secrets={"password": Secret(canary("new"))},
        key_files={"privateKeyFile": tmp_path / "missing.p8"},
    )

    prepared, failed = prepare_rotations(client, [connection], change)

    assert prepared == []
    assert len(failed) == 1
    assert "privateKeyFile is not a key file property" in failed[0].reason


def test_selection_by_kind_and_filter(
    client: QlikClient, tenant: TenantFixture
) -> None:
    space_id = tenant.space_id()
    selected = mysql_source(client, "SRC_Pick_1", canary("pw"), space_id=space_id)
    mysql_source(client, "SRC_Other_1", canary("pw"), space_id=space_id)

    found = select_connections(
        client,
        space_id=space_id,
        scim_filter='qName sw "SRC_Pick"',
        kind=get_kind("mysql-source"),
    )

    assert [connection.id for connection in found] == [selected.id]


def test_empty_change_is_rejected() -> None:
    with pytest.raises(InputError, match="nothing to rotate"):
        SecretChange()
