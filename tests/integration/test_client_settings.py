"""Clients built from ``load_settings``, talking to the emulator over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from client_support import (
    TenantFixture,
    settled_requests,
    wait_for_latency_requests,
)

from qtc_connections.auth import TOKEN_PATH
from qtc_connections.client import QlikClient
from qtc_connections.emulator import EmulatorServer, FaultRule
from qtc_connections.emulator.config import ADMIN_USER_ID
from qtc_connections.errors import (
    ConfigError,
    RequestTimeout,
    SecretReferenceError,
    TransportError,
)
from qtc_connections.retry import RetryPolicy
from qtc_connections.settings import Settings, load_settings


@pytest.fixture(autouse=True)
def settled_journal(emulator_server: EmulatorServer) -> None:
    """Let the previous test's last request reach the journal before the reset."""
    settled_requests(emulator_server.emulator)


@pytest.fixture
def build(tmp_path: Path) -> Iterator[Callable[..., QlikClient]]:
    """Build clients from settings; every client is closed after the test."""
    clients: list[QlikClient] = []

    def client_from(settings: Settings, **kwargs: object) -> QlikClient:
        retry = RetryPolicy(max_attempts=2, sleep=lambda seconds: None)
        client = settings.client(retry=retry, **kwargs)  # type: ignore[arg-type]
        clients.append(client)
        return client

    yield client_from
    for client in clients:
        client.close()


def settings_from(
    environ: dict[str, str], tmp_path: Path, profile: str | None = None
) -> Settings:
    return load_settings(
        environ=environ,
        profile=profile,
        profile_path=tmp_path / "profiles.toml",
    )


def admin_key(tenant: TenantFixture) -> str:
    return tenant.config.admin.api_keys[0]


def test_environment_api_key_reaches_tenant(
    tenant: TenantFixture, tmp_path: Path, build: Callable[..., QlikClient]
) -> None:
    settings = settings_from(
        {"QTC_HOSTNAME": tenant.url, "QTC_TOKEN": admin_key(tenant)}, tmp_path
    )

    user = build(settings).users.me()

    assert user.id == ADMIN_USER_ID
    assert settings.sources["token"] == "environment"


def test_api_key_wins_over_oauth(
    tenant: TenantFixture, tmp_path: Path, build: Callable[..., QlikClient]
) -> None:
    oauth = tenant.config.oauth_clients[0]
    settings = settings_from(
        {
            "QTC_HOSTNAME": tenant.url,
            "QTC_TOKEN": admin_key(tenant),
            "QTC_CLIENT_ID": oauth.client_id,
            "QTC_CLIENT_SECRET": oauth.client_secret,
        },
        tmp_path,
    )

    list(build(settings).spaces.list())

    paths = [entry.path for entry in settled_requests(tenant.server.emulator)]
    assert TOKEN_PATH not in paths
    assert paths == ["/api/v1/spaces"]


def test_oauth_settings_fetch_token(
    tenant: TenantFixture, tmp_path: Path, build: Callable[..., QlikClient]
) -> None:
    oauth = tenant.config.oauth_clients[0]
    settings = settings_from(
        {
            "QTC_HOSTNAME": tenant.url,
            "QTC_CLIENT_ID": oauth.client_id,
            "QTC_CLIENT_SECRET": oauth.client_secret,
        },
        tmp_path,
    )

    user = build(settings).users.me()

    paths = [entry.path for entry in settled_requests(tenant.server.emulator)]
    assert user.id == ADMIN_USER_ID
    assert paths[0] == TOKEN_PATH
    assert paths.count(TOKEN_PATH) == 1


def test_half_oauth_client_rejected(
    tenant: TenantFixture, tmp_path: Path, build: Callable[..., QlikClient]
) -> None:
    settings = settings_from(
        {"QTC_HOSTNAME": tenant.url, "QTC_CLIENT_ID": "m2m-client"}, tmp_path
    )

    with pytest.raises(ConfigError) as caught:
        build(settings)

    assert "set QTC_CLIENT_SECRET" in str(caught.value)
    assert settled_requests(tenant.server.emulator) == []


def test_no_credentials_rejected(
    tenant: TenantFixture, tmp_path: Path, build: Callable[..., QlikClient]
) -> None:
    settings = settings_from({"QTC_HOSTNAME": tenant.url}, tmp_path)

    with pytest.raises(ConfigError) as caught:
        build(settings)

    assert "no credentials" in str(caught.value)
    assert settled_requests(tenant.server.emulator) == []


