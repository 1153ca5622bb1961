"""Compare a manifest with the tenant and list the changes that would converge them.

``build_plan`` reads the tenant with as few requests as the paged list
allows: each space of the manifest is resolved once, listed once (100
connections a page), and only the connections that the manifest declares
and that exist are read again with their parsed properties. The api-specs
of each data source are read once, to validate the desired values before
anything is written.

Connections are matched by (space id, name), and each one gets an action:

* create: declared, but not on the tenant;
* update: on the tenant, but a plain property, the tags or a secret
  differ, which one PATCH will fix;
* no-op: on the tenant as declared;
* delete: in one of the manifest's spaces but declared by no file, with
  ``prune`` only;
* unmanaged: the same connections without ``prune``, listed and never
  touched.

Plain properties are the kind's defaults, the gateway's ``agentId`` and the
manifest's ``properties``. Each is compared with the tenant's
``connectionProperties``; properties that the manifest does not set are
left as they are. Secrets are never read back: a secret is ``changed`` when
its fingerprint differs from the one in the state, ``unknown`` when the
state has none (it is then sent only with ``resend_secrets``), and
``unchanged`` otherwise.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from qtc_connections.api.models import ApiSpec, Connection, Space
from qtc_connections.catalog import (
    GATEWAY_PROPERTY,
    DataSourceSpec,
    FileProperty,
    KeyFileType,
    Kind,
    kind_for_data_source,
    raw_kind,
)
from qtc_connections.client import DEFAULT_PAGE_SIZE, QlikClient
from qtc_connections.errors import (
    InputError,
    NotFoundError,
    SecretReferenceError,
    ValidationError,
)
from qtc_connections.keyfiles import KeyFile, load_file_unchecked, load_key_file
from qtc_connections.manifest.model import DesiredConnection, Manifest
from qtc_connections.patch import (
    ADDRESS_PROPERTIES,
    PatchOperation,
    build_patch,
    check_patch_rules,
)
from qtc_connections.properties import ConnectionInput, merge_values
from qtc_connections.redact import SENSITIVE
from qtc_connections.secrets import Secret, SecretReference, SecretSource
from qtc_connections.sync.fingerprint import Fingerprinter, fingerprints_equal
from qtc_connections.sync.state import ConnectionKey, StateFile
from qtc_connections.validation import validate_connection_input

__all__ = [
    "PLAN_FORMAT_VERSION",
    "SERVICE_TAG_PREFIX",
    "Action",
    "Change",
    "Payload",
    "Plan",
    "PropertyChange",
    "SecretChange",
    "SecretStatus",
    "TagChange",
    "build_plan",
    "json_equal",
    "render_plan",
    "user_tags",
]

PLAN_FORMAT_VERSION = 1

# NOTE: the service tags each connection it creates from properties with
# "DcaasAPI:<provider>:<version>" (seen in published create responses).
# Such tags are taken to belong to the service: they are neither compared
# with the manifest's tags nor dropped when the tags are replaced.
SERVICE_TAG_PREFIX = "DcaasAPI:"

_UNCHECKED_FILE = FileProperty(file_type=KeyFileType.UNCHECKED)


class Action(Enum):
    """The action that apply takes for one connection."""

    CREATE = "create"
    UPDATE = "update"
    NO_OP = "no-op"
    DELETE = "delete"
    UNMANAGED = "unmanaged"

    @property
    def symbol(self) -> str:
        """The mark that starts the action's line in the text rendering."""
        return _SYMBOLS[self]


_SYMBOLS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.DELETE: "-",
    Action.NO_OP: "=",
    Action.UNMANAGED: "?",
}


class SecretStatus(Enum):
    """A desired secret compared with the value that was last sent."""

    NEW = "new"
    """The connection is created, so every secret is sent."""

    CHANGED = "changed"
    """The fingerprint differs from the state's: the value is sent."""

    UNKNOWN = "unknown"
    """The state has no fingerprint: sent only with ``resend_secrets``."""

    UNCHANGED = "unchanged"
    """The fingerprint equals the state's."""


@dataclass(frozen=True)
class PropertyChange:
    """A plain property whose desired value differs from the tenant's.

    For a create, ``old_present`` is false and ``new`` is the value sent.
    """

    name: str
    new: object
    old: object = None
    old_present: bool = False

    def to_json(self) -> dict[str, object]:
        """Return ``{"old", "new"}``, without ``old`` when the tenant has none."""
        body: dict[str, object] = {"new": self.new}
        if self.old_present:
            body = {"old": self.old, "new": self.new}
        return body


