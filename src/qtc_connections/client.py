"""The HTTP client for one Qlik Cloud tenant.

``QlikClient`` owns an ``httpx.Client``, the retry policy, error mapping
and pagination. The resource APIs (``client.connections``,
``client.data_sources``, ``client.spaces``, ``client.users``,
``client.tenants``) are thin layers on top of ``request`` and
``paginate``.

No ``httpx`` exception escapes this module: transport failures become
``TransportError`` and error statuses become ``ApiError`` subclasses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

import httpx

from qtc_connections.api.connections import DataConnections
from qtc_connections.api.data_sources import DataSources
from qtc_connections.api.spaces import Spaces
from qtc_connections.api.users import Tenants, Users
from qtc_connections.auth import USER_AGENT
from qtc_connections.errors import (
    ApiError,
    QtcError,
    RateLimitError,
    RequestTimeout,
    TransportError,
)
from qtc_connections.retry import RetryPolicy
from qtc_connections.tenant import Tenant, is_loopback

__all__ = ["DEFAULT_PAGE_SIZE", "DEFAULT_TIMEOUT", "QlikClient"]

logger = logging.getLogger("qtc_connections.http")

DEFAULT_TIMEOUT = 30.0

# The data-connections list accepts 1 to 100; the largest page means the
# fewest read requests against the tier-1 budget of 1,000 a minute.
DEFAULT_PAGE_SIZE = 100

MAX_REDIRECTS = 3

Params = Mapping[str, str | int | bool | None]


class QlikClient:
    """A client for one tenant's REST API.

    Args:
        tenant: where requests go.
        auth: an ``ApiKeyAuth`` or ``OAuthClientCredentials`` for that tenant.
        retry: the retry policy; ``RetryPolicy()`` by default.
        timeout: seconds to wait for connect, read and write.
        transport: an ``httpx`` transport, for tests that need one.
    """

    def __init__(
        self,
        tenant: Tenant,
        auth: httpx.Auth,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.tenant = tenant
        self.retry = retry or RetryPolicy()
        self._http = httpx.Client(
            base_url=tenant.base_url,
            auth=auth,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
        self.connections = DataConnections(self)
        self.data_sources = DataSources(self)
        self.spaces = Spaces(self)
        self.users = Users(self)
        self.tenants = Tenants(self)

    def __enter__(self) -> QlikClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        follow_redirects: bool = False,
        ok_after_repeat: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send one API request, with retries, and return a 2xx response.

        ``path`` is relative to the tenant (``/api/v1/...``). With
        ``follow_redirects``, 301/302/303/307/308 responses are followed, but
        only to the tenant's own origin. A status in ``ok_after_repeat`` is
        returned as a success when it answers a request repeated after a
        lost response, because the lost attempt may have taken effect (a
        DELETE repeated after its response was dropped gets 404).

        Raises:
            ApiError: the tenant answered with a 4xx or 5xx status (after
                retries, where the retry policy allows them), or with a
                redirect that ``follow_redirects`` does not allow.
            TransportError: the tenant could not be reached.
        """
        response = self._send_with_retries(
            method, path, params=params, json=json, ok_after_repeat=ok_after_repeat
        )
        hops = 0
        while follow_redirects and response.is_redirect:
            hops += 1
            if hops > MAX_REDIRECTS:
                raise TransportError(
                    f"more than {MAX_REDIRECTS} redirects", method=method, url=path
                )
            target = self._redirect_target(response)
            response = self._send_with_retries("GET", target, params=None, json=None)

        if response.is_redirect:
            # A PATCH or DELETE that was redirected changed nothing, so
            # returning the response would report a success that did not
            # happen.
            raise ApiError.from_response(response)
        return response

    def get_json(self, path: str, *, params: Params | None = None) -> Any:
        """GET ``path`` and return the decoded JSON body.

        Raises:
            ApiError, TransportError: as ``request``.
            QtcError: the body is not JSON.
        """
        response = self.request("GET", path, params=params, follow_redirects=True)
        return decode_json(response)

    def paginate(
        self,
        path: str,
        *,
        params: Params | None = None,
        item_key: str = "data",
    ) -> Iterator[dict[str, Any]]:
        """Yield the items of a paged list, fetching pages as they are needed.

        Each page's ``links.next.href`` gives the next request; the cursor
        inside it is opaque and is never built here. The caller chooses the
        page size through ``params`` (``limit``); without a limit some
        Qlik lists return everything at once.

        Raises:
            ApiError, TransportError: as ``request``, for any page.
            QtcError: a page is malformed or the links go round in a loop.
        """
        next_path: str | None = path
        next_params: Params | None = params
        seen: set[str] = set()
        while next_path is not None:
            body = decode_json(self.request("GET", next_path, params=next_params))
            items = body.get(item_key) if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise QtcError(
                    f"GET {next_path}: the response has no {item_key!r} list"
                )
            yield from items

            next_href = _next_href(body)
            if next_href is None:
                return
            next_path = self._same_origin_path(next_href, fallback_path=path)
            if next_path in seen:
                raise QtcError(f"GET {path}: the next-page link repeats {next_href}")
            seen.add(next_path)
            next_params = None

    def _send_with_retries(
        self,
        method: str,
        path: str,
        *,
        params: Params | None,
        json: Any,
        ok_after_repeat: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        attempt = 0
        repeated_after_transport_error = False
        while True:
            attempt += 1
            try:
                response = self._send_once(method, path, params=params, json=json)
            except TransportError:
                if attempt < self.retry.max_attempts and (
                    self.retry.should_retry_transport_error(method)
                ):
                    self._wait(method, path, attempt, None, "a transport error")
                    repeated_after_transport_error = True
                    continue
                raise
            except ApiError as token_error:
                # Only the OAuth flow raises ApiError here, when the token
                # request fails, so the API request itself was never sent.
                if self._may_retry(method, attempt, token_error):
                    reason = f"{token_error.status} from the token endpoint"
                    self._wait(method, path, attempt, _retry_after(token_error), reason)
                    continue
                raise

            if response.is_success or response.is_redirect:
                return response
            if (
                repeated_after_transport_error
                and response.status_code in ok_after_repeat
            ):
                # The lost attempt took effect: a repeated DELETE finds nothing.
                logger.debug(
                    "%s %s -> %d after a lost response; the first attempt succeeded",
                    method,
                    path,
                    response.status_code,
                )
                return response
            error = ApiError.from_response(response)
            if self._may_retry(method, attempt, error):
                self._wait(
                    method, path, attempt, _retry_after(error), str(error.status)
                )
                continue
            raise error

    def _may_retry(self, method: str, attempt: int, error: ApiError) -> bool:
        return (
            attempt < self.retry.max_attempts
            and self.retry.should_retry_status(method, error.status)
            and not self.retry.retry_after_too_long(_retry_after(error))
        )

    def _send_once(
        self, method: str, path: str, *, params: Params | None, json: Any
    ) -> httpx.Response:
        query = _clean_params(params)
        started = time.monotonic()
        try:
            response = self._http.request(method, path, params=query, json=json)
        except httpx.TransportError as exc:
            elapsed_ms = (time.monotonic() - started) * 1000
            url = self._url(path)
            logger.debug(
                "%s %s -> %s (%.0f ms)", method, url, type(exc).__name__, elapsed_ms
            )
            if isinstance(exc, httpx.TimeoutException):
                raise RequestTimeout(
                    f"timed out ({type(exc).__name__})", method=method, url=url
                ) from exc
            # A LocalProtocolError quotes the offending header value, which
            # may be a credential, so only its type is shown.
            detail = "" if isinstance(exc, httpx.LocalProtocolError) else f": {exc}"
            raise TransportError(
                f"could not reach the tenant ({type(exc).__name__}{detail}){self._tls_hint(exc)}",
                method=method,
                url=url,
            ) from exc

        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug(
            "%s %s -> %d (%.0f ms)",
            method,
            response.request.url,
            response.status_code,
            elapsed_ms,
        )
        return response

    def _wait(
        self,
        method: str,
        path: str,
        attempt: int,
        retry_after: float | None,
        reason: str,
    ) -> None:
        delay = self.retry.delay(attempt, retry_after)
        logger.debug(
            "retrying %s %s after %s in %.2f s (attempt %d of %d)",
            method,
            path,
            reason,
            delay,
            attempt + 1,
            self.retry.max_attempts,
        )
        self.retry.sleep(delay)

    def _redirect_target(self, response: httpx.Response) -> str:
        location = response.headers.get("location")
        if not location:
            raise TransportError(
                f"{response.status_code} redirect without a Location header",
                method=response.request.method,
                url=str(response.request.url),
            )
        target = response.request.url.join(location)
        if not self.tenant.owns(target):
            raise TransportError(
                f"redirect to another host ({target.host}) rejected; the token is "
                "sent only to the tenant",
                method=response.request.method,
                url=str(response.request.url),
            )
        return _path_and_query(target)

    def _same_origin_path(self, href: str, *, fallback_path: str) -> str:
        target = httpx.URL(self.tenant.base_url).join(href)
        if self.tenant.owns(target) and target.path.startswith("/api/"):
            return _path_and_query(target)
        # NOTE: Qlik's documented examples show self links on internal hosts
        # and without the /api prefix, so a link that is not a tenant API
        # URL keeps only its query (the cursor) on the path first asked for.
        # The token is never sent to the link's host.
        query = target.query.decode()
        base = fallback_path.split("?", 1)[0]
        return f"{base}?{query}" if query else base

    def _tls_hint(self, exc: httpx.TransportError) -> str:
        # A hostname without a scheme means https, but the local emulator
        # serves plain http, and the TLS handshake then fails like this.
        if (
            self.tenant.scheme == "https"
            and is_loopback(self.tenant.host)
            and "WRONG_VERSION_NUMBER" in str(exc)
        ):
            return f"; a local emulator serves plain http: use http://{self.tenant.hostname}"
        return ""

    def _url(self, path: str) -> str:
        return f"{self.tenant.base_url}{path}" if path.startswith("/") else path


def decode_json(response: httpx.Response) -> Any:
    """Return the JSON body of ``response``.

    Raises:
        QtcError: the body is not valid JSON.
    """
    try:
        return response.json()
    except RecursionError as exc:
        raise QtcError(
            f"{response.request.method} {response.request.url}: the response "
            "JSON is nested too deeply to read"
        ) from exc
    except ValueError as exc:
        raise QtcError(
            f"{response.request.method} {response.request.url}: the response "
            f"is not JSON (status {response.status_code})"
        ) from exc


def _clean_params(params: Params | None) -> dict[str, str | int] | None:
    if params is None:
        return None
    cleaned: dict[str, str | int] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            cleaned[key] = "true" if value else "false"
        else:
            cleaned[key] = value
    return cleaned


def _retry_after(error: ApiError) -> float | None:
    return error.retry_after if isinstance(error, RateLimitError) else None


def _next_href(body: Any) -> str | None:
    links = body.get("links") if isinstance(body, dict) else None
    if not isinstance(links, dict):
        return None
    next_link = links.get("next")
    if not isinstance(next_link, dict):
        return None
    href = next_link.get("href")
    return href if isinstance(href, str) and href else None


def _path_and_query(url: httpx.URL) -> str:
    query = url.query.decode()
    return f"{url.path}?{query}" if query else url.path
