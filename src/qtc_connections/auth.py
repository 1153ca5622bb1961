"""Authentication for Qlik Cloud: API keys and OAuth2 client credentials.

Both classes are ``httpx.Auth`` flows bound to one ``Tenant``. They attach
``Authorization: Bearer ...`` only to requests on that tenant's origin, so
a redirect or a pagination link that points at another host never carries
the token.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime

import httpx

from qtc_connections import __version__
from qtc_connections.errors import ApiError, AuthenticationError, ConfigError
from qtc_connections.redact import register_secret
from qtc_connections.secrets import Secret
from qtc_connections.tenant import Tenant

__all__ = ["ApiKeyAuth", "OAuthClientCredentials", "TOKEN_PATH"]

logger = logging.getLogger("qtc_connections.auth")

TOKEN_PATH = "/oauth/token"

USER_AGENT = f"qtc-connections/{__version__}"

# A token is renewed this long before the expiry the server announced, so a
# request never leaves with a token that expires while it is on the way. A
# token that lives less than twice as long is renewed at half its lifetime
# instead, or a token shorter than the margin would be fetched anew for
# every request.
EXPIRY_MARGIN_SECONDS = 60.0

# NOTE: used only when a token response carries neither expires_in nor
# expires_at. Qlik's M2M example returns expires_in 21600 (6 hours); one
# hour is a conservative stand-in.
DEFAULT_TOKEN_LIFETIME_SECONDS = 3600.0


class _TenantBearerAuth(httpx.Auth):
    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant

    def _attach(self, request: httpx.Request, token: str) -> bool:
        if not self.tenant.owns(request.url):
            logger.debug(
                "not sending the token to %s: not the tenant", request.url.host
            )
            return False
        request.headers["Authorization"] = f"Bearer {token}"
        return True


class ApiKeyAuth(_TenantBearerAuth):
    """Send a Qlik Cloud API key as a bearer token.

    Whitespace around the key, such as the newline of a key pasted from a
    file, is removed. It is never part of a key, and h11 (the HTTP/1.1
    layer of httpx) rejects a header value that ends in whitespace, so the
    request would fail before it is sent.
    """

    def __init__(self, tenant: Tenant, api_key: Secret) -> None:
        super().__init__(tenant)
        key = api_key.reveal().strip()
        if not key:
            raise ConfigError("the API key is empty; set QTC_TOKEN to a valid key")
        check_header_safe(key, "the API key")
        self._api_key = Secret(key)

    def auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        self._attach(request, self._api_key.reveal())
        yield request


def check_header_safe(value: str, what: str) -> None:
    """Reject a credential that cannot travel in an HTTP header.

    A line break, control character or non-ASCII character inside it would
    make the HTTP library fail with an error that quotes the value, so the
    check runs first and its message never shows the value.

    Raises:
        ConfigError: ``value`` contains such a character.
    """
    for char in value:
        if not (" " < char <= "~"):
            raise ConfigError(
                f"{what} contains a space, line break, control or non-ASCII "
                "character; check that the whole value, and only it, was copied"
            )


@dataclass
class _CachedToken:
    value: str
    expires_at: float


class OAuthClientCredentials(_TenantBearerAuth):
    """Fetch and cache an access token with the OAuth2 client-credentials grant.

    The token comes from ``POST /oauth/token`` on the tenant and is reused
    until shortly before it expires. When the tenant answers 401 to a
    request made with a cached token, the token is fetched again once and
    the request is repeated.

    Raises (from the request that needed the token):
        AuthenticationError: the tenant rejected the client id or secret.
        ApiError: the token endpoint answered with another error.
    """

    requires_response_body = True

    def __init__(
        self,
        tenant: Tenant,
        client_id: str,
        client_secret: Secret,
        *,
        scope: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(tenant)
        if not client_id.strip():
            raise ConfigError("the OAuth client id is empty; set QTC_CLIENT_ID")
        if not client_secret.reveal():
            raise ConfigError("the OAuth client secret is empty; set QTC_CLIENT_SECRET")
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self._clock = clock
        self._lock = threading.Lock()
        self._token: _CachedToken | None = None

    def auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        token, fresh = self._cached_token()
        if token is None:
            token = yield from self._fetch_token()
            fresh = True
        self._attach(request, token)
        response = yield request

        if response.status_code == 401 and not fresh:
            logger.debug(
                "the tenant rejected a cached access token; fetching a new one"
            )
            self._forget(token)
            token = yield from self._fetch_token()
            self._attach(request, token)
            yield request

    def _cached_token(self) -> tuple[str | None, bool]:
        with self._lock:
            cached = self._token
        if cached is None or self._clock() >= cached.expires_at:
            return None, False
        return cached.value, False

    def _forget(self, token: str) -> None:
        with self._lock:
            if self._token is not None and self._token.value == token:
                self._token = None

    def _fetch_token(self) -> Generator[httpx.Request, httpx.Response, str]:
        body: dict[str, str] = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret.reveal(),
        }
        if self.scope:
            body["scope"] = self.scope
        # Built by hand, so it does not get the client's default headers.
        token_request = httpx.Request(
            "POST",
            f"{self.tenant.base_url}{TOKEN_PATH}",
            json=body,
            headers={"User-Agent": USER_AGENT},
        )
        requested_at = self._clock()
        response = yield token_request

        if response.status_code != 200:
            error = ApiError.from_response(response)
            if isinstance(error, AuthenticationError):
                raise OAuthClientRejected.from_error(error)
            raise error
        token, lifetime = _parse_token_response(response, requested_at)
        register_secret(token)
        with self._lock:
            self._token = _CachedToken(
                value=token,
                expires_at=requested_at + lifetime - _expiry_margin(lifetime),
            )
        logger.debug("fetched an access token valid for %.0f s", lifetime)
        return token


class OAuthClientRejected(AuthenticationError):
    """The tenant rejected the OAuth client id or secret (401 from /oauth/token)."""

    status_hint = (
        "check QTC_CLIENT_ID and QTC_CLIENT_SECRET, and that the client is a "
        "machine-to-machine client of this tenant"
    )

    @classmethod
    def from_error(cls, error: AuthenticationError) -> OAuthClientRejected:
        """Re-type ``error`` as a rejected-client error, keeping its details."""
        return cls(
            status=error.status,
            method=error.method,
            url=error.url,
            errors=error.errors,
            trace_id=error.trace_id,
        )


def _expiry_margin(lifetime: float) -> float:
    return min(EXPIRY_MARGIN_SECONDS, lifetime / 2)


def _parse_token_response(
    response: httpx.Response, requested_at: float
) -> tuple[str, float]:
    try:
        body = response.json()
    except (ValueError, RecursionError) as exc:
        raise ConfigError(
            f"the token endpoint {response.request.url} did not return JSON; "
            "check QTC_HOSTNAME points at a Qlik Cloud tenant"
        ) from exc

    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise ConfigError(
            f"the token endpoint {response.request.url} returned no access_token"
        )
    return token, _token_lifetime(body, requested_at)


def _token_lifetime(body: dict[str, object], requested_at: float) -> float:
    expires_in = body.get("expires_in")
    if isinstance(expires_in, int | float) and expires_in > 0:
        return float(expires_in)

    expires_at = body.get("expires_at")
    if isinstance(expires_at, str):
        try:
            moment = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            remaining = moment.timestamp() - requested_at
            if remaining > 0:
                return remaining
    return DEFAULT_TOKEN_LIFETIME_SECONDS
