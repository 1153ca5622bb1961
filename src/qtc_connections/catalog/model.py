"""Connection kinds and the property schemas that data sources publish.

A ``Kind`` is declarative data about one platform: its data source id, how
it gets a gateway, the defaults the documented examples send, and which of
its properties are plain inputs, secrets or files. ``DataSourceSpec`` reads
the ``connectionProperties`` schema of a data source's ``api-specs``
response, which is the tenant's own statement of the same facts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

from qtc_connections.errors import InputError

__all__ = [
    "GATEWAY_PROPERTY",
    "PEM_KEY_FILE_NAME",
    "QLIK_MANAGED_GATEWAY",
    "SERVICE_ACCOUNT_FILE_NAME",
    "DataSourceSpec",
    "DefaultValue",
    "FileProperty",
    "GatewayRule",
    "KeyFileType",
    "Kind",
    "Role",
    "declared_types",
    "is_file_schema",
    "is_secret_schema",
]

# Connection property that names the Data Movement gateway of a connection.
GATEWAY_PROPERTY = "agentId"

# NOTE: a public Postman collection sends this literal as agentId for the
# ADLS, S3 and GCS targets, while Qlik's own examples show only a
# placeholder. Whether the service needs exactly this value is unconfirmed.
QLIK_MANAGED_GATEWAY = "$$qlikManagedGateway$$"

# File names that the documented examples give to uploaded key files.
PEM_KEY_FILE_NAME = "snowflake_rsa_key.p8"
SERVICE_ACCOUNT_FILE_NAME = "service-account.json"

# Value types that the documented examples use for defaults: numbers such as
# ports are JSON strings, flags are JSON booleans.
DefaultValue = str | bool


class Role(Enum):
    """Direction of a connection in a Data Integration project."""

    SOURCE = "source"
    TARGET = "target"


class GatewayRule(Enum):
    """Rule by which a kind fills the ``agentId`` connection property."""

    DATA_MOVEMENT = "data-movement"
    """The user gives the id of a Data Movement gateway."""

    QLIK_MANAGED = "qlik-managed"
    """``agentId`` is the Qlik-managed gateway literal."""

    NONE = "none"
    """No ``agentId`` is sent."""


class KeyFileType(Enum):
    """Content that a file-valued property expects."""

    PEM_PRIVATE_KEY = "pem-private-key"
    SERVICE_ACCOUNT_JSON = "service-account-json"
    UNCHECKED = "unchecked"
    """Any file, sent as it is; used where the expected content is unknown."""


@dataclass(frozen=True)
class FileProperty:
    """A connection property whose value is an uploaded file.

    Attributes:
        file_type: Content the file must have; the loader checks it.
        default_file_name: Name sent with the file unless the user gives one.
            ``None`` means the name of the file on disk.
        passphrase_property: For an encrypted PEM key, the secret property
            that carries its passphrase.
    """

    file_type: KeyFileType
    default_file_name: str | None = None
    passphrase_property: str | None = None

    def to_dict(self) -> dict[str, object]:
        """Describe the file property as plain data for JSON output."""
        return {
            "file_type": self.file_type.value,
            "default_file_name": self.default_file_name,
            "passphrase_property": self.passphrase_property,
        }


@dataclass(frozen=True)
class Kind:
    """One kind of connection, such as a MySQL source or an S3 target.

    Attributes:
        name: Identifier used on the command line, kebab-case for built-in
            kinds (``mysql-source``) and ``raw:<data source id>`` otherwise.
        title: Human-readable name.
        data_source_id: Id sent as ``dataSourceId`` on create.
        role: Source or target; ``None`` for a raw data source id whose
            prefix is neither ``repsrc_`` nor ``reptgt_``.
        gateway: How ``agentId`` is filled.
        defaults: Properties sent unless the user overrides them.
        required: Plain (non-secret) inputs the user must give.
        secrets: Properties whose string values are secrets.
        files: Properties whose values are uploaded files.
        reference: URL of the documented examples for this kind.
        examples: Example values for required inputs, to show in help text.
    """

    name: str
    title: str
    data_source_id: str
    role: Role | None
    gateway: GatewayRule
    defaults: Mapping[str, DefaultValue] = field(default_factory=dict, hash=False)
    required: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    files: Mapping[str, FileProperty] = field(default_factory=dict, hash=False)
    reference: str = ""
    examples: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # Freeze the mappings so that a kind shared through the registry
        # cannot be changed by one caller under another.
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))
        object.__setattr__(self, "examples", MappingProxyType(dict(self.examples)))
        object.__setattr__(self, "required", tuple(self.required))
        object.__setattr__(self, "secrets", tuple(self.secrets))
        self._check_consistency()

    def _check_consistency(self) -> None:
        groups = {
            "defaults": set(self.defaults),
            "required": set(self.required),
            "secrets": set(self.secrets),
            "files": set(self.files),
        }
        names = list(groups)
        for index, first in enumerate(names):
            for second in names[index + 1 :]:
                overlap = groups[first] & groups[second]
                if overlap:
                    raise ValueError(
                        f"kind {self.name}: {sorted(overlap)} listed in both "
                        f"{first} and {second}"
                    )

        all_names = set().union(*groups.values())
        if GATEWAY_PROPERTY in all_names:
            raise ValueError(
                f"kind {self.name}: {GATEWAY_PROPERTY} is set by the gateway "
                "rule and must not be listed as a property"
            )

        for file_name, spec in self.files.items():
            passphrase = spec.passphrase_property
            if passphrase is not None and passphrase not in self.secrets:
                raise ValueError(
                    f"kind {self.name}: passphrase property {passphrase} of "
                    f"{file_name} is not listed in secrets"
                )

    @property
    def credential_properties(self) -> frozenset[str]:
        """Secret and file properties, which count as credentials in a PATCH."""
        return frozenset(self.secrets) | frozenset(self.files)

    @property
    def is_raw(self) -> bool:
        """Whether the kind was built for a data source id outside the catalog."""
        return self.name.startswith("raw:")

    def to_dict(self) -> dict[str, object]:
        """Describe the kind as plain data for ``--json`` output."""
        return {
            "name": self.name,
            "title": self.title,
            "data_source_id": self.data_source_id,
            "role": self.role.value if self.role else None,
            "gateway": self.gateway.value,
            "gateway_property": GATEWAY_PROPERTY,
            "defaults": dict(self.defaults),
            "required": list(self.required),
            "secrets": list(self.secrets),
            "files": {name: spec.to_dict() for name, spec in self.files.items()},
            "reference": self.reference,
            "examples": dict(self.examples),
        }


@dataclass(frozen=True)
class DataSourceSpec:
    """Property schema of one data source, read from its ``api-specs`` response.

    NOTE: Qlik publishes no api-specs output for a ``repsrc_``/``reptgt_``
    data source. Treating ``writeOnly`` properties as secrets, and arrays of
    ``{name, value}`` objects as files, is an assumption.

    Attributes:
        properties: Schema of each declared property, by name.
        required: Names listed in the schema's ``required`` array.
    """

    properties: Mapping[str, Mapping[str, Any]] = field(
        default_factory=dict, hash=False
    )
    required: frozenset[str] = frozenset()

    @classmethod
    def from_api_spec(cls, api_spec: Mapping[str, Any]) -> DataSourceSpec:
        """Read the schema from an api-specs response or a bare schema.

        The response has the schema under ``connectionProperties``. A mapping
        without that key is taken to be the schema itself. Properties whose
        schema is not an object count as declared with no constraints, and a
        missing ``required`` array means nothing is required.

        The OpenAPI spec's example shows ``connectionProperties`` as a flat
        ``{name: value}`` object. That form is not interpreted: it yields a
        spec with no declared properties, so no name counts as unknown.

        Raises:
            InputError: The schema is not a JSON object.
        """
        schema: object = api_spec.get("connectionProperties", api_spec)
        if isinstance(schema, str):
            # The OpenAPI spec types its example as a JSON string.
            try:
                schema = json.loads(schema)
            except ValueError:
                schema = None
        if not isinstance(schema, Mapping):
            raise InputError(
                "the api-specs response has no connectionProperties object; "
                "check the data source id"
            )

        raw_properties = schema.get("properties")
        properties: dict[str, Mapping[str, Any]] = {}
        if isinstance(raw_properties, Mapping):
            for name, property_schema in raw_properties.items():
                if isinstance(property_schema, Mapping):
                    properties[str(name)] = property_schema
                else:
                    properties[str(name)] = {}

        raw_required = schema.get("required")
        required: frozenset[str] = frozenset()
        if isinstance(raw_required, list):
            required = frozenset(str(name) for name in raw_required)
        return cls(properties=MappingProxyType(properties), required=required)

    @property
    def declares_properties(self) -> bool:
        """Whether the schema lists any property, which unknown-name checks need."""
        return bool(self.properties)

    def schema_for(self, name: str) -> Mapping[str, Any] | None:
        """Return the schema of property ``name``, or ``None`` if undeclared."""
        return self.properties.get(name)

    @property
    def secret_names(self) -> frozenset[str]:
        """Properties the schema marks ``writeOnly``."""
        return frozenset(
            name for name, schema in self.properties.items() if is_secret_schema(schema)
        )

    @property
    def file_names(self) -> frozenset[str]:
        """Properties whose schema is an array of ``{name, value}`` objects."""
        return frozenset(
            name for name, schema in self.properties.items() if is_file_schema(schema)
        )

    @property
    def defaulted_names(self) -> frozenset[str]:
        """Properties whose schema declares a ``default``."""
        return frozenset(
            name for name, schema in self.properties.items() if "default" in schema
        )


def is_secret_schema(schema: Mapping[str, Any]) -> bool:
    """Return whether a property schema marks a secret (``writeOnly: true``)."""
    return schema.get("writeOnly") is True


def is_file_schema(schema: Mapping[str, Any]) -> bool:
    """Return whether a property schema is an array of ``{name, value}`` items."""
    if "array" not in declared_types(schema):
        return False

    items = schema.get("items")
    if not isinstance(items, Mapping):
        return False

    item_properties = items.get("properties")
    if not isinstance(item_properties, Mapping):
        return False
    return "name" in item_properties and "value" in item_properties


def declared_types(schema: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the JSON types a property schema declares; empty if it has none.

    JSON Schema allows ``type`` to be one name or a list of names.
    """
    declared = schema.get("type")
    if isinstance(declared, str):
        return (declared,)
    if isinstance(declared, list):
        return tuple(name for name in declared if isinstance(name, str))
    return ()
