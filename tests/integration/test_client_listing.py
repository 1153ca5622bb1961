"""Listing, paging, SCIM filter and sort, and lookups by name, over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import parse_qs

import pytest
from client_support import (
    GATEWAY_ID,
    MYSQL_SOURCE_ID,
    TenantFixture,
    mysql_properties,
    reset_journal,
    settled_requests,
)

from qtc_connections.api.connections import CONNECTIONS_PATH
from qtc_connections.auth import ApiKeyAuth
from qtc_connections.client import QlikClient
from qtc_connections.emulator import (
    EmulatorConfig,
    EmulatorServer,
    FaultRule,
    RateLimits,
)
from qtc_connections.emulator.journal import JournalEntry
from qtc_connections.errors import BadRequestError, InputError, ResolutionError
from qtc_connections.retry import RetryPolicy
from qtc_connections.secrets import Secret
from qtc_connections.tenant import Tenant

PAGING_KEY = "CANARY-paging-admin-key-51c0"
CONNECTION_COUNT = 250
PAGE_SIZE = 100


def create_raw(client: QlikClient, name: str, space_id: str | None) -> str:
    """Create a MySQL source with one POST, skipping the library's name check."""
    body: dict[str, object] = {
        "qName": name,
        "datasourceID": MYSQL_SOURCE_ID,
        "connectionProperties": mysql_properties("CANARY-list-password", GATEWAY_ID),
    }
    if space_id is not None:
        body["space"] = space_id
    response = client.request("POST", CONNECTIONS_PATH, json=body)
    connection_id: str = response.json()["id"]
    return connection_id


@pytest.fixture(autouse=True)
def settled_journal(emulator_server: EmulatorServer) -> None:
    """Let the previous test's last request reach the journal before the reset."""
    settled_requests(emulator_server.emulator)


def list_requests(entries: list[JournalEntry]) -> list[JournalEntry]:
    return [
        entry
        for entry in entries
        if entry.method == "GET" and entry.path == CONNECTIONS_PATH
    ]


def query_of(entry: JournalEntry) -> dict[str, list[str]]:
    return parse_qs(entry.query)


# A tenant of its own, because 250 creates exceed the default write limit of
# 100 a minute, and one seeding serves every paging test.


@pytest.fixture(scope="module")
def paging_server() -> Iterator[EmulatorServer]:
    config = EmulatorConfig.default(
        api_key=PAGING_KEY,
        rate_limits=RateLimits(read_per_minute=100_000, write_per_minute=100_000),
    )
    with EmulatorServer(config) as server:
        yield server


@pytest.fixture(scope="module")
def seeded_ids(paging_server: EmulatorServer) -> list[str]:
    client = paging_client_for(paging_server)
    space_id = paging_server.config.space("Data Integration").space_id
    with client:
        return [
            create_raw(client, f"PAGE_{index:03d}", space_id)
            for index in range(CONNECTION_COUNT)
        ]


def paging_client_for(server: EmulatorServer) -> QlikClient:
    target = Tenant.parse(server.url)
    auth = ApiKeyAuth(target, Secret(PAGING_KEY))
    return QlikClient(target, auth, retry=RetryPolicy(sleep=lambda seconds: None))


@pytest.fixture
def paging_client(
    paging_server: EmulatorServer, seeded_ids: list[str]
) -> Iterator[QlikClient]:
    reset_journal(paging_server.emulator)
    with paging_client_for(paging_server) as client:
        yield client


def test_list_yields_every_connection_once(
    paging_client: QlikClient, seeded_ids: list[str]
) -> None:
    ids = [connection.id for connection in paging_client.connections.list(limit=100)]

    assert len(ids) == CONNECTION_COUNT
    assert len(set(ids)) == CONNECTION_COUNT
    assert set(ids) == set(seeded_ids)


def test_list_makes_three_page_requests(
    paging_client: QlikClient, paging_server: EmulatorServer
) -> None:
    list(paging_client.connections.list(limit=PAGE_SIZE))

    pages = list_requests(settled_requests(paging_server.emulator))
    assert len(pages) == 3
    assert all(entry.status == 200 for entry in pages)
    assert len(settled_requests(paging_server.emulator)) == 3


