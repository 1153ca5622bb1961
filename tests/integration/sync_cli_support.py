"""Helpers for the export and rotate tests: a local ``qtc`` group, seeded connections.

``qtc export``, ``qtc rotate`` and ``qtc keygen`` are not registered in the
main group by these modules, so the tests run them in a group of their
own. That group handles errors as the real one does, and runs with the same
environment as the ``qtc`` fixture of ``conftest.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from cli_support import GATEWAY_ID, TenantFixture, admin_key
from click.testing import CliRunner, Result

from qtc_connections.api.models import Connection
from qtc_connections.cli.commands.connections import connections
from qtc_connections.cli.commands.export import export
from qtc_connections.cli.commands.rotate import keygen, rotate
from qtc_connections.cli.main import CONTEXT_SETTINGS, QtcGroup, configure_logging
from qtc_connections.client import QlikClient

SPACE_NAME = "Data Integration"

Runner = Callable[..., Result]


def sync_group(*extra: click.Command) -> click.Group:
    """Return a ``qtc`` group with export, rotate, keygen, connections and ``extra``."""

    @click.group(cls=QtcGroup, context_settings=CONTEXT_SETTINGS)
    @click.option("--debug", is_flag=True, help="Log each HTTP request.")
    def group(debug: bool) -> None:
        """qtc with the commands under test."""
        configure_logging(debug=debug)

    for command in (export, rotate, keygen, connections, *extra):
        group.add_command(command)
    return group


def sync_runner(
    tenant: TenantFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *extra: click.Command,
) -> Runner:
    """Return a function that runs the local group against the emulator.

    The environment is the one the ``qtc`` fixture sets: the tenant, the
    admin's API key, the Data Integration space and a gateway id. Keyword
    ``env`` adds or overrides variables; ``None`` removes one.
    """
    for name in list(os.environ):
        if name.startswith("QTC_"):
            monkeypatch.delenv(name)
    base_env = {
        "QTC_HOSTNAME": tenant.url,
        "QTC_TOKEN": admin_key(tenant),
        "QTC_SPACE_ID": SPACE_NAME,
        "QTC_GATEWAY_ID": GATEWAY_ID,
        "QTC_CONFIG": str(tmp_path / "no-profiles.toml"),
    }
    group = sync_group(*extra)

    def run(
        *args: str, env: dict[str, str | None] | None = None, input: str | None = None
    ) -> Result:
        merged: dict[str, str | None] = {**base_env, **(env or {})}
        return CliRunner().invoke(
            group, list(args), env=merged, input=input, catch_exceptions=False
        )

    return run


def create_connection(
    client: QlikClient,
    name: str,
    data_source_id: str,
    properties: dict[str, Any],
    *,
    space_id: str | None,
    tags: tuple[str, ...] = (),
) -> Connection:
    """Create a connection through the library, with the body as given."""
    return client.connections.create(
        name=name,
        data_source_id=data_source_id,
        connection_properties=properties,
        space_id=space_id,
        tags=tags,
    )


def mysql_source(
    client: QlikClient,
    name: str,
    password: str,
    *,
    space_id: str | None,
    server: str = "mysql.example.internal",
    tags: tuple[str, ...] = (),
) -> Connection:
    """Create a MySQL source with the kind's defaults and the given password."""
    properties = {
        "agentId": GATEWAY_ID,
        "server": server,
        "username": "qtc_reader",
        "password": password,
        "port": "3306",
        "replicateEndpointType": "mysql###None",
        "sshEnable": False,
        "sslMode": "PREFER",
        "eventsPollInterval": "5",
    }
    return create_connection(
        client, name, "repsrc_mysql", properties, space_id=space_id, tags=tags
    )


def snowflake_target(
    client: QlikClient,
    name: str,
    key_file: list[dict[str, str]],
    passphrase: str,
    *,
    space_id: str | None,
) -> Connection:
    """Create a Snowflake target with a key file value and its passphrase."""
    properties = {
        "server": "acme-account.snowflakecomputing.com",
        "port": "443",
        "databaseManualInput": True,
        "databaseQcsString": "ANALYTICS",
        "warehouse": "LOAD_WH",
        "username": "QTC_LOADER",
        "authentication_mode": "KEY_PAIR",
        "privateKeyFile": key_file,
        "privateKeyPassphrase": passphrase,
    }
    return create_connection(
        client, name, "reptgt_qdisnowflake", properties, space_id=space_id
    )
