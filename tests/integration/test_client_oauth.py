"""OAuth client credentials against the emulator's ``/oauth/token``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from client_support import (
    RecordingSleep,
    RecordingTransport,
    TenantFixture,
    settled_requests,
)

from qtc_connections.auth import TOKEN_PATH, OAuthClientCredentials, OAuthClientRejected
from qtc_connections.client import QlikClient
from qtc_connections.emulator import EmulatorConfig, EmulatorServer, FaultRule
from qtc_connections.emulator.journal import JournalEntry
from qtc_connections.errors import AuthenticationError, RateLimitError
from qtc_connections.retry import RetryPolicy
from qtc_connections.secrets import Secret
from qtc_connections.tenant import Tenant

SHORT_CLIENT_ID = "short-lived-m2m-client"
SHORT_CLIENT_SECRET = "CANARY-short-client-secret-4b7a"
SHORT_ADMIN_KEY = "CANARY-short-admin-key-90d2"


@pytest.fixture(autouse=True)
def settled_journal(emulator_server: EmulatorServer) -> None:
    """Let the previous test's last request reach the journal before the reset."""
    settled_requests(emulator_server.emulator)


class FakeClock:
    """A clock for ``OAuthClientCredentials`` that advances only in ``advance``."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def token_requests(entries: list[JournalEntry]) -> list[JournalEntry]:
    return [entry for entry in entries if entry.path == TOKEN_PATH]


def api_requests(entries: list[JournalEntry]) -> list[JournalEntry]:
    return [entry for entry in entries if entry.path.startswith("/api/")]


@pytest.fixture
def resources() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@pytest.fixture
def short_lived_server(
    resources: ExitStack,
) -> Callable[[int], EmulatorServer]:
    """Start a tenant whose access tokens expire after ``lifetime`` seconds."""

    def start(lifetime: int) -> EmulatorServer:
        config = EmulatorConfig.default(
            api_key=SHORT_ADMIN_KEY,
            client_id=SHORT_CLIENT_ID,
            client_secret=SHORT_CLIENT_SECRET,
            token_lifetime_seconds=lifetime,
        )
        return resources.enter_context(EmulatorServer(config))

    return start


def oauth_client(
    resources: ExitStack,
    url: str,
    *,
    client_id: str = SHORT_CLIENT_ID,
    secret: str = SHORT_CLIENT_SECRET,
    clock: Callable[[], float] = time.time,
    retry: RetryPolicy | None = None,
    transport: RecordingTransport | None = None,
) -> QlikClient:
    target = Tenant.parse(url)
    auth = OAuthClientCredentials(target, client_id, Secret(secret), clock=clock)
    client = QlikClient(
        target,
        auth,
        retry=retry or RetryPolicy(sleep=RecordingSleep()),
        transport=transport,
    )
    return resources.enter_context(client)


def read_many(client: QlikClient, count: int) -> None:
    """Send ``count`` API requests of a few kinds."""
    for index in range(count):
        if index % 3 == 0:
            list(client.spaces.list())
        elif index % 3 == 1:
            list(client.connections.list())
        else:
            client.data_sources.list()


def test_token_fetched_once_and_reused(
    make_client: Callable[..., QlikClient], tenant: TenantFixture
) -> None:
    client = make_client(oauth=True)

    read_many(client, 12)
    client.users.me()

    journal = settled_requests(tenant.server.emulator)
    tokens = token_requests(journal)
    assert [(entry.method, entry.status) for entry in tokens] == [("POST", 200)]
    assert len(api_requests(journal)) == 14
    assert all(entry.status in (200, 301) for entry in api_requests(journal))


def test_token_request_comes_first(
    make_client: Callable[..., QlikClient], tenant: TenantFixture
) -> None:
    client = make_client(oauth=True)

    list(client.spaces.list())

    paths = [entry.path for entry in settled_requests(tenant.server.emulator)]
    assert paths == [TOKEN_PATH, "/api/v1/spaces"]


def test_wrong_secret_rejected_with_fix(
    tenant: TenantFixture, resources: ExitStack
) -> None:
    wrong_secret = "CANARY-wrong-client-secret-1e2f"
    client_id = tenant.config.oauth_clients[0].client_id
    client = oauth_client(
        resources, tenant.url, client_id=client_id, secret=wrong_secret
    )

    with pytest.raises(OAuthClientRejected) as caught:
        list(client.spaces.list())

    message = str(caught.value)
    assert isinstance(caught.value, AuthenticationError)
    assert caught.value.status == 401
    assert "check QTC_CLIENT_ID and QTC_CLIENT_SECRET" in message
    assert "machine-to-machine client" in message
    assert wrong_secret not in message


def test_wrong_secret_sends_no_api_request(
    tenant: TenantFixture, resources: ExitStack
) -> None:
    client_id = tenant.config.oauth_clients[0].client_id
    client = oauth_client(
        resources, tenant.url, client_id=client_id, secret="CANARY-wrong-secret-2"
    )

    with pytest.raises(OAuthClientRejected):
        list(client.spaces.list())

    journal = settled_requests(tenant.server.emulator)
    assert [(e.path, e.status) for e in journal] == [(TOKEN_PATH, 401)]


def test_unknown_client_id_rejected(
    tenant: TenantFixture, resources: ExitStack
) -> None:
    client = oauth_client(
        resources,
        tenant.url,
        client_id="no-such-client",
        secret=tenant.config.oauth_clients[0].client_secret,
    )

    with pytest.raises(OAuthClientRejected) as caught:
        client.users.me()

    assert caught.value.status == 401


def test_token_renewed_after_expiry(
    short_lived_server: Callable[[int], EmulatorServer], resources: ExitStack
) -> None:
    server = short_lived_server(120)
    clock = FakeClock()
    transport = RecordingTransport()
    client = oauth_client(resources, server.url, clock=clock, transport=transport)

    read_many(client, 3)
    clock.advance(30)
    read_many(client, 3)
    assert len(token_requests(settled_requests(server.emulator))) == 1

    clock.advance(31)
    read_many(client, 3)

    journal = settled_requests(server.emulator)
    first, second = transport.access_tokens()
    assert len(token_requests(journal)) == 2
    assert first != second
    assert all(entry.status == 200 for entry in api_requests(journal))


def test_token_shorter_than_margin_reused(
    short_lived_server: Callable[[int], EmulatorServer], resources: ExitStack
) -> None:
    server = short_lived_server(30)
    clock = FakeClock()
    client = oauth_client(resources, server.url, clock=clock)

    read_many(client, 6)
    clock.advance(10)
    read_many(client, 6)
    assert len(token_requests(settled_requests(server.emulator))) == 1

    clock.advance(10)
    read_many(client, 1)
    assert len(token_requests(settled_requests(server.emulator))) == 2


def test_server_expired_token_fetched_again(
    short_lived_server: Callable[[int], EmulatorServer], resources: ExitStack
) -> None:
    server = short_lived_server(1)
    # The clock never advances, so the client trusts its cached token and
    # learns of the expiry only from the tenant's 401.
    client = oauth_client(resources, server.url, clock=FakeClock())
    list(client.spaces.list())

    time.sleep(1.2)
    spaces = list(client.spaces.list())

    journal = settled_requests(server.emulator)
    assert len(spaces) == 4
    assert [(entry.path, entry.status) for entry in journal] == [
        (TOKEN_PATH, 200),
        ("/api/v1/spaces", 200),
        ("/api/v1/spaces", 401),
        (TOKEN_PATH, 200),
        ("/api/v1/spaces", 200),
    ]


def test_revoked_client_fails_after_refetch(
    short_lived_server: Callable[[int], EmulatorServer], resources: ExitStack
) -> None:
    server = short_lived_server(1)
    client = oauth_client(resources, server.url, clock=FakeClock())
    list(client.spaces.list())
    server.emulator.add_fault(
        FaultRule(kind="status", status=401, path_prefix=TOKEN_PATH, count=None)
    )

    time.sleep(1.2)
    with pytest.raises(OAuthClientRejected):
        list(client.spaces.list())

    journal = settled_requests(server.emulator)
    assert len(token_requests(journal)) == 2
    assert len(api_requests(journal)) == 2


def test_token_endpoint_429_retried(
    make_client: Callable[..., QlikClient], tenant: TenantFixture
) -> None:
    sleep = RecordingSleep()
    client = make_client(oauth=True, retry=RetryPolicy(sleep=sleep))
    tenant.server.emulator.add_fault(
        FaultRule(kind="status", status=429, retry_after=4, path_prefix=TOKEN_PATH)
    )

    spaces = list(client.spaces.list())

    journal = settled_requests(tenant.server.emulator)
    assert len(spaces) == 4
    assert [e.status for e in token_requests(journal)] == [429, 200]
    assert sleep.delays == [4.0]


def test_token_endpoint_429_bounded(
    make_client: Callable[..., QlikClient], tenant: TenantFixture
) -> None:
    sleep = RecordingSleep()
    client = make_client(oauth=True, retry=RetryPolicy(max_attempts=3, sleep=sleep))
    tenant.server.emulator.add_fault(
        FaultRule(kind="status", status=429, path_prefix=TOKEN_PATH, count=None)
    )

    with pytest.raises(RateLimitError):
        list(client.spaces.list())

    journal = settled_requests(tenant.server.emulator)
    assert len(token_requests(journal)) == 3
    assert api_requests(journal) == []


def test_token_endpoint_drop_retried(
    make_client: Callable[..., QlikClient], tenant: TenantFixture
) -> None:
    client = make_client(oauth=True)
    tenant.server.emulator.add_fault(FaultRule(kind="drop", path_prefix=TOKEN_PATH))

    list(client.spaces.list())

    journal = settled_requests(tenant.server.emulator)
    assert [e.status for e in token_requests(journal)] == [None, 200]
    assert len(api_requests(journal)) == 1


def test_token_sent_as_bearer_only(tenant: TenantFixture, resources: ExitStack) -> None:
    transport = RecordingTransport()
    oauth = tenant.config.oauth_clients[0]
    client = oauth_client(
        resources,
        tenant.url,
        client_id=oauth.client_id,
        secret=oauth.client_secret,
        transport=transport,
    )

    list(client.spaces.list())

    token_request, api_request = transport.requests
    (token,) = transport.access_tokens()
    assert "authorization" not in token_request.headers
    assert oauth.client_secret.encode() in token_request.content
    assert api_request.headers["authorization"] == f"Bearer {token}"
    assert oauth.client_secret not in str(api_request.url)
    assert oauth.client_secret.encode() not in api_request.content
