"""PATCH bodies for data connections, and the update rules checked locally.

A PATCH body is a JSON array of ``{"op", "path", "value"}`` operations on
JSON Pointer paths such as ``/qName`` or ``/connectionProperties/password``.
The tenant responds with 400 to a body that breaks one of its documented
update rules. ``check_patch_rules`` enforces the same rules before sending,
with a message that names the rule and the fix:

1. A body may not change ``/qConnectStatement`` and
   ``/connectionProperties/...`` together.
2. A body that changes ``/qConnectStatement`` must also carry credentials.
3. A body that changes the ``host``, ``server`` or ``url`` connection
   property to a new value must also carry credentials.
4. Credentials may come as ``/qPassword`` or as a connection property, not
   both.

Credentials are ``/qPassword`` or any secret or file connection property.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from qtc_connections.errors import PatchRuleError
from qtc_connections.keyfiles import KeyFile
from qtc_connections.properties import redact_value, reveal_value
from qtc_connections.secrets import Secret

__all__ = [
    "ADDRESS_PROPERTIES",
    "CONNECTION_PROPERTIES_PATH",
    "CONNECT_STATEMENT_PATH",
    "PASSWORD_PATH",
    "PatchOperation",
    "build_patch",
    "check_patch_rules",
    "patch_body",
    "property_path",
]

PatchOp = Literal["add", "replace", "remove"]

CONNECTION_PROPERTIES_PATH = "/connectionProperties"
CONNECT_STATEMENT_PATH = "/qConnectStatement"
PASSWORD_PATH = "/qPassword"
NAME_PATH = "/qName"
TAGS_PATH = "/tags"

# Connection properties whose change moves the connection to another system,
# so the tenant requires credentials in the same request.
ADDRESS_PROPERTIES = ("host", "server", "url")

_OPS = ("add", "replace", "remove")


@dataclass(frozen=True)
class PatchOperation:
    """One operation of a PATCH body.

    ``value`` may be a ``Secret`` or a ``KeyFile``. It stays wrapped, so that
    ``repr`` shows ``(sensitive)``, until ``to_json`` reveals it.

    Raises:
        PatchRuleError: ``op`` is not ``add``, ``replace`` or ``remove``, the
            path does not start with ``/``, or an ``add`` or ``replace`` has
            no value.
    """

    op: PatchOp
    path: str
    value: object = None

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise PatchRuleError(
                f"PATCH operation {self.op!r} is not one of add, replace, remove"
            )
        if not self.path.startswith("/"):
            raise PatchRuleError(
                f"PATCH path {self.path!r} must be a JSON Pointer starting with /"
            )
        if self.op != "remove" and self.value is None:
            raise PatchRuleError(
                f"PATCH {self.op} of {self.path} needs a value; use remove to "
                "delete a field"
            )

    @property
    def property_name(self) -> str | None:
        """Connection property that the path changes, or ``None``.

        For ``/connectionProperties/KeyFilePath/0/value`` this is
        ``KeyFilePath``.
        """
        segments = _split_pointer(self.path)
        if len(segments) >= 2 and segments[0] == "connectionProperties":
            return segments[1]
        return None

    def to_json(self) -> dict[str, object]:
        """Return the operation as sent, with any secret value revealed.

        The key is the documented lower-case ``value``, and it is left out
        for ``remove``.
        """
        body: dict[str, object] = {"op": self.op, "path": self.path}
        if self.op != "remove":
            body["value"] = reveal_value(self.value)
        return body

    def to_redacted_json(self) -> dict[str, object]:
        """Return the operation for display, with secret values hidden."""
        body: dict[str, object] = {"op": self.op, "path": self.path}
        if self.op != "remove":
            body["value"] = redact_value(self.value)
        return body


def patch_body(operations: Iterable[PatchOperation]) -> list[dict[str, object]]:
    """Return the JSON array to send for ``operations``."""
    return [operation.to_json() for operation in operations]


def property_path(name: str) -> str:
    """Return the JSON Pointer of connection property ``name``.

    ``~`` and ``/`` in the name are escaped as JSON Pointer requires.
    """
    escaped = name.replace("~", "~0").replace("/", "~1")
    return f"{CONNECTION_PROPERTIES_PATH}/{escaped}"


def _split_pointer(path: str) -> list[str]:
    return [
        segment.replace("~1", "/").replace("~0", "~") for segment in path.split("/")[1:]
    ]


def build_patch(
    *,
    name: str | None = None,
    tags: Sequence[str] | None = None,
    properties: Mapping[str, object] | None = None,
    secrets: Mapping[str, Secret] | None = None,
    files: Mapping[str, KeyFile] | None = None,
    remove: Iterable[str] = (),
) -> list[PatchOperation]:
    """Build the operations for a change to one connection.

    Each given field becomes one ``replace``: ``name`` at ``/qName``,
    ``tags`` at ``/tags`` (the whole list), and each property, secret or
    file at ``/connectionProperties/<name>``. A file replaces the whole
    ``[{name, value}]`` array. ``remove`` lists connection properties to
    delete. Operations come in that order.

    NOTE: one documented example patches a file property's elements at
    ``/<name>/0/value``, and a public Postman collection at ``/<name>/value``.
    Which path forms the service accepts is unconfirmed; replacing the whole
    array is the form that needs no index.

    Raises:
        PatchRuleError: Nothing would change, ``name`` is empty, or one path
            is changed twice, such as a property that is both set and
            removed.
    """
    operations: list[PatchOperation] = []
    if name is not None:
        if not name.strip():
            raise PatchRuleError("new connection name is empty; give a name")
        operations.append(PatchOperation("replace", NAME_PATH, name))
    if tags is not None:
        operations.append(PatchOperation("replace", TAGS_PATH, list(tags)))

    for values in (properties, secrets, files):
        for property_name, value in (values or {}).items():
            operations.append(
                PatchOperation("replace", property_path(property_name), value)
            )
    for property_name in remove:
        operations.append(PatchOperation("remove", property_path(property_name)))

    _check_body_shape(operations)
    return operations


def check_patch_rules(
    operations: Sequence[PatchOperation],
    *,
    current_properties: Mapping[str, object] | None,
    credential_properties: Collection[str],
) -> None:
    """Enforce the tenant's PATCH update rules on a body before it is sent.

    See the module docstring for the rules. Besides them, an empty body and
    a path changed twice are rejected.

    Args:
        operations: The body.
        current_properties: The connection's current properties, as a GET
            with ``parseConnection=true`` returns them; ``None`` when unknown.
            A changed address property whose current value is unknown counts
            as a new value.
        credential_properties: The data source's secret and file properties.

    Raises:
        PatchRuleError: The body breaks one or more rules, all listed.
    """
    _check_body_shape(operations)
    body = _BodySummary.of(operations, credential_properties)
    problems = [
        problem
        for problem in (
            _check_statement_exclusive(body),
            _check_statement_credentials(body, credential_properties),
            _check_address_credentials(
                operations, body, current_properties, credential_properties
            ),
            _check_single_credential_form(body),
        )
        if problem is not None
    ]
    if len(problems) == 1:
        raise PatchRuleError(f"PATCH body rejected: {problems[0]}")
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise PatchRuleError(f"PATCH body breaks {len(problems)} rules:\n{listed}")


def _check_body_shape(operations: Sequence[PatchOperation]) -> None:
    if not operations:
        raise PatchRuleError(
            "PATCH body is empty; give at least one change, such as a new "
            "property value or secret"
        )

    seen: set[str] = set()
    for operation in operations:
        if operation.path in seen:
            raise PatchRuleError(
                f"PATCH body changes {operation.path} twice; give each change once"
            )
        seen.add(operation.path)


@dataclass(frozen=True)
class _BodySummary:
    """Summary of the paths that one PATCH body changes."""

    changes_statement: bool
    changes_properties: bool
    has_password: bool
    credential_paths: tuple[str, ...]

    @classmethod
    def of(
        cls,
        operations: Sequence[PatchOperation],
        credential_properties: Collection[str],
    ) -> _BodySummary:
        paths = [operation.path for operation in operations]
        # A remove carries no credential, so only add and replace count.
        credential_paths = tuple(
            operation.path
            for operation in operations
            if operation.op != "remove"
            and operation.property_name in credential_properties
        )
        return cls(
            changes_statement=CONNECT_STATEMENT_PATH in paths,
            changes_properties=any(
                path.startswith(CONNECTION_PROPERTIES_PATH + "/") for path in paths
            ),
            has_password=any(
                operation.path == PASSWORD_PATH and operation.op != "remove"
                for operation in operations
            ),
            credential_paths=credential_paths,
        )

    @property
    def has_credentials(self) -> bool:
        return self.has_password or bool(self.credential_paths)


def _credential_fix(credential_properties: Collection[str]) -> str:
    options = [PASSWORD_PATH]
    options.extend(property_path(name) for name in sorted(credential_properties))
    return "add " + " or ".join(options) + " to the same body"


def _check_statement_exclusive(body: _BodySummary) -> str | None:
    if body.changes_statement and body.changes_properties:
        return (
            f"a body may not change {CONNECT_STATEMENT_PATH} and "
            f"{CONNECTION_PROPERTIES_PATH}/... together; send them as two "
            "PATCH requests"
        )
    return None


def _check_statement_credentials(
    body: _BodySummary, credential_properties: Collection[str]
) -> str | None:
    if body.changes_statement and not body.has_credentials:
        return (
            f"changing {CONNECT_STATEMENT_PATH} needs credentials in the same "
            f"body; {_credential_fix(credential_properties)}"
        )
    return None


def _check_address_credentials(
    operations: Sequence[PatchOperation],
    body: _BodySummary,
    current_properties: Mapping[str, object] | None,
    credential_properties: Collection[str],
) -> str | None:
    if body.has_credentials:
        return None

    changed = [
        name
        for operation in operations
        if (name := _address_property(operation)) is not None
        and _changes_value(operation, name, current_properties)
    ]
    if not changed:
        return None
    names = ", ".join(f"{CONNECTION_PROPERTIES_PATH}/{name}" for name in changed)
    return (
        f"changing {names} to a new value needs credentials in the same "
        f"body; {_credential_fix(credential_properties)}"
    )


def _address_property(operation: PatchOperation) -> str | None:
    # Only the property itself counts: the address properties are scalars.
    name = operation.property_name
    if name in ADDRESS_PROPERTIES and operation.path == property_path(name):
        return name
    return None


def _changes_value(
    operation: PatchOperation,
    name: str,
    current_properties: Mapping[str, object] | None,
) -> bool:
    if operation.op == "remove" or current_properties is None:
        return True
    if name not in current_properties:
        return True
    return bool(current_properties[name] != operation.value)


def _check_single_credential_form(body: _BodySummary) -> str | None:
    if body.has_password and body.credential_paths:
        return (
            f"credentials may be given as {PASSWORD_PATH} or as "
            f"{', '.join(body.credential_paths)}, not both; drop one of them"
        )
    return None