@dataclass(frozen=True)
class TagChange:
    """The user tags (service tags left out) before and after."""

    old: tuple[str, ...]
    new: tuple[str, ...]


@dataclass(frozen=True)
class SecretChange:
    """One secret or key file property of a desired connection.

    ``send`` is whether apply sends the value. ``reason`` explains why a
    value is sent although its status alone would not send it.
    """

    name: str
    status: SecretStatus
    send: bool
    is_file: bool = False
    reason: str = ""

    def to_json(self) -> dict[str, object]:
        """Describe the secret without its value."""
        body: dict[str, object] = {
            "status": self.status.value,
            "send": self.send,
            "value": SENSITIVE,
        }
        if self.is_file:
            body["file"] = True
        if self.reason:
            body["reason"] = self.reason
        return body


@dataclass(frozen=True)
class Payload:
    """The values that apply sends for a create or an update, never shown.

    Attributes:
        connection: The desired connection with its secrets read and key
            files loaded, for ``build_connection_properties``.
        plain: Desired plain property values, checked after each write.
        tags: Desired user tags.
        fingerprints: Fingerprint of each secret and key file that apply
            sends, recorded in the state once the write succeeded.
    """

    connection: ConnectionInput
    plain: Mapping[str, object]
    tags: tuple[str, ...]
    fingerprints: Mapping[str, str]


@dataclass(frozen=True)
class Change:
    """The planned action for one connection, and what it changes.

    ``payload`` and ``operations`` carry the values to send, including
    secrets, so they are left out of ``repr`` and of ``to_json``.
    """

    action: Action
    key: ConnectionKey
    space_name: str
    data_source_id: str | None
    kind_name: str | None = None
    connection_id: str | None = None
    properties: tuple[PropertyChange, ...] = ()
    tags: TagChange | None = None
    secrets: tuple[SecretChange, ...] = ()
    payload: Payload | None = field(default=None, repr=False, compare=False)
    operations: tuple[PatchOperation, ...] = field(
        default=(), repr=False, compare=False
    )

    @property
    def name(self) -> str:
        """The connection name."""
        return self.key.name

    @property
    def unknown_secrets(self) -> list[str]:
        """Secrets that the state has no fingerprint for and that are not sent."""
        return [
            s.name
            for s in self.secrets
            if s.status is SecretStatus.UNKNOWN and not s.send
        ]

    def to_json(self) -> dict[str, object]:
        """Describe the change; secret values appear as ``(sensitive)``."""
        body: dict[str, object] = {
            "action": self.action.value,
            "space": self.space_name,
            "space_id": self.key.space_id,
            "name": self.key.name,
            "id": self.connection_id,
            "kind": self.kind_name,
            "data_source_id": self.data_source_id,
        }
        if self.properties:
            body["properties"] = {p.name: p.to_json() for p in self.properties}
        if self.tags is not None:
            body["tags"] = {"old": list(self.tags.old), "new": list(self.tags.new)}
        if self.secrets:
            body["secrets"] = {s.name: s.to_json() for s in self.secrets}
        return body


@dataclass(frozen=True)
class SnapshotEntry:
    """A connection as the plan saw it in one of the manifest's spaces."""

    connection_id: str
    updated: str | None


