"""Export: write a tenant's data connections as a manifest for ``qtc plan``.

``export_connections`` reads the connections (the paged list, then each one
with ``parseConnection=true``) and turns each into the entry a manifest
would declare for it. ``render_manifest`` writes those entries as YAML with
comments.

The tenant never returns secrets, so every secret and key-file property is
written as an ``env:`` reference to a variable named after the connection
and the property, such as ``QTC_SECRET_SRC_MYSQL_PASSWORD``. The user sets
those variables, or replaces the references, before a plan can send them.
Nothing secret is read or written here.
"""

from __future__ import annotations

import io
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import SingleQuotedScalarString

from qtc_connections.api.models import ApiSpec, Connection
from qtc_connections.catalog import (
    GATEWAY_PROPERTY,
    QLIK_MANAGED_GATEWAY,
    DataSourceSpec,
    GatewayRule,
    Kind,
    kind_for_data_source,
    raw_kind,
)
from qtc_connections.client import QlikClient
from qtc_connections.errors import InputError, NotFoundError, QtcError, ServerError

__all__ = [
    "GATEWAY_VARIABLE",
    "KEY_FILE_VARIABLE_PREFIX",
    "MANIFEST_VERSION",
    "SECRET_VARIABLE_PREFIX",
    "SERVICE_TAG_PREFIX",
    "SPACE_VARIABLE",
    "Export",
    "ExportedConnection",
    "RequiredVariable",
    "SkippedConnection",
    "escape_variables",
    "export_connections",
    "render_manifest",
    "variable_name",
    "write_manifest",
]

MANIFEST_VERSION = 1

# The service adds this tag (DcaasAPI:<provider>:<version>) to every
# connection made from properties; a manifest does not declare it.
SERVICE_TAG_PREFIX = "DcaasAPI:"

SECRET_VARIABLE_PREFIX = "QTC_SECRET_"
KEY_FILE_VARIABLE_PREFIX = "QTC_KEY_FILE_"

# Manifest variables that the export defines when every connection shares
# one space, or every gateway-using connection one gateway.
SPACE_VARIABLE = "space"
GATEWAY_VARIABLE = "gateway"

_NON_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]+")

# Plain scalars that a YAML 1.1 parser reads as booleans or null. ruamel.yaml
# writes YAML 1.2, where they are strings, so they are quoted for the sake of
# other tools that read the file.
_YAML11_SPECIAL = frozenset(
    word
    for base in ("y", "yes", "n", "no", "true", "false", "on", "off", "null")
    for word in (base, base.capitalize(), base.upper())
)


@dataclass(frozen=True)
class RequiredVariable:
    """An environment variable that an exported reference reads.

    Attributes:
        name: The variable, such as ``QTC_SECRET_SRC_MYSQL_PASSWORD``.
        connection: Name of the connection it belongs to.
        space: Space of that connection, as the manifest names it.
        property: The connection property it fills.
        key_file: Whether its value is the path of a key file, not a secret.
    """

    name: str
    connection: str
    space: str
    property: str
    key_file: bool

    def to_dict(self) -> dict[str, object]:
        """Describe the variable as plain data for ``--json`` output."""
        return {
            "name": self.name,
            "connection": self.connection,
            "space": self.space,
            "property": self.property,
            "holds": "key file path" if self.key_file else "secret",
        }


@dataclass(frozen=True)
class SkippedConnection:
    """A connection that the export leaves out, and why."""

    connection_id: str
    name: str
    reason: str

    def to_dict(self) -> dict[str, object]:
        """Describe the skipped connection as plain data for ``--json`` output."""
        return {"id": self.connection_id, "name": self.name, "reason": self.reason}


