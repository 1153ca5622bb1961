"""Helpers for the plan and apply tests: manifests built in code, and sync runs.

Manifests are built as ``Manifest`` values here, so that these tests depend
on the planner and not on the YAML loader. Every secret is a fresh canary
read from an environment variable, set with ``monkeypatch``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cli_support import GATEWAY_ID, TenantFixture, canary, settled_requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from qtc_connections.catalog import get_kind
from qtc_connections.cli.commands.apply import apply
from qtc_connections.cli.commands.plan import plan
from qtc_connections.cli.main import cli
from qtc_connections.client import QlikClient
from qtc_connections.manifest.model import DesiredConnection, KeyFileSpec, Manifest
from qtc_connections.secrets import SecretReference
from qtc_connections.sync.apply import ApplyResult, apply_plan
from qtc_connections.sync.budget import WriteBudget
from qtc_connections.sync.fingerprint import Fingerprinter
from qtc_connections.sync.plan import Change, Plan, build_plan
from qtc_connections.sync.state import StateFile

SPACE = "Data Integration"
OTHER_SPACE = "Finance Data"

# Runs the CLI with plan and apply registered, whether or not the installed
# entry point registers them yet.
RUNNER = """\
from qtc_connections.cli.commands.apply import apply
from qtc_connections.cli.commands.plan import plan
from qtc_connections.cli.main import cli, main
for command in (plan, apply):
    if command.name not in cli.commands:
        cli.add_command(command)
main()
"""


@contextmanager
def sync_commands_registered() -> Iterator[None]:
    """Register plan and apply on the ``qtc`` group unless main already does."""
    added = []
    for command in (plan, apply):
        if command.name not in cli.commands:
            cli.add_command(command)
            added.append(command.name)
    yield
    for name in added:
        cli.commands.pop(name)


# Fast enough that the budget never slows a functional test.
UNLIMITED_WRITES_PER_MINUTE = 600_000


def env_secret(name: str, variable: str) -> SecretReference:
    """Return an ``env:`` reference for property ``name``."""
    return SecretReference.parse(f"env:{variable}", name=name)


def mysql_source(
    name: str,
    *,
    password_variable: str = "QTC_TEST_MYSQL_PASSWORD",
    server: str = "mysql.dev.internal",
    username: str = "qtc_reader",
    space: str = SPACE,
    tags: tuple[str, ...] = (),
    properties: dict[str, object] | None = None,
) -> DesiredConnection:
    """Return a MySQL source entry whose password comes from ``password_variable``."""
    return DesiredConnection(
        name=name,
        kind=get_kind("mysql-source"),
        space=space,
        gateway_id=GATEWAY_ID,
        tags=tags,
        properties={"server": server, "username": username, **(properties or {})},
        secrets={"password": env_secret("password", password_variable)},
    )


def s3_target(name: str, *, bucket: str = "qtc-landing") -> DesiredConnection:
    """Return an S3 target entry with two secrets."""
    return DesiredConnection(
        name=name,
        kind=get_kind("s3-target"),
        space=SPACE,
        gateway_id=GATEWAY_ID,
        properties={"bucketName": bucket},
        secrets={
            "s3AccessKey": env_secret("s3AccessKey", "QTC_TEST_S3_ACCESS_KEY"),
            "s3SecretKey": env_secret("s3SecretKey", "QTC_TEST_S3_SECRET_KEY"),
        },
    )


def snowflake_target(name: str, key_path: Path) -> DesiredConnection:
    """Return a Snowflake target entry with an encrypted key file."""
    return DesiredConnection(
        name=name,
        kind=get_kind("snowflake-target"),
        space=SPACE,
        gateway_id=GATEWAY_ID,
        properties={
            "server": "acct.snowflakecomputing.com",
            "warehouse": "LOAD_WH",
            "username": "LOADER",
            "databaseQcsString": "ANALYTICS",
        },
        secrets={
            "privateKeyPassphrase": env_secret(
                "privateKeyPassphrase", "QTC_TEST_SNOWFLAKE_PASSPHRASE"
            )
        },
        key_files={"privateKeyFile": KeyFileSpec(key_path)},
    )


def manifest_of(*connections: DesiredConnection) -> Manifest:
    """Return a manifest of ``connections``."""
    return Manifest(connections=tuple(connections))


def write_encrypted_key(path: Path, passphrase: str) -> Path:
    """Write a new encrypted PKCS#8 RSA key to ``path``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode()),
        )
    )
    return path