def write_env_profile(tmp_path: Path, tenant: TenantFixture) -> None:
    (tmp_path / "profiles.toml").write_text(
        "[profiles.local]\n"
        f'hostname = "{tenant.url}"\n'
        'token = "env:LOCAL_QLIK_KEY"\n'
        'space = "Data Integration"\n'
    )


def test_profile_env_reference_resolved(
    tenant: TenantFixture,
    tmp_path: Path,
    build: Callable[..., QlikClient],
) -> None:
    write_env_profile(tmp_path, tenant)

    settings = settings_from(
        {"LOCAL_QLIK_KEY": admin_key(tenant)}, tmp_path, profile="local"
    )
    user = build(settings).users.me()

    assert user.id == ADMIN_USER_ID
    assert settings.sources["token"] == "profile local"
    assert settings.space == "Data Integration"


def test_profile_env_reference_uses_environ(
    tenant: TenantFixture, tmp_path: Path, build: Callable[..., QlikClient]
) -> None:
    write_env_profile(tmp_path, tenant)

    settings = settings_from(
        {"LOCAL_QLIK_KEY": admin_key(tenant)}, tmp_path, profile="local"
    )

    assert build(settings).users.me().id == ADMIN_USER_ID


def test_profile_file_reference_resolved(
    tenant: TenantFixture, tmp_path: Path, build: Callable[..., QlikClient]
) -> None:
    key_file = tmp_path / "qlik-key.txt"
    key_file.write_text(admin_key(tenant) + "\n")
    (tmp_path / "profiles.toml").write_text(
        f'[profiles.default]\nhostname = "{tenant.url}"\ntoken = "file:{key_file}"\n'
    )
    settings = settings_from({}, tmp_path)

    user = build(settings).users.me()

    assert user.id == ADMIN_USER_ID


def test_profile_literal_token_rejected(tenant: TenantFixture, tmp_path: Path) -> None:
    literal = "CANARY-literal-profile-token-8e8e"
    (tmp_path / "profiles.toml").write_text(
        f'[profiles.default]\nhostname = "{tenant.url}"\ntoken = "{literal}"\n'
    )

    with pytest.raises(SecretReferenceError) as caught:
        settings_from({}, tmp_path)

    assert "must be a reference" in str(caught.value)
    assert literal not in str(caught.value)
    assert settled_requests(tenant.server.emulator) == []


def test_api_key_whitespace_is_trimmed(
    tenant: TenantFixture, tmp_path: Path, build: Callable[..., QlikClient]
) -> None:
    settings = settings_from(
        {"QTC_HOSTNAME": tenant.url, "QTC_TOKEN": f" {admin_key(tenant)}\n"}, tmp_path
    )

    user = build(settings).users.me()

    assert user.id == ADMIN_USER_ID


def test_hostname_without_scheme_uses_https(
    tenant: TenantFixture, tmp_path: Path, build: Callable[..., QlikClient]
) -> None:
    host_and_port = tenant.url.removeprefix("http://")
    settings = settings_from(
        {"QTC_HOSTNAME": host_and_port, "QTC_TOKEN": admin_key(tenant)}, tmp_path
    )

    # The emulator speaks plain HTTP, so the TLS handshake fails.
    with pytest.raises(TransportError) as caught:
        build(settings).users.me()

    assert caught.value.url.startswith("https://127.0.0.1:")
    assert admin_key(tenant) not in str(caught.value)


def test_timeout_setting_applied(
    tenant: TenantFixture, tmp_path: Path, build: Callable[..., QlikClient]
) -> None:
    settings = settings_from(
        {"QTC_HOSTNAME": tenant.url, "QTC_TOKEN": admin_key(tenant)}, tmp_path
    )
    client = build(settings, timeout=0.1)
    tenant.server.emulator.add_fault(
        FaultRule(kind="latency", seconds=0.5, path_prefix="/api/v1/spaces", count=2)
    )

    with pytest.raises(RequestTimeout):
        list(client.spaces.list())

    # Wait for both delayed requests, so that neither reaches the next test.
    wait_for_latency_requests(tenant.server.emulator, 2)
    faults = [entry.fault for entry in settled_requests(tenant.server.emulator)]
    assert faults == ["latency", "latency"]
