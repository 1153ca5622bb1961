"""Retries, rate limits, dropped connections and timeouts against the emulator."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest
from client_support import (
    GATEWAY_ID,
    MYSQL_SOURCE_ID,
    RecordingSleep,
    TenantFixture,
    mysql_properties,
    settled_requests,
    wait_for_latency_requests,
)

from qtc_connections.api.connections import CONNECTIONS_PATH
from qtc_connections.api.models import Connection
from qtc_connections.api.spaces import SPACES_PATH
from qtc_connections.auth import ApiKeyAuth
from qtc_connections.client import QlikClient
from qtc_connections.emulator import (
    Emulator,
    EmulatorConfig,
    EmulatorServer,
    FaultRule,
    RateLimits,
)
from qtc_connections.emulator.journal import JournalEntry
from qtc_connections.errors import (
    ConnectionExistsError,
    NotFoundError,
    RateLimitError,
    RequestTimeout,
    ServerError,
    TransportError,
)
from qtc_connections.retry import NO_RETRY, RetryPolicy
from qtc_connections.secrets import Secret
from qtc_connections.tenant import Tenant

RATE_LIMIT_KEY = "CANARY-rate-limit-key-0c3d"


@pytest.fixture(autouse=True)
def settled_journal(emulator_server: EmulatorServer) -> None:
    """Let the previous test's last request reach the journal before the reset."""
    settled_requests(emulator_server.emulator)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def retrying_client(
    make_client: Callable[..., QlikClient], sleep: RecordingSleep
) -> QlikClient:
    """An admin client whose retry waits are recorded instead of slept."""
    return make_client(retry=RetryPolicy(sleep=sleep, jitter=0.0))


@pytest.fixture
def emulator(tenant: TenantFixture) -> Emulator:
    return tenant.server.emulator


@pytest.fixture
def create_mysql(
    retrying_client: QlikClient, tenant: TenantFixture
) -> Callable[..., Connection]:
    def create(name: str = "SRC_MySQL_01") -> Connection:
        return retrying_client.connections.create(
            name=name,
            data_source_id=MYSQL_SOURCE_ID,
            connection_properties=mysql_properties("CANARY-fault-pw-1", GATEWAY_ID),
            space_id=tenant.space_id(),
        )

    return create


def entries(emulator: Emulator, method: str, path: str) -> list[JournalEntry]:
    return [
        entry
        for entry in settled_requests(emulator)
        if entry.method == method and entry.path == path
    ]


def statuses(emulator: Emulator, method: str, path: str) -> list[int | None]:
    return [entry.status for entry in entries(emulator, method, path)]


def rename(name: str) -> list[dict[str, object]]:
    return [{"op": "replace", "path": "/qName", "value": name}]


# 429


def test_429_retried_after_retry_after(
    retrying_client: QlikClient, emulator: Emulator, sleep: RecordingSleep
) -> None:
    emulator.add_fault(
        FaultRule(
            kind="status", status=429, retry_after=7, path_prefix=SPACES_PATH, count=2
        )
    )

    spaces = list(retrying_client.spaces.list())

    assert len(spaces) == 4
    assert statuses(emulator, "GET", SPACES_PATH) == [429, 429, 200]
    assert sleep.delays == [7.0, 7.0]


def test_429_attempts_are_bounded(
    make_client: Callable[..., QlikClient], emulator: Emulator, sleep: RecordingSleep
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=4, sleep=sleep))
    emulator.add_fault(
        FaultRule(
            kind="status",
            status=429,
            retry_after=2,
            path_prefix=SPACES_PATH,
            count=None,
        )
    )

    with pytest.raises(RateLimitError) as caught:
        list(client.spaces.list())

    assert caught.value.retry_after == 2.0
    assert "wait and run again" in str(caught.value)
    assert statuses(emulator, "GET", SPACES_PATH) == [429, 429, 429, 429]
    assert sleep.delays == [2.0, 2.0, 2.0]


def test_long_retry_after_not_waited(
    make_client: Callable[..., QlikClient], emulator: Emulator, sleep: RecordingSleep
) -> None:
    client = make_client(retry=RetryPolicy(max_retry_after=120.0, sleep=sleep))
    emulator.add_fault(
        FaultRule(kind="status", status=429, retry_after=300, path_prefix=SPACES_PATH)
    )

    with pytest.raises(RateLimitError) as caught:
        list(client.spaces.list())

    assert caught.value.retry_after == 300.0
    assert sleep.delays == []
    assert statuses(emulator, "GET", SPACES_PATH) == [429]


