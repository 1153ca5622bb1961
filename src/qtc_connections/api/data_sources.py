"""``/api/v1/data-sources``: the connectors a tenant offers, and their schemas."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from qtc_connections.api.models import ApiSpec, DataSource, Gateway
from qtc_connections.errors import InputError, QtcError

if TYPE_CHECKING:
    from qtc_connections.client import QlikClient

__all__ = ["DATA_SOURCES_PATH", "DataSources"]

DATA_SOURCES_PATH = "/api/v1/data-sources"


class DataSources:
    """Data sources of the tenant, reached as ``client.data_sources``."""

    def __init__(self, client: QlikClient) -> None:
        self._client = client
        self._api_specs: dict[str, ApiSpec] = {}

    def list(
        self, *, data_source_id: str | None = None, include_disabled: bool = False
    ) -> builtins.list[DataSource]:
        """Return the data sources, optionally only the one with ``data_source_id``.

        ``GET /api/v1/data-sources``. The list is not paged.

        Raises:
            NotFoundError: ``data_source_id`` is unknown or not enabled.
        """
        body = self._client.get_json(
            DATA_SOURCES_PATH,
            params={
                "dataSourceId": data_source_id,
                "includeDisabled": include_disabled or None,
            },
        )
        items = body.get("dataSources") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise QtcError(
                f"GET {DATA_SOURCES_PATH}: the response has no dataSources list"
            )
        return [DataSource.from_api(item, what="data source") for item in items]

    def api_specs(self, data_source_id: str) -> ApiSpec:
        """Return the connection-property schema of a data source.

        ``GET /api/v1/data-sources/{dataSourceId}/api-specs``. Results are
        cached for the life of the client: validating many connections of
        one kind costs one read.

        Raises:
            NotFoundError: the data source is unknown or not enabled.
            ServerError: the connector failed (503).
        """
        if data_source_id not in self._api_specs:
            body = self._client.get_json(
                f"{DATA_SOURCES_PATH}/{_checked_id(data_source_id)}/api-specs"
            )
            self._api_specs[data_source_id] = ApiSpec.from_api(
                body, what=f"api-specs of {data_source_id}"
            )
        return self._api_specs[data_source_id]

    def gateways(
        self, data_source_id: str, *, force_refresh: bool = False
    ) -> builtins.list[Gateway]:
        """Return the Direct Access gateways of a ``DG_`` data source.

        ``GET /api/v1/data-sources/{dataSourceId}/gateways``. Data Movement
        gateways (the ``agentId`` of ``repsrc_``/``reptgt_`` connections)
        are not listed by any published endpoint.

        Raises:
            InputError: the id does not start with ``DG_``; nothing is sent.
            NotFoundError: unknown data source, or no gateway configured.
        """
        if not data_source_id.startswith("DG_"):
            raise InputError(
                f"data source {data_source_id!r} has no gateway list: only DG_ "
                "data sources use Direct Access gateways; Data Movement gateway "
                "ids come from Administration > Data gateways"
            )
        body = self._client.get_json(
            f"{DATA_SOURCES_PATH}/{_checked_id(data_source_id)}/gateways",
            params={"forceRefresh": force_refresh or None},
        )
        items = body.get("gateways") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise QtcError("the gateways response has no gateways list")
        return [Gateway.from_api(item, what="gateway") for item in items]


def _checked_id(data_source_id: str) -> str:
    if not data_source_id or "/" in data_source_id or "?" in data_source_id:
        raise InputError(
            f"invalid data source id {data_source_id!r}; list valid ids with "
            "'qtc sources list'"
        )
    return data_source_id
