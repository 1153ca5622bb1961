"""DEBUG logging of the client: one line per request and retry, no secrets."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from client_support import (
    GATEWAY_ID,
    MYSQL_SOURCE_ID,
    KeyMaterial,
    ListHandler,
    RecordingTransport,
    TenantFixture,
    debug_log,
    mysql_properties,
    plan_connection,
    settled_requests,
    write_key_material,
)
from cryptography.hazmat.primitives.asymmetric import rsa

from qtc_connections.api.spaces import SPACES_PATH
from qtc_connections.auth import OAuthClientCredentials
from qtc_connections.catalog import get_kind
from qtc_connections.client import QlikClient
from qtc_connections.emulator import EmulatorConfig, EmulatorServer, FaultRule
from qtc_connections.errors import QtcError
from qtc_connections.patch import build_patch, patch_body
from qtc_connections.secrets import Secret
from qtc_connections.tenant import Tenant

# "GET http://127.0.0.1:PORT/api/v1/spaces?limit=100 -> 200 (3 ms)", or the
# name of the transport error in place of the status.
REQUEST_LINE = re.compile(r"^qtc_connections\.http DEBUG [A-Z]+ \S+ -> \w+ \(\d+ ms\)$")
RETRY_LINE = re.compile(r"^qtc_connections\.http DEBUG retrying [A-Z]+ \S+ after ")

# The emulator runs in this process and logs under the same package.
EMULATOR_LOGGER = "qtc_connections.emulator "


@pytest.fixture(autouse=True)
def settled_journal(emulator_server: EmulatorServer) -> None:
    """Let the previous test's last request reach the journal before the reset."""
    settled_requests(emulator_server.emulator)


def request_lines(log: ListHandler) -> list[str]:
    return [line for line in log.lines if REQUEST_LINE.match(line)]


def client_lines(log: ListHandler) -> list[str]:
    """Return the lines of the library, leaving out the emulator's own log."""
    return [line for line in log.lines if not line.startswith(EMULATOR_LOGGER)]


def retry_lines(log: ListHandler) -> list[str]:
    return [line for line in log.lines if RETRY_LINE.match(line)]


def test_one_line_per_request(client: QlikClient, tenant: TenantFixture) -> None:
    with debug_log() as log:
        list(client.spaces.list())
        list(client.connections.list())
        client.users.me()
        client.data_sources.list()

    journal = settled_requests(tenant.server.emulator)
    lines = request_lines(log)
    assert len(journal) == 5
    assert len(lines) == len(journal)
    for line, entry in zip(lines, journal, strict=True):
        assert f"{entry.method} " in line
        assert entry.path in line
        assert f"-> {entry.status} " in line


def test_one_line_per_retry(client: QlikClient, tenant: TenantFixture) -> None:
    tenant.server.emulator.add_fault(
        FaultRule(kind="status", status=503, path_prefix=SPACES_PATH, count=2)
    )

    with debug_log() as log:
        list(client.spaces.list())

    retries = retry_lines(log)
    assert len(request_lines(log)) == 3
    assert len(retries) == 2
    assert "after 503" in retries[0]
    assert "(attempt 2 of 5)" in retries[0]
    assert "(attempt 3 of 5)" in retries[1]


def test_transport_failure_logged(client: QlikClient, tenant: TenantFixture) -> None:
    tenant.server.emulator.add_fault(FaultRule(kind="drop", path_prefix=SPACES_PATH))

    with debug_log() as log:
        list(client.spaces.list())

    lines = request_lines(log)
    assert len(lines) == 2
    assert "-> RemoteProtocolError" in lines[0]
    assert "-> 200" in lines[1]
    assert len(retry_lines(log)) == 1
    assert "after a transport error" in retry_lines(log)[0]


def test_rate_limit_retry_logged(client: QlikClient, tenant: TenantFixture) -> None:
    tenant.server.emulator.add_fault(
        FaultRule(kind="status", status=429, retry_after=9, path_prefix=SPACES_PATH)
    )

    with debug_log() as log:
        list(client.spaces.list())

    (retry,) = retry_lines(log)
    assert "after 429 in 9.00 s" in retry
    assert len(request_lines(log)) == 2


def test_token_fetch_logged_once(
    make_client: Callable[..., QlikClient], tenant: TenantFixture
) -> None:
    client = make_client(oauth=True)

    with debug_log() as log:
        for _ in range(4):
            list(client.spaces.list())

    fetched = [line for line in log.lines if "fetched an access token" in line]
    assert len(fetched) == 1
    assert fetched[0].startswith("qtc_connections.auth DEBUG")
    assert len(request_lines(log)) == 4


# Canaries: every secret that a run holds, searched for in every log line
# and every exception message.


@pytest.fixture
def keys(tmp_path: Path, rsa_private_key: rsa.RSAPrivateKey) -> KeyMaterial:
    return write_key_material(tmp_path, rsa_private_key)