@dataclass(frozen=True)
class Plan:
    """Every change that would make the tenant equal to a manifest.

    Attributes:
        tenant: Host of the tenant the plan was made against.
        changes: One change per connection, sorted by space name, then
            connection name.
        snapshot: Every connection seen in the manifest's spaces, with its
            ``updated`` time, sorted by id.
        spaces: Name of each space the manifest uses, by id.
        environment: The manifest's environment, if one was chosen.
        prune: Whether undeclared connections are deleted.
        resend_secrets: Whether secrets of unknown state are sent.
        notes: Remarks for the reader, such as a missing state file.
    """

    tenant: str
    changes: tuple[Change, ...]
    snapshot: tuple[SnapshotEntry, ...] = ()
    spaces: Mapping[str, str] = field(default_factory=dict)
    environment: str | None = None
    prune: bool = False
    resend_secrets: bool = False
    notes: tuple[str, ...] = ()

    def count(self, action: Action) -> int:
        """Return the number of changes with ``action``."""
        return sum(1 for change in self.changes if change.action is action)

    @property
    def has_changes(self) -> bool:
        """Whether apply would write anything."""
        writes = (Action.CREATE, Action.UPDATE, Action.DELETE)
        return any(change.action in writes for change in self.changes)

    def summary(self) -> dict[str, int]:
        """Return the counts of the summary line, by action."""
        return {
            "create": self.count(Action.CREATE),
            "update": self.count(Action.UPDATE),
            "delete": self.count(Action.DELETE),
            "no-op": self.count(Action.NO_OP),
            "unmanaged": self.count(Action.UNMANAGED),
        }

    @property
    def checksum(self) -> str:
        """A SHA-256 over the changes and the snapshot of the tenant.

        Two plans have the same checksum only when they would make the same
        changes and the connections in the manifest's spaces have the same
        ids and ``updated`` times, so a saved plan can be checked before it
        is applied.
        """
        document = {
            "tenant": self.tenant,
            "spaces": dict(sorted(self.spaces.items())),
            "prune": self.prune,
            "resend_secrets": self.resend_secrets,
            "changes": [change.to_json() for change in self.changes],
            "snapshot": [_snapshot_json(entry) for entry in self.snapshot],
        }
        canonical = json.dumps(
            document, sort_keys=True, separators=(",", ":"), default=str
        )
        return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """Describe the plan as JSON data; no secret value is included."""
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "tenant": self.tenant,
            "environment": self.environment,
            "prune": self.prune,
            "resend_secrets": self.resend_secrets,
            "spaces": dict(sorted(self.spaces.items())),
            "changes": [change.to_json() for change in self.changes],
            "summary": self.summary(),
            "notes": list(self.notes),
            "snapshot": [_snapshot_json(entry) for entry in self.snapshot],
            "checksum": self.checksum,
        }


def _snapshot_json(entry: SnapshotEntry) -> dict[str, object]:
    return {"id": entry.connection_id, "updated": entry.updated}


def json_equal(left: object, right: object) -> bool:
    """Return whether two JSON values are equal, keeping booleans and numbers apart.

    In Python ``True == 1``, but in JSON a boolean never equals a number.
    """
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(
            json_equal(a, b) for a, b in zip(left, right, strict=True)
        )
    return left == right


def user_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Return ``tags`` without the service's own tags, in order, each once."""
    kept: list[str] = []
    for tag in tags:
        if not tag.startswith(SERVICE_TAG_PREFIX) and tag not in kept:
            kept.append(tag)
    return tuple(kept)


def build_plan(
    client: QlikClient,
    manifest: Manifest,
    state: StateFile,
    fingerprinter: Fingerprinter,
    *,
    prune: bool = False,
    resend_secrets: bool = False,
    default_space: str | None = None,
    prompt: Callable[[str], str] | None = None,
    stdin: Callable[[], str] | None = None,
) -> Plan:
    """Read the tenant and plan the changes that make it equal to ``manifest``.

    Secrets are read (from the environment, files, standard input or a
    prompt) and key files loaded, because fingerprints need their values.
    Nothing is written to the tenant or to the state.

    Args:
        client: Client for the tenant.
        manifest: The desired connections.
        state: The state of earlier runs; tied to the client's tenant here.
        fingerprinter: Computes the fingerprints compared with the state.
        prune: Plan to delete connections in the manifest's spaces that no
            file declares.
        resend_secrets: Send secrets that the state has no fingerprint for.
        default_space: Space for connections that name none, such as
            ``QTC_SPACE_ID``.
        prompt: Asks for a ``prompt`` secret without echo.
        stdin: Returns all of standard input, for a ``-`` secret.

    Raises:
        ValidationError: one or more connections are invalid, or their
            secrets or key files cannot be read; every problem is listed.
        ResolutionError: a space is not found, or a name is ambiguous.
        ConfigError: the state belongs to another tenant.
        ApiError, TransportError: from the tenant.
    """
    state.bind_tenant(client.tenant.hostname)
    planner = _Planner(
        client=client,
        state=state,
        fingerprinter=fingerprinter,
        resend_secrets=resend_secrets,
        secrets=_SecretReader(prompt=prompt, stdin=stdin),
    )
    return planner.plan(manifest, prune=prune, default_space=default_space)