def test_retry_after_at_limit_waited(
    make_client: Callable[..., QlikClient], emulator: Emulator, sleep: RecordingSleep
) -> None:
    client = make_client(retry=RetryPolicy(max_retry_after=120.0, sleep=sleep))
    emulator.add_fault(
        FaultRule(kind="status", status=429, retry_after=120, path_prefix=SPACES_PATH)
    )

    list(client.spaces.list())

    assert sleep.delays == [120.0]
    assert statuses(emulator, "GET", SPACES_PATH) == [429, 200]


def test_429_retried_for_post(
    create_mysql: Callable[..., Connection], emulator: Emulator, sleep: RecordingSleep
) -> None:
    emulator.add_fault(
        FaultRule(kind="status", status=429, retry_after=3, method="POST")
    )

    created = create_mysql()

    assert statuses(emulator, "POST", CONNECTIONS_PATH) == [429, 201]
    assert sleep.delays == [3.0]
    assert [c.connection_id for c in emulator.store.connections()] == [created.id]


def test_429_retried_for_patch(
    create_mysql: Callable[..., Connection],
    retrying_client: QlikClient,
    emulator: Emulator,
) -> None:
    connection = create_mysql()
    emulator.add_fault(FaultRule(kind="status", status=429, method="PATCH"))

    retrying_client.connections.patch(connection.id, rename("Renamed"))

    path = f"{CONNECTIONS_PATH}/{connection.id}"
    assert statuses(emulator, "PATCH", path) == [429, 204]
    assert retrying_client.connections.get(connection.id).name == "Renamed"


# The emulator's own rate limiter, on a tenant of its own: 2 reads in any
# one-second window, so the third read within a second is rejected.


@pytest.fixture(scope="module")
def limited_server() -> Iterator[EmulatorServer]:
    config = EmulatorConfig.default(
        api_key=RATE_LIMIT_KEY,
        rate_limits=RateLimits(read_per_minute=120, window_seconds=1.0),
    )
    with EmulatorServer(config) as server:
        yield server


def test_rate_limit_waits_out_window(limited_server: EmulatorServer) -> None:
    limited_server.emulator.reset()
    waits: list[float] = []

    def real_sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    target = Tenant.parse(limited_server.url)
    auth = ApiKeyAuth(target, Secret(RATE_LIMIT_KEY))
    started = time.monotonic()
    with QlikClient(target, auth, retry=RetryPolicy(sleep=real_sleep)) as client:
        for _ in range(5):
            client.spaces.get(limited_server.config.space("Data Integration").space_id)
    elapsed = time.monotonic() - started

    journal = settled_requests(limited_server.emulator)
    rejected = [entry for entry in journal if entry.status == 429]
    accepted = [entry for entry in journal if entry.status == 200]
    assert len(accepted) == 5
    assert len(rejected) == len(waits)
    assert len(rejected) >= 1
    assert all(wait >= 1.0 for wait in waits)
    assert elapsed >= 1.0


# 5xx


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_retried_for_get(
    status: int,
    retrying_client: QlikClient,
    emulator: Emulator,
    sleep: RecordingSleep,
) -> None:
    emulator.add_fault(
        FaultRule(kind="status", status=status, path_prefix=SPACES_PATH, count=2)
    )

    list(retrying_client.spaces.list())

    assert statuses(emulator, "GET", SPACES_PATH) == [status, status, 200]
    assert sleep.delays == [0.5, 1.0]


def test_503_attempts_are_bounded(
    make_client: Callable[..., QlikClient], emulator: Emulator, sleep: RecordingSleep
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=3, sleep=sleep))
    emulator.add_fault(
        FaultRule(kind="status", status=503, path_prefix=SPACES_PATH, count=None)
    )

    with pytest.raises(ServerError) as caught:
        list(client.spaces.list())

    assert caught.value.status == 503
    assert "try again later" in str(caught.value)
    assert statuses(emulator, "GET", SPACES_PATH) == [503, 503, 503]
    assert len(sleep.delays) == 2


def test_500_not_retried_for_get(
    retrying_client: QlikClient, emulator: Emulator, sleep: RecordingSleep
) -> None:
    emulator.add_fault(FaultRule(kind="status", status=500, path_prefix=SPACES_PATH))

    with pytest.raises(ServerError):
        list(retrying_client.spaces.list())

    assert statuses(emulator, "GET", SPACES_PATH) == [500]
    assert sleep.delays == []


def test_503_not_retried_for_post(
    create_mysql: Callable[..., Connection], emulator: Emulator, sleep: RecordingSleep
) -> None:
    emulator.add_fault(FaultRule(kind="status", status=503, method="POST"))

    with pytest.raises(ServerError) as caught:
        create_mysql()

    assert caught.value.status == 503
    assert statuses(emulator, "POST", CONNECTIONS_PATH) == [503]
    assert sleep.delays == []
    assert emulator.store.connections() == []