def exercise_everything(
    make_client: Callable[..., QlikClient],
    tenant: TenantFixture,
    keys: KeyMaterial,
    transport: RecordingTransport,
) -> tuple[list[str], list[str]]:
    """Run creates, rotations, faults and failures; return canaries and errors."""
    emulator = tenant.server.emulator
    space_id = tenant.space_id()
    password = "CANARY-log-password-aa11"
    rotated = "CANARY-log-rotated-bb22"
    rejected = "CANARY-log-rejected-cc33"
    errors: list[str] = []

    admin = make_client()
    oauth = make_client(oauth=True, transport=transport)
    member = make_client(api_key=tenant.config.member.api_keys[0])
    wrong = make_client(api_key="CANARY-log-wrong-key-dd44")

    created = oauth.connections.create(
        name="SRC_Logged",
        data_source_id=MYSQL_SOURCE_ID,
        connection_properties=mysql_properties(password, GATEWAY_ID),
        space_id=space_id,
    )
    snowflake = get_kind("snowflake-target")
    plan = plan_connection(
        snowflake,
        name="TGT_Logged",
        space_id=space_id,
        gateway_id=GATEWAY_ID,
        keys=keys,
        api_spec=admin.data_sources.api_specs(snowflake.data_source_id).raw,
    )
    emulator.add_fault(FaultRule(kind="drop_after_commit", method="POST"))
    admin.connections.create(
        name=plan.name,
        data_source_id=snowflake.data_source_id,
        connection_properties=plan.payload,
        space_id=space_id,
    )
    operations = build_patch(secrets={"password": Secret(rotated)})
    emulator.add_fault(FaultRule(kind="status", status=429, method="PATCH"))
    oauth.connections.patch(created.id, patch_body(operations))

    emulator.add_fault(FaultRule(kind="drop", method="PATCH"))
    attempts: list[Callable[[], object]] = [
        lambda: oauth.connections.patch(created.id, patch_body(operations)),
        lambda: admin.connections.create(
            name="SRC_Bad",
            data_source_id=MYSQL_SOURCE_ID,
            connection_properties={
                **mysql_properties(rejected, GATEWAY_ID),
                "serverName": "typo",
            },
            space_id=space_id,
        ),
        lambda: member.connections.create(
            name="SRC_Member",
            data_source_id=MYSQL_SOURCE_ID,
            connection_properties=mysql_properties(rejected, GATEWAY_ID),
            space_id=tenant.space_id("Finance Data"),
        ),
        lambda: list(wrong.connections.list()),
    ]
    for attempt in attempts:
        try:
            attempt()
        except QtcError as error:
            errors.append(str(error))

    encoded = [
        key_file.to_property_value()[0]["value"] for key_file in plan.files.values()
    ]
    canaries = [
        *tenant.config.admin.api_keys,
        *tenant.config.member.api_keys,
        "CANARY-log-wrong-key-dd44",
        tenant.config.oauth_clients[0].client_secret,
        *transport.access_tokens(),
        password,
        rotated,
        rejected,
        *plan.secrets.values(),
        *encoded,
        *keys.canaries,
        base64.b64encode(keys.pem_path.read_bytes()).decode(),
    ]
    return canaries, errors


def pem_lines(canaries: list[str]) -> list[str]:
    """Return the base64 body lines of every PEM block among the canaries."""
    lines = []
    for canary in canaries:
        for line in canary.splitlines():
            if len(line) >= 40 and not line.startswith("-----"):
                lines.append(line)
    return lines


def test_debug_log_contains_no_secret(
    make_client: Callable[..., QlikClient],
    tenant: TenantFixture,
    keys: KeyMaterial,
) -> None:
    transport = RecordingTransport()

    with debug_log() as log:
        canaries, _ = exercise_everything(make_client, tenant, keys, transport)

    text = "\n".join(log.lines)
    assert len(transport.access_tokens()) == 1
    assert len(request_lines(log)) >= 10
    assert len(retry_lines(log)) >= 1
    for canary in [*canaries, *pem_lines(canaries)]:
        assert canary not in text


def test_errors_contain_no_secret(
    make_client: Callable[..., QlikClient],
    tenant: TenantFixture,
    keys: KeyMaterial,
) -> None:
    transport = RecordingTransport()

    canaries, errors = exercise_everything(make_client, tenant, keys, transport)

    assert len(errors) == 4
    for message in errors:
        for canary in [*canaries, *pem_lines(canaries)]:
            assert canary not in message


def test_token_renewal_logged() -> None:
    secret = "CANARY-renewal-client-secret-5e5e"
    config = EmulatorConfig.default(
        api_key="CANARY-renewal-admin-key-6f6f",
        client_id="renewal-client",
        client_secret=secret,
        token_lifetime_seconds=1,
    )
    with EmulatorServer(config) as server:
        target = Tenant.parse(server.url)
        # A clock that never advances keeps the cached token in use, so the
        # tenant's 401 is what triggers the renewal.
        auth = OAuthClientCredentials(
            target, "renewal-client", Secret(secret), clock=lambda: 1_000_000.0
        )
        with QlikClient(target, auth) as client, debug_log() as log:
            list(client.spaces.list())
            log.lines.clear()
            time.sleep(1.2)
            list(client.spaces.list())
        journal = settled_requests(server.emulator)

    lines = client_lines(log)
    assert [entry.status for entry in journal[2:]] == [401, 200, 200]
    assert len(lines) == 3
    assert "rejected a cached access token" in lines[0]
    assert "fetched an access token valid for 1 s" in lines[1]
    assert REQUEST_LINE.match(lines[2])
    assert all(secret not in line for line in log.lines)
