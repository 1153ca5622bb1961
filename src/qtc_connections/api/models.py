"""Typed views of the resources the API returns.

Each model keeps the fields this project reads and ignores the rest, so a
tenant that adds fields does not break the client. ``raw`` keeps the whole
decoded object for ``--json`` output. Names follow Qlik's JSON where the
meaning is the same (``qName`` is ``name``, ``qID`` is ``id``).
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qtc_connections.errors import QtcError


class _Resource(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    raw: dict[str, Any] = Field(default_factory=dict, exclude=True, repr=False)

    @classmethod
    def from_api(cls, data: object, *, what: str) -> Self:
        """Build the model from a decoded JSON object.

        Raises:
            QtcError: ``data`` is not an object or lacks a required field.
        """
        if not isinstance(data, dict):
            raise QtcError(f"{what}: expected a JSON object, got {type(data).__name__}")
        try:
            return cls.model_validate({**data, "raw": data})
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
            raise QtcError(f"{what}: unexpected response shape ({fields})") from exc


class Connection(_Resource):
    """A data connection (``ConnectionGet`` in the spec)."""

    q_id: str = Field(alias="qID")
    name: str = Field(alias="qName")
    data_source_id: str | None = Field(default=None, alias="datasourceID")
    q_type: str | None = Field(default=None, alias="qType")
    space_id: str | None = Field(default=None, alias="space")
    user_id: str | None = Field(default=None, alias="user")
    created: str | None = None
    updated: str | None = None
    tags: list[str] = Field(default_factory=list)
    privileges: list[str] = Field(default_factory=list)
    connection_properties: dict[str, Any] | None = Field(
        default=None, alias="connectionProperties"
    )

    @property
    def id(self) -> str:
        """The connection id: ``id`` when the tenant sends it, else ``qID``.

        Real responses carry both with the same value; the spec declares
        only ``qID``.
        """
        value = self.raw.get("id")
        return value if isinstance(value, str) and value else self.q_id


class DataSource(_Resource):
    """An entry of ``GET /api/v1/data-sources``."""

    data_source_id: str = Field(alias="dataSourceId")
    name: str
    provider: str
    provider_name: str = Field(alias="providerName")
    data_source_name: str | None = Field(default=None, alias="dataSourceName")
    disabled: bool = False

    @property
    def display_name(self) -> str:
        """The data source's own name where sent, else the provider's."""
        return self.data_source_name or self.name


class ApiSpec(_Resource):
    """The property schema of one data source (``GET .../api-specs``)."""

    connector_provider: str = Field(alias="connectorProvider")
    connector_version: str = Field(alias="connectorVersion")
    connection_properties: dict[str, Any] = Field(alias="connectionProperties")

    @property
    def properties(self) -> dict[str, dict[str, Any]]:
        """Property name to its JSON-Schema-like description."""
        value = self.connection_properties.get("properties")
        return value if isinstance(value, dict) else {}

    @property
    def required(self) -> list[str]:
        """Names the schema lists as required; empty when it lists none."""
        value = self.connection_properties.get("required")
        return [str(v) for v in value] if isinstance(value, list) else []


class Gateway(_Resource):
    """A Direct Access gateway that a ``DG_`` data source can use."""

    id: str
    name: str
    default: bool = False


class Space(_Resource):
    """A space (``Space`` in the spaces spec)."""

    id: str
    name: str | None = None
    type: str | None = None
    owner_id: str | None = Field(default=None, alias="ownerId")
    tenant_id: str | None = Field(default=None, alias="tenantId")
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def roles(self) -> list[str]:
        """The caller's roles in this space, such as ``facilitator``."""
        roles = self.meta.get("roles")
        return [str(r) for r in roles] if isinstance(roles, list) else []

    @property
    def actions(self) -> list[str]:
        """What the caller may do in this space, such as ``create``."""
        actions = self.meta.get("actions")
        return [str(a) for a in actions] if isinstance(actions, list) else []


class User(_Resource):
    """The calling user (``GET /api/v1/users/me``)."""

    id: str
    name: str | None = None
    email: str | None = None
    subject: str | None = None
    tenant_id: str | None = Field(default=None, alias="tenantId")
    status: str | None = None
    assigned_roles: list[dict[str, Any]] = Field(
        default_factory=list, alias="assignedRoles"
    )

    @property
    def is_tenant_admin(self) -> bool:
        """Whether a ``TenantAdmin`` role is assigned directly or through a group."""
        roles = list(self.assigned_roles)
        groups = self.raw.get("assignedGroups")
        if isinstance(groups, list):
            for group in groups:
                if isinstance(group, dict) and isinstance(
                    group.get("assignedRoles"), list
                ):
                    roles.extend(group["assignedRoles"])
        return any(
            isinstance(r, dict) and r.get("name") == "TenantAdmin" for r in roles
        )


class TenantInfo(_Resource):
    """The current tenant (``GET /api/v1/tenants/me``)."""

    id: str
    name: str
    hostnames: list[str] = Field(default_factory=list)
    region: str | None = None
    status: str | None = None