@dataclass
class _SecretReader:
    """Reads each secret reference once per plan, however many entries use it."""

    prompt: Callable[[str], str] | None = None
    stdin: Callable[[], str] | None = None
    _cache: dict[str, Secret] = field(default_factory=dict)
    _stdin_used_by: str | None = None

    def read(self, reference: SecretReference, owner: str) -> Secret:
        if reference.source is SecretSource.PROMPT:
            # Each entry gets its own prompt, labelled with the connection.
            labelled = replace(reference, name=f"{owner} {reference.name}")
            return labelled.resolve(prompt=self.prompt)
        if reference.source is SecretSource.STDIN:
            return self._read_stdin(reference, owner)

        text = str(reference)
        if text not in self._cache:
            self._cache[text] = reference.resolve()
        return self._cache[text]

    def _read_stdin(self, reference: SecretReference, owner: str) -> Secret:
        label = f"{owner} {reference.name}"
        if self._stdin_used_by is not None and self._stdin_used_by != label:
            raise SecretReferenceError(
                f"secret for {reference.name}: standard input (-) is already "
                f"read for {self._stdin_used_by}; only one secret of a plan can "
                "read it, so use env:NAME or file:PATH here"
            )
        self._stdin_used_by = label
        if "-" not in self._cache:
            self._cache["-"] = reference.resolve(stdin=self.stdin)
        return self._cache["-"]


@dataclass
class _Desired:
    """One manifest entry with its space resolved."""

    key: ConnectionKey
    space_name: str
    entry: DesiredConnection


