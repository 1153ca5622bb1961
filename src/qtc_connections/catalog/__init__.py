"""Catalog of connection kinds, looked up by name or by data source id.

The built-in kinds live in ``qtc_connections.catalog.kinds``. ``raw_kind``
covers every other data source id, with no defaults and whatever the data
source's api-specs say about secrets and files.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from qtc_connections.catalog.kinds import BUILTIN_KINDS
from qtc_connections.catalog.model import (
    GATEWAY_PROPERTY,
    PEM_KEY_FILE_NAME,
    QLIK_MANAGED_GATEWAY,
    SERVICE_ACCOUNT_FILE_NAME,
    DataSourceSpec,
    DefaultValue,
    FileProperty,
    GatewayRule,
    KeyFileType,
    Kind,
    Role,
)
from qtc_connections.errors import InputError

__all__ = [
    "GATEWAY_PROPERTY",
    "PEM_KEY_FILE_NAME",
    "QLIK_MANAGED_GATEWAY",
    "REGISTRY",
    "SERVICE_ACCOUNT_FILE_NAME",
    "DataSourceSpec",
    "DefaultValue",
    "FileProperty",
    "GatewayRule",
    "KeyFileType",
    "Kind",
    "KindRegistry",
    "Role",
    "get_kind",
    "kind_for_data_source",
    "list_kinds",
    "raw_kind",
]

_KEBAB_CASE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

_ROLE_PREFIXES = {"repsrc_": Role.SOURCE, "reptgt_": Role.TARGET}


class KindRegistry:
    """Connection kinds by name and by data source id.

    A name or data source id can be registered once only, so two entries can
    never disagree about the same data source.
    """

    def __init__(self, kinds: Iterable[Kind] = ()) -> None:
        self._by_name: dict[str, Kind] = {}
        self._by_data_source: dict[str, Kind] = {}
        for kind in kinds:
            self.register(kind)

    def register(self, kind: Kind) -> None:
        """Add ``kind`` to the registry.

        Raises:
            ValueError: The name is not kebab-case, or the name or the data
                source id is already registered.
        """
        if not _KEBAB_CASE.fullmatch(kind.name):
            raise ValueError(
                f"kind name {kind.name!r} is not kebab-case, such as mysql-source"
            )

        existing = self._by_name.get(kind.name)
        if existing is not None:
            raise ValueError(
                f"kind {kind.name} is already registered "
                f"(data source {existing.data_source_id})"
            )

        existing = self._by_data_source.get(kind.data_source_id)
        if existing is not None:
            raise ValueError(
                f"data source {kind.data_source_id} is already registered "
                f"by kind {existing.name}"
            )

        self._by_name[kind.name] = kind
        self._by_data_source[kind.data_source_id] = kind

    def get(self, name: str) -> Kind:
        """Return the kind called ``name``.

        Raises:
            InputError: No kind has that name. The message suggests close
                matches and ``qtc kinds list``.
        """
        kind = self._by_name.get(name)
        if kind is not None:
            return kind

        message = f"unknown connection kind {name!r}"
        suggestions = self._suggest(name)
        if suggestions:
            message += f"; did you mean {' or '.join(suggestions)}?"
        else:
            message += "."
        raise InputError(f"{message} Run 'qtc kinds list' to see every kind.")

    def for_data_source(self, data_source_id: str) -> Kind | None:
        """Return the kind for ``data_source_id``, or ``None`` if there is none."""
        return self._by_data_source.get(data_source_id)

    def names(self) -> list[str]:
        """Return the registered names in registration order."""
        return list(self._by_name)

    def __iter__(self) -> Iterator[Kind]:
        return iter(list(self._by_name.values()))

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def _suggest(self, name: str) -> list[str]:
        # A data source id given in place of a kind name is a common slip.
        by_id = self._by_data_source.get(name)
        if by_id is not None:
            return [by_id.name]

        lowered = name.lower()
        names = self.names()
        exact = [candidate for candidate in names if candidate == lowered]
        if exact:
            return exact
        # A platform name alone, such as "mysql", is a prefix of its kinds.
        prefixed = [
            candidate for candidate in names if candidate.startswith(f"{lowered}-")
        ]
        if prefixed:
            return prefixed
        return difflib.get_close_matches(lowered, names, n=3, cutoff=0.6)


REGISTRY = KindRegistry(BUILTIN_KINDS)


def get_kind(name: str) -> Kind:
    """Return the built-in kind called ``name``.

    Raises:
        InputError: No built-in kind has that name.
    """
    return REGISTRY.get(name)


def kind_for_data_source(data_source_id: str) -> Kind | None:
    """Return the built-in kind for ``data_source_id``, or ``None``."""
    return REGISTRY.for_data_source(data_source_id)


def list_kinds() -> list[Kind]:
    """Return every built-in kind, in catalog order."""
    return list(REGISTRY)


def raw_kind(
    data_source_id: str,
    *,
    gateway_id: str | None = None,
    api_spec: Mapping[str, Any] | DataSourceSpec | None = None,
) -> Kind:
    """Build an ad-hoc kind for a data source id that has no catalog entry.

    The kind has no defaults and no required inputs. Its secret and file
    properties come from ``api_spec`` when given (see ``DataSourceSpec``).
    Its gateway rule is ``DATA_MOVEMENT`` when the user gave a gateway id,
    else ``NONE``. Use ``kind_for_data_source`` first to find a built-in kind.

    Raises:
        InputError: ``data_source_id`` is empty.
    """
    if not data_source_id.strip():
        raise InputError("data source id is empty; give an id such as repsrc_db2luw")

    spec = api_spec
    if isinstance(spec, Mapping):
        spec = DataSourceSpec.from_api_spec(spec)

    secrets: tuple[str, ...] = ()
    files: dict[str, FileProperty] = {}
    if spec is not None:
        # agentId belongs to the gateway rule, whatever the schema marks it.
        file_names = spec.file_names - {GATEWAY_PROPERTY}
        secret_names = spec.secret_names - file_names - {GATEWAY_PROPERTY}
        files = {
            name: FileProperty(file_type=KeyFileType.UNCHECKED)
            for name in sorted(file_names)
        }
        secrets = tuple(sorted(secret_names))

    return Kind(
        name=f"raw:{data_source_id}",
        title=data_source_id,
        data_source_id=data_source_id,
        role=_role_from_prefix(data_source_id),
        gateway=GatewayRule.DATA_MOVEMENT if gateway_id else GatewayRule.NONE,
        secrets=secrets,
        files=files,
    )


def _role_from_prefix(data_source_id: str) -> Role | None:
    for prefix, role in _ROLE_PREFIXES.items():
        if data_source_id.startswith(prefix):
            return role
    return None
