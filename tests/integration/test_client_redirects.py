"""Redirects and next-page links that point away from the tenant.

The emulator only ever links to its own origin, so these tests serve the
responses from ``httpx.MockTransport``: no real component can produce a
redirect or a next-page link to another host here. No request leaves the
process, and ``loopback_only`` fails the test if one tries.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from qtc_connections.api.connections import CONNECTIONS_PATH
from qtc_connections.auth import ApiKeyAuth, OAuthClientCredentials
from qtc_connections.client import QlikClient
from qtc_connections.errors import ApiError, QtcError, TransportError
from qtc_connections.retry import RetryPolicy
from qtc_connections.secrets import Secret
from qtc_connections.tenant import Tenant

pytestmark = pytest.mark.usefixtures("loopback_only")

# Reserved names (RFC 2606), never resolved: the transport is a mock.
TENANT_URL = "https://tenant.example"
OTHER_HOST = "elsewhere.example"
API_KEY = "CANARY-redirect-api-key-63aa"
CLIENT_SECRET = "CANARY-redirect-client-secret-0f0f"
ACCESS_TOKEN = "CANARY-redirect-access-token-7d7d"
USER_ID = "9UQpdoqqYHNQG0tMm3Lm2JxA"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeTenant:
    """Serves canned responses and records every request it receives."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/oauth/token":
            return httpx.Response(
                200,
                json={
                    "access_token": ACCESS_TOKEN,
                    "token_type": "bearer",
                    "expires_in": 21600,
                },
            )
        return self.handler(request)

    def hosts(self) -> list[str]:
        return [request.url.host for request in self.requests]

    def authorization_by_host(self, host: str) -> list[str | None]:
        return [
            request.headers.get("authorization")
            for request in self.requests
            if request.url.host == host
        ]


def make_client(fake: FakeTenant, *, oauth: bool = False) -> QlikClient:
    target = Tenant.parse(TENANT_URL)
    auth: ApiKeyAuth | OAuthClientCredentials
    if oauth:
        auth = OAuthClientCredentials(target, "m2m-client", Secret(CLIENT_SECRET))
    else:
        auth = ApiKeyAuth(target, Secret(API_KEY))
    return QlikClient(
        target,
        auth,
        retry=RetryPolicy(sleep=lambda seconds: None),
        transport=httpx.MockTransport(fake),
    )


def user_body() -> dict[str, object]:
    return {"id": USER_ID, "name": "Tenant Admin", "assignedRoles": []}


def redirect_to(location: str) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/users/me":
            return httpx.Response(302, headers={"Location": location})
        return httpx.Response(200, json=user_body())

    return handle


def connection(index: int) -> dict[str, object]:
    return {"qID": f"00000000-0000-4000-8000-{index:012d}", "qName": f"C_{index}"}