@dataclass
class _Planner:
    client: QlikClient
    state: StateFile
    fingerprinter: Fingerprinter
    resend_secrets: bool
    secrets: _SecretReader
    problems: list[str] = field(default_factory=list)

    def plan(
        self, manifest: Manifest, *, prune: bool, default_space: str | None
    ) -> Plan:
        spaces = self._resolve_spaces(manifest.connections, default_space)
        desired = self._desired_by_key(manifest.connections, spaces, default_space)
        # A space written both by name and by id is listed once.
        unique = {space.id: space for space in spaces.values()}
        listed = {space_id: self._list_space(space_id) for space_id in unique}
        space_names = {space.id: space.name or space.id for space in unique.values()}

        changes: list[Change] = []
        for item in desired.values():
            change = self._plan_declared(item, listed[item.key.space_id])
            if change is not None:
                changes.append(change)
        changes.extend(self._plan_undeclared(listed, desired, space_names, prune))
        if self.problems:
            raise ValidationError("the manifest cannot be planned", self.problems)

        changes.sort(key=lambda c: (c.space_name, c.key.name, c.key.space_id))
        return Plan(
            tenant=self.client.tenant.hostname,
            changes=tuple(changes),
            snapshot=_snapshot(listed),
            spaces=space_names,
            environment=manifest.environment,
            prune=prune,
            resend_secrets=self.resend_secrets,
            notes=self._notes(changes),
        )

    def _resolve_spaces(
        self, entries: Sequence[DesiredConnection], default_space: str | None
    ) -> dict[str, Space]:
        resolved: dict[str, Space] = {}
        for entry in entries:
            written = entry.space or default_space
            if not written:
                raise InputError(
                    f"{entry.where('space')}: connection {entry.name!r} names no "
                    "space; set space in the entry or in defaults, or set "
                    "QTC_SPACE_ID"
                )
            if written not in resolved:
                resolved[written] = self.client.spaces.resolve(written)
        return resolved

    def _desired_by_key(
        self,
        entries: Sequence[DesiredConnection],
        spaces: Mapping[str, Space],
        default_space: str | None,
    ) -> dict[ConnectionKey, _Desired]:
        desired: dict[ConnectionKey, _Desired] = {}
        for entry in entries:
            space = spaces[entry.space or default_space or ""]
            key = ConnectionKey(space.id, entry.name)
            if key in desired:
                # Two spellings of one space, such as its name and its id.
                first = desired[key].entry
                self.problems.append(
                    f"{entry.where('name')}: connection {entry.name!r} is also "
                    f"declared at {first.where('name')} for the same space "
                    f"{space.id}; declare it once"
                )
                continue
            desired[key] = _Desired(key, space.name or space.id, entry)
        return desired

    def _list_space(self, space_id: str) -> dict[str, list[Connection]]:
        by_name: dict[str, list[Connection]] = {}
        for connection in self.client.connections.list(
            space_id=space_id, limit=DEFAULT_PAGE_SIZE
        ):
            # A list filtered by space may still return personal connections
            # of other users to an admin; only the space's own ones count.
            if connection.space_id == space_id:
                by_name.setdefault(connection.name, []).append(connection)
        return by_name

    def _plan_declared(
        self, item: _Desired, listed: Mapping[str, list[Connection]]
    ) -> Change | None:
        found = listed.get(item.key.name, [])
        if len(found) > 1:
            ids = ", ".join(c.id for c in found)
            self.problems.append(
                f"{item.entry.where('name')}: {len(found)} connections are named "
                f"{item.key.name!r} in space {item.space_name} ({ids}); delete "
                "or rename all but one"
            )
            return None

        try:
            resolved = self._resolve(item)
            if not found:
                return _create_change(item, resolved)
            current = self.client.connections.get(found[0].id, parse_connection=True)
            return self._diff(item, resolved, current)
        except _EntryProblems as error:
            self.problems.extend(error.problems)
        except ValidationError as error:
            self.problems.extend(f"{error.subject}: {p}" for p in error.problems)
        except (InputError, NotFoundError) as error:
            where = item.entry.where()
            self.problems.append(f"{where}: connection {item.key.name!r}: {error}")
        return None

    def _resolve(self, item: _Desired) -> _Resolved:
        """Read, load and validate one entry's values.

        Raises:
            _EntryProblems: Every secret that cannot be read, key file that
                cannot be loaded, and validation problem of the entry, each
                located at the property it names when the manifest gives one.
        """
        entry = item.entry
        spec = self.client.data_sources.api_specs(entry.kind.data_source_id)
        kind, gateway_id = _effective_kind(entry, spec)
        problems = _EntryProblemList(entry, f"connection {entry.name!r}")
        secrets = self._read_secrets(entry, problems)
        files = _load_files(entry, kind, secrets, problems)
        connection = ConnectionInput(
            kind=kind,
            name=entry.name,
            space_id=item.key.space_id,
            gateway_id=gateway_id,
            properties=entry.properties,
            secrets=secrets,
            files=files,
        )
        subject = f"connection {entry.name!r} ({kind.name})"
        try:
            validate_connection_input(
                connection, spec.raw, subject=subject, for_manifest=True
            )
        except ValidationError as error:
            problems.add_validation(subject, error.problems)
        problems.raise_if_any(subject)

        return _Resolved(
            connection=connection,
            spec=spec,
            plain=_plain_values(connection),
            fingerprints=self._fingerprints(item.key, connection),
        )

    def _read_secrets(
        self, entry: DesiredConnection, problems: _EntryProblemList
    ) -> dict[str, Secret]:
        owner = f"connection {entry.name!r}"
        secrets: dict[str, Secret] = {}
        for name, reference in entry.secrets.items():
            try:
                secrets[name] = self.secrets.read(reference, owner)
            except InputError as error:
                problems.add_failed(name, f"secrets.{name}", str(error))
        return secrets

    def _fingerprints(
        self, key: ConnectionKey, connection: ConnectionInput
    ) -> dict[str, str]:
        prints: dict[str, str] = {}
        for name, secret in connection.secrets.items():
            prints[name] = self.fingerprinter.secret(secret, _context(key, name))
        for name, key_file in connection.files.items():
            prints[name] = self.fingerprinter.key_file(key_file, _context(key, name))
        return prints

    def _diff(self, item: _Desired, resolved: _Resolved, current: Connection) -> Change:
        wanted = resolved.connection.kind.data_source_id
        if current.data_source_id and current.data_source_id != wanted:
            # A PATCH cannot change a connection's data source; the tenant
            # would reject the new kind's properties one by one.
            raise ValidationError(
                "plan",
                [
                    f"{item.entry.where('kind')}: {item.key.name} is a {current.data_source_id} connection on the tenant (id {current.id}), but the manifest declares {wanted}; a connection's data source cannot change, so give the new connection another name, or delete the old one first"
                ],
            )
        current_properties = current.connection_properties or {}
        properties = _property_changes(resolved.plain, current_properties)
        tags = _tag_change(current.tags, item.entry.tags)
        address_changed = any(p.name in ADDRESS_PROPERTIES for p in properties)
        known = self.state.fingerprints(item.key, current.id)
        secrets = tuple(
            self._secret_change(resolved, name, known.get(name), address_changed)
            for name in sorted(resolved.fingerprints)
        )

        sent = [s.name for s in secrets if s.send]
        change = _existing_change(item, resolved, current, properties, tags, secrets)
        if not properties and tags is None and not sent:
            return change

        operations = _operations(resolved, properties, tags, current, sent)
        check_patch_rules(
            operations,
            current_properties=current_properties,
            credential_properties=_credential_properties(resolved),
        )
        return replace(change, action=Action.UPDATE, operations=tuple(operations))

    def _secret_change(
        self,
        resolved: _Resolved,
        name: str,
        known: str | None,
        address_changed: bool,
    ) -> SecretChange:
        is_file = name in resolved.connection.files
        if known is None:
            status = SecretStatus.UNKNOWN
        elif fingerprints_equal(known, resolved.fingerprints[name]):
            status = SecretStatus.UNCHANGED
        else:
            status = SecretStatus.CHANGED

        send = status is SecretStatus.CHANGED or (
            status is SecretStatus.UNKNOWN and self.resend_secrets
        )
        reason = ""
        if address_changed and not send:
            # The tenant rejects an address change without credentials.
            send, reason = True, "sent because the address changes"
        return SecretChange(name, status, send, is_file=is_file, reason=reason)

    def _plan_undeclared(
        self,
        listed: Mapping[str, Mapping[str, list[Connection]]],
        desired: Mapping[ConnectionKey, _Desired],
        space_names: Mapping[str, str],
        prune: bool,
    ) -> list[Change]:
        changes = []
        for space_id, by_name in listed.items():
            for name, connections in by_name.items():
                key = ConnectionKey(space_id, name)
                if key in desired:
                    continue
                for connection in connections:
                    action = (
                        Action.DELETE
                        if prune and self._managed(key, connection)
                        else Action.UNMANAGED
                    )
                    changes.append(
                        _undeclared_change(
                            action, key, space_names[space_id], connection
                        )
                    )
        return changes

    def _managed(self, key: ConnectionKey, connection: Connection) -> bool:
        # Prune deletes only what this state file applied, so that two
        # manifests sharing a space, or connections made by hand, are safe.
        recorded = self.state.get(key)
        return recorded is not None and recorded.connection_id == connection.id

    def _notes(self, changes: Sequence[Change]) -> tuple[str, ...]:
        notes = []
        unknown = sum(len(change.unknown_secrets) for change in changes)
        if not self.state.existed and any(
            c.connection_id and c.secrets for c in changes
        ):
            notes.append(
                f"No state file at {self.state.path}: secrets of existing "
                "connections count as unknown."
            )
        if unknown:
            counted = "1 secret has" if unknown == 1 else f"{unknown} secrets have"
            notes.append(
                f"{counted} no fingerprint in the state and will not be sent; "
                "run again with --resend-secrets to send them."
            )
        return tuple(notes)


