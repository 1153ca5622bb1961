"""Turn openapi-core's errors into ``Finding`` records that hold no secrets.

jsonschema messages start with the offending value, such as ``'s3cr3t' is
not of type 'integer'``. A request body may contain passwords, and a token
response contains an access token. So every string, object or array value
at the start of a message is replaced by its JSON type ("a string"). Numbers,
booleans and null are kept. The result also passes through
``qtc_connections.redact`` in case a registered secret appears elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError as SchemaError
from openapi_core.casting.schemas.exceptions import CastError
from openapi_core.deserializing.exceptions import DeserializeError
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.templating.paths.exceptions import (
    OperationNotFound,
    PathError,
    PathNotFound,
)
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.exceptions import ValidationError as OpenApiError
from openapi_core.validation.request.exceptions import (
    MissingRequiredParameter,
    MissingRequiredRequestBody,
    ParameterValidationError,
)
from openapi_core.validation.response.exceptions import (
    InvalidHeader,
    MissingData,
    MissingRequiredHeader,
)
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue

from qtc_connections.redact import redact

REQUEST = "request"
RESPONSE = "response"

# The ``keyword`` of a member that no schema declares (see ``fields``).
UNDOCUMENTED = "undocumented"


@dataclass(frozen=True)
class Finding:
    """One way in which a request or a response departs from its spec.

    ``side`` is ``request`` or ``response``. ``part`` is the part of the
    message at fault: ``operation``, ``status``, ``media type``, ``query``,
    ``path``, ``header`` or ``body``. ``location`` names the parameter or
    header, or is the JSON pointer of the value in the body (``""`` for the
    whole body). ``keyword`` is the failing JSON Schema keyword (``type``,
    ``required``, ...), ``undocumented``, or the name of the openapi-core
    error class.
    """

    side: str
    part: str
    location: str
    keyword: str
    message: str

    def describe(self) -> str:
        """Return a one-line description, such as ``response body /qLogOn: ...``.

        Registered secrets are redacted, because a location contains member
        names taken from the message.
        """
        where = f"{self.side} {self.part}"
        if self.location:
            where += f" {self.location}"
        return redact(f"{where}: {self.message}")


def describe_value(value: Any) -> str:
    """Return ``value`` itself for a number, boolean or null, else its JSON type."""
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return repr(value)


def mask_value(message: str, value: Any) -> str:
    """Replace ``value`` in a jsonschema ``message`` by ``describe_value(value)``."""
    value_repr = repr(value)
    if message.startswith(value_repr):
        message = describe_value(value) + message[len(value_repr) :]
    if isinstance(value, str) and len(value) >= 4 and value_repr in message:
        message = message.replace(value_repr, describe_value(value))
    return redact(message)


def schema_message(error: SchemaError) -> str:
    """Return the masked message of a jsonschema error.

    For ``oneOf`` and ``anyOf`` the message names each branch and the first
    reason it failed, such as ``... (DcaasConnectionCreate: 'datasourceID'
    is a required property)``. When a ``oneOf`` value matches several
    branches, the message lists every branch of the ``oneOf``.
    """
    if error.validator in ("oneOf", "anyOf"):
        return _composition_message(error)
    return mask_value(error.message, error.instance)


def _composition_message(error: SchemaError) -> str:
    branches = error.validator_value if isinstance(error.validator_value, list) else []
    names = [_branch_name(branch, index) for index, branch in enumerate(branches)]
    value = describe_value(error.instance)
    if not error.context:
        # jsonschema attaches no branch errors when several branches match.
        listed = ", ".join(names)
        return f"{value} is valid under more than one branch of {listed}"

    reasons: dict[int, str] = {}
    for sub_error in error.context:
        index = sub_error.relative_schema_path[0]
        if isinstance(index, int) and index not in reasons:
            reasons[index] = schema_message(sub_error)
    failed = "; ".join(
        f"{_name_at(names, index)}: {reasons[index]}" for index in sorted(reasons)
    )
    return f"{value} is not valid under any of the given schemas ({failed})"


def _name_at(names: list[str], index: int) -> str:
    return names[index] if index < len(names) else f"branch {index}"


def _branch_name(branch: Any, index: int) -> str:
    if isinstance(branch, dict) and isinstance(branch.get("$ref"), str):
        return str(branch["$ref"]).rsplit("/", 1)[-1]
    if isinstance(branch, dict) and isinstance(branch.get("type"), str):
        return f"branch {index} ({branch['type']})"
    return f"branch {index}"


def pointer_of(error: SchemaError) -> str:
    """Return the JSON pointer of the value a jsonschema error is about."""
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in error.path]
    return "".join(f"/{part}" for part in parts)


def request_findings(
    errors: Iterable[Exception], method: str, path: str
) -> list[Finding]:
    """Convert openapi-core request validation errors into findings."""
    found: list[Finding] = []
    for error in errors:
        found.extend(_request_error_findings(error, method, path))
    return found


def _request_error_findings(
    error: Exception, method: str, path: str
) -> Iterator[Finding]:
    if isinstance(error, PathError):
        yield Finding(
            REQUEST,
            "operation",
            "",
            type(error).__name__,
            _path_message(error, method, path),
        )
    elif isinstance(error, MissingRequiredParameter):
        message = f"{error.name} is required"
        yield Finding(REQUEST, error.location, error.name, "required", message)
    elif isinstance(error, ParameterValidationError):
        yield from _cause_findings(REQUEST, error.location, error.name, error)
    elif isinstance(error, MissingRequiredRequestBody):
        yield Finding(REQUEST, "body", "", "required", "the request body is required")
    else:
        yield from _cause_findings(REQUEST, "body", "", error)


def _path_message(error: PathError, method: str, path: str) -> str:
    if isinstance(error, PathNotFound):
        return f"no path of the spec matches {path}"
    if isinstance(error, OperationNotFound):
        return f"the spec has no {method} operation on {path}"
    return f"no server of the spec matches the request for {path}"


def response_findings(errors: Iterable[Exception]) -> list[Finding]:
    """Convert openapi-core response validation errors into findings."""
    found: list[Finding] = []
    for error in errors:
        found.extend(_response_error_findings(error))
    return found


def _response_error_findings(error: Exception) -> Iterator[Finding]:
    if isinstance(error, ResponseNotFound):
        listed = ", ".join(str(status) for status in error.availableresponses)
        yield Finding(
            RESPONSE,
            "status",
            "",
            "ResponseNotFound",
            f"status {error.http_status} is not documented; the spec lists {listed}",
        )
    elif isinstance(error, MissingRequiredHeader):
        yield Finding(
            RESPONSE, "header", error.name, "required", f"{error.name} is required"
        )
    elif isinstance(error, InvalidHeader):
        yield from _cause_findings(RESPONSE, "header", error.name, error)
    else:
        yield from _cause_findings(RESPONSE, "body", "", error)


def _cause_findings(
    side: str, part: str, name: str, error: Exception
) -> Iterator[Finding]:
    """Describe ``error`` by the most specific cause in its chain."""
    cause = _innermost(error)
    if isinstance(cause, InvalidSchemaValue):
        for schema_error in cause.schema_errors:
            if not isinstance(schema_error, SchemaError):
                message = type(schema_error).__name__
                yield Finding(side, part, name, message, message)
                continue
            location = pointer_of(schema_error) if part == "body" else name
            yield Finding(
                side,
                part,
                location,
                str(schema_error.validator),
                schema_message(schema_error),
            )
    elif isinstance(cause, CastError):
        message = f"{describe_value(cause.value)} cannot be cast to {cause.type}"
        yield Finding(side, part, name, "CastError", message)
    elif isinstance(cause, MediaTypeNotFound):
        listed = ", ".join(cause.availableMimetypes)
        message = (
            f"media type {cause.mimetype!r} is not documented; the spec lists {listed}"
        )
        yield Finding(side, "media type", "", "MediaTypeNotFound", message)
    elif isinstance(cause, MissingData):
        message = "the body is empty, but the spec documents content"
        yield Finding(side, "body", "", "MissingData", message)
    elif isinstance(cause, DeserializeError):
        message = "the body cannot be parsed as its media type"
        yield Finding(side, part, name, "DeserializeError", message)
    else:
        # Other errors are named by class only: their text may quote values.
        yield Finding(side, part, name, type(cause).__name__, type(cause).__name__)


def _innermost(error: BaseException) -> BaseException:
    """Follow ``__cause__`` from an openapi-core wrapper to the original error."""
    current = error
    while isinstance(current, OpenApiError) and current.__cause__ is not None:
        current = current.__cause__
    return current
