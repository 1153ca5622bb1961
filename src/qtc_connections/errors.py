"""Exceptions raised by qtc-connections.

Every exception derives from ``QtcError``, so a caller can catch one class.
The tree separates problems found before anything is sent from problems
reported by, or on the way to, the tenant::

    QtcError
    ├── ConfigError              settings, hostname, token or profile invalid
    ├── InputError               a value given by the user is invalid
    │   ├── ValidationError      properties fail the data source's api-specs
    │   │   └── ManifestError    manifest files are invalid
    │   ├── PatchRuleError       a PATCH body breaks a documented update rule
    │   ├── SecretReferenceError a secret is not a reference, or cannot be read
    │   └── KeyFileError         a key file is unreadable or malformed
    ├── ResolutionError          a name matches no resource, or several
    ├── ConnectionExistsError    a create found the name already taken
    ├── TransportError           the tenant could not be reached
    │   └── RequestTimeout       the tenant did not answer in time
    └── ApiError                 the tenant answered with an error status
        ├── BadRequestError      400
        ├── AuthenticationError  401
        ├── PermissionDeniedError 403
        ├── NotFoundError        404
        ├── ConflictError        409
        ├── RateLimitError       429
        └── ServerError          5xx

``ApiError.from_response`` is the one place that maps a status to a class.
Messages pass through ``qtc_connections.redact`` so that no registered
secret value can reach a terminal or a log through an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from qtc_connections.redact import redact

__all__ = [
    "ApiError",
    "ApiErrorItem",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "ConnectionExistsError",
    "InputError",
    "KeyFileError",
    "ManifestError",
    "NotFoundError",
    "PatchRuleError",
    "PermissionDeniedError",
    "QtcError",
    "RateLimitError",
    "RequestTimeout",
    "ResolutionError",
    "SecretReferenceError",
    "ServerError",
    "TransportError",
    "ValidationError",
]


class QtcError(Exception):
    """Base class of every error raised by qtc-connections."""

    def __str__(self) -> str:
        return redact(super().__str__())


class ConfigError(QtcError):
    """Settings are missing or invalid; nothing was sent."""


class InputError(QtcError):
    """A value given by the user is invalid; nothing was sent."""


class ValidationError(InputError):
    """Connection properties fail validation; carries every problem found.

    ``problems`` contains one line per problem, each naming the property, the
    value where it is safe to show, and the fix.
    """

    def __init__(self, subject: str, problems: list[str]) -> None:
        self.subject = subject
        self.problems = list(problems)
        super().__init__(self._build_message())

    def _build_message(self) -> str:
        if len(self.problems) == 1:
            return f"{self.subject}: {self.problems[0]}"
        lines = [f"{self.subject}: {len(self.problems)} problems"]
        lines.extend(f"  - {problem}" for problem in self.problems)
        return "\n".join(lines)


class ManifestError(ValidationError):
    """Manifest files are invalid; each problem starts with its file and line."""


class PatchRuleError(InputError):
    """A PATCH body breaks one of the documented connection update rules."""


class SecretReferenceError(InputError):
    """A secret was given as a literal, or its reference cannot be resolved."""


class KeyFileError(InputError):
    """A key file is unreadable or is not the expected kind of key."""


class ResolutionError(QtcError):
    """A name matched no resource, or more than one."""


class ConnectionExistsError(QtcError):
    """A connection with the requested name already exists in the space.

    Raised before any create is sent. ``connection_id`` is the existing id.
    """

    def __init__(self, name: str, space_id: str | None, connection_id: str) -> None:
        self.name = name
        self.space_id = space_id
        self.connection_id = connection_id
        where = f"space {space_id}" if space_id else "the personal space"
        super().__init__(
            f"connection {name!r} already exists in {where} (id {connection_id}); "
            "use 'qtc connections patch' to change it, or choose another name"
        )


class TransportError(QtcError):
    """The tenant could not be reached, or the connection dropped."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        self.method = method
        self.url = url
        super().__init__(f"{message}, on {method} {url}")


class RequestTimeout(TransportError):
    """The tenant did not respond within the timeout."""


@dataclass(frozen=True)
class ApiErrorItem:
    """One entry of the ``errors`` array in a Qlik error body."""

    code: str | None
    title: str | None
    detail: str | None