@dataclass(frozen=True)
class _Resolved:
    """A desired connection with its values read, validated and fingerprinted."""

    connection: ConnectionInput
    spec: ApiSpec
    plain: Mapping[str, object]
    fingerprints: Mapping[str, str] = field(repr=False)


def _effective_kind(entry: DesiredConnection, spec: ApiSpec) -> tuple[Kind, str | None]:
    """Return the kind to validate with, and the gateway id it gets.

    A raw data source id is given its secret and file properties from the
    api-specs. Its gateway id is kept only if the schema has ``agentId``,
    because a manifest's defaults usually give every entry a gateway.
    """
    if not entry.kind.is_raw:
        return entry.kind, entry.gateway_id
    gateway_id = entry.gateway_id if GATEWAY_PROPERTY in spec.properties else None
    kind = raw_kind(entry.kind.data_source_id, gateway_id=gateway_id, api_spec=spec.raw)
    return kind, gateway_id


def _load_files(
    entry: DesiredConnection,
    kind: Kind,
    secrets: Mapping[str, Secret],
    problems: _EntryProblemList,
) -> dict[str, KeyFile]:
    loaded: dict[str, KeyFile] = {}
    for name, spec in entry.key_files.items():
        file_property = kind.files.get(name, _UNCHECKED_FILE)
        passphrase_name = file_property.passphrase_property or ""
        passphrase = secrets.get(passphrase_name)
        try:
            if passphrase is None and passphrase_name in problems.failed:
                # The passphrase was reported already. Without it the key
                # cannot be checked, but a missing or empty file still can.
                load_file_unchecked(spec.path, file_name=spec.file_name)
                continue
            loaded[name] = load_key_file(
                spec.path,
                file_property,
                passphrase=passphrase,
                file_name=spec.file_name,
            )
        except InputError as error:
            problems.add_failed(name, f"key_files.{name}", str(error))
    return loaded


