"""From ``--set``, ``--secret`` and ``--key-file`` flags to a checked request.

Create and patch take the same three flags. Everything that can be checked
on this machine is checked before the first request: the kind, the flag
syntax, that secrets are references and can be read, and, for a create,
the key files and the catalog's required inputs. Then the data source's
api-specs are read (one GET, cached) to coerce and validate the values,
and only then is the write sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from qtc_connections.api.models import ApiSpec, Connection
from qtc_connections.catalog import (
    GATEWAY_PROPERTY,
    DataSourceSpec,
    FileProperty,
    KeyFileType,
    Kind,
    get_kind,
    kind_for_data_source,
    raw_kind,
)
from qtc_connections.cli.output import prompt_secret
from qtc_connections.client import QlikClient
from qtc_connections.errors import InputError
from qtc_connections.keyfiles import KeyFile, load_key_file
from qtc_connections.patch import build_patch, check_patch_rules, patch_body
from qtc_connections.properties import (
    ConnectionInput,
    build_connection_properties,
    parse_assignment,
)
from qtc_connections.secrets import Secret, SecretReference, resolve_references
from qtc_connections.validation import (
    coerce_value,
    validate_connection_input,
    validate_properties,
)

F = TypeVar("F", bound=Callable[..., Any])

_UNCHECKED_FILE = FileProperty(file_type=KeyFileType.UNCHECKED)


def connection_input_options(func: F) -> F:
    """Add ``--set``, ``--secret`` and ``--key-file``, each repeatable."""
    func = click.option(
        "--key-file",
        "key_files",
        multiple=True,
        metavar="NAME=PATH",
        help="File-valued property, such as privateKeyFile=rsa_key.p8; checked locally.",
    )(func)
    func = click.option(
        "--secret",
        "secret_refs",
        multiple=True,
        metavar="NAME=REF",
        help="Secret property from a reference: env:VAR, file:PATH, - (stdin) or prompt.",
    )(func)
    func = click.option(
        "--set",
        "set_values",
        multiple=True,
        metavar="NAME=VALUE",
        help="Plain connection property; repeat for several.",
    )(func)
    return func


@dataclass(frozen=True)
class FlagInputs:
    """The three flags, parsed and with secrets read, but not yet typed."""

    plain: dict[str, str]
    secrets: dict[str, Secret]
    key_files: dict[str, Path]

    @classmethod
    def parse(
        cls,
        set_values: tuple[str, ...],
        secret_refs: tuple[str, ...],
        key_files: tuple[str, ...],
    ) -> FlagInputs:
        """Parse the flags and read every secret reference.

        Raises:
            InputError: a flag is not ``NAME=VALUE``, a name repeats, or a
                secret is a literal or cannot be read.
        """
        plain = _unique_assignments(set_values, "--set")
        references = [
            SecretReference.parse(text, name=name)
            for name, text in _unique_assignments(secret_refs, "--secret").items()
        ]
        paths = {
            name: Path(text).expanduser()
            for name, text in _unique_assignments(key_files, "--key-file").items()
        }
        secrets = resolve_references(references, prompt=prompt_secret)
        return cls(plain=plain, secrets=secrets, key_files=paths)

    def load_files(self, kind: Kind) -> dict[str, KeyFile]:
        """Load and check each key file as the kind's file property expects.

        Raises:
            KeyFileError: a file is unreadable, malformed, or needs a
                passphrase that was not given.
        """
        loaded: dict[str, KeyFile] = {}
        for name, path in self.key_files.items():
            spec = kind.files.get(name, _UNCHECKED_FILE)
            passphrase = self.secrets.get(spec.passphrase_property or "")
            loaded[name] = load_key_file(path, spec, passphrase=passphrase)
        return loaded

    def typed_plain(self, spec: ApiSpec) -> dict[str, object]:
        """Convert the ``--set`` strings to the types the api-specs declare.

        Raises:
            InputError: a value does not parse as its declared type.
        """
        return {
            name: coerce_value(raw, spec.properties.get(name), name=name)
            for name, raw in self.plain.items()
        }


@dataclass(frozen=True)
class CheckedCreate:
    """A create whose flags passed every check that needs no request.

    Attributes:
        kind: The catalog kind, or a raw kind for an id outside the catalog.
        name: Connection name.
        gateway_id: Data Movement gateway id from --gateway or QTC_GATEWAY_ID.
        inputs: The parsed flags, with secrets read.
        files: The loaded and checked key files.
    """

    kind: Kind
    name: str
    gateway_id: str | None
    inputs: FlagInputs
    files: Mapping[str, KeyFile]


def check_create(
    *,
    name: str,
    kind_name: str | None,
    data_source_id: str | None,
    gateway_id: str | None,
    set_values: tuple[str, ...],
    secret_refs: tuple[str, ...],
    key_files: tuple[str, ...],
) -> CheckedCreate:
    """Run every check of a create that needs no request to the tenant.

    Raises:
        InputError: the kind is unknown, a flag is malformed, a secret is a
            literal or cannot be read, a key file is invalid, or the
            catalog finds an input missing or given with the wrong flag.
    """
    kind = get_kind(kind_name) if kind_name else _kind_for_id(data_source_id or "")
    inputs = FlagInputs.parse(set_values, secret_refs, key_files)
    files = inputs.load_files(kind)

    # The catalog alone can already tell about missing inputs and secrets
    # given with --set, so those errors cost no request.
    draft = _connection_input(
        kind, name, None, gateway_id, dict(inputs.plain), inputs, files
    )
    validate_connection_input(draft, None)
    return CheckedCreate(
        kind=kind, name=name, gateway_id=gateway_id, inputs=inputs, files=files
    )


def create_connection(
    client: QlikClient,
    checked: CheckedCreate,
    *,
    space_id: str | None,
    tags: tuple[str, ...],
) -> Connection:
    """Validate a checked create against the api-specs, then send it.

    Raises:
        InputError: a value fails the api-specs; nothing is written.
        ConnectionExistsError: the name is taken in the space.
        ApiError, TransportError: from the tenant.
    """
    kind = checked.kind
    gateway_id = checked.gateway_id
    spec = client.data_sources.api_specs(kind.data_source_id)
    if kind.is_raw:
        gateway_id = _raw_gateway_id(gateway_id, spec)
        kind = raw_kind(kind.data_source_id, gateway_id=gateway_id, api_spec=spec.raw)

    inputs = checked.inputs
    connection = _connection_input(
        kind,
        checked.name,
        space_id,
        gateway_id,
        inputs.typed_plain(spec),
        inputs,
        checked.files,
    )
    validate_connection_input(connection, spec.raw)

    built = build_connection_properties(connection)
    return client.connections.create(
        name=checked.name,
        data_source_id=kind.data_source_id,
        connection_properties=built.payload,
        space_id=space_id,
        tags=tags,
    )


def _raw_gateway_id(gateway_id: str | None, spec: ApiSpec) -> str | None:
    # QTC_GATEWAY_ID is usually exported for the catalog's Data Movement
    # kinds. A data source whose schema has no agentId, such as a DG_
    # connector, rejects the property, so the id is not sent to it, even
    # when --gateway gave it.
    if GATEWAY_PROPERTY in spec.properties:
        return gateway_id
    return None


def patch_connection(
    client: QlikClient,
    current: Connection,
    *,
    new_name: str | None,
    removals: tuple[str, ...],
    inputs: FlagInputs,
) -> list[dict[str, object]]:
    """Validate a change to ``current``, check the PATCH rules, and send it.

    Returns the operations sent, with secret values redacted.

    Raises:
        InputError: a check fails; nothing is written.
        ApiError, TransportError: from the tenant.
    """
    data_source_id = current.data_source_id
    if not data_source_id:
        raise InputError(
            f"connection {current.name} has no datasourceID; it cannot be "
            "patched with connection properties"
        )
    spec = client.data_sources.api_specs(data_source_id)
    kind = kind_for_data_source(data_source_id) or raw_kind(
        data_source_id, api_spec=spec.raw
    )
    files = inputs.load_files(kind)
    plain = inputs.typed_plain(spec)

    changed: dict[str, object] = {**plain, **inputs.secrets, **files}
    validate_properties(
        changed,
        spec.raw,
        kind=kind,
        subject=f"connection {current.name!r} ({kind.name})",
        partial=True,
    )
    operations = build_patch(
        name=new_name,
        properties=plain,
        secrets=inputs.secrets,
        files=files,
        remove=removals,
    )
    credentials = (
        kind.credential_properties | DataSourceSpec.from_api_spec(spec.raw).secret_names
    )
    check_patch_rules(
        operations,
        current_properties=current.connection_properties,
        credential_properties=credentials,
    )
    client.connections.patch(current.id, patch_body(operations))
    return [operation.to_redacted_json() for operation in operations]


def _kind_for_id(data_source_id: str) -> Kind:
    return kind_for_data_source(data_source_id) or raw_kind(data_source_id)


def _connection_input(
    kind: Kind,
    name: str,
    space_id: str | None,
    gateway_id: str | None,
    plain: Mapping[str, object],
    inputs: FlagInputs,
    files: Mapping[str, KeyFile],
) -> ConnectionInput:
    return ConnectionInput(
        kind=kind,
        name=name,
        space_id=space_id,
        gateway_id=gateway_id,
        properties=plain,
        secrets=inputs.secrets,
        files=files,
    )


def _unique_assignments(values: tuple[str, ...], flag: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for text in values:
        name, value = parse_assignment(text)
        if name in parsed:
            raise InputError(f"{flag} {name} is given twice; give each property once")
        parsed[name] = value
    return parsed