def paged(next_href: str, *, cursor: str = "CURSOR-2") -> Handler:
    """Serve page one with ``next_href``, and page two at ``?page=cursor``."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == cursor:
            return httpx.Response(200, json={"data": [connection(2)], "links": {}})
        return httpx.Response(
            200,
            json={"data": [connection(1)], "links": {"next": {"href": next_href}}},
        )

    return handle


@pytest.mark.parametrize("oauth", [False, True], ids=["api-key", "oauth"])
def test_redirect_to_other_host_refused(oauth: bool) -> None:
    fake = FakeTenant(redirect_to(f"https://{OTHER_HOST}/api/v1/users/{USER_ID}"))

    with make_client(fake, oauth=oauth) as client:
        with pytest.raises(TransportError) as caught:
            client.users.me()

    assert f"redirect to another host ({OTHER_HOST}) rejected" in str(caught.value)
    assert OTHER_HOST not in fake.hosts()


def test_redirect_scheme_downgrade_refused() -> None:
    fake = FakeTenant(redirect_to(f"http://tenant.example/api/v1/users/{USER_ID}"))

    with make_client(fake) as client:
        with pytest.raises(TransportError):
            client.users.me()

    assert [request.url.scheme for request in fake.requests] == ["https"]


def test_redirect_other_port_refused() -> None:
    fake = FakeTenant(
        redirect_to(f"https://tenant.example:8443/api/v1/users/{USER_ID}")
    )

    with make_client(fake) as client:
        with pytest.raises(TransportError):
            client.users.me()

    assert len(fake.requests) == 1


def test_same_origin_redirect_followed() -> None:
    fake = FakeTenant(redirect_to(f"/api/v1/users/{USER_ID}"))

    with make_client(fake) as client:
        user = client.users.me()

    assert user.id == USER_ID
    assert [request.url.path for request in fake.requests] == [
        "/api/v1/users/me",
        f"/api/v1/users/{USER_ID}",
    ]
    assert fake.authorization_by_host("tenant.example") == [f"Bearer {API_KEY}"] * 2


def test_redirect_loop_is_bounded() -> None:
    fake = FakeTenant(lambda request: httpx.Response(302, headers={"Location": "/a"}))

    with make_client(fake) as client:
        with pytest.raises(TransportError) as caught:
            client.get_json("/api/v1/users/me")

    assert "more than 3 redirects" in str(caught.value)
    assert len(fake.requests) == 4


@pytest.mark.parametrize("oauth", [False, True], ids=["api-key", "oauth"])
def test_next_link_other_host_stays_home(oauth: bool) -> None:
    fake = FakeTenant(
        paged(f"https://{OTHER_HOST}{CONNECTIONS_PATH}?limit=1&page=CURSOR-2")
    )

    with make_client(fake, oauth=oauth) as client:
        names = [c.name for c in client.connections.list(limit=1)]

    api_requests = [r for r in fake.requests if r.url.path == CONNECTIONS_PATH]
    assert names == ["C_1", "C_2"]
    assert set(fake.hosts()) == {"tenant.example"}
    assert api_requests[1].url.params["page"] == "CURSOR-2"


def test_next_link_internal_path_rewritten() -> None:
    # A next link that is not a tenant API URL, here on an internal host and
    # without the /api prefix, keeps only its cursor.
    fake = FakeTenant(
        paged("http://data-connections:8080/v1/data-connections?page=CURSOR-2")
    )

    with make_client(fake) as client:
        names = [c.name for c in client.connections.list(limit=1)]

    second = fake.requests[1]
    assert names == ["C_1", "C_2"]
    assert second.url.host == "tenant.example"
    assert second.url.path == CONNECTIONS_PATH
    assert second.headers["authorization"] == f"Bearer {API_KEY}"


def test_next_link_loop_detected() -> None:
    def same_page(request: httpx.Request) -> httpx.Response:
        href = f"{TENANT_URL}{CONNECTIONS_PATH}?page=SAME"
        return httpx.Response(
            200, json={"data": [connection(1)], "links": {"next": {"href": href}}}
        )

    fake = FakeTenant(same_page)

    with make_client(fake) as client:
        with pytest.raises(QtcError) as caught:
            list(client.connections.list(limit=1))

    # The second page links to itself, so it is not requested again.
    assert "the next-page link repeats" in str(caught.value)
    assert len(fake.requests) == 2


@pytest.mark.parametrize("oauth", [False, True], ids=["api-key", "oauth"])
def test_token_never_sent_elsewhere(oauth: bool) -> None:
    fake = FakeTenant(lambda request: httpx.Response(200, json={}))

    with make_client(fake, oauth=oauth) as client:
        client.request("GET", f"https://{OTHER_HOST}/api/v1/users/me")

    assert fake.authorization_by_host(OTHER_HOST) == [None]
    sent = [json.dumps(dict(request.headers)) for request in fake.requests]
    elsewhere = [
        text
        for text, request in zip(sent, fake.requests, strict=True)
        if request.url.host == OTHER_HOST
    ]
    assert all(API_KEY not in text and ACCESS_TOKEN not in text for text in elsewhere)


def test_oauth_token_fetched_from_tenant() -> None:
    fake = FakeTenant(lambda request: httpx.Response(200, json=user_body()))

    with make_client(fake, oauth=True) as client:
        client.get_json(f"/api/v1/users/{USER_ID}")

    token_request = fake.requests[0]
    assert token_request.url == httpx.URL(f"{TENANT_URL}/oauth/token")
    assert fake.requests[1].headers["authorization"] == f"Bearer {ACCESS_TOKEN}"


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_redirected_write_raises(method: str) -> None:
    # The data-connections spec documents no redirect for a write, so a
    # redirected PATCH or DELETE changed nothing and must not look done.
    location = f"{CONNECTIONS_PATH}/{connection(1)['qID']}"
    fake = FakeTenant(
        lambda request: httpx.Response(307, headers={"Location": location})
    )

    with make_client(fake) as client:
        with pytest.raises(ApiError) as caught:
            client.request(method, location, json=[])

    assert caught.value.status == 307
    assert len(fake.requests) == 1