class _EntryProblems(ValidationError):
    """Problems of one entry, each line already starting with its location."""


@dataclass
class _EntryProblemList:
    """Collector of one entry's problems, each at its property's location."""

    entry: DesiredConnection
    owner: str
    lines: list[str] = field(default_factory=list)
    # Properties whose secret or key file failed, so that validation does not
    # also report them as missing.
    failed: set[str] = field(default_factory=set)

    def add_failed(self, name: str, location_key: str, message: str) -> None:
        self.failed.add(name)
        self.lines.append(f"{self.entry.where(location_key)}: {self.owner}: {message}")

    def add_validation(self, subject: str, messages: Iterable[str]) -> None:
        for message in messages:
            name = _named_property(message)
            if name in self.failed:
                continue
            where = self.entry.where(self._location_key(name))
            self.lines.append(f"{where}: {subject}: {message}")

    def raise_if_any(self, subject: str) -> None:
        if self.lines:
            raise _EntryProblems(subject, self.lines)

    def _location_key(self, name: str | None) -> str | None:
        if name is None:
            return None
        for group in ("properties", "secrets", "key_files"):
            key = f"{group}.{name}"
            if key in self.entry.field_locations:
                return key
        return None


# The start of a validation message up to the property it names, such as
# "unknown property sslmode;" or "missing secret password:". A message that
# names no property, or names one the entry does not give, is located at
# the entry.
_PROPERTY_IN_MESSAGE = re.compile(
    r"(?:unknown property |required property |missing (?:required property "
    r"|secret |file ))?(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)"
)


def _named_property(message: str) -> str | None:
    """Return the property that a validation message starts with, if any."""
    match = _PROPERTY_IN_MESSAGE.match(message)
    return match.group("name") if match else None


def _plain_values(connection: ConnectionInput) -> dict[str, object]:
    return {
        name: value
        for name, value in merge_values(connection).items()
        if not isinstance(value, Secret | KeyFile)
    }


def _context(key: ConnectionKey, property_name: str) -> tuple[str, str, str]:
    return (key.space_id, key.name, property_name)


def _credential_properties(resolved: _Resolved) -> frozenset[str]:
    spec = DataSourceSpec.from_api_spec(resolved.spec.raw)
    kind = resolved.connection.kind
    return kind.credential_properties | spec.secret_names | spec.file_names


def _property_changes(
    desired: Mapping[str, object], current: Mapping[str, object]
) -> tuple[PropertyChange, ...]:
    changes = []
    for name in sorted(desired):
        new = desired[name]
        if name not in current:
            changes.append(PropertyChange(name, new))
        elif not json_equal(current[name], new):
            changes.append(PropertyChange(name, new, current[name], old_present=True))
    return tuple(changes)


def _tag_change(current: Sequence[str], desired: Sequence[str]) -> TagChange | None:
    old = user_tags(current)
    new = user_tags(desired)
    if sorted(old) == sorted(new):
        return None
    return TagChange(old, new)


def _operations(
    resolved: _Resolved,
    properties: Sequence[PropertyChange],
    tags: TagChange | None,
    current: Connection,
    sent: Sequence[str],
) -> list[PatchOperation]:
    """Build the single PATCH body of an update.

    ``/tags`` replaces the whole list, so the service's own tags are sent
    back with the user's.
    """
    connection = resolved.connection
    all_tags = None
    if tags is not None:
        service = [t for t in current.tags if t.startswith(SERVICE_TAG_PREFIX)]
        all_tags = [*service, *tags.new]
    return build_patch(
        tags=all_tags,
        properties={p.name: p.new for p in properties},
        secrets={n: v for n, v in connection.secrets.items() if n in sent},
        files={n: v for n, v in connection.files.items() if n in sent},
    )


def _create_change(item: _Desired, resolved: _Resolved) -> Change:
    kind = resolved.connection.kind
    properties = tuple(
        PropertyChange(name, resolved.plain[name]) for name in sorted(resolved.plain)
    )
    tags = user_tags(item.entry.tags)
    secrets = tuple(
        SecretChange(
            name,
            SecretStatus.NEW,
            send=True,
            is_file=name in resolved.connection.files,
        )
        for name in sorted(resolved.fingerprints)
    )
    return Change(
        action=Action.CREATE,
        key=item.key,
        space_name=item.space_name,
        data_source_id=kind.data_source_id,
        kind_name=kind.name,
        properties=properties,
        tags=TagChange((), tags) if tags else None,
        secrets=secrets,
        payload=Payload(
            connection=resolved.connection,
            plain=resolved.plain,
            tags=tags,
            fingerprints=resolved.fingerprints,
        ),
    )


