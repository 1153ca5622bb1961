"""``GET /api/v1/data-connections``: filter, sort and page connections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qtc_connections.emulator.access import Access
from qtc_connections.emulator.connection_lookup import tenant_id_of
from qtc_connections.emulator.connection_views import render_connection
from qtc_connections.emulator.helpers import (
    access_of,
    emulator_of,
    link_with,
    query_bool,
    query_int,
    self_link,
)
from qtc_connections.emulator.paging import decode_cursor, encode_cursor
from qtc_connections.emulator.problems import problem
from qtc_connections.emulator.scim import Expression, FilterError, matches, parse_filter
from qtc_connections.emulator.store import ConnectionRecord

FILTER_ATTRIBUTES = {
    name.lower(): name
    for name in ("qName", "qType", "datasourceID", "created", "updated", "qri")
}
SORT_FIELDS = {
    name.lower(): name
    for name in ("qName", "qType", "datasourceID", "created", "updated", "qri", "qID")
}


@dataclass
class ListQuery:
    """Validated query parameters of ``GET /api/v1/data-connections``."""

    limit: int | None
    offset: int
    data_name: str
    space_id: str | None
    personal: bool
    owned_by_me: bool
    user_id: str | None
    include_disabled: bool
    include_qris: bool
    expression: Expression | None
    sort_field: str | None
    descending: bool
    case_insensitive: bool

    @classmethod
    def parse(cls, request: Request) -> ListQuery:
        """Read and validate the list parameters.

        ``extended``, ``owner``, ``noDatafiles`` and ``locale`` are
        accepted and have no effect, because the emulator has no DataFiles
        connections, and case-insensitive sorting ignores the locale.
        """
        for name in ("extended", "noDatafiles"):
            query_bool(request, name)
        params = request.query_params
        data_name = params.get("dataName", "data")
        if not data_name:
            raise problem(400, "query parameter dataName must not be empty")
        sort_field, descending = _parse_sort(params.get("sort"))
        page = params.get("page")
        return cls(
            limit=query_int(request, "limit", 1, 100),
            offset=decode_cursor(page, "page") if page else 0,
            data_name=data_name,
            space_id=params.get("spaceId"),
            personal=query_bool(request, "personal"),
            owned_by_me=query_bool(request, "ownedByMe"),
            user_id=params.get("userId"),
            include_disabled=query_bool(request, "includeDisabled"),
            include_qris=query_bool(request, "includeQris"),
            expression=_parse_filter_param(params.get("filter")),
            sort_field=sort_field,
            descending=descending,
            case_insensitive=query_bool(request, "caseinsensitive"),
        )


def _parse_filter_param(text: str | None) -> Expression | None:
    if text is None:
        return None
    try:
        return parse_filter(text, FILTER_ATTRIBUTES)
    except FilterError as error:
        raise problem(400, f"invalid filter: {error}") from None


def _parse_sort(text: str | None) -> tuple[str | None, bool]:
    if text is None or text == "":
        return None, False
    descending = text.startswith("-")
    name = text[1:] if text[0] in "+-" else text
    field = SORT_FIELDS.get(name.lower())
    if field is None:
        allowed = ", ".join(sorted(SORT_FIELDS.values()))
        raise problem(400, f"cannot sort on {name!r}; use one of {allowed}")
    return field, descending


def _filter_fields(record: ConnectionRecord) -> dict[str, str | None]:
    return {
        "qName": record.name,
        "qType": record.q_type,
        "datasourceID": record.datasource_id,
        "created": record.created,
        "updated": record.updated,
        "qri": record.qri or None,
        "qID": record.connection_id,
    }


def _selected(
    request: Request, access: Access, query: ListQuery, disabled: set[str]
) -> list[ConnectionRecord]:
    principal = access.principal
    if query.user_id is not None and query.user_id != principal.user_id:
        if not principal.tenant_admin:
            raise problem(403, "userId of another user needs the tenant admin role")

    selected = []
    for record in emulator_of(request).store.connections():
        if query.user_id is not None and principal.tenant_admin:
            # An admin may list another user's connections, personal ones too.
            if record.owner_id != query.user_id:
                continue
        elif not access.can_see_connection(record):
            continue
        elif query.user_id is not None and record.owner_id != query.user_id:
            continue
        if _excluded(record, principal.user_id, query, disabled):
            continue
        selected.append(record)
    return selected


def _excluded(
    record: ConnectionRecord, user_id: str, query: ListQuery, disabled: set[str]
) -> bool:
    if query.space_id is not None and record.space_id != query.space_id:
        return True
    if query.space_id is None and query.personal and record.space_id:
        return True
    if query.owned_by_me and record.owner_id != user_id:
        return True
    if not query.include_disabled and record.datasource_id in disabled:
        return True
    expression = query.expression
    return expression is not None and not matches(expression, _filter_fields(record))


def _sorted(
    records: list[ConnectionRecord], query: ListQuery
) -> list[ConnectionRecord]:
    if query.sort_field is None:
        return records
    field = query.sort_field

    def key(record: ConnectionRecord) -> tuple[str, int]:
        value = _filter_fields(record)[field] or ""
        return (value.casefold() if query.case_insensitive else value, record.seq)

    return sorted(records, key=key, reverse=query.descending)


async def list_connections(request: Request) -> Response:
    """``GET /api/v1/data-connections``: the connections the caller can see."""
    emulator = emulator_of(request)
    access = access_of(request)
    query = ListQuery.parse(request)
    disabled = emulator.store.disabled_data_sources()
    records = _sorted(_selected(request, access, query, disabled), query)

    total = len(records)
    links: dict[str, Any] = {"self": {"href": self_link(request)}}
    if query.limit is not None:
        end = query.offset + query.limit
        if end < total:
            links["next"] = {"href": link_with(request, {"page": encode_cursor(end)})}
        if query.offset > 0:
            previous = max(0, query.offset - query.limit)
            links["prev"] = {
                "href": link_with(request, {"page": encode_cursor(previous)})
            }
        records = records[query.offset : end]

    tenant_id = tenant_id_of(emulator.store)
    items = [
        render_connection(
            request, record, access, tenant_id, include_qri=query.include_qris
        )
        for record in records
    ]
    return JSONResponse(
        {query.data_name: items, "meta": {"count": total}, "links": links}
    )
