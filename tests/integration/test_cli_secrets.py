"""No secret value reaches ``qtc`` output, with ``--debug`` on, in any command.

One test drives a whole administrator session with ``--debug``. Every
secret is a fresh canary (passwords, tokens, client secrets, passphrases)
or fresh key material. Both streams of every command are searched for each
value and each line of each key.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import (
    KIND_NAMES,
    KeyMaterial,
    Qtc,
    TenantFixture,
    admin_key,
    b64,
    canary,
    create_flags,
    leaked_fragments,
    write_key_material,
)
from click.testing import Result
from cryptography.hazmat.primitives.asymmetric import rsa

pytestmark = pytest.mark.usefixtures("loopback_only", "restore_cli_logging")


class Session:
    """Runs ``qtc --debug`` commands and keeps every result for the leak check."""

    def __init__(self, qtc: Qtc) -> None:
        self._qtc = qtc
        self.results: list[tuple[tuple[str, ...], Result]] = []

    def run(self, *args: str, env: dict[str, str | None] | None = None) -> Result:
        result = self._qtc("--debug", *args, env=env)
        self.results.append((args, result))
        assert result.exit_code == 0, (args, result.output)
        return result


@pytest.fixture
def keys(tmp_path: Path, rsa_private_key: rsa.RSAPrivateKey) -> KeyMaterial:
    return write_key_material(tmp_path, rsa_private_key)


def test_debug_session_leaks_nothing(
    qtc: Qtc, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    session = Session(qtc)
    secrets = [admin_key(tenant), *keys.canaries]
    secrets += [
        b64(path.read_bytes())
        for path in vars(keys).values()
        if isinstance(path, Path) and path.is_file()
    ]

    session.run("doctor")
    session.run("sources", "specs", "reptgt_qdisnowflake")
    ids: dict[str, str] = {}
    for kind in KIND_NAMES:
        flags = create_flags(kind, keys)
        secrets += flags.canaries
        created = session.run("connections", "create", *flags.args, "-q", env=flags.env)
        ids[kind] = created.stdout.strip()

    session.run("connections", "get", ids["snowflake-target"], "--parse")
    session.run("connections", "get", "CLI_mysql_source", "--parse", "--json")
    rotated = canary("rotated-password")
    secrets.append(rotated)
    session.run(
        "connections",
        "patch",
        "CLI_mysql_source",
        "--secret",
        "password=env:QTC_TEST_ROTATED",
        "--json",
        env={"QTC_TEST_ROTATED": rotated},
    )
    session.run(
        "connections",
        "patch",
        ids["gcs-target"],
        "--key-file",
        f"jsonCredentials={keys.rotated_service_account}",
    )
    session.run("connections", "list", "--json")
    session.run("connections", "delete", ids["s3-target"], "--yes")

    for args, result in session.results:
        assert "DEBUG qtc_connections.http: " in result.stderr, args
        assert leaked_fragments(result, secrets) == [], args


def test_debug_oauth_hides_client_secret(qtc: Qtc, tenant: TenantFixture) -> None:
    oauth_client = tenant.config.oauth_clients[0]
    env: dict[str, str | None] = {
        "QTC_TOKEN": None,
        "QTC_CLIENT_ID": oauth_client.client_id,
        "QTC_CLIENT_SECRET": oauth_client.client_secret,
    }

    result = qtc("--debug", "connections", "list", "--all-spaces", env=env)

    assert result.exit_code == 0, result.output
    assert "POST " in result.stderr
    assert leaked_fragments(result, [oauth_client.client_secret]) == []


def test_debug_failed_create_leaks_nothing(
    qtc: Qtc, tenant: TenantFixture, keys: KeyMaterial
) -> None:
    flags = create_flags("adls-target", keys)
    qtc("connections", "create", *flags.args, "-q", env=flags.env)

    # The second create fails on the taken name, after reading the tenant.
    result = qtc("--debug", "connections", "create", *flags.args, env=flags.env)

    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert leaked_fragments(result, flags.canaries + [admin_key(tenant)]) == []


def test_debug_bad_token_leaks_nothing(qtc: Qtc) -> None:
    token = canary("rejected-token")

    result = qtc("--debug", "doctor", env={"QTC_TOKEN": token})

    assert result.exit_code == 1
    assert "DEBUG qtc_connections.http: GET " in result.stderr
    assert leaked_fragments(result, [token]) == []


def test_debug_literal_secret_leaks_nothing(qtc: Qtc, tenant: TenantFixture) -> None:
    literal = canary("typed-password")

    result = qtc(
        "--debug",
        "connections",
        "create",
        "--kind",
        "databricks-target",
        "--name",
        "TGT_Databricks_Literal",
        "--set",
        "server=adb-1.azuredatabricks.net",
        "--set",
        "httpPath=/sql/1.0/warehouses/abc",
        "--secret",
        f"password={literal}",
    )

    assert result.exit_code == 1
    assert leaked_fragments(result, [literal]) == []
