"""``/api/v1/data-connections``: list, get, create, PATCH and delete."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qtc_connections.api.models import Connection
from qtc_connections.errors import (
    ConnectionExistsError,
    InputError,
    NotFoundError,
    QtcError,
    ResolutionError,
    TransportError,
)

if TYPE_CHECKING:
    from qtc_connections.client import QlikClient

__all__ = ["CONNECTIONS_PATH", "DataConnections", "create_body", "scim_string"]

logger = logging.getLogger("qtc_connections.api")

CONNECTIONS_PATH = "/api/v1/data-connections"

# The spec bounds the list's limit parameter to 1..100.
MIN_PAGE_SIZE = 1
MAX_PAGE_SIZE = 100


class DataConnections:
    """Data connections of the tenant, reached as ``client.connections``."""

    def __init__(self, client: QlikClient) -> None:
        self._client = client

    def list(
        self,
        *,
        space_id: str | None = None,
        filter: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Connection]:
        """Yield connections lazily, one page of ``limit`` at a time.

        ``GET /api/v1/data-connections``. ``filter`` is a SCIM expression on
        ``qName``, ``qType``, ``datasourceID``, ``created``, ``updated`` or
        ``qri``; ``sort`` is a field with a ``+`` or ``-`` prefix. The page
        size is always sent, because without ``limit`` the tenant returns
        every connection in one response.

        Raises:
            InputError: ``limit`` is outside 1 to 100; raised at the call,
                before any request.
            ApiError, TransportError: for any page.
        """
        from qtc_connections.client import DEFAULT_PAGE_SIZE

        page_size = DEFAULT_PAGE_SIZE if limit is None else limit
        if not MIN_PAGE_SIZE <= page_size <= MAX_PAGE_SIZE:
            raise InputError(
                f"page size {page_size} is invalid: the data-connections list "
                f"takes {MIN_PAGE_SIZE} to {MAX_PAGE_SIZE}"
            )
        params = {
            "spaceId": space_id,
            "filter": filter,
            "sort": sort,
            "limit": page_size,
        }
        return self._iterate(params)

    def _iterate(self, params: Mapping[str, str | int | None]) -> Iterator[Connection]:
        for item in self._client.paginate(CONNECTIONS_PATH, params=params):
            yield Connection.from_api(item, what="data connection list item")

    def get(self, connection_id: str, *, parse_connection: bool = False) -> Connection:
        """Return one connection by id.

        ``GET /api/v1/data-connections/{qID}``. With ``parse_connection``
        the tenant adds ``connectionProperties``, without secrets.

        Raises:
            NotFoundError: no such connection, or not visible.
            BadRequestError: the id is not a UUID.
            InputError: the id is empty, ``.`` or ``..``; nothing is sent.
        """
        body = self._client.get_json(
            f"{CONNECTIONS_PATH}/{_path_segment(connection_id)}",
            params={"parseConnection": parse_connection or None},
        )
        return Connection.from_api(body, what=f"data connection {connection_id}")

    def get_by_name(
        self, name: str, *, space_id: str | None, parse_connection: bool = False
    ) -> Connection:
        """Return one connection by exact name within a space.

        Uses the connection list filtered on ``qName`` rather than the
        by-name path form, because a name may hold characters such as
        ``/`` that do not survive in a path segment.

        Raises:
            ResolutionError: no connection has that name, or several do.
        """
        found = self.find(name, space_id=space_id)
        if found is None:
            where = f"space {space_id}" if space_id else "any visible space"
            raise ResolutionError(
                f"no connection named {name!r} in {where}; "
                "check the name with 'qtc connections list'"
            )
        if parse_connection:
            return self.get(found.id, parse_connection=True)
        return found

    def find(self, name: str, *, space_id: str | None) -> Connection | None:
        """Return the connection called exactly ``name`` in the space, or ``None``.

        With ``space_id`` ``None`` every visible space is searched.

        Raises:
            ResolutionError: several connections match (only possible when
                no space is given).
        """
        matches = [
            item
            for item in self.list(
                space_id=space_id, filter=f"qName eq {scim_string(name)}"
            )
            if item.name == name
        ]
        if len(matches) > 1:
            where = ", ".join(
                f"{m.id} (space {m.space_id or 'personal'})" for m in matches
            )
            raise ResolutionError(
                f"{len(matches)} connections are named {name!r}: {where}; "
                "give a space to choose one"
            )
        return matches[0] if matches else None

    def create(
        self,
        *,
        name: str,
        data_source_id: str,
        connection_properties: Mapping[str, Any],
        space_id: str | None,
        tags: Sequence[str] | None = None,
    ) -> Connection:
        """Create a connection, safely enough to run twice.

        ``POST /api/v1/data-connections`` with the ``DcaasConnectionCreate``
        body; ``space_id`` ``None`` creates it in the caller's personal
        space. The name is looked up in that space first, so a second run
        raises instead of creating a duplicate. The POST is never repeated:
        if its response is lost, the connection is looked up by name and
        returned when the tenant did create it.

        Raises:
            ConnectionExistsError: the name is already taken in the space.
            ApiError: the tenant rejected the create (400, 403, 404, 409).
            TransportError: the outcome is unknown and no connection of that
                name exists.
        """
        existing = self._find_in_space(name, space_id)
        if existing is not None:
            raise ConnectionExistsError(name, space_id, existing.id)

        body = create_body(
            name=name,
            data_source_id=data_source_id,
            connection_properties=connection_properties,
            space_id=space_id,
            tags=tags,
        )

        try:
            response = self._client.request("POST", CONNECTIONS_PATH, json=body)
        except TransportError as lost:
            cause = type(lost.__cause__ or lost).__name__
            try:
                recovered = self._find_in_space(name, space_id)
            except QtcError as lookup:
                raise type(lost)(
                    f"no response to the create of {name!r} ({cause}), and looking it up by name failed too ({type(lookup).__name__}); the tenant may have created it, so check with 'qtc connections get' before creating it again",
                    method=lost.method,
                    url=lost.url,
                ) from lost
            if recovered is None:
                raise type(lost)(
                    f"no response to the create of {name!r} ({cause}) and no connection of that name exists yet; the tenant may still create it, so check with 'qtc connections get' before creating it again",
                    method=lost.method,
                    url=lost.url,
                ) from lost
            logger.info(
                "create %r: the response was lost, but the tenant created it (id %s)",
                name,
                recovered.id,
            )
            return recovered
        from qtc_connections.client import decode_json

        return Connection.from_api(decode_json(response), what="created connection")

    def _find_in_space(self, name: str, space_id: str | None) -> Connection | None:
        """Return the connection called ``name`` in the space a create targets.

        Unlike ``find``, ``space_id`` ``None`` means the personal space only:
        a connection of the same name in a shared or data space does not
        block a create in the personal space.

        NOTE: if a tenant admin's list also returns other users' personal
        connections, one of those with the same name would count as taken.
        """
        for item in self.list(
            space_id=space_id, filter=f"qName eq {scim_string(name)}"
        ):
            if item.name == name and (space_id is not None or not item.space_id):
                return item
        return None

    def patch(
        self, connection_id: str, operations: Sequence[Mapping[str, Any]]
    ) -> None:
        """Apply JSON Patch operations to a connection.

        ``PATCH /api/v1/data-connections/{qID}``; the tenant returns 204.
        Check the operations with ``qtc_connections.patch.check_patch_rules``
        first: the tenant rejects the same bodies with a 400.

        Raises:
            BadRequestError: the tenant rejected the body.
            NotFoundError: no such connection.
            ConflictError: a new ``qName`` clashes with another connection.
            InputError: the id is empty, ``.`` or ``..``; nothing is sent.
        """
        self._client.request(
            "PATCH",
            f"{CONNECTIONS_PATH}/{_path_segment(connection_id)}",
            json=[dict(op) for op in operations],
        )

    def delete(self, connection_id: str, *, missing_ok: bool = False) -> None:
        """Delete a connection.

        ``DELETE /api/v1/data-connections/{qID}``; the tenant returns 204.
        With ``missing_ok`` a connection that is already gone is not an
        error, which makes a repeated delete harmless. A 404 that answers a
        DELETE repeated after a lost response is a success either way.

        Raises:
            NotFoundError: no such connection, unless ``missing_ok``.
            PermissionDeniedError: the caller may not delete it.
            InputError: the id is empty, ``.`` or ``..``; nothing is sent.
        """
        try:
            self._client.request(
                "DELETE",
                f"{CONNECTIONS_PATH}/{_path_segment(connection_id)}",
                ok_after_repeat=frozenset({404}),
            )
        except NotFoundError:
            if not missing_ok:
                raise


def create_body(
    *,
    name: str,
    data_source_id: str,
    connection_properties: Mapping[str, Any],
    space_id: str | None,
    tags: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Return the ``DcaasConnectionCreate`` body that a create sends.

    The data source key is spelled ``datasourceID`` as the spec declares
    it; published examples send ``dataSourceId``, which the service also
    accepts. ``space`` is left out for the personal space.
    """
    body: dict[str, Any] = {
        "qName": name,
        "datasourceID": data_source_id,
        "connectionProperties": dict(connection_properties),
    }
    if space_id:
        body["space"] = space_id
    if tags:
        body["tags"] = list(tags)
    return body


def scim_string(value: str) -> str:
    """Quote ``value`` as a SCIM filter string literal.

    SCIM string literals follow JSON string syntax, so JSON encoding
    escapes quotes and backslashes correctly. Characters outside ASCII are
    kept as they are rather than written as ``\\uXXXX`` escapes, because a
    filter parser that reads a backslash as "take the next character
    literally" would turn ``\\u00e9`` into ``u00e9`` and miss the name.
    """
    return json.dumps(value, ensure_ascii=False)


def _path_segment(value: str) -> str:
    """Quote a connection id for the path, rejecting ids that change the path.

    An empty id, ``.`` or ``..`` would make the URL name the list or
    another resource, so a DELETE could reach the wrong endpoint.

    Raises:
        InputError: the id is empty, blank, ``.`` or ``..``; nothing is sent.
    """
    from urllib.parse import quote

    if not value.strip() or value in {".", ".."}:
        raise InputError(
            f"connection id {value!r} is invalid; give the id (a UUID) that "
            "'qtc connections list' shows"
        )
    return quote(value, safe="")