def test_list_fetches_pages_lazily(
    paging_client: QlikClient, paging_server: EmulatorServer
) -> None:
    def page_count() -> int:
        return len(list_requests(settled_requests(paging_server.emulator)))

    iterator = paging_client.connections.list(limit=PAGE_SIZE)
    assert page_count() == 0

    next(iterator)
    assert page_count() == 1

    for _ in range(PAGE_SIZE - 1):
        next(iterator)
    assert page_count() == 1

    next(iterator)
    assert page_count() == 2

    remaining = sum(1 for _ in iterator)
    assert remaining == CONNECTION_COUNT - PAGE_SIZE - 1
    assert page_count() == 3


def test_list_follows_cursor_links(
    paging_client: QlikClient, paging_server: EmulatorServer
) -> None:
    space_id = paging_server.config.space("Data Integration").space_id
    list(paging_client.connections.list(space_id=space_id, limit=PAGE_SIZE))

    first, second, third = (
        query_of(entry)
        for entry in list_requests(settled_requests(paging_server.emulator))
    )
    assert "page" not in first
    assert "page" in second
    assert "page" in third
    assert second["page"] != third["page"]
    for query in (first, second, third):
        assert query["limit"] == ["100"]
        assert query["spaceId"] == [space_id]


def test_list_sends_default_page_size(
    paging_client: QlikClient, paging_server: EmulatorServer
) -> None:
    count = sum(1 for _ in paging_client.connections.list())

    pages = list_requests(settled_requests(paging_server.emulator))
    assert count == CONNECTION_COUNT
    assert query_of(pages[0])["limit"] == ["100"]
    assert len(pages) == 3


@pytest.mark.parametrize(
    "rule",
    [
        FaultRule(
            kind="status", status=429, retry_after=1, path_prefix=CONNECTIONS_PATH
        ),
        FaultRule(kind="status", status=503, path_prefix=CONNECTIONS_PATH),
        FaultRule(kind="drop", path_prefix=CONNECTIONS_PATH),
    ],
    ids=["429", "503", "drop"],
)
def test_failed_page_retried_mid_list(
    rule: FaultRule, paging_client: QlikClient, paging_server: EmulatorServer
) -> None:
    iterator = paging_client.connections.list(limit=PAGE_SIZE)
    ids = [next(iterator).id for _ in range(PAGE_SIZE)]

    # The fault hits the second page only, because pages are fetched lazily.
    paging_server.emulator.add_fault(rule)
    ids.extend(connection.id for connection in iterator)

    pages = list_requests(settled_requests(paging_server.emulator))
    assert len(ids) == CONNECTION_COUNT
    assert len(set(ids)) == CONNECTION_COUNT
    assert len(pages) == 4
    assert pages[1].fault == rule.kind
    assert pages[1].query == pages[2].query


def test_list_limit_above_maximum_rejected(
    paging_client: QlikClient, paging_server: EmulatorServer
) -> None:
    paging_server.emulator.reset()

    with pytest.raises(InputError) as caught:
        paging_client.connections.list(limit=101)

    assert "page size 101 is invalid" in str(caught.value)
    assert paging_server.emulator.requests() == []


# Filter and sort on the shared tenant.


@pytest.fixture
def named(
    client: QlikClient, tenant: TenantFixture
) -> Callable[[str, str | None], str]:
    def create(name: str, space: str | None = "Data Integration") -> str:
        space_id = tenant.space_id(space) if space else None
        return create_raw(client, name, space_id)

    return create


def test_scim_filter_passed_through(
    client: QlikClient,
    tenant: TenantFixture,
    named: Callable[[str, str | None], str],
) -> None:
    for name in ("TGT_Alpha", "TGT_Beta", "SRC_Gamma"):
        named(name, "Data Integration")
    reset_journal(tenant.server.emulator)

    scim = 'qName sw "TGT_"'
    names = sorted(c.name for c in client.connections.list(filter=scim))

    (request,) = list_requests(settled_requests(tenant.server.emulator))
    assert names == ["TGT_Alpha", "TGT_Beta"]
    assert query_of(request)["filter"] == [scim]


def test_sort_passed_through(
    client: QlikClient,
    tenant: TenantFixture,
    named: Callable[[str, str | None], str],
) -> None:
    for name in ("B_conn", "C_conn", "A_conn"):
        named(name, "Data Integration")
    reset_journal(tenant.server.emulator)

    descending = [c.name for c in client.connections.list(sort="-qName")]
    ascending = [c.name for c in client.connections.list(sort="+qName")]

    first, second = list_requests(settled_requests(tenant.server.emulator))
    assert descending == ["C_conn", "B_conn", "A_conn"]
    assert ascending == ["A_conn", "B_conn", "C_conn"]
    assert query_of(first)["sort"] == ["-qName"]
    assert query_of(second)["sort"] == ["+qName"]


