"""``PATCH /api/v1/data-connections/{qID}``: partial updates and rotation.

The body is a JSON array of ``{"op", "path", "value"}`` operations, where
``op`` is add, replace or remove. ``Value`` is accepted for ``value``,
because published examples send both. Every operation is checked before
any is applied, so a rejected body changes nothing.

Patchable paths are ``/qName``, ``/tags``, ``/qPassword``,
``/qConnectStatement`` and ``/connectionProperties/<name>``. A file
property also takes ``/connectionProperties/<name>/value`` and ``/name``,
with or without an ``/0`` index, to replace the content or the file name
of its single file.

Qlik documents four rules, and breaking any of them gives 400 here:

1. A body may not patch both ``qConnectStatement`` and connection properties.
2. A new connect statement needs credentials in the same body.
3. Changing ``host``, ``server`` or ``url`` to a new value needs
   credentials in the same body.
4. Credentials may not come both as ``/qPassword`` and as a password
   property.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from qtc_connections.emulator.catalog import CATALOG, DataSource, PropertySpec
from qtc_connections.emulator.connection_lookup import (
    MAX_STATEMENT_TAGS,
    check_name_free,
    check_tags,
    find_connection,
    require_privilege,
)
from qtc_connections.emulator.connection_views import connect_statement
from qtc_connections.emulator.helpers import access_of, emulator_of, read_json
from qtc_connections.emulator.ids import later_timestamp
from qtc_connections.emulator.problems import ApiProblem, ErrorItem, problem
from qtc_connections.emulator.store import ConnectionRecord, SecretChanges, SecretValue
from qtc_connections.emulator.validation import (
    check_base64,
    check_file,
    check_value,
    invalid,
    unknown_property_detail,
)

OPERATIONS = ("add", "replace", "remove")
PROPERTIES_PREFIX = "/connectionProperties/"
ADDRESS_PROPERTIES = ("host", "server", "url")
PATCH_RULE = "Connection update rule violated"


@dataclass(frozen=True)
class Operation:
    """One validated operation of a PATCH body."""

    op: str
    path: str
    value: Any


@dataclass
class PatchPlan:
    """The changes that a PATCH body requests, collected before any is applied.

    ``property_paths`` tells whether any path is under
    ``/connectionProperties/``. ``credential_properties`` names the secret
    and file properties that the body sets, and ``password_properties``
    the secret string properties among them.
    """

    name: str | None = None
    tags: list[str] | None = None
    statement: str | None = None
    plain_set: dict[str, Any] = field(default_factory=dict)
    plain_removed: set[str] = field(default_factory=set)
    secrets: SecretChanges = field(default_factory=SecretChanges)
    password: str | None = None
    property_paths: bool = False
    credential_properties: set[str] = field(default_factory=set)
    password_properties: set[str] = field(default_factory=set)


def parse_operations(body: object) -> list[Operation]:
    """Check the shape of a PATCH body and return its operations.

    Raises:
        ApiProblem: 400 unless the body is a non-empty array of objects,
            each with a valid ``op``, a ``path`` and, except for remove, a
            value.
    """
    if not isinstance(body, list) or not body:
        raise problem(
            400, "the PATCH body must be a non-empty JSON array of operations"
        )
    operations = []
    for position, item in enumerate(body):
        label = f"operation {position}"
        if not isinstance(item, dict):
            raise problem(400, f"{label} must be an object with op, path and value")
        op = item.get("op")
        if op not in OPERATIONS:
            raise problem(400, f"{label}: op must be one of {', '.join(OPERATIONS)}")
        path = item.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise problem(400, f"{label}: path must be a JSON Pointer such as /qName")
        has_value = "value" in item or "Value" in item
        if op != "remove" and not has_value:
            raise problem(400, f"{label}: {op} needs a value")
        value = item["value"] if "value" in item else item.get("Value")
        operations.append(Operation(op, path, value))
    return operations


def _reject(detail: str) -> ApiProblem:
    return ApiProblem(400, [invalid(detail)])


def _unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


class Planner:
    """Turns the operations of one PATCH body into a ``PatchPlan``."""

    def __init__(
        self,
        record: ConnectionRecord,
        source: DataSource | None,
        stored_secrets: set[str],
    ) -> None:
        self.record = record
        self.source = source
        self.stored_secrets = stored_secrets
        self.plan = PatchPlan()
        self.problems: list[ErrorItem] = []

    def build(self, operations: list[Operation]) -> PatchPlan:
        """Check every operation and collect the changes.

        Raises:
            ApiProblem: 400 listing every invalid operation.
        """
        for operation in operations:
            try:
                self._add(operation)
            except ApiProblem as error:
                self.problems.extend(error.items)
        if self.problems:
            raise ApiProblem(400, self.problems)
        return self.plan

    def _add(self, operation: Operation) -> None:
        path = operation.path
        if path == "/qName":
            self._name(operation)
        elif path == "/tags":
            value = [] if operation.op == "remove" else operation.value
            self.plan.tags = check_tags(value, MAX_STATEMENT_TAGS)
        elif path == "/qPassword":
            self.plan.password = self._text(operation, "qPassword")
        elif path == "/qConnectStatement":
            self.plan.statement = self._text(operation, "qConnectStatement")
        elif path.startswith(PROPERTIES_PREFIX):
            self.plan.property_paths = True
            self._property(operation)
        else:
            raise problem(
                400,
                f"path {path!r} cannot be patched; use /qName, /tags, /qPassword, "
                "/qConnectStatement or /connectionProperties/<name>",
            )

    def _text(self, operation: Operation, field_name: str) -> str:
        if operation.op == "remove":
            raise problem(400, f"{field_name} cannot be removed, only replaced")
        if not isinstance(operation.value, str) or not operation.value:
            raise problem(400, f"{field_name} must be a non-empty string")
        return operation.value

    def _name(self, operation: Operation) -> None:
        name = self._text(operation, "qName")
        if not name.strip():
            raise problem(400, "qName must not be blank")
        self.plan.name = name

    def _property(self, operation: Operation) -> None:
        segments = [
            _unescape(part)
            for part in operation.path[len(PROPERTIES_PREFIX) :].split("/")
        ]
        name, rest = segments[0], segments[1:]
        spec = self.source.spec_for(name) if self.source else None
        if spec is None:
            raise _reject(self._unknown(name))
        if spec.is_file:
            self._file_property(operation, spec, rest)
        elif rest:
            raise problem(
                400, f"path {operation.path!r} goes below a property that is not a file"
            )
        elif spec.secret:
            self._secret_property(operation, spec)
        else:
            self._plain_property(operation, spec)

    def _unknown(self, name: str) -> str:
        if self.source is None:
            return (
                f"connectionProperties.{name} cannot be patched: data source "
                f"{self.record.datasource_id} has no property schema in this tenant"
            )
        return unknown_property_detail(self.source, name)

    def _remove(self, spec: PropertySpec) -> None:
        if spec.required:
            raise _reject(
                f"connectionProperties.{spec.name} is required and cannot be removed"
            )
        if spec.is_hidden:
            self.plan.secrets.removals.add(spec.name)
        else:
            self.plan.plain_removed.add(spec.name)

    def _check(self, spec: PropertySpec, value: object) -> None:
        assert self.source is not None
        found = check_value(self.source, spec, value, digits_as_integer=True)
        if found is not None:
            raise _reject(found)

    def _plain_property(self, operation: Operation, spec: PropertySpec) -> None:
        if operation.op == "remove":
            self._remove(spec)
            return
        self._check(spec, operation.value)
        value = operation.value
        if spec.type == "string" and not isinstance(value, str):
            value = str(value)  # a port sent as an integer is stored as text
        self.plan.plain_set[spec.name] = value

    def _secret_property(self, operation: Operation, spec: PropertySpec) -> None:
        if operation.op == "remove":
            self._remove(spec)
            return
        self._check(spec, operation.value)
        if not operation.value:
            raise _reject(f"connectionProperties.{spec.name} must not be empty")
        self.plan.secrets.values[spec.name] = SecretValue(operation.value)
        self.plan.credential_properties.add(spec.name)
        self.plan.password_properties.add(spec.name)

    def _file_property(
        self, operation: Operation, spec: PropertySpec, rest: list[str]
    ) -> None:
        label = f"connectionProperties.{spec.name}"
        if rest and rest[0].isdigit():
            if rest[0] != "0":
                raise _reject(f"{label} contains one file; use index 0")
            rest = rest[1:]
        if operation.op == "remove":
            if rest:
                raise _reject(f"{label}/{rest[0]} cannot be removed")
            self._remove(spec)
            return
        if not rest:
            self._whole_file(operation, spec, label)
        elif rest == ["value"]:
            self._file_content(operation, spec, label)
        elif rest == ["name"]:
            self._file_name(operation, spec, label)
        else:
            raise _reject(f"path {operation.path!r} is not part of a file")

    def _whole_file(self, operation: Operation, spec: PropertySpec, label: str) -> None:
        found = check_file(label, operation.value)
        if found is not None:
            raise _reject(found)
        item = operation.value[0]
        self.plan.secrets.values[spec.name] = SecretValue(item["value"], item["name"])
        self.plan.credential_properties.add(spec.name)

    def _file_content(
        self, operation: Operation, spec: PropertySpec, label: str
    ) -> None:
        found = check_base64(f"{label}[0].value", operation.value)
        if found is not None:
            raise _reject(found)
        self.plan.secrets.values[spec.name] = SecretValue(operation.value)
        self.plan.credential_properties.add(spec.name)

    def _file_name(self, operation: Operation, spec: PropertySpec, label: str) -> None:
        if not isinstance(operation.value, str) or not operation.value.strip():
            raise _reject(f"{label}[0].name must be a non-empty string")
        if (
            spec.name not in self.stored_secrets
            and spec.name not in self.plan.secrets.values
        ):
            raise _reject(
                f"{label} contains no file to rename; send the whole file array"
            )
        self.plan.secrets.file_names[spec.name] = operation.value


def enforce_update_rules(record: ConnectionRecord, plan: PatchPlan) -> None:
    """Apply Qlik's four connection update rules to a collected plan.

    Raises:
        ApiProblem: 400 naming the rule that the body breaks.
    """
    has_credentials = plan.password is not None or bool(plan.credential_properties)
    if plan.statement is not None and plan.property_paths:
        _rule("a body cannot patch both qConnectStatement and connectionProperties")
    if plan.statement is not None and not has_credentials:
        _rule(
            "patching qConnectStatement needs credentials in the same body: "
            "/qPassword or the password property under /connectionProperties"
        )
    for name in ADDRESS_PROPERTIES:
        new_value = plan.plain_set.get(name)
        if (
            new_value is not None
            and new_value != record.properties.get(name)
            and not has_credentials
        ):
            _rule(
                f"changing connectionProperties.{name} to a new value needs "
                "credentials in the same body"
            )
    if plan.password is not None and plan.password_properties:
        names = ", ".join(sorted(plan.password_properties))
        _rule(
            "credentials were given both as /qPassword and as "
            f"connectionProperties.{names}"
        )


def _rule(detail: str) -> None:
    raise ApiProblem(400, [ErrorItem(detail, title=PATCH_RULE)])


def apply_plan(
    record: ConnectionRecord, source: DataSource | None, plan: PatchPlan
) -> None:
    """Apply a checked plan to ``record`` and to ``plan.secrets``."""
    if plan.name is not None:
        record.name = plan.name
    if plan.tags is not None:
        record.tags = plan.tags
    if plan.statement is not None:
        record.connect_statement = plan.statement
    if plan.password is not None:
        # qPassword is the connection's password: for a connection made from
        # properties, that is its password property when it has one.
        target = "password" if source and source.spec_for("password") else "qPassword"
        plan.secrets.values[target] = SecretValue(plan.password)

    if plan.plain_set or plan.plain_removed:
        for name in plan.plain_removed:
            record.properties.pop(name, None)
        record.properties.update(plan.plain_set)
        record.username = str(record.properties.get("username", record.username))
        if record.style == "properties" and source is not None:
            record.connect_statement = connect_statement(source, record.properties)
    record.updated = later_timestamp(record.updated)


async def patch_connection(request: Request) -> Response:
    """``PATCH /api/v1/data-connections/{qID}``, by id or by name."""
    emulator = emulator_of(request)
    access = access_of(request)
    record = find_connection(request, access)
    require_privilege(access, record, "update")
    operations = parse_operations(await read_json(request))

    source = CATALOG.get(record.datasource_id)
    stored = emulator.store.secret_properties(record.connection_id)
    plan = Planner(record, source, stored).build(operations)
    enforce_update_rules(record, plan)
    if plan.name is not None:
        check_name_free(
            emulator.store,
            plan.name,
            record.space_id,
            record.owner_id,
            record.connection_id,
        )

    apply_plan(record, source, plan)
    emulator.store.save_connection(record, plan.secrets)
    return Response(status_code=204)