@dataclass
class Secrets:
    """The canary values of one test, exported as the variables the entries read."""

    monkeypatch: pytest.MonkeyPatch
    values: dict[str, str] = field(default_factory=dict)

    def set(self, variable: str, label: str | None = None) -> str:
        """Export a fresh canary as ``variable`` and return it."""
        value = canary(label or variable.lower())
        self.values[variable] = value
        self.monkeypatch.setenv(variable, value)
        return value

    def set_defaults(self) -> None:
        """Export every variable that the entry builders above read."""
        for variable in (
            "QTC_TEST_MYSQL_PASSWORD",
            "QTC_TEST_S3_ACCESS_KEY",
            "QTC_TEST_S3_SECRET_KEY",
            "QTC_TEST_SNOWFLAKE_PASSPHRASE",
        ):
            self.set(variable)


@dataclass
class SyncRun:
    """Plan and apply against the emulator with this test's state and key files."""

    client: QlikClient
    tmp_path: Path

    @property
    def state_path(self) -> Path:
        return self.tmp_path / "state" / ".qtc-state.json"

    @property
    def key_path(self) -> Path:
        return self.tmp_path / "keys" / "fingerprint.key"

    def state(self) -> StateFile:
        return StateFile.load(self.state_path)

    def plan(self, manifest: Manifest, **options: object) -> Plan:
        """Build a plan with a freshly loaded state, as a new run would."""
        return build_plan(
            self.client,
            manifest,
            self.state(),
            Fingerprinter.from_key_file(self.key_path),
            **options,  # type: ignore[arg-type]
        )

    def apply(
        self,
        manifest: Manifest,
        *,
        budget: WriteBudget | None = None,
        concurrency: int = 4,
        **options: object,
    ) -> tuple[Plan, ApplyResult]:
        """Plan and apply in one go, as ``qtc apply --yes`` does."""
        state = self.state()
        plan = build_plan(
            self.client,
            manifest,
            state,
            Fingerprinter.from_key_file(self.key_path),
            **options,  # type: ignore[arg-type]
        )
        result = apply_plan(
            self.client,
            plan,
            state,
            concurrency=concurrency,
            budget=budget or WriteBudget(UNLIMITED_WRITES_PER_MINUTE),
        )
        return plan, result


def actions(plan: Plan) -> dict[str, str]:
    """Return each connection's action in the plan, by name."""
    return {change.name: change.action.value for change in plan.changes}


def statuses(result: ApplyResult) -> dict[str, str]:
    """Return each connection's outcome, by name."""
    return {o.change.name: o.status.value for o in result.outcomes}


def change_named(plan: Plan, name: str) -> Change:
    """Return the change of the connection called ``name``."""
    for change in plan.changes:
        if change.name == name:
            return change
    raise AssertionError(f"no change for {name} in the plan")


def names_in_space(client: QlikClient, space_id: str) -> list[str]:
    """Return the names of every connection in the space, sorted, repeats kept."""
    return sorted(c.name for c in client.connections.list(space_id=space_id))


def journal_mark(tenant: TenantFixture) -> int:
    """Return the number of requests so far, once the journal has settled.

    The emulator records a request after its response has gone out, so a
    count taken at once could miss the last request of the step before.
    """
    return len(settled_requests(tenant))


def writes_since(tenant: TenantFixture, start: int) -> list[str]:
    """Return ``METHOD path`` of each write after the first ``start`` requests."""
    entries = settled_requests(tenant)[start:]
    return [f"{e.method} {e.path}" for e in entries if e.method != "GET"]
