"""Export the catalog or a manifest as a Postman collection and environment.

The collection has three folders in the order of work that the public QTC
Postman collection recommends: "1 Discovery", "2 Create" and "3 Update".
Each create body is built with ``build_connection_properties``, and each
PATCH body with ``build_patch`` and ``patch_body``, so the requests match
what the library sends. Secrets and key files become ``{{variables}}``
that the environment lists as ``secret`` with empty values: no secret value
and no key file content is ever read here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from qtc_connections.api.connections import CONNECTIONS_PATH, create_body
from qtc_connections.catalog import GatewayRule, Kind, list_kinds
from qtc_connections.manifest.model import DesiredConnection, Manifest
from qtc_connections.patch import build_patch, patch_body
from qtc_connections.postman.model import (
    BASE_URL_VARIABLE,
    TOKEN_VARIABLE,
    Variable,
    build_collection,
    build_environment,
    build_folder,
    build_request,
    reference,
)
from qtc_connections.properties import ConnectionInput, build_connection_properties

__all__ = [
    "COLLECTION_NAME",
    "ConnectionVariables",
    "PostmanExport",
    "export_catalog",
    "export_manifest",
]

COLLECTION_NAME = "QTC Connections (qtc-connections)"
DATA_SOURCES_PATH = "/api/v1/data-sources"

HOSTNAME_VARIABLE = "hostname"
SPACE_VARIABLE = "spaceId"
GATEWAY_VARIABLE = "gatewayId"
# Set by every create request, so that "get by id" reads the latest one, as
# the public collection's connectionId does.
LATEST_CONNECTION_VARIABLE = "connectionId"
DATA_SOURCE_VARIABLE = "dataSourceId"

# NOTE: this relies on Postman resolving a variable inside another
# variable's value. Postman and newman do that, but an environment that
# sets baseUrl directly (such as http://127.0.0.1:PORT) does not need it.
DEFAULT_BASE_URL = "https://" + reference(HOSTNAME_VARIABLE)

_NON_IDENTIFIER = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True)
class ConnectionVariables:
    """The variables that one connection's requests use.

    Attributes:
        name: Connection name, sent as ``qName``.
        kind: Kind of the connection.
        id_variable: Variable that the create request's test script sets to
            the new connection's id.
        inputs: Variable of each required plain input, by property; empty
            when the manifest gives the values.
        secrets: Variable of each secret property, by property.
        files: Variable of each file property (its base64 content), by
            property.
    """

    name: str
    kind: Kind
    id_variable: str
    inputs: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PostmanExport:
    """A collection, its environment and the variables of each connection."""

    collection: dict[str, object]
    environment: dict[str, object]
    connections: tuple[ConnectionVariables, ...]

    @property
    def secret_variables(self) -> list[str]:
        """Names of the variables that hold secrets or key file contents."""
        names: list[str] = []
        for connection in self.connections:
            names.extend(connection.secrets.values())
            names.extend(connection.files.values())
        return names


@dataclass
class _Draft:
    """One connection on its way into the collection."""

    variables: ConnectionVariables
    connection_input: ConnectionInput
    space: str
    tags: tuple[str, ...]
    file_names: dict[str, str]


class _Names:
    """Variable names in use, so that two connections never share one."""

    def __init__(self) -> None:
        self._used: set[str] = {
            BASE_URL_VARIABLE,
            HOSTNAME_VARIABLE,
            TOKEN_VARIABLE,
            SPACE_VARIABLE,
            GATEWAY_VARIABLE,
            LATEST_CONNECTION_VARIABLE,
            DATA_SOURCE_VARIABLE,
        }

    def take(self, *parts: str) -> str:
        base = "_".join(_identifier(part) for part in parts)
        candidate = base
        suffix = 2
        while candidate in self._used:
            candidate = f"{base}_{suffix}"
            suffix += 1
        self._used.add(candidate)
        return candidate


def _identifier(text: str) -> str:
    return _NON_IDENTIFIER.sub("_", text).strip("_") or "x"


def export_catalog(kinds: Iterable[Kind] | None = None) -> PostmanExport:
    """Export one create request per kind, with variables for every input.

    Each connection is named after its kind (``mysql-source``). Required
    inputs, secrets and key files are variables named after the kind and
    the property, such as ``mysql_source_server``.

    Args:
        kinds: Kinds to export; every built-in kind when ``None``.
    """
    names = _Names()
    drafts = [_catalog_draft(kind, names) for kind in (kinds or list_kinds())]
    return _assemble(drafts, space_values={})


def _catalog_draft(kind: Kind, names: _Names) -> _Draft:
    prefix = kind.name
    inputs = {prop: names.take(prefix, prop) for prop in kind.required}
    secrets = {prop: names.take(prefix, prop) for prop in kind.secrets}
    files = {prop: names.take(prefix, prop) for prop in kind.files}
    variables = ConnectionVariables(
        name=kind.name,
        kind=kind,
        id_variable=names.take("connectionId", prefix),
        inputs=inputs,
        secrets=secrets,
        files=files,
    )

    file_names = {prop: _default_file_name(kind, prop) for prop in kind.files}
    properties: dict[str, object] = {
        prop: reference(variable) for prop, variable in inputs.items()
    }
    properties.update(_placeholders(variables, file_names))
    connection_input = ConnectionInput(
        kind=kind,
        name=kind.name,
        space_id=reference(SPACE_VARIABLE),
        gateway_id=_gateway_reference(kind, None),
        properties=properties,
    )
    return _Draft(variables, connection_input, SPACE_VARIABLE, (), file_names)


def export_manifest(manifest: Manifest) -> PostmanExport:
    """Export one create request per manifest connection.

    Plain properties and gateway ids keep the manifest's values. Secrets
    and key files become variables named after the connection and the
    property, such as ``SRC_MySQL_password``. Each distinct space becomes
    one variable whose initial value is the space as written.

    NOTE: a manifest may name a space, but the create body needs its id.
    The space variable's value must be replaced with the id where the
    manifest gives a name (``qtc spaces resolve NAME`` prints it).
    """
    names = _Names()
    space_variables = _space_variables(manifest.connections, names)
    drafts = [
        _manifest_draft(connection, names, space_variables[connection.space])
        for connection in manifest.connections
    ]
    space_values = {variable: space for space, variable in space_variables.items()}
    return _assemble(drafts, space_values=space_values)


def _space_variables(
    connections: Sequence[DesiredConnection], names: _Names
) -> dict[str, str]:
    spaces = list(dict.fromkeys(connection.space for connection in connections))
    if len(spaces) == 1:
        return {spaces[0]: SPACE_VARIABLE}
    return {space: names.take(SPACE_VARIABLE, space) for space in spaces}


def _manifest_draft(
    connection: DesiredConnection, names: _Names, space_variable: str
) -> _Draft:
    secrets = {prop: names.take(connection.name, prop) for prop in connection.secrets}
    files = {prop: names.take(connection.name, prop) for prop in connection.key_files}
    variables = ConnectionVariables(
        name=connection.name,
        kind=connection.kind,
        id_variable=names.take("connectionId", connection.name),
        secrets=secrets,
        files=files,
    )

    file_names = {
        prop: _manifest_file_name(connection, prop) for prop in connection.key_files
    }
    properties = dict(connection.properties)
    properties.update(_placeholders(variables, file_names))
    connection_input = ConnectionInput(
        kind=connection.kind,
        name=connection.name,
        space_id=reference(space_variable),
        gateway_id=_gateway_reference(connection.kind, connection.gateway_id),
        properties=properties,
    )
    return _Draft(
        variables, connection_input, space_variable, connection.tags, file_names
    )


def _manifest_file_name(connection: DesiredConnection, prop: str) -> str:
    # A KeyFileSpec without a name means the kind's default name; a kind
    # without one sends the name of the file on disk.
    spec = connection.key_files[prop]
    if spec.file_name:
        return spec.file_name
    file_property = connection.kind.files.get(prop)
    if file_property is not None and file_property.default_file_name:
        return file_property.default_file_name
    return spec.path.name


def _default_file_name(kind: Kind, prop: str) -> str:
    # NOTE: a kind without a default file name would send the name of the
    # file on disk, which a catalog export does not have; the property name
    # stands in for it.
    return kind.files[prop].default_file_name or prop


def _gateway_reference(kind: Kind, gateway_id: str | None) -> str | None:
    if kind.gateway is not GatewayRule.DATA_MOVEMENT:
        return None
    return gateway_id or reference(GATEWAY_VARIABLE)


def _placeholders(
    variables: ConnectionVariables, file_names: Mapping[str, str]
) -> dict[str, object]:
    """Return the secret and file property values as variable references.

    A file property keeps its ``[{name, value}]`` shape, with the base64
    content as the variable.
    """
    values: dict[str, object] = {
        prop: reference(variable) for prop, variable in variables.secrets.items()
    }
    for prop, variable in variables.files.items():
        values[prop] = [{"name": file_names[prop], "value": reference(variable)}]
    return values


def _assemble(
    drafts: Sequence[_Draft], space_values: Mapping[str, str]
) -> PostmanExport:
    folders = [
        build_folder("1 Discovery", _discovery_requests()),
        build_folder("2 Create", [_create_request(draft) for draft in drafts]),
        build_folder("3 Update", _update_requests(drafts)),
    ]
    collection_variables = [Variable(BASE_URL_VARIABLE, DEFAULT_BASE_URL)]
    collection = build_collection(
        COLLECTION_NAME, folders, variables=collection_variables
    )

    first_data_source = drafts[0].variables.kind.data_source_id if drafts else ""
    environment_variables = _environment_variables(
        drafts, space_values, first_data_source
    )
    environment = build_environment(COLLECTION_NAME, environment_variables)
    return PostmanExport(
        collection=collection,
        environment=environment,
        connections=tuple(draft.variables for draft in drafts),
    )


def _discovery_requests() -> list[dict[str, object]]:
    connection_path = f"{CONNECTIONS_PATH}/{reference(LATEST_CONNECTION_VARIABLE)}"
    api_specs_path = f"{DATA_SOURCES_PATH}/{reference(DATA_SOURCE_VARIABLE)}/api-specs"
    return [
        build_request(
            "List connections", "GET", CONNECTIONS_PATH, tests=_status_test(200)
        ),
        build_request(
            "List data sources", "GET", DATA_SOURCES_PATH, tests=_status_test(200)
        ),
        build_request(
            "Read data source api-specs", "GET", api_specs_path, tests=_status_test(200)
        ),
        build_request(
            "Get connection by id",
            "GET",
            connection_path,
            query={"parseConnection": "true"},
            tests=_status_test(200),
            prerequest=_skip_unless_set(LATEST_CONNECTION_VARIABLE),
        ),
    ]


def _create_request(draft: _Draft) -> dict[str, object]:
    built = build_connection_properties(draft.connection_input)
    body = _create_body(draft, built.payload)
    variables = draft.variables
    return build_request(
        f"Create {variables.name}",
        "POST",
        CONNECTIONS_PATH,
        body=body,
        tests=_create_tests(variables.id_variable),
    )


def _create_body(draft: _Draft, properties: Mapping[str, object]) -> dict[str, object]:
    return create_body(
        name=draft.connection_input.name,
        data_source_id=draft.variables.kind.data_source_id,
        connection_properties=properties,
        space_id=reference(draft.space),
        tags=draft.tags,
    )


def _update_requests(drafts: Sequence[_Draft]) -> list[dict[str, object]]:
    requests: list[dict[str, object]] = []
    for draft in drafts:
        variables = draft.variables
        rotated = _placeholders(variables, draft.file_names)
        if not rotated:
            continue

        body = patch_body(build_patch(properties=rotated))
        path = f"{CONNECTIONS_PATH}/{reference(variables.id_variable)}"
        requests.append(
            build_request(
                f"Rotate credentials of {variables.name}",
                "PATCH",
                path,
                body=body,
                tests=_status_test(204),
                prerequest=_skip_unless_set(variables.id_variable),
            )
        )
    return requests


def _environment_variables(
    drafts: Sequence[_Draft], space_values: Mapping[str, str], data_source_id: str
) -> list[Variable]:
    variables = [
        Variable(BASE_URL_VARIABLE, DEFAULT_BASE_URL),
        Variable(HOSTNAME_VARIABLE),
        Variable(TOKEN_VARIABLE, secret=True),
        Variable(SPACE_VARIABLE, space_values.get(SPACE_VARIABLE, "")),
        Variable(GATEWAY_VARIABLE),
        Variable(DATA_SOURCE_VARIABLE, data_source_id),
        Variable(LATEST_CONNECTION_VARIABLE),
    ]
    for key, value in space_values.items():
        if key != SPACE_VARIABLE:
            variables.append(Variable(key, value))

    for draft in drafts:
        connection = draft.variables
        variables.extend(Variable(key) for key in connection.inputs.values())
        variables.extend(
            Variable(key, secret=True) for key in connection.secrets.values()
        )
        variables.extend(
            Variable(key, secret=True) for key in connection.files.values()
        )
        variables.append(Variable(connection.id_variable))
    return variables


def _status_test(status: int) -> list[str]:
    return [
        f'pm.test("status is {status}", function () {{',
        f"    pm.response.to.have.status({status});",
        "});",
    ]


def _skip_unless_set(variable: str) -> list[str]:
    # Before the first create there is no id to read, and an empty id would
    # turn the URL into the connection list.
    # NOTE: pm.execution.skipRequest was checked with newman 6.2.2 only; an
    # older Postman or newman without it fails this script.
    return [
        f'if (!pm.variables.get("{variable}")) {{',
        "    pm.execution.skipRequest();",
        "}",
    ]


def _create_tests(id_variable: str) -> list[str]:
    # The environment lists the id variable, and an environment value
    # overrides a collection variable of the same name, so the script sets
    # the environment when one is selected as well as the collection.
    lines = _status_test(201)
    lines += [
        "var created = pm.response.json();",
        'pm.test("response has an id", function () {',
        '    pm.expect(created.id).to.be.a("string");',
        "});",
    ]
    # A failed create (a 409 on a second run) has no id, and storing
    # "undefined" would send the PATCHes to /data-connections/undefined.
    lines.append('if (typeof created.id === "string") {')
    for variable in (id_variable, LATEST_CONNECTION_VARIABLE):
        lines += [
            f'    pm.collectionVariables.set("{variable}", created.id);',
            f'    if (pm.environment.has("{variable}")) {{',
            f'        pm.environment.set("{variable}", created.id);',
            "    }",
        ]
    lines.append("}")
    return lines