def test_filter_and_sort_across_pages(
    client: QlikClient,
    tenant: TenantFixture,
    named: Callable[[str, str | None], str],
) -> None:
    for name in ("TGT_3", "SRC_1", "TGT_1", "TGT_2", "SRC_2"):
        named(name, "Data Integration")
    reset_journal(tenant.server.emulator)

    names = [
        c.name
        for c in client.connections.list(
            filter='qName sw "TGT_"', sort="+qName", limit=2
        )
    ]

    pages = list_requests(settled_requests(tenant.server.emulator))
    assert names == ["TGT_1", "TGT_2", "TGT_3"]
    assert len(pages) == 2
    for page in pages:
        assert query_of(page)["filter"] == ['qName sw "TGT_"']
        assert query_of(page)["sort"] == ["+qName"]


def test_invalid_filter_raises_bad_request(client: QlikClient) -> None:
    with pytest.raises(BadRequestError) as caught:
        list(client.connections.list(filter='qName eq "unclosed'))

    assert caught.value.status == 400
    assert "filter" in str(caught.value)


# Lookups by name.


def test_get_by_name_within_space(
    client: QlikClient,
    tenant: TenantFixture,
    named: Callable[[str, str | None], str],
) -> None:
    in_integration = named("Shared_Name", "Data Integration")
    in_finance = named("Shared_Name", "Finance Data")

    integration = client.connections.get_by_name(
        "Shared_Name", space_id=tenant.space_id("Data Integration")
    )
    finance = client.connections.get_by_name(
        "Shared_Name", space_id=tenant.space_id("Finance Data")
    )

    assert integration.id == in_integration
    assert finance.id == in_finance


def test_get_by_name_parses_connection(
    client: QlikClient,
    tenant: TenantFixture,
    named: Callable[[str, str | None], str],
) -> None:
    connection_id = named("Parsed_Name", "Data Integration")

    found = client.connections.get_by_name(
        "Parsed_Name",
        space_id=tenant.space_id("Data Integration"),
        parse_connection=True,
    )

    assert found.id == connection_id
    assert found.connection_properties is not None
    assert found.connection_properties["server"] == "mysql.example.internal"
    assert "password" not in found.connection_properties


def test_ambiguous_name_without_space(
    client: QlikClient, named: Callable[[str, str | None], str]
) -> None:
    first = named("Twice_Named", "Data Integration")
    second = named("Twice_Named", "Finance Data")

    with pytest.raises(ResolutionError) as caught:
        client.connections.get_by_name("Twice_Named", space_id=None)

    message = str(caught.value)
    assert "2 connections are named 'Twice_Named'" in message
    assert first in message
    assert second in message
    assert "give a space" in message


def test_get_by_name_not_found(client: QlikClient, tenant: TenantFixture) -> None:
    with pytest.raises(ResolutionError) as caught:
        client.connections.get_by_name("No_Such_Connection", space_id=tenant.space_id())

    assert "no connection named 'No_Such_Connection'" in str(caught.value)


def test_get_by_name_is_exact(
    client: QlikClient,
    tenant: TenantFixture,
    named: Callable[[str, str | None], str],
) -> None:
    named("Prefix_Name_Longer", "Data Integration")
    named("prefix_name", "Data Integration")

    with pytest.raises(ResolutionError):
        client.connections.get_by_name("Prefix_Name", space_id=tenant.space_id())


@pytest.mark.parametrize(
    "name",
    [
        'with "quotes"',
        "back\\slash",
        "slash/in/name",
        "semi;colon & ampersand",
        "Ventes_été",
        "データ接続",
    ],
    ids=["quotes", "backslash", "slash", "punctuation", "accents", "japanese"],
)
def test_get_by_name_odd_characters(
    name: str,
    client: QlikClient,
    tenant: TenantFixture,
    named: Callable[[str, str | None], str],
) -> None:
    connection_id = named(name, "Data Integration")

    found = client.connections.get_by_name(name, space_id=tenant.space_id())

    assert found.id == connection_id
    assert found.name == name
