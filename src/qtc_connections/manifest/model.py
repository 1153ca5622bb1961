"""What a manifest declares: the desired connections of one environment.

The loader (``qtc_connections.manifest.loader``) turns YAML files into these
values after variables and the chosen environment's overlay are applied.
Nothing here contains a secret: secrets stay ``SecretReference`` values and
key files stay paths until the plan resolves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from qtc_connections.catalog import Kind
from qtc_connections.secrets import SecretReference

__all__ = ["DesiredConnection", "KeyFileSpec", "Location", "Manifest"]


@dataclass(frozen=True, order=True)
class Location:
    """A position in a manifest file; lines and columns count from 1."""

    path: Path
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}, line {self.line}, column {self.column}"


@dataclass(frozen=True)
class KeyFileSpec:
    """A file-valued property: the file on disk and the name it is sent under.

    ``path`` is absolute (relative paths in a manifest are resolved against
    the manifest file's folder). ``file_name`` ``None`` means the kind's
    default file name.
    """

    path: Path
    file_name: str | None = None


@dataclass(frozen=True)
class DesiredConnection:
    """One connection as a manifest declares it.

    Attributes:
        name: ``qName``; unique within its space across the whole manifest.
        kind: Catalog kind, or a raw kind for a ``data_source`` entry.
        space: Space id or exact space name, as written.
        gateway_id: Data Movement gateway id, if the kind uses one.
        tags: Tags to keep on the connection.
        properties: Plain property values, typed as YAML gives them.
        secrets: Secret properties, as references.
        key_files: File-valued properties.
        location: Where the entry starts.
        field_locations: Where each field or property was written, keyed
            ``name``, ``kind``, ``data_source``, ``space``, ``gateway``,
            ``tags``, ``properties.<p>``, ``secrets.<p>``, ``key_files.<p>``;
            used in error messages.
    """

    name: str
    kind: Kind
    space: str
    gateway_id: str | None = None
    tags: tuple[str, ...] = ()
    properties: Mapping[str, object] = field(default_factory=dict)
    secrets: Mapping[str, SecretReference] = field(default_factory=dict)
    key_files: Mapping[str, KeyFileSpec] = field(default_factory=dict)
    location: Location | None = None
    field_locations: Mapping[str, Location] = field(default_factory=dict)

    def where(self, key: str | None = None) -> str:
        """Return the most precise known location of ``key``, for messages."""
        location = self.field_locations.get(key) if key else None
        location = location or self.location
        return str(location) if location else "(no location)"


@dataclass(frozen=True)
class Manifest:
    """The desired connections of one environment, from one or more files."""

    connections: tuple[DesiredConnection, ...]
    environment: str | None = None
    files: tuple[Path, ...] = ()