def _existing_change(
    item: _Desired,
    resolved: _Resolved,
    current: Connection,
    properties: tuple[PropertyChange, ...],
    tags: TagChange | None,
    secrets: tuple[SecretChange, ...],
) -> Change:
    """Build the no-op change of a declared connection that exists."""
    kind = resolved.connection.kind
    return Change(
        action=Action.NO_OP,
        key=item.key,
        space_name=item.space_name,
        data_source_id=kind.data_source_id,
        kind_name=kind.name,
        connection_id=current.id,
        properties=properties,
        tags=tags,
        secrets=secrets,
        payload=Payload(
            connection=resolved.connection,
            plain=resolved.plain,
            tags=user_tags(item.entry.tags),
            fingerprints=resolved.fingerprints,
        ),
    )


def _undeclared_change(
    action: Action, key: ConnectionKey, space_name: str, connection: Connection
) -> Change:
    data_source_id = connection.data_source_id
    kind = kind_for_data_source(data_source_id) if data_source_id else None
    return Change(
        action=action,
        key=key,
        space_name=space_name,
        data_source_id=data_source_id,
        kind_name=kind.name if kind else None,
        connection_id=connection.id,
    )


def _snapshot(
    listed: Mapping[str, Mapping[str, list[Connection]]],
) -> tuple[SnapshotEntry, ...]:
    entries = [
        SnapshotEntry(connection.id, connection.updated)
        for by_name in listed.values()
        for connections in by_name.values()
        for connection in connections
    ]
    return tuple(sorted(entries, key=lambda entry: entry.connection_id))


def render_plan(plan: Plan, *, verbose: bool = False) -> str:
    """Render the plan as text: one block per change, then the counts.

    No-op connections are listed only with ``verbose``. Secret values are
    never shown, only their status.
    """
    lines: list[str] = []
    for change in plan.changes:
        if change.action is Action.NO_OP and not verbose:
            continue
        lines.append(_headline(change))
        lines.extend(f"    {detail}" for detail in _details(change, verbose))

    if lines:
        lines.append("")
    lines.extend(plan.notes)
    summary = plan.summary()
    lines.append(
        f"Creates={summary['create']}, Updates={summary['update']}, "
        f"Deletes={summary['delete']}, Unchanged={summary['no-op']}, "
        f"Unmanaged={summary['unmanaged']}"
    )
    return "\n".join(lines)


def _headline(change: Change) -> str:
    what = change.kind_name or change.data_source_id or "unknown data source"
    line = (
        f"{change.action.symbol} {change.action.value} {change.name} ({what}) "
        f"in space {change.space_name!r}"
    )
    if change.connection_id:
        line += f", id {change.connection_id}"
    return line


def _details(change: Change, verbose: bool) -> list[str]:
    details = []
    for prop in change.properties:
        if change.action is Action.CREATE:
            details.append(f"{prop.name}: {_shown(prop.new)}")
        else:
            old = _shown(prop.old) if prop.old_present else "(not set)"
            details.append(f"{prop.name}: {old} -> {_shown(prop.new)}")

    if change.tags is not None:
        if change.action is Action.CREATE:
            details.append(f"tags: {_shown(list(change.tags.new))}")
        else:
            old_tags, new_tags = list(change.tags.old), list(change.tags.new)
            details.append(f"tags: {_shown(old_tags)} -> {_shown(new_tags)}")

    for secret in change.secrets:
        if verbose or secret.send or secret.status is SecretStatus.UNKNOWN:
            details.append(_secret_line(change.action, secret))
    return details


def _secret_line(action: Action, secret: SecretChange) -> str:
    what = "key file" if secret.is_file else "secret"
    if action is Action.CREATE:
        return f"{secret.name}: {SENSITIVE} ({what})"
    if secret.status is SecretStatus.UNKNOWN and not secret.send:
        return (
            f"{secret.name}: {SENSITIVE} ({what} unknown: no fingerprint in the "
            "state; sent only with --resend-secrets)"
        )
    outcome = "sent" if secret.send else "not sent"
    reason = f", {secret.reason}" if secret.reason else ""
    return (
        f"{secret.name}: {SENSITIVE} ({what} {secret.status.value}, {outcome}{reason})"
    )


def _shown(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
