"""Connection input from the user, and the properties built from it to send.

``ConnectionInput`` keeps plain values, ``Secret`` values and ``KeyFile``
values apart, so that validation can tell how each one was given.
``build_connection_properties`` merges them with the kind's defaults and
gateway rule into the ``connectionProperties`` object of a create request.
Secret values are revealed there only, and a redacted copy of the same
object is built for display.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from qtc_connections.catalog.model import (
    GATEWAY_PROPERTY,
    QLIK_MANAGED_GATEWAY,
    GatewayRule,
    Kind,
)
from qtc_connections.errors import InputError
from qtc_connections.keyfiles import KeyFile
from qtc_connections.redact import SENSITIVE, redact
from qtc_connections.secrets import Secret

__all__ = [
    "GATEWAY_ENV_VAR",
    "BuiltProperties",
    "ConnectionInput",
    "build_connection_properties",
    "gateway_value",
    "merge_values",
    "parse_assignment",
]

# Environment variable that the CLI reads for the Data Movement gateway id.
GATEWAY_ENV_VAR = "QTC_GATEWAY_ID"


@dataclass(frozen=True)
class ConnectionInput:
    """Everything the user gave for one connection.

    Attributes:
        kind: Kind of connection.
        name: Connection name, sent as ``qName``.
        space_id: Space to create it in; ``None`` for the personal space.
        gateway_id: Data Movement gateway id, for kinds that need one.
        properties: Plain property values, typed as they will be sent.
        secrets: Secret property values.
        files: File property values.

    Raises:
        InputError: The name is empty, or a property is given in more than
            one of ``properties``, ``secrets`` and ``files``.
    """

    kind: Kind
    name: str
    space_id: str | None = None
    gateway_id: str | None = None
    properties: Mapping[str, object] = field(default_factory=dict)
    secrets: Mapping[str, Secret] = field(default_factory=dict)
    files: Mapping[str, KeyFile] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Copies, so that a caller's later change to its own dict cannot
        # change what was validated.
        object.__setattr__(self, "properties", dict(self.properties))
        object.__setattr__(self, "secrets", dict(self.secrets))
        object.__setattr__(self, "files", dict(self.files))

        if not self.name.strip():
            raise InputError("connection name is empty; give a name")
        check_connection_name(self.name)
        self._check_given_once()

    def _check_given_once(self) -> None:
        groups = {
            "--set": set(self.properties),
            "--secret": set(self.secrets),
            "--key-file": set(self.files),
        }
        flags = list(groups)
        for index, first in enumerate(flags):
            for second in flags[index + 1 :]:
                for name in sorted(groups[first] & groups[second]):
                    raise InputError(
                        f"property {name} is given with both {first} and "
                        f"{second}; give it once"
                    )


@dataclass(frozen=True)
class BuiltProperties:
    """A ``connectionProperties`` object, to send and to show.

    Attributes:
        payload: The object to send, with secret values revealed. It is left
            out of ``repr`` so that it cannot reach a log by accident.
        redacted: The same object with every secret and file value replaced
            by ``(sensitive)``, safe to print.
    """

    payload: dict[str, object] = field(repr=False)
    redacted: dict[str, object]


def check_connection_name(name: str) -> None:
    """Reject a name with surrounding spaces or control characters.

    Surrounding spaces make two names look equal that the tenant keeps
    apart, and a carriage return or escape in a name can rewrite the line
    a terminal or CI log shows.

    Raises:
        InputError: the name has either; the message shows it escaped.
    """
    if name != name.strip():
        raise InputError(
            f"connection name {name!r} has spaces at either end; remove them"
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise InputError(
            f"connection name {name!r} contains a control character such as a line break; remove it"
        )


def gateway_value(kind: Kind, gateway_id: str | None) -> str | None:
    """Return the ``agentId`` that ``kind``'s gateway rule requires, if any.

    A Qlik-managed kind always gets the managed gateway literal and ignores
    ``gateway_id``, because a configured ``QTC_GATEWAY_ID`` names a Data
    Movement gateway that those targets do not use. A kind without a gateway
    ignores it too. Returns ``None`` for a Data Movement kind without a
    gateway id; ``build_connection_properties`` rejects that case.
    """
    if kind.gateway is GatewayRule.QLIK_MANAGED:
        return QLIK_MANAGED_GATEWAY
    if kind.gateway is GatewayRule.DATA_MOVEMENT and gateway_id:
        return gateway_id
    return None


def merge_values(connection: ConnectionInput) -> dict[str, object]:
    """Merge a connection's values into one dict, without revealing secrets.

    The order is: ``agentId`` from the gateway rule, the kind's defaults,
    then the plain, secret and file values, so later ones override earlier
    ones. An ``agentId`` given as a plain property overrides the rule.
    Values keep their types: ``Secret`` and ``KeyFile`` values stay wrapped.
    """
    merged: dict[str, object] = {}
    gateway = gateway_value(connection.kind, connection.gateway_id)
    if gateway is not None:
        merged[GATEWAY_PROPERTY] = gateway

    merged.update(connection.kind.defaults)
    merged.update(connection.properties)
    merged.update(connection.secrets)
    merged.update(connection.files)
    return merged


def build_connection_properties(connection: ConnectionInput) -> BuiltProperties:
    """Build the ``connectionProperties`` object to send, and a redacted view.

    See ``merge_values`` for the order in which values override each other.
    This does not validate the values against the data source; call
    ``qtc_connections.validation.validate_connection_input`` first.

    Raises:
        InputError: The kind needs a Data Movement gateway id and none was
            given.
    """
    merged = merge_values(connection)
    if (
        connection.kind.gateway is GatewayRule.DATA_MOVEMENT
        and GATEWAY_PROPERTY not in merged
    ):
        raise InputError(
            f"kind {connection.kind.name} needs a Data Movement gateway id: "
            f"pass --gateway or set {GATEWAY_ENV_VAR}"
        )

    payload = {name: reveal_value(value) for name, value in merged.items()}
    redacted = {name: redact_value(value) for name, value in merged.items()}
    return BuiltProperties(payload=payload, redacted=redacted)


def reveal_value(value: object) -> object:
    """Return a property value as sent: secrets revealed, key files encoded."""
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, KeyFile):
        return value.to_property_value()
    return value


def redact_value(value: object) -> object:
    """Return a property value for display: secrets and file contents hidden."""
    if isinstance(value, Secret):
        return SENSITIVE
    if isinstance(value, KeyFile):
        # The file name is not secret, and it shows the reader which file is sent.
        return [{"name": value.file_name, "value": SENSITIVE}]
    if isinstance(value, str):
        # A plain value may still contain a registered secret by mistake.
        return redact(value)
    return value


def parse_assignment(text: str) -> tuple[str, str]:
    """Split a ``--set`` argument ``NAME=VALUE`` at its first ``=``.

    The value may be empty and may contain ``=``.

    Raises:
        InputError: There is no ``=``, or the name is empty or has spaces at
            either end. The message does not repeat the argument, which may
            be a secret given with the wrong option.
    """
    name, separator, value = text.partition("=")
    if not separator:
        raise InputError(
            "a property must be given as NAME=VALUE, such as server=db.example.com"
        )
    if not name or name != name.strip():
        raise InputError(
            "a property name before '=' is empty or has surrounding spaces; "
            "give NAME=VALUE"
        )
    return name, value
