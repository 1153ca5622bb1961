"""Connect statements, qri strings and the JSON bodies of connections."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from starlette.requests import Request

from qtc_connections.emulator.access import Access
from qtc_connections.emulator.catalog import CATALOG, DataSource
from qtc_connections.emulator.helpers import absolute_url
from qtc_connections.emulator.store import ConnectionRecord

CONNECTIONS_PATH = "/api/v1/data-connections"

# NOTE: the connect statement of a Data Integration connection is
# unpublished. The emulator follows the published analytics example,
# CUSTOM CONNECT TO "provider=...;sourceType=<id>;<name>=<value>;...",
# with the non-secret properties in api-specs order and booleans written
# as true/false. Values are not escaped.
STATEMENT_PREFIX = 'CUSTOM CONNECT TO "'

LOG_ON_VALUES = {"0": 0, "1": 1, "LOG_ON_SERVICE_USER": 0, "LOG_ON_CURRENT_USER": 1}


def connect_statement(source: DataSource, plain: dict[str, Any]) -> str:
    """Build the connect statement from a connection's non-secret properties."""
    provider = source.statement_provider or source.provider
    parts = [f"provider={provider}", f"sourceType={source.data_source_id}"]
    for spec in source.properties:
        if spec.is_hidden or spec.name not in plain:
            continue
        parts.append(f"{spec.name}={_statement_value(plain[spec.name])}")
    return STATEMENT_PREFIX + "".join(f"{part};" for part in parts) + '"'


def _statement_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_statement(statement: str) -> dict[str, str]:
    """Return the name=value pairs of a connect statement, without ``provider``."""
    body = statement.strip()
    if body.upper().startswith(STATEMENT_PREFIX.upper()):
        body = body[len(STATEMENT_PREFIX) :]
    body = body.rstrip().removesuffix('"')
    pairs: dict[str, str] = {}
    for part in body.split(";"):
        name, sep, value = part.partition("=")
        if sep and name.strip() and name.strip().lower() != "provider":
            pairs[name.strip()] = value
    return pairs


def connection_qri(
    source: DataSource | None, tenant_id: str, plain: dict[str, Any]
) -> str:
    """Return a qri: the data source's prefix and a hash of its address.

    The hash replaces the service's encrypted part, so equal
    addresses in one tenant give equal qri strings.
    """
    if source is None:
        return ""
    address = "|".join(str(plain.get(name, "")) for name in source.qri_properties)
    digest = hashlib.sha256(f"{tenant_id}|{source.data_source_id}|{address}".encode())
    encoded = base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")
    return source.qri_prefix + encoded


def connection_url(request: Request, connection_id: str) -> str:
    """Return the absolute URL of a connection."""
    return absolute_url(request, f"{CONNECTIONS_PATH}/{connection_id}")


def render_connection(
    request: Request,
    record: ConnectionRecord,
    access: Access,
    tenant_id: str,
    *,
    include_qri: bool = True,
    parse: bool = False,
) -> dict[str, Any]:
    """Render ``record`` as a ``ConnectionGet`` body.

    The body never contains secrets or ``qConnectionSecret``. With ``parse``,
    ``connectionProperties`` lists the non-secret, non-file properties.
    """
    body: dict[str, Any] = {
        "id": record.connection_id,
        "qID": record.connection_id,
        "qEngineObjectID": record.connection_id,
        "qName": record.name,
        "qConnectStatement": record.connect_statement,
        "qType": record.q_type,
        "qLogOn": record.log_on,
        "qArchitecture": record.architecture,
        "qSeparateCredentials": record.separate_credentials,
        "qCredentialsID": record.credentials_id,
        "datasourceID": record.datasource_id,
        "privileges": access.privileges(record),
        "tenant": tenant_id,
        "user": record.owner_id,
        "tags": list(record.tags),
        "created": record.created,
        "updated": record.updated,
        "links": {"self": {"href": connection_url(request, record.connection_id)}},
        "version": "V1",
    }
    if record.space_id:
        body["space"] = record.space_id
    if include_qri and record.qri:
        body["qri"] = record.qri
    if parse:
        body["connectionProperties"] = visible_properties(record)
    return body


def visible_properties(record: ConnectionRecord) -> dict[str, Any]:
    """Return the properties of a connection that may be shown to a client."""
    source = CATALOG.get(record.datasource_id)
    if record.style == "statement":
        parsed: dict[str, Any] = parse_statement(record.connect_statement)
        parsed.pop("sourceType", None)
        return parsed
    visible: dict[str, Any] = {}
    for name, value in record.properties.items():
        spec = source.spec_for(name) if source else None
        if spec is None or not spec.is_hidden:
            visible[name] = value
    return visible


def render_created(
    request: Request, record: ConnectionRecord, access: Access, tenant_id: str
) -> dict[str, Any]:
    """Render ``record`` as the 201 body of a create or duplicate.

    NOTE: the spec types ``qLogOn`` in this response as a string enum,
    while published 201 examples show the integer 1. The emulator follows
    the spec here; GET responses carry the integer, as their spec defines it.
    """
    body = render_connection(request, record, access, tenant_id)
    body["qLogOn"] = str(record.log_on)
    return body
