"""``qtc`` when the tenant fails: rate limits, server errors, lost responses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import (
    KeyMaterial,
    Qtc,
    TenantFixture,
    canary,
    create_flags,
    leaked_fragments,
    settled_requests,
    write_key_material,
)
from cryptography.hazmat.primitives.asymmetric import rsa

from qtc_connections.client import QlikClient
from qtc_connections.emulator import (
    EmulatorConfig,
    EmulatorServer,
    FaultRule,
    RateLimits,
)

pytestmark = pytest.mark.usefixtures("loopback_only", "restore_cli_logging")

CONNECTIONS = "/api/v1/data-connections"


@pytest.fixture
def keys(tmp_path: Path, rsa_private_key: rsa.RSAPrivateKey) -> KeyMaterial:
    return write_key_material(tmp_path, rsa_private_key)


@pytest.fixture
def one_write_key() -> str:
    return canary("rate-limited-key")


@pytest.fixture
def one_write_server(one_write_key: str) -> Iterator[EmulatorServer]:
    """An emulator that allows one write per user in any five minutes.

    Its ``Retry-After`` (up to 300 seconds) is longer than the client's
    ``max_retry_after`` of 120 seconds, so the client fails at once
    instead of sleeping through the test.
    """
    limits = RateLimits(read_per_minute=1000, write_per_minute=0, window_seconds=300)
    config = EmulatorConfig.default(api_key=one_write_key, rate_limits=limits)
    with EmulatorServer(config) as server:
        yield server


def methods_and_statuses(
    tenant: TenantFixture, path: str
) -> list[tuple[str, int | None]]:
    return [
        (entry.method, entry.status)
        for entry in settled_requests(tenant)
        if entry.path == path
    ]


def test_list_retries_rate_limited_read(qtc: Qtc, tenant: TenantFixture) -> None:
    tenant.server.emulator.add_fault(
        FaultRule(
            kind="status",
            method="GET",
            path_prefix="/api/v1/spaces",
            status=429,
            retry_after=0,
        )
    )

    result = qtc("spaces", "list", "-q")

    assert result.exit_code == 0, result.output
    assert "022b8b9a1222d5f5374aa45b" in result.stdout.splitlines()
    assert methods_and_statuses(tenant, "/api/v1/spaces") == [
        ("GET", 429),
        ("GET", 200),
    ]


def test_list_retries_unavailable_read(qtc: Qtc, tenant: TenantFixture) -> None:
    tenant.server.emulator.add_fault(
        FaultRule(kind="status", method="GET", path_prefix=CONNECTIONS, status=503)
    )

    result = qtc("connections", "list", "-q")

    assert result.exit_code == 0, result.output
    assert methods_and_statuses(tenant, CONNECTIONS) == [("GET", 503), ("GET", 200)]


def test_create_rate_limited_fails_fast(
    qtc: Qtc,
    one_write_server: EmulatorServer,
    one_write_key: str,
    keys: KeyMaterial,
) -> None:
    first = create_flags("mysql-source", keys, name="SRC_Limited_1")
    second = create_flags("mysql-source", keys, name="SRC_Limited_2")
    target = {"QTC_HOSTNAME": one_write_server.url, "QTC_TOKEN": one_write_key}

    allowed = qtc(
        "connections", "create", *first.args, "-q", env={**first.env, **target}
    )
    limited = qtc("connections", "create", *second.args, env={**second.env, **target})

    errors = limited.stderr.splitlines()
    posts = [
        entry.status
        for entry in one_write_server.emulator.requests()
        if entry.method == "POST"
    ]
    assert allowed.exit_code == 0, allowed.output
    assert limited.exit_code == 1
    assert len(errors) == 1
    assert errors[0].startswith(
        f"Error: 429 Too Many Requests on POST {one_write_server.url}"
    )
    assert errors[0].endswith("; wait and run again, or lower the request rate")
    assert posts[:2] == [201, 429]
    assert leaked_fragments(limited, second.canaries + [one_write_key]) == []


def test_create_recovers_lost_response(
    qtc: Qtc, client: QlikClient, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("databricks-target", keys)
    tenant.server.emulator.add_fault(
        FaultRule(kind="drop_after_commit", method="POST", path_prefix=CONNECTIONS)
    )

    result = qtc("connections", "create", *flags.args, "-q", env=flags.env)

    named = list(client.connections.list(filter=f'qName eq "{flags.name}"'))
    assert result.exit_code == 0, result.output
    assert [connection.id for connection in named] == [result.stdout.strip()]
    assert methods_and_statuses(tenant, CONNECTIONS).count(("POST", 201)) == 1


def test_create_dropped_before_commit_fails(
    qtc: Qtc, client: QlikClient, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("databricks-target", keys)
    tenant.server.emulator.add_fault(
        FaultRule(kind="drop", method="POST", path_prefix=CONNECTIONS)
    )

    result = qtc("connections", "create", *flags.args, env=flags.env)

    errors = result.stderr.splitlines()
    posts = [m for m, _ in methods_and_statuses(tenant, CONNECTIONS) if m == "POST"]
    assert result.exit_code == 1
    assert len(errors) == 1
    assert errors[0].startswith(
        f"Error: no response to the create of '{flags.name}' (RemoteProtocolError)"
    )
    assert "check with 'qtc connections get' before creating it again" in errors[0]
    assert errors[0].endswith(f"on POST {tenant.url}{CONNECTIONS}")
    # A POST whose outcome is unknown is never sent twice.
    assert posts == ["POST"]
    assert list(client.connections.list(filter=f'qName eq "{flags.name}"')) == []
    assert leaked_fragments(result, flags.canaries) == []


def test_create_server_error_not_retried(
    qtc: Qtc, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("adls-target", keys)
    tenant.server.emulator.add_fault(
        FaultRule(kind="status", method="POST", path_prefix=CONNECTIONS, status=500)
    )

    result = qtc("connections", "create", *flags.args, env=flags.env)

    errors = result.stderr.splitlines()
    assert result.exit_code == 1
    assert len(errors) == 1
    assert errors[0].startswith(
        f"Error: 500 Internal Server Error on POST {tenant.url}"
    )
    assert errors[0].endswith(
        "the service failed; try again later, and quote the trace id"
    )
    assert methods_and_statuses(tenant, CONNECTIONS).count(("POST", 500)) == 1
    assert leaked_fragments(result, flags.canaries) == []


def test_patch_unavailable_not_retried(
    qtc: Qtc, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("mysql-target", keys)
    created = qtc("connections", "create", *flags.args, "-q", env=flags.env)
    connection_path = f"{CONNECTIONS}/{created.stdout.strip()}"
    tenant.server.emulator.add_fault(
        FaultRule(
            kind="status", method="PATCH", path_prefix=connection_path, status=503
        )
    )
    new_password = canary("unsent-password")

    result = qtc(
        "connections",
        "patch",
        flags.name,
        "--secret",
        "password=env:QTC_TEST_NEW_PASSWORD",
        env={"QTC_TEST_NEW_PASSWORD": new_password},
    )

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: 503 Service Unavailable on PATCH ")
    assert methods_and_statuses(tenant, connection_path).count(("PATCH", 503)) == 1
    assert leaked_fragments(result, [new_password]) == []


def test_create_disabled_source_sends_no_post(
    qtc: Qtc, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("s3-target", keys)
    tenant.server.emulator.store.set_data_source_disabled("reptgt_qdis3", True)

    result = qtc("connections", "create", *flags.args, env=flags.env)

    errors = result.stderr.splitlines()
    assert result.exit_code == 1
    assert len(errors) == 1
    assert errors[0].startswith("Error: 404 Not Found on GET ")
    assert "reptgt_qdis3/api-specs" in errors[0]
    assert [e for e in settled_requests(tenant) if e.method == "POST"] == []


def test_delete_recovers_lost_response(
    qtc: Qtc, client: QlikClient, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("mysql-source", keys)
    created = qtc("connections", "create", *flags.args, "-q", env=flags.env)
    tenant.server.emulator.add_fault(
        FaultRule(kind="drop_after_commit", method="DELETE", path_prefix=CONNECTIONS)
    )

    result = qtc("connections", "delete", flags.name, "--yes")

    assert created.exit_code == 0, created.output
    assert result.exit_code == 0, result.output
    assert result.stdout == f"deleted {flags.name} ({created.stdout.strip()})\n"
