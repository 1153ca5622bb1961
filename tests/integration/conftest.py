"""Fixtures for end-to-end tests: one real emulator on 127.0.0.1 per session.

Each test starts from a freshly seeded tenant: ``tenant`` wipes the
emulator's data, faults, journal and rate-limit counters first. Clients
and the CLI talk to it over HTTP exactly as they would to a tenant.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from click.testing import CliRunner, Result

from contract.plugin import wrap_app
from qtc_connections.auth import ApiKeyAuth, OAuthClientCredentials
from qtc_connections.cli.main import cli
from qtc_connections.client import QlikClient
from qtc_connections.emulator import EmulatorConfig, EmulatorServer
from qtc_connections.emulator.journal import JournalEntry
from qtc_connections.retry import RetryPolicy
from qtc_connections.secrets import Secret
from qtc_connections.tenant import Tenant

ADMIN_KEY = "CANARY-admin-key-3b9f2d71"
MEMBER_KEY = "CANARY-member-key-8c41e0aa"
CLIENT_ID = "emulator-m2m-client"
CLIENT_SECRET = "CANARY-client-secret-6e2a19"
SPACE_NAME = "Data Integration"
GATEWAY_ID = "gw-test-0001"


@dataclass
class TenantHandle:
    """The running emulator and shortcuts that tests use."""

    server: EmulatorServer
    config: EmulatorConfig

    @property
    def url(self) -> str:
        return self.server.url

    def requests(self) -> list[JournalEntry]:
        """Requests the emulator received since the test began."""
        return self.server.emulator.requests()

    def writes(self) -> list[JournalEntry]:
        """Requests other than GET received since the test began."""
        return [entry for entry in self.requests() if entry.method != "GET"]

    def space_id(self, name: str = SPACE_NAME) -> str:
        return self.config.space(name).space_id


@pytest.fixture(scope="session")
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig.default(
        api_key=ADMIN_KEY,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        member_api_key=MEMBER_KEY,
    )


@pytest.fixture(scope="session")
def emulator_server(emulator_config: EmulatorConfig) -> Iterator[EmulatorServer]:
    with EmulatorServer(emulator_config, wrap_app=wrap_app) as server:
        yield server


@pytest.fixture
def tenant(
    emulator_server: EmulatorServer, emulator_config: EmulatorConfig
) -> TenantHandle:
    emulator_server.emulator.reset(data=True)
    return TenantHandle(server=emulator_server, config=emulator_config)


def no_sleep(seconds: float) -> None:
    """Stand in for ``time.sleep`` in retry policies, so tests do not wait."""


@pytest.fixture
def make_client(tenant: TenantHandle) -> Iterator[Callable[..., QlikClient]]:
    """Build clients for the emulator; every client is closed after the test."""
    made: list[QlikClient] = []

    def build(
        *,
        api_key: str | None = ADMIN_KEY,
        oauth: bool = False,
        retry: RetryPolicy | None = None,
        **kwargs: object,
    ) -> QlikClient:
        target = Tenant.parse(tenant.url)
        auth: ApiKeyAuth | OAuthClientCredentials
        if oauth:
            auth = OAuthClientCredentials(target, CLIENT_ID, Secret(CLIENT_SECRET))
        else:
            auth = ApiKeyAuth(target, Secret(api_key or ""))
        client = QlikClient(
            target, auth, retry=retry or RetryPolicy(sleep=no_sleep), **kwargs
        )  # type: ignore[arg-type]
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., QlikClient]) -> QlikClient:
    """A client authenticated with the tenant admin's API key."""
    return make_client()


@pytest.fixture
def qtc(tenant: TenantHandle, tmp_path, monkeypatch) -> Callable[..., Result]:
    """Run ``qtc`` in-process against the emulator; returns click's ``Result``.

    The environment holds only the settings a user would export; keyword
    ``env`` adds or overrides variables (a value of ``None`` removes one).
    """
    for name in list(os.environ):
        if name.startswith("QTC_"):
            monkeypatch.delenv(name)
    base_env = {
        "QTC_HOSTNAME": tenant.url,
        "QTC_TOKEN": ADMIN_KEY,
        "QTC_SPACE_ID": SPACE_NAME,
        "QTC_GATEWAY_ID": GATEWAY_ID,
        "QTC_CONFIG": str(tmp_path / "no-profiles.toml"),
    }

    def run(
        *args: str, env: dict[str, str | None] | None = None, input: str | None = None
    ) -> Result:
        runner = CliRunner()
        merged: dict[str, str | None] = {**base_env, **(env or {})}
        return runner.invoke(
            cli, list(args), env=merged, input=input, catch_exceptions=False
        )

    return run


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any DNS lookup or socket connect to a host other than loopback.

    Tests that give the CLI a tenant hostname outside this machine expect
    it to be rejected before any request. With this fixture a regression
    fails in the test instead of reaching that host.
    """
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def checked_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        _require_loopback(host)
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    def checked_connect(self: socket.socket, address: object) -> None:
        if isinstance(address, tuple):
            _require_loopback(address[0])
        real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", checked_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", checked_connect)


def _require_loopback(host: object) -> None:
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name == "localhost":
        return
    try:
        if ipaddress.ip_address(name.strip("[]")).is_loopback:
            return
    except ValueError:
        pass
    raise OSError(f"test blocked a connection to {name!r}: only loopback is allowed")


@pytest.fixture
def restore_cli_logging() -> Iterator[None]:
    """Put back the package logger that ``qtc`` reconfigures on every run.

    The CLI binds its handler to the standard error of the run, which
    ``CliRunner`` closes afterwards, so later log records would fail.
    """
    package_logger = logging.getLogger("qtc_connections")
    saved = (
        list(package_logger.handlers),
        package_logger.level,
        package_logger.propagate,
    )
    yield
    package_logger.handlers[:] = saved[0]
    package_logger.setLevel(saved[1])
    package_logger.propagate = saved[2]