@dataclass(frozen=True)
class ExportedConnection:
    """One manifest entry, before variables and YAML escaping are applied.

    Attributes:
        connection_id: Id of the tenant's connection, for messages only.
        name: Connection name.
        space: Space as the manifest names it: its exact name when that is
            unique among visible spaces, else its id.
        kind: Catalog kind name, or ``None`` for a raw data source.
        data_source: Data source id when no catalog kind fits.
        gateway: Data Movement gateway id, for kinds that use one.
        tags: Tags, without the service's own ``DcaasAPI:`` tag.
        properties: Plain properties that differ from the kind's defaults.
        secrets: Secret properties, each mapped to its variable.
        key_files: Key file properties, each mapped to its variable.
        notes: Comments to write above the entry.
    """

    connection_id: str
    name: str
    space: str
    kind: str | None
    data_source: str | None
    gateway: str | None
    tags: tuple[str, ...] = ()
    properties: Mapping[str, object] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    key_files: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """Describe the entry as plain data for ``--json`` output."""
        return {
            "id": self.connection_id,
            "name": self.name,
            "space": self.space,
            "kind": self.kind,
            "data_source": self.data_source,
            "gateway": self.gateway,
            "tags": list(self.tags),
            "properties": dict(self.properties),
            "secrets": {name: f"env:{var}" for name, var in self.secrets.items()},
            "key_files": {name: f"env:{var}" for name, var in self.key_files.items()},
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Export:
    """The exported entries of one tenant, in manifest order.

    Attributes:
        tenant: Base URL of the tenant, for the file header.
        connections: The entries, sorted by space and then name.
        variables: Every variable the references read, in entry order.
        skipped: Connections left out, with the reason.
    """

    tenant: str
    connections: tuple[ExportedConnection, ...]
    variables: tuple[RequiredVariable, ...]
    skipped: tuple[SkippedConnection, ...] = ()

    @property
    def shared_space(self) -> str | None:
        """The one space of every entry, or ``None`` when they differ or none exist."""
        spaces = {connection.space for connection in self.connections}
        return spaces.pop() if len(spaces) == 1 else None

    @property
    def shared_gateway(self) -> str | None:
        """The one gateway of every entry that has one, or ``None``."""
        gateways = {c.gateway for c in self.connections if c.gateway is not None}
        return gateways.pop() if len(gateways) == 1 else None

    def to_dict(self) -> dict[str, object]:
        """Describe the export as plain data for ``--json`` output."""
        return {
            "tenant": self.tenant,
            "connections": [entry.to_dict() for entry in self.connections],
            "variables": [variable.to_dict() for variable in self.variables],
            "skipped": [skipped.to_dict() for skipped in self.skipped],
        }


@dataclass
class _Draft:
    """An entry whose variable names are not assigned yet."""

    connection: Connection
    space: str
    kind: Kind
    gateway: str | None
    tags: tuple[str, ...]
    properties: dict[str, object]
    secret_names: tuple[str, ...]
    file_names: tuple[str, ...]
    notes: list[str]


def export_connections(
    client: QlikClient,
    *,
    space_id: str | None = None,
    scim_filter: str | None = None,
) -> Export:
    """Read the tenant's connections and build the manifest entries for them.

    ``space_id`` ``None`` exports every visible space. Connections in a
    personal space, or without a data source id, are skipped, because a
    manifest entry cannot name them.

    Raises:
        ApiError, TransportError: The list, a connection or a space could
            not be read.
    """
    exportable: list[Connection] = []
    skipped: list[SkippedConnection] = []
    for item in client.connections.list(space_id=space_id, filter=scim_filter):
        reason = _skip_reason(item)
        if reason is None:
            exportable.append(item)
        else:
            skipped.append(SkippedConnection(item.id, item.name, reason))

    labels = _space_labels(client, {item.space_id or "" for item in exportable})
    drafts = [
        _draft(
            client,
            client.connections.get(item.id, parse_connection=True),
            labels[item.space_id or ""],
        )
        for item in exportable
    ]
    drafts.sort(key=lambda draft: (draft.space, draft.connection.name))
    entries, variables = _assign_variables(drafts)
    return Export(
        tenant=client.tenant.base_url,
        connections=tuple(entries),
        variables=tuple(variables),
        skipped=tuple(skipped),
    )


def _skip_reason(connection: Connection) -> str | None:
    if not connection.space_id:
        return "it is in a personal space, which a manifest cannot name"
    if not connection.data_source_id:
        return "it has no datasourceID, so no kind or data source fits it"
    return None


def _space_labels(client: QlikClient, space_ids: Iterable[str]) -> dict[str, str]:
    """Map each space id to the name a manifest should use for it.

    The name is used when exactly one visible space has it, because the
    loader resolves names by exact match; otherwise the id is used.
    """
    labels: dict[str, str] = {}
    for space_id in sorted(space_ids):
        try:
            name = client.spaces.get(space_id).name
        except NotFoundError:
            name = None
        if name and _unique_space_name(client, name):
            labels[space_id] = name
        else:
            labels[space_id] = space_id
    return labels


def _unique_space_name(client: QlikClient, name: str) -> bool:
    matches = [space for space in client.spaces.list(name=name) if space.name == name]
    return len(matches) == 1


def _draft(client: QlikClient, connection: Connection, space: str) -> _Draft:
    data_source_id = connection.data_source_id or ""
    notes: list[str] = []
    spec = _api_spec(client, data_source_id, notes)
    schema = DataSourceSpec.from_api_spec(spec.raw) if spec else DataSourceSpec()

    properties = dict(connection.connection_properties or {})
    if connection.connection_properties is None:
        notes.append("the tenant returned no connectionProperties for this connection")
    agent = properties.pop(GATEWAY_PROPERTY, None)

    catalog_kind = kind_for_data_source(data_source_id)
    kind = catalog_kind or raw_kind(
        data_source_id,
        gateway_id=agent if isinstance(agent, str) else None,
        api_spec=spec.raw if spec else None,
    )
    gateway = _gateway(kind, agent, properties, notes)

    file_names = frozenset(kind.files) | schema.file_names
    secret_names = (frozenset(kind.secrets) | schema.secret_names) - file_names
    plain = {
        name: value
        for name, value in sorted(properties.items())
        if name not in file_names
        and name not in secret_names
        and not _is_default(kind, name, value)
    }
    return _Draft(
        connection=connection,
        space=space,
        kind=kind,
        gateway=gateway,
        tags=tuple(t for t in connection.tags if not t.startswith(SERVICE_TAG_PREFIX)),
        properties=plain,
        secret_names=tuple(sorted(secret_names - {GATEWAY_PROPERTY})),
        file_names=tuple(sorted(file_names - {GATEWAY_PROPERTY})),
        notes=notes,
    )


def _api_spec(
    client: QlikClient, data_source_id: str, notes: list[str]
) -> ApiSpec | None:
    try:
        return client.data_sources.api_specs(data_source_id)
    except (NotFoundError, ServerError) as error:
        # The catalog still lists the secrets of a built-in kind, but a raw
        # data source without its schema may have secrets the export misses.
        notes.append(
            f"the api-specs of {data_source_id} could not be read ({error.status}), "
            "so secrets that only the schema declares are missing"
        )
        return None


def _gateway(
    kind: Kind, agent: object, properties: dict[str, object], notes: list[str]
) -> str | None:
    """Return the gateway to write for ``agent``, or put it back as a property.

    A Data Movement kind, and a raw data source whose connection has an
    ``agentId``, get it as ``gateway``. A Qlik-managed kind gets the managed
    literal from its gateway rule, so that value is left out. Any other
    ``agentId`` stays a plain property, which overrides the gateway rule.
    """
    if agent is None:
        return None
    if kind.gateway is GatewayRule.DATA_MOVEMENT and isinstance(agent, str) and agent:
        return agent
    if kind.gateway is GatewayRule.QLIK_MANAGED and agent == QLIK_MANAGED_GATEWAY:
        return None

    properties[GATEWAY_PROPERTY] = agent
    notes.append(
        f"{GATEWAY_PROPERTY} is kept as a property because the gateway rule of "
        f"{kind.name} ({kind.gateway.value}) would not send this value"
    )
    return None


def _is_default(kind: Kind, name: str, value: object) -> bool:
    if name not in kind.defaults:
        return False
    default = kind.defaults[name]
    # In Python True == 1, but in JSON a boolean never equals a number.
    return isinstance(default, bool) == isinstance(value, bool) and default == value


def _assign_variables(
    drafts: list[_Draft],
) -> tuple[list[ExportedConnection], list[RequiredVariable]]:
    used_names: set[str] = set()
    entries: list[ExportedConnection] = []
    variables: list[RequiredVariable] = []
    for draft in drafts:
        name = draft.connection.name
        secrets: dict[str, str] = {}
        key_files: dict[str, str] = {}
        for prop in draft.secret_names:
            secrets[prop] = variable_name(
                SECRET_VARIABLE_PREFIX, name, prop, used_names
            )
            variables.append(
                RequiredVariable(secrets[prop], name, draft.space, prop, False)
            )
        for prop in draft.file_names:
            key_files[prop] = variable_name(
                KEY_FILE_VARIABLE_PREFIX, name, prop, used_names
            )
            variables.append(
                RequiredVariable(key_files[prop], name, draft.space, prop, True)
            )
        entries.append(_entry(draft, secrets, key_files))
    return entries, variables


def _entry(
    draft: _Draft, secrets: dict[str, str], key_files: dict[str, str]
) -> ExportedConnection:
    kind = draft.kind
    return ExportedConnection(
        connection_id=draft.connection.id,
        name=draft.connection.name,
        space=draft.space,
        kind=None if kind.is_raw else kind.name,
        data_source=kind.data_source_id if kind.is_raw else None,
        gateway=draft.gateway,
        tags=draft.tags,
        properties=draft.properties,
        secrets=secrets,
        key_files=key_files,
        notes=tuple(draft.notes),
    )


def variable_name(prefix: str, connection: str, prop: str, used_names: set[str]) -> str:
    """Return a new environment variable name for one property of one connection.

    The name is ``prefix``, the connection name and the property name, in
    upper case with every run of characters other than ASCII letters and
    digits turned into one ``_``. A name already in ``used_names`` gets ``_2``,
    ``_3`` and so on. The result is added to ``used_names``.
    """
    base = f"{prefix}{_identifier_part(connection)}_{_identifier_part(prop)}"
    candidate = base
    suffix = 2
    while candidate in used_names:
        candidate = f"{base}_{suffix}"
        suffix += 1
    used_names.add(candidate)
    return candidate


def _identifier_part(text: str) -> str:
    part = _NON_ALPHANUMERIC.sub("_", text).strip("_").upper()
    return part or "X"


def escape_variables(text: str) -> str:
    """Escape ``${`` as ``$${``, so that the loader keeps the text as written."""
    return text.replace("${", "$${")


def render_manifest(export: Export) -> str:
    """Write ``export`` as manifest YAML, with comments for the reader.

    When every entry shares one space, the space becomes the ``space``
    variable and the default of every entry. When every gateway-using entry
    shares one gateway, it becomes the ``gateway`` variable, which those
    entries reference. Both can then be changed per environment.
    """
    document = CommentedMap()
    document["version"] = MANIFEST_VERSION
    document.yaml_set_start_comment(_header(export))

    variables = _variables_section(export)
    if variables:
        document["variables"] = variables
    if export.shared_space is not None:
        document["defaults"] = CommentedMap([("space", f"${{{SPACE_VARIABLE}}}")])

    entries = CommentedSeq()
    for index, connection in enumerate(export.connections):
        entries.append(_entry_map(connection, export))
        if connection.notes:
            entries.yaml_set_comment_before_after_key(
                index, before=_comment_text(connection.notes), indent=2
            )
    document["connections"] = entries
    return _dump(document)


def _header(export: Export) -> str:
    lines = [
        f"Data connections exported from {export.tenant} by qtc export.",
        "The tenant never returns secrets, so each secret and key file below is",
        "an env: reference. Before running qtc plan, set these variables (those",
        "of key files to the file's path), replace the references, or remove",
        "those that a connection does not use:",
    ]
    lines += [f"  {variable.name}" for variable in export.variables] or ["  (none)"]
    return _comment_text(lines)


def _variables_section(export: Export) -> CommentedMap:
    variables = CommentedMap()
    if export.shared_space is not None:
        variables[SPACE_VARIABLE] = _scalar(export.shared_space)
    if export.shared_gateway is not None:
        variables[GATEWAY_VARIABLE] = _scalar(export.shared_gateway)
    return variables


def _entry_map(connection: ExportedConnection, export: Export) -> CommentedMap:
    entry = CommentedMap()
    entry["name"] = _scalar(connection.name)
    if export.shared_space is None:
        entry["space"] = _scalar(connection.space)
    if connection.kind is not None:
        entry["kind"] = connection.kind
    else:
        entry["data_source"] = _scalar(connection.data_source or "")

    if connection.gateway is not None:
        shared = connection.gateway == export.shared_gateway
        entry["gateway"] = (
            f"${{{GATEWAY_VARIABLE}}}" if shared else _scalar(connection.gateway)
        )
    if connection.tags:
        tags = CommentedSeq(_scalar(tag) for tag in connection.tags)
        tags.fa.set_flow_style()
        entry["tags"] = tags

    if connection.properties:
        entry["properties"] = _value(dict(connection.properties))
    if connection.secrets:
        entry["secrets"] = CommentedMap(
            (name, f"env:{variable}") for name, variable in connection.secrets.items()
        )
    if connection.key_files:
        entry["key_files"] = _key_files_map(connection.key_files)
    return entry


def _key_files_map(key_files: Mapping[str, str]) -> CommentedMap:
    mapping = CommentedMap()
    for name, variable in key_files.items():
        mapping[name] = f"env:{variable}"
        mapping.yaml_add_eol_comment(
            "a path: set the variable to it, or write the path here", name
        )
    return mapping


def _value(value: Any) -> Any:
    """Return ``value`` ready to dump: strings escaped and quoted where needed."""
    if isinstance(value, str):
        return _scalar(value)
    if isinstance(value, dict):
        return CommentedMap((str(k), _value(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return CommentedSeq(_value(item) for item in value)
    return value


def _scalar(text: str) -> str:
    escaped = escape_variables(text)
    if escaped in _YAML11_SPECIAL:
        quoted: str = SingleQuotedScalarString(escaped)
        return quoted
    return escaped


def _comment_text(lines: Iterable[str]) -> str:
    # A line break inside a comment would end it, and what follows would be
    # read as YAML, so every character that is not printable becomes a space.
    cleaned = ("".join(c if c.isprintable() else " " for c in line) for line in lines)
    return "\n".join(cleaned)


def _dump(document: CommentedMap) -> str:
    yaml = YAML()
    # Long values stay on one line, so that a diff shows one changed line.
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = io.StringIO()
    yaml.dump(document, stream)
    return stream.getvalue()


def write_manifest(path: Path, text: str, *, force: bool = False) -> None:
    """Write manifest ``text`` to ``path``, replacing a file only with ``force``.

    The text goes to a temporary file in the same folder first, which is
    then renamed over ``path``, so a reader never sees half a manifest.

    Raises:
        InputError: ``path`` exists and ``force`` is not set, ``path`` is a
            folder, or its folder does not exist.
        QtcError: The file cannot be written.
    """
    if path.is_dir():
        raise InputError(f"{path} is a folder; give the path of the manifest file")
    if not path.parent.is_dir():
        raise InputError(f"folder {path.parent} does not exist; create it first")
    if not force and (path.exists() or path.is_symlink()):
        raise InputError(
            f"{path} already exists; choose another path, or pass --force to replace it"
        )

    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        if force:
            os.replace(temporary, path)
        else:
            # A hard link fails when path appeared since the check, where a
            # rename would silently replace it.
            os.link(temporary, path)
    except FileExistsError:
        raise InputError(
            f"{path} already exists; choose another path, or pass --force to replace it"
        ) from None
    except OSError as exc:
        raise QtcError(f"manifest {path} cannot be written ({exc.strerror})") from exc
    finally:
        temporary.unlink(missing_ok=True)