class ApiError(QtcError):
    """The tenant returned an HTTP error status.

    Attributes carry what the server said (``errors``, parsed from the
    ``{"errors": [...]}`` body), what was asked (``method``, ``url``) and
    ``trace_id`` when the server sent one.
    """

    status_hint: ClassVar[str] = ""

    def __init__(
        self,
        *,
        status: int,
        method: str,
        url: str,
        errors: list[ApiErrorItem],
        trace_id: str | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.url = url
        self.errors = errors
        self.trace_id = trace_id
        super().__init__(self._build_message())

    @property
    def code(self) -> str | None:
        """Code of the first error item, such as ``DCERROR-0010``."""
        return self.errors[0].code if self.errors else None

    @property
    def title(self) -> str | None:
        """Title of the first error item."""
        return self.errors[0].title if self.errors else None

    @property
    def detail(self) -> str | None:
        """Detail of the first error item."""
        return self.errors[0].detail if self.errors else None

    def _build_message(self) -> str:
        reason = httpx.codes.get_reason_phrase(self.status) or "Error"
        parts = [f"{self.status} {reason} on {self.method} {self.url}"]
        for item in self.errors:
            said = ": ".join(p for p in (item.code, item.title, item.detail) if p)
            if said:
                parts.append(said)
        if self.trace_id:
            parts.append(f"trace id {self.trace_id}")
        if self.status_hint:
            parts.append(self.status_hint)
        return "; ".join(parts)

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        """Build the error class that matches ``response.status_code``.

        The body is parsed leniently: the data-connections, data-sources,
        spaces, users and oauth APIs each shape ``errors[]`` a little
        differently, and a proxy may answer with HTML.
        """
        status = response.status_code
        error_class = _class_for_status(status)
        errors, trace_id = _parse_error_body(response)
        request = response.request
        kwargs: dict[str, Any] = {
            "status": status,
            "method": request.method,
            "url": str(request.url),
            "errors": errors,
            "trace_id": trace_id,
        }
        if error_class is RateLimitError:
            kwargs["retry_after"] = parse_retry_after(response.headers)
        return error_class(**kwargs)


class BadRequestError(ApiError):
    """The tenant rejected the request as invalid (400)."""

    status_hint = "fix the request as the detail says; nothing was changed"


class AuthenticationError(ApiError):
    """The tenant did not accept the credentials (401)."""

    status_hint = (
        "check QTC_TOKEN (an API key) or the OAuth client id and secret, "
        "and that they belong to this tenant"
    )


class PermissionDeniedError(ApiError):
    """The identity is known but lacks a permission (403)."""

    status_hint = (
        "ask a tenant admin for the role this needs, such as Can manage on the space"
    )


class NotFoundError(ApiError):
    """The resource does not exist or is not visible to this identity (404)."""

    status_hint = "check the id or name, and that this identity can see the space"


class ConflictError(ApiError):
    """The request conflicts with existing state, such as a duplicate name (409)."""

    status_hint = "a connection with that name may already exist in the space"


class RateLimitError(ApiError):
    """The tenant's rate limit was reached and retries ran out (429).

    ``retry_after`` is the wait in seconds that the server asked for, or
    ``None`` when it sent no usable ``Retry-After`` header.
    """

    status_hint = "wait and run again, or lower the request rate"

    def __init__(self, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(**kwargs)


class ServerError(ApiError):
    """The tenant failed to handle the request (5xx)."""

    status_hint = "the service failed; try again later, and quote the trace id"


_STATUS_CLASSES: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def _class_for_status(status: int) -> type[ApiError]:
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if status >= 500:
        return ServerError
    return ApiError


def _parse_error_body(
    response: httpx.Response,
) -> tuple[list[ApiErrorItem], str | None]:
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return [], None
    if not isinstance(body, dict):
        return [], None

    raw_items = body.get("errors")
    items: list[ApiErrorItem] = []
    if isinstance(raw_items, list):
        for raw in raw_items:
            if isinstance(raw, dict):
                items.append(
                    ApiErrorItem(
                        code=_optional_str(raw.get("code")),
                        title=_optional_str(raw.get("title")),
                        detail=_optional_str(raw.get("detail")),
                    )
                )
    elif "code" in body or "title" in body:
        # Deprecated top-level shape, still declared by the spaces spec.
        items.append(
            ApiErrorItem(
                code=_optional_str(body.get("code")),
                title=_optional_str(body.get("title")),
                detail=_optional_str(body.get("detail")),
            )
        )
    trace_id = _optional_str(body.get("traceId"))
    return items, trace_id


def _optional_str(value: object) -> str | None:
    if value is None:
        return None
    return str(value)


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Return the ``Retry-After`` delay in seconds, or ``None`` if absent.

    Qlik documents the delay-seconds form. The HTTP-date form is accepted
    too because proxies in front of a tenant may send it.
    """
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        return _seconds_until_http_date(value)
    if seconds < 0 or seconds != seconds:
        return None
    return seconds


def _seconds_until_http_date(value: str) -> float | None:
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