def test_503_not_retried_for_patch(
    create_mysql: Callable[..., Connection],
    retrying_client: QlikClient,
    emulator: Emulator,
    sleep: RecordingSleep,
) -> None:
    connection = create_mysql()
    emulator.add_fault(FaultRule(kind="status", status=503, method="PATCH"))

    with pytest.raises(ServerError):
        retrying_client.connections.patch(connection.id, rename("New"))

    path = f"{CONNECTIONS_PATH}/{connection.id}"
    assert statuses(emulator, "PATCH", path) == [503]
    assert sleep.delays == []
    assert retrying_client.connections.get(connection.id).name == "SRC_MySQL_01"


# Dropped connections


def test_drop_retried_for_get(
    retrying_client: QlikClient, emulator: Emulator, sleep: RecordingSleep
) -> None:
    emulator.add_fault(FaultRule(kind="drop", path_prefix=SPACES_PATH))

    spaces = list(retrying_client.spaces.list())

    assert len(spaces) == 4
    assert statuses(emulator, "GET", SPACES_PATH) == [None, 200]
    assert sleep.delays == [0.5]


def test_drop_attempts_are_bounded(
    make_client: Callable[..., QlikClient], emulator: Emulator, sleep: RecordingSleep
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=3, sleep=sleep))
    emulator.add_fault(FaultRule(kind="drop", path_prefix=SPACES_PATH, count=None))

    with pytest.raises(TransportError) as caught:
        list(client.spaces.list())

    assert "could not reach the tenant" in str(caught.value)
    assert caught.value.method == "GET"
    assert statuses(emulator, "GET", SPACES_PATH) == [None, None, None]


def test_drop_not_retried_for_post(
    create_mysql: Callable[..., Connection], emulator: Emulator, sleep: RecordingSleep
) -> None:
    emulator.add_fault(FaultRule(kind="drop", method="POST"))

    with pytest.raises(TransportError) as caught:
        create_mysql()

    assert caught.value.method == "POST"
    assert statuses(emulator, "POST", CONNECTIONS_PATH) == [None]
    assert sleep.delays == []
    assert emulator.store.connections() == []


def test_drop_not_retried_for_patch(
    create_mysql: Callable[..., Connection],
    retrying_client: QlikClient,
    emulator: Emulator,
    sleep: RecordingSleep,
) -> None:
    connection = create_mysql()
    emulator.add_fault(FaultRule(kind="drop", method="PATCH"))

    with pytest.raises(TransportError):
        retrying_client.connections.patch(connection.id, rename("New"))

    path = f"{CONNECTIONS_PATH}/{connection.id}"
    assert statuses(emulator, "PATCH", path) == [None]
    assert sleep.delays == []


def test_lost_create_response_recovered(
    create_mysql: Callable[..., Connection], emulator: Emulator
) -> None:
    emulator.add_fault(FaultRule(kind="drop_after_commit", method="POST"))

    created = create_mysql("SRC_Lost_Response")

    stored = emulator.store.connections()
    assert [record.connection_id for record in stored] == [created.id]
    assert created.name == "SRC_Lost_Response"
    assert len(entries(emulator, "POST", CONNECTIONS_PATH)) == 1


def test_lost_create_looked_up_after(
    create_mysql: Callable[..., Connection], emulator: Emulator
) -> None:
    emulator.add_fault(FaultRule(kind="drop_after_commit", method="POST"))

    create_mysql("SRC_Lost_Response")

    methods = [
        entry.method
        for entry in settled_requests(emulator)
        if entry.path == CONNECTIONS_PATH
    ]
    assert methods == ["GET", "POST", "GET"]


def test_lost_patch_response_raises(
    create_mysql: Callable[..., Connection],
    retrying_client: QlikClient,
    emulator: Emulator,
) -> None:
    connection = create_mysql()
    emulator.add_fault(FaultRule(kind="drop_after_commit", method="PATCH"))

    # The tenant applied the change, but the client cannot know that, and a
    # PATCH is never repeated blindly.
    with pytest.raises(TransportError):
        retrying_client.connections.patch(connection.id, rename("New"))

    path = f"{CONNECTIONS_PATH}/{connection.id}"
    assert len(entries(emulator, "PATCH", path)) == 1
    assert retrying_client.connections.get(connection.id).name == "New"


def test_lost_delete_response_succeeds(
    create_mysql: Callable[..., Connection],
    retrying_client: QlikClient,
    emulator: Emulator,
) -> None:
    connection = create_mysql()
    emulator.add_fault(FaultRule(kind="drop_after_commit", method="DELETE"))

    retrying_client.connections.delete(connection.id)

    assert emulator.store.connections() == []


