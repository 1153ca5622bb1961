"""``qtc doctor`` against the emulator: each check, its status and exit code."""

from __future__ import annotations

import json
import re

import pytest
from cli_support import (
    Qtc,
    TenantFixture,
    admin_key,
    canary,
    leaked_fragments,
    member_key,
    settled_requests,
)

pytestmark = pytest.mark.usefixtures("loopback_only", "restore_cli_logging")

CHECKS = ["hostname", "token", "tenant", "space", "gateway", "sources"]


def doctor_rows(stdout: str) -> dict[str, tuple[str, str]]:
    """Parse the doctor table into ``{check: (status, detail)}``."""
    lines = stdout.splitlines()
    assert lines[0].split() == ["STATUS", "CHECK", "DETAIL"]
    rows: dict[str, tuple[str, str]] = {}
    for line in lines[1:]:
        status, check, detail = re.split(r"\s{2,}", line, maxsplit=2)
        rows[check] = (status, detail)
    return rows


def test_doctor_all_checks_ok(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc("doctor")

    rows = doctor_rows(result.stdout)
    assert result.exit_code == 0, result.output
    assert list(rows) == CHECKS
    for check in CHECKS:
        assert rows[check][0] == "ok", (check, rows[check])
    assert rows["token"][1].startswith("API key accepted for Tenant Admin")
    assert "Data Integration (022b8b9a1222d5f5374aa45b, data)" in rows["space"][1]
    assert "14 of 14 catalog kinds available" in rows["sources"][1]
    assert result.stderr == ""


def test_doctor_json_lists_every_check(qtc: Qtc) -> None:
    result = qtc("doctor", "--json")

    checks = json.loads(result.stdout)["checks"]
    assert result.exit_code == 0, result.output
    assert [check["name"] for check in checks] == CHECKS
    assert {check["status"] for check in checks} == {"ok"}


def test_doctor_bad_token_names_variable(qtc: Qtc, tenant: TenantFixture) -> None:
    bad_token = canary("wrong-api-key")

    result = qtc("doctor", env={"QTC_TOKEN": bad_token})

    rows = doctor_rows(result.stdout)
    assert result.exit_code == 1
    assert list(rows) == ["hostname", "token"]
    assert rows["token"][0] == "fail"
    assert "401 Unauthorized" in rows["token"][1]
    assert "check QTC_TOKEN" in rows["token"][1]
    assert leaked_fragments(result, [bad_token]) == []
    # The checks stop after a failed token, because every later one needs it.
    assert [entry.path for entry in settled_requests(tenant)] == ["/api/v1/users/me"]


def test_doctor_unknown_space_fails(qtc: Qtc) -> None:
    result = qtc("doctor", env={"QTC_SPACE_ID": "No Such Space"})

    rows = doctor_rows(result.stdout)
    assert result.exit_code == 1
    assert rows["space"] == (
        "fail",
        (
            "space 'No Such Space' not found, or not visible to this identity; "
            "list spaces with 'qtc spaces list'"
        ),
    )
    assert rows["token"][0] == "ok"
    assert rows["sources"][0] == "ok"


def test_doctor_invisible_space_fails_for_member(
    qtc: Qtc, tenant: TenantFixture
) -> None:
    result = qtc("doctor", env={"QTC_TOKEN": member_key(tenant)})

    rows = doctor_rows(result.stdout)
    assert result.exit_code == 1
    assert rows["token"] == (
        "ok",
        "API key accepted for Data Member (rY30d-Ahv-stwdPw59zHbjfS)",
    )
    assert rows["space"][0] == "fail"


def test_doctor_consumer_role_warns(qtc: Qtc, tenant: TenantFixture) -> None:
    env = {"QTC_TOKEN": member_key(tenant), "QTC_SPACE_ID": "Finance Data"}

    result = qtc("doctor", env=env)

    rows = doctor_rows(result.stdout)
    assert result.exit_code == 0, result.output
    assert rows["space"][0] == "warn"
    assert rows["space"][1].endswith(
        "creating connections needs Can manage (facilitator)"
    )


def test_doctor_no_gateway_warns(qtc: Qtc) -> None:
    result = qtc("doctor", env={"QTC_GATEWAY_ID": None})

    rows = doctor_rows(result.stdout)
    assert result.exit_code == 0, result.output
    assert rows["gateway"] == (
        "warn",
        (
            "no gateway set; kinds on a Data Movement gateway need --gateway or "
            "QTC_GATEWAY_ID"
        ),
    )


def test_doctor_no_space_warns(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc("doctor", env={"QTC_SPACE_ID": None})

    rows = doctor_rows(result.stdout)
    assert result.exit_code == 0, result.output
    assert rows["space"][0] == "warn"
    paths = [entry.path for entry in settled_requests(tenant)]
    assert "/api/v1/spaces" not in paths


def test_doctor_shared_space_warns(qtc: Qtc) -> None:
    result = qtc("doctor", "--space", "Analytics Shared")

    rows = doctor_rows(result.stdout)
    assert result.exit_code == 0, result.output
    assert rows["space"][0] == "warn"
    assert rows["space"][1].endswith(
        "Data Integration connections belong in a data space"
    )


def test_doctor_disabled_source_warns(qtc: Qtc, tenant: TenantFixture) -> None:
    tenant.server.emulator.store.set_data_source_disabled("reptgt_qdis3", True)

    result = qtc("doctor")

    rows = doctor_rows(result.stdout)
    assert result.exit_code == 0, result.output
    assert rows["sources"][0] == "warn"
    assert rows["sources"][1].endswith(
        "13 of 14 catalog kinds available; not enabled: reptgt_qdis3"
    )


def test_doctor_missing_token_sends_nothing(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc("doctor", env={"QTC_TOKEN": None})

    rows = doctor_rows(result.stdout)
    assert result.exit_code == 1
    assert rows == {
        "settings": (
            "fail",
            (
                "no credentials; set QTC_TOKEN to an API key, or QTC_CLIENT_ID "
                "and QTC_CLIENT_SECRET for an OAuth machine-to-machine client"
            ),
        )
    }
    assert settled_requests(tenant) == []


def test_doctor_half_oauth_client_fails(qtc: Qtc, tenant: TenantFixture) -> None:
    client_id = tenant.config.oauth_clients[0].client_id

    result = qtc("doctor", env={"QTC_TOKEN": None, "QTC_CLIENT_ID": client_id})

    rows = doctor_rows(result.stdout)
    assert result.exit_code == 1
    assert rows["settings"] == (
        "fail",
        "OAuth client credentials are incomplete; set QTC_CLIENT_SECRET",
    )
    assert settled_requests(tenant) == []


def test_doctor_oauth_client_debug_hides_secrets(
    qtc: Qtc, tenant: TenantFixture
) -> None:
    oauth_client = tenant.config.oauth_clients[0]
    env: dict[str, str | None] = {
        "QTC_TOKEN": None,
        "QTC_CLIENT_ID": oauth_client.client_id,
        "QTC_CLIENT_SECRET": oauth_client.client_secret,
    }

    result = qtc("--debug", "doctor", env=env)

    rows = doctor_rows(result.stdout)
    assert result.exit_code == 0, result.output
    assert rows["token"][1].startswith("OAuth client credentials accepted for")
    assert "DEBUG qtc_connections.auth: fetched an access token" in result.stderr
    secrets = [oauth_client.client_secret, admin_key(tenant)]
    assert leaked_fragments(result, secrets) == []
    assert "Bearer" not in result.stdout + result.stderr
