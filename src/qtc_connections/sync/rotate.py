"""Verified rotation: PATCH new secrets into connections, then read them back.

A rotation writes the same new secrets and key files to each selected
connection, one PATCH per connection, and nothing else. The tenant never
returns secrets, so success is judged from the connection read back after
the PATCH:

- ``verified``: ``updated`` advanced past its value before the PATCH, and
  the name, data source, space, tags and visible properties are unchanged.
- ``unverified``: the read-back cannot tell. ``updated`` is missing, is not
  a timestamp or did not move, or something besides the secret changed.
- ``failed``: a local check, the PATCH or a read failed.

``prepare_rotations`` runs every check that needs no write, so a mistake
fails before the first PATCH. ``apply_rotation`` then sends one rotation
and returns a library error as a ``failed`` outcome instead of raising it,
so the caller can go on with the next connection.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path

from qtc_connections.api.connections import scim_string
from qtc_connections.api.models import Connection
from qtc_connections.catalog import (
    DataSourceSpec,
    FileProperty,
    KeyFileType,
    Kind,
    kind_for_data_source,
    raw_kind,
)
from qtc_connections.client import QlikClient
from qtc_connections.errors import InputError, QtcError, ResolutionError, TransportError
from qtc_connections.keyfiles import KeyFile, load_key_file
from qtc_connections.patch import (
    PatchOperation,
    build_patch,
    check_patch_rules,
    patch_body,
)
from qtc_connections.secrets import Secret
from qtc_connections.validation import validate_properties

__all__ = [
    "PreparedRotation",
    "RotationOutcome",
    "RotationStatus",
    "SecretChange",
    "apply_rotation",
    "judge_read_back",
    "looks_like_id",
    "prepare_rotation",
    "prepare_rotations",
    "select_connections",
]

_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)

_UNCHECKED_FILE = FileProperty(file_type=KeyFileType.UNCHECKED)


class RotationStatus(Enum):
    """Result of rotating one connection."""

    VERIFIED = "verified"
    UNVERIFIED = "unverified"
    FAILED = "failed"


@dataclass(frozen=True)
class SecretChange:
    """The new credentials that a rotation writes to every selected connection.

    Attributes:
        secrets: New secret values by property name.
        key_files: New key files by property name, as paths; each is loaded
            and checked as the connection's kind expects.

    Raises:
        InputError: Nothing is given, or a property is in both mappings.
    """

    secrets: Mapping[str, Secret] = field(default_factory=dict)
    key_files: Mapping[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "secrets", dict(self.secrets))
        object.__setattr__(self, "key_files", dict(self.key_files))
        if not self.secrets and not self.key_files:
            raise InputError(
                "nothing to rotate; give --secret PROP=REF or --key-file PROP=PATH"
            )
        for name in sorted(set(self.secrets) & set(self.key_files)):
            raise InputError(
                f"property {name} is given with both --secret and --key-file; "
                "give it once"
            )

    @property
    def property_names(self) -> tuple[str, ...]:
        """Every property the rotation writes, secrets first, each group sorted."""
        return (*sorted(self.secrets), *sorted(self.key_files))


@dataclass(frozen=True)
class RotationOutcome:
    """The result of rotating one connection; every field is safe to show.

    Attributes:
        connection_id: The connection's id.
        name: Its name.
        space_id: Its space; ``None`` for a personal space.
        status: Verified, unverified or failed.
        reason: Why, in one sentence or a few joined with semicolons.
        properties: The properties the rotation wrote or meant to write.
        updated_before: ``updated`` read before the PATCH, if it was read.
        updated_after: ``updated`` read after the PATCH, if it was read.
    """

    connection_id: str
    name: str
    space_id: str | None
    status: RotationStatus
    reason: str
    properties: tuple[str, ...]
    updated_before: str | None = None
    updated_after: str | None = None

    def to_dict(self) -> dict[str, object]:
        """Describe the outcome as plain data for ``--json`` output."""
        return {
            "id": self.connection_id,
            "name": self.name,
            "space": self.space_id,
            "status": self.status.value,
            "reason": self.reason,
            "properties": list(self.properties),
            "updated_before": self.updated_before,
            "updated_after": self.updated_after,
        }


@dataclass(frozen=True)
class PreparedRotation:
    """A rotation of one connection that passed every local check.

    ``operations`` hold the secret values wrapped, so ``repr`` of this
    object shows ``(sensitive)`` in their place.
    """

    connection: Connection
    kind: Kind
    operations: tuple[PatchOperation, ...]
    properties: tuple[str, ...]


def select_connections(
    client: QlikClient,
    *,
    reference: str | None = None,
    space_id: str | None = None,
    scim_filter: str | None = None,
    kind: Kind | None = None,
) -> list[Connection]:
    """Return the connections a rotation targets.

    ``reference`` is one connection, by id (a UUID) or by exact name within
    ``space_id``. Otherwise the selection is every connection in
    ``space_id`` (every visible space when ``None``) that matches
    ``scim_filter`` and is of ``kind``. The kind becomes a ``datasourceID``
    clause of the filter, and each listed item is checked against it too.

    Raises:
        InputError: Both a reference and a filter or kind are given, or none.
        NotFoundError: No connection has the id.
        ResolutionError: No connection has the name, or several do, or the
            filter and kind match nothing.
    """
    if reference is not None and (scim_filter or kind):
        raise InputError(
            "give a connection id or name, or --filter and --kind, not both"
        )
    if reference is not None:
        return [_one_connection(client, reference, space_id)]
    if not scim_filter and kind is None:
        raise InputError(
            "give a connection id or name, or select several with --filter or --kind"
        )

    expression = _filter_expression(scim_filter, kind)
    found = [
        connection
        for connection in client.connections.list(space_id=space_id, filter=expression)
        if kind is None or connection.data_source_id == kind.data_source_id
    ]
    if not found:
        where = f"space {space_id}" if space_id else "any visible space"
        raise ResolutionError(
            f"no connection in {where} matches filter {expression!r}; check it "
            "with 'qtc connections list --filter'"
        )
    return found


def looks_like_id(reference: str) -> bool:
    """Return whether ``reference`` is a connection id (a UUID) rather than a name."""
    return _UUID.fullmatch(reference) is not None


def _one_connection(
    client: QlikClient, reference: str, space_id: str | None
) -> Connection:
    if looks_like_id(reference):
        return client.connections.get(reference)
    return client.connections.get_by_name(reference, space_id=space_id)


def _filter_expression(scim_filter: str | None, kind: Kind | None) -> str:
    clauses = []
    if scim_filter:
        clauses.append(f"({scim_filter})")
    if kind is not None:
        clauses.append(f"datasourceID eq {scim_string(kind.data_source_id)}")
    return " and ".join(clauses)


def prepare_rotations(
    client: QlikClient, connections: Iterable[Connection], change: SecretChange
) -> tuple[list[PreparedRotation], list[RotationOutcome]]:
    """Check the rotation of each connection; return the ready and the failed.

    A connection that fails a check becomes a ``failed`` outcome and does
    not stop the others. Nothing is written.
    """
    prepared: list[PreparedRotation] = []
    failed: list[RotationOutcome] = []
    for connection in connections:
        try:
            prepared.append(prepare_rotation(client, connection, change))
        except QtcError as error:
            failed.append(
                _outcome(
                    connection,
                    RotationStatus.FAILED,
                    f"{error}; nothing was changed",
                    change.property_names,
                )
            )
    return prepared, failed


def prepare_rotation(
    client: QlikClient, connection: Connection, change: SecretChange
) -> PreparedRotation:
    """Run every check of one rotation that needs no write, and build its PATCH.

    The data source's api-specs are read (once per data source and client)
    to find its secret and file properties. Each property of ``change``
    must be one of them, key files are loaded and checked, and the PATCH
    body must pass ``check_patch_rules``.

    Raises:
        InputError: The connection has no data source id, a property is not
            a secret or file property of its kind, a passphrase would change
            without its key, a key file is invalid, or the PATCH breaks a
            rule.
        ApiError, TransportError: The api-specs could not be read.
    """
    data_source_id = connection.data_source_id
    if not data_source_id:
        raise InputError(
            f"connection {connection.name!r} has no datasourceID, so its secret "
            "properties are unknown"
        )
    spec = client.data_sources.api_specs(data_source_id)
    kind = kind_for_data_source(data_source_id) or raw_kind(
        data_source_id, api_spec=spec.raw
    )
    schema = DataSourceSpec.from_api_spec(spec.raw)
    _check_targets(connection, kind, schema, change)

    files = _load_files(kind, change)
    subject = f"connection {connection.name!r} ({kind.name})"
    validate_properties(
        {**change.secrets, **files}, spec.raw, kind=kind, subject=subject, partial=True
    )
    operations = build_patch(secrets=change.secrets, files=files)
    check_patch_rules(
        operations,
        current_properties=connection.connection_properties,
        credential_properties=kind.credential_properties
        | schema.secret_names
        | schema.file_names,
    )
    return PreparedRotation(
        connection=connection,
        kind=kind,
        operations=tuple(operations),
        properties=change.property_names,
    )


def _check_targets(
    connection: Connection, kind: Kind, schema: DataSourceSpec, change: SecretChange
) -> None:
    file_names = frozenset(kind.files) | schema.file_names
    secret_names = (frozenset(kind.secrets) | schema.secret_names) - file_names
    problems = [
        _not_credential_problem(name, "secret", secret_names)
        for name in sorted(change.secrets)
        if name not in secret_names
    ]
    problems += [
        _not_credential_problem(name, "key file", file_names)
        for name in sorted(change.key_files)
        if name not in file_names
    ]
    problems += _orphaned_passphrases(kind, change)
    if problems:
        raise InputError(
            f"connection {connection.name!r} ({kind.name}): " + "; ".join(problems)
        )


def _not_credential_problem(
    name: str, property_type: str, valid: frozenset[str]
) -> str:
    listed = ", ".join(sorted(valid)) or "none"
    return (
        f"{name} is not a {property_type} property of this kind "
        f"({property_type} properties: "
        f"{listed}); rotate writes credentials only, so change plain "
        "properties with 'qtc connections patch --set'"
    )


def _orphaned_passphrases(kind: Kind, change: SecretChange) -> list[str]:
    # A new passphrase without the key it opens would leave the connection
    # with a key that no longer decrypts.
    problems = []
    for file_name, file_property in kind.files.items():
        passphrase = file_property.passphrase_property
        if passphrase in change.secrets and file_name not in change.key_files:
            problems.append(
                f"{passphrase} opens {file_name}, so rotate both together: add "
                f"--key-file {file_name}=PATH"
            )
    return problems


def _load_files(kind: Kind, change: SecretChange) -> dict[str, KeyFile]:
    loaded: dict[str, KeyFile] = {}
    for name, path in change.key_files.items():
        file_property = kind.files.get(name, _UNCHECKED_FILE)
        passphrase = change.secrets.get(file_property.passphrase_property or "")
        loaded[name] = load_key_file(path, file_property, passphrase=passphrase)
    return loaded


def apply_rotation(client: QlikClient, prepared: PreparedRotation) -> RotationOutcome:
    """Send one prepared rotation and judge it from the read-back.

    The connection is read just before the PATCH, so that the comparison
    covers only what changed in between. Errors become a ``failed`` outcome
    and are not raised.
    """
    connection = prepared.connection
    properties = prepared.properties
    try:
        before = client.connections.get(connection.id, parse_connection=True)
    except QtcError as error:
        reason = (
            f"reading the connection before the PATCH failed: {error}; "
            "nothing was changed"
        )
        return _outcome(connection, RotationStatus.FAILED, reason, properties)

    try:
        client.connections.patch(connection.id, patch_body(prepared.operations))
    except TransportError as error:
        reason = (
            f"the PATCH outcome is unknown: {error}; run the rotation again, "
            "which writes the same values"
        )
        return _outcome(before, RotationStatus.FAILED, reason, properties, before)
    except QtcError as error:
        reason = f"PATCH failed: {error}"
        return _outcome(before, RotationStatus.FAILED, reason, properties, before)

    try:
        after = client.connections.get(connection.id, parse_connection=True)
    except QtcError as error:
        reason = (
            f"the PATCH was accepted, but reading the connection back failed: "
            f"{error}; check the connection before relying on the new secret"
        )
        return _outcome(before, RotationStatus.FAILED, reason, properties, before)

    status, reason = judge_read_back(before, after)
    return _outcome(after, status, reason, properties, before, after)


def judge_read_back(
    before: Connection, after: Connection
) -> tuple[RotationStatus, str]:
    """Decide from two reads of a connection whether a secret-only PATCH took effect.

    Returns ``VERIFIED`` when ``updated`` advanced and nothing else visible
    changed, else ``UNVERIFIED`` with every reason found.

    NOTE: the data-connections spec does not say that a PATCH of a secret
    alone moves ``updated``. The emulator moves it on every PATCH. A tenant
    that does not would make every rotation unverified.
    """
    problems = _updated_problems(before.updated, after.updated)
    changed = _changed_fields(before, after)
    if changed:
        problems.append(
            f"besides the secret, {', '.join(changed)} changed between the reads "
            "before and after the PATCH; check who else changed the connection"
        )
    if problems:
        return RotationStatus.UNVERIFIED, "; ".join(problems)
    reason = (
        f"updated advanced from {before.updated} to {after.updated}; the rest "
        "of the connection is unchanged"
    )
    return RotationStatus.VERIFIED, reason


def _updated_problems(before: str | None, after: str | None) -> list[str]:
    if before is None or after is None:
        return ["the tenant returned no updated field, so the write cannot be seen"]

    earlier = _parse_timestamp(before)
    later = _parse_timestamp(after)
    if earlier is None or later is None:
        invalid = before if earlier is None else after
        return [f"updated value {invalid!r} is not an RFC 3339 timestamp"]
    if later <= earlier:
        return [f"updated did not advance past {before}"]
    return []


def _parse_timestamp(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    # A time without a UTC offset cannot be ordered against one with it.
    return moment if moment.tzinfo is not None else None


def _changed_fields(before: Connection, after: Connection) -> list[str]:
    changed = []
    pairs: Sequence[tuple[str, object, object]] = (
        ("qName", before.name, after.name),
        ("datasourceID", before.data_source_id, after.data_source_id),
        ("space", before.space_id, after.space_id),
        ("tags", sorted(before.tags), sorted(after.tags)),
    )
    for label, old, new in pairs:
        if old != new:
            changed.append(label)

    old_properties = before.connection_properties or {}
    new_properties = after.connection_properties or {}
    for name in sorted(set(old_properties) | set(new_properties)):
        if old_properties.get(name) != new_properties.get(name):
            # Only the name: the value may be a secret that a tenant echoed.
            changed.append(f"connectionProperties.{name}")
    return changed


def _outcome(
    connection: Connection,
    status: RotationStatus,
    reason: str,
    properties: tuple[str, ...],
    before: Connection | None = None,
    after: Connection | None = None,
) -> RotationOutcome:
    return RotationOutcome(
        connection_id=connection.id,
        name=connection.name,
        space_id=connection.space_id,
        status=status,
        reason=reason,
        properties=properties,
        updated_before=before.updated if before else None,
        updated_after=after.updated if after else None,
    )
