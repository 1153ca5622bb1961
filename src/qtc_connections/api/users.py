"""``/api/v1/users/me`` and ``/api/v1/tenants/me``: who is calling, and where."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtc_connections.api.models import TenantInfo, User

if TYPE_CHECKING:
    from qtc_connections.client import QlikClient

__all__ = ["Tenants", "Users"]


class Users:
    """Users of the tenant, reached as ``client.users``."""

    def __init__(self, client: QlikClient) -> None:
        self._client = client

    def me(self) -> User:
        """Return the calling user.

        ``GET /api/v1/users/me`` returns 301 to the user's own URL, which
        is followed (on the tenant's origin only); a direct 200 is
        accepted too.

        Raises:
            AuthenticationError: the token is not valid.
        """
        body = self._client.get_json("/api/v1/users/me")
        return User.from_api(body, what="current user")


class Tenants:
    """The tenant itself, reached as ``client.tenants``."""

    def __init__(self, client: QlikClient) -> None:
        self._client = client

    def me(self) -> TenantInfo:
        """Return the current tenant.

        ``GET /api/v1/tenants/me`` returns 302 to the tenant's URL, which
        is followed (on the tenant's origin only).

        Raises:
            PermissionDeniedError: the caller may not read the tenant; who
                may is not documented.
        """
        body = self._client.get_json("/api/v1/tenants/me")
        return TenantInfo.from_api(body, what="current tenant")