def test_lost_delete_missing_ok_succeeds(
    create_mysql: Callable[..., Connection],
    retrying_client: QlikClient,
    emulator: Emulator,
) -> None:
    connection = create_mysql()
    emulator.add_fault(FaultRule(kind="drop_after_commit", method="DELETE"))

    retrying_client.connections.delete(connection.id, missing_ok=True)

    path = f"{CONNECTIONS_PATH}/{connection.id}"
    assert statuses(emulator, "DELETE", path) == [204, 404]
    assert emulator.store.connections() == []


# Timeouts. Every latency fault here lets its requests finish before the
# test ends, so that no late request reaches the next test's journal.

LATENCY_SECONDS = 0.6
CLIENT_TIMEOUT_SECONDS = 0.15


@pytest.fixture
def impatient_client(
    make_client: Callable[..., QlikClient], sleep: RecordingSleep
) -> QlikClient:
    return make_client(
        retry=RetryPolicy(max_attempts=2, sleep=sleep), timeout=CLIENT_TIMEOUT_SECONDS
    )


def test_read_timeout_raises_request_timeout(
    impatient_client: QlikClient, emulator: Emulator
) -> None:
    emulator.add_fault(
        FaultRule(
            kind="latency",
            seconds=LATENCY_SECONDS,
            path_prefix=SPACES_PATH,
            count=None,
        )
    )

    with pytest.raises(RequestTimeout) as caught:
        list(impatient_client.spaces.list())

    wait_for_latency_requests(emulator, 2)
    assert isinstance(caught.value, TransportError)
    assert "timed out" in str(caught.value)
    assert caught.value.method == "GET"
    assert len(entries(emulator, "GET", SPACES_PATH)) == 2


def test_read_timeout_retried_for_get(
    impatient_client: QlikClient, emulator: Emulator, sleep: RecordingSleep
) -> None:
    emulator.add_fault(
        FaultRule(kind="latency", seconds=LATENCY_SECONDS, path_prefix=SPACES_PATH)
    )

    spaces = list(impatient_client.spaces.list())

    wait_for_latency_requests(emulator, 1)
    assert len(spaces) == 4
    assert len(entries(emulator, "GET", SPACES_PATH)) == 2
    assert len(sleep.delays) == 1


def test_create_timeout_not_retried(
    make_client: Callable[..., QlikClient],
    tenant: TenantFixture,
    emulator: Emulator,
    sleep: RecordingSleep,
) -> None:
    client = make_client(retry=RetryPolicy(sleep=sleep), timeout=CLIENT_TIMEOUT_SECONDS)
    emulator.add_fault(
        FaultRule(kind="latency", seconds=LATENCY_SECONDS, method="POST")
    )

    def create() -> Connection:
        return client.connections.create(
            name="SRC_Slow",
            data_source_id=MYSQL_SOURCE_ID,
            connection_properties=mysql_properties("CANARY-slow-pw-2", GATEWAY_ID),
            space_id=tenant.space_id(),
        )

    with pytest.raises(RequestTimeout) as caught:
        create()
    wait_for_latency_requests(emulator, 1)
    assert caught.value.method == "POST"
    assert len(entries(emulator, "POST", CONNECTIONS_PATH)) == 1
    assert sleep.delays == []

    # Whether the tenant finished the timed-out create is unknown to the
    # client. Running it again either finds that connection or creates the
    # first one, and never makes a duplicate.
    try:
        create()
    except ConnectionExistsError:
        pass
    assert len(emulator.store.connections()) == 1


def test_not_found_not_retried(
    retrying_client: QlikClient, emulator: Emulator, sleep: RecordingSleep
) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"

    with pytest.raises(NotFoundError):
        retrying_client.connections.get(unknown)

    assert len(entries(emulator, "GET", f"{CONNECTIONS_PATH}/{unknown}")) == 1
    assert sleep.delays == []


def test_refused_connection_retried_for_get(
    tenant: TenantFixture, sleep: RecordingSleep
) -> None:
    # A socket that is bound but not listening rejects every connection, and
    # no other process can take its port while it stays open.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        target = Tenant.parse(f"http://127.0.0.1:{port}")
        auth = ApiKeyAuth(target, Secret(tenant.config.admin.api_keys[0]))
        retry = RetryPolicy(max_attempts=3, sleep=sleep)
        with QlikClient(target, auth, retry=retry) as client:
            with pytest.raises(TransportError) as caught:
                list(client.spaces.list())

    assert not isinstance(caught.value, RequestTimeout)
    assert "could not reach the tenant (ConnectError" in str(caught.value)
    assert len(sleep.delays) == 2


def test_no_retry_policy_sends_once(
    make_client: Callable[..., QlikClient], emulator: Emulator
) -> None:
    client = make_client(retry=NO_RETRY)
    emulator.add_fault(FaultRule(kind="status", status=503, path_prefix=SPACES_PATH))

    with pytest.raises(ServerError):
        list(client.spaces.list())

    assert statuses(emulator, "GET", SPACES_PATH) == [503]
