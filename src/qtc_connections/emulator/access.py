"""Who may see and change which spaces and connections.

A user can see a space when they own it or have any role in it, and can see
a connection when they can see its space, or when it is in their own personal
space. Space role names are the API's (``facilitator`` is "Can manage",
``producer`` "Can edit", ``dataconsumer`` "Can consume data").

NOTE: whether tenant admins see every space and connection is
unpublished. Here they see what their roles show them, like any user; only
the admin-only bulk actions and the ``userId`` list filter reach further.
"""

from __future__ import annotations

from dataclasses import dataclass

from qtc_connections.emulator.store import (
    ConnectionRecord,
    SpaceRecord,
    Store,
    UserRecord,
)

ALL_PRIVILEGES = ["change_owner", "change_space", "delete", "list", "read", "update"]
MANAGER_PRIVILEGES = ["delete", "list", "read", "update"]
READER_PRIVILEGES = ["list", "read"]

# Creating a connection in a data space needs "Can manage", as it does for
# connections that use a Data Movement gateway. NOTE: the roles that may
# create connections in shared and managed spaces are inferred.
CONNECTION_CREATOR_ROLES = {
    "data": {"facilitator"},
    "shared": {"facilitator", "producer", "codeveloper"},
    "managed": {"facilitator"},
}

ASSIGNABLE_ROLES = {
    "shared": ["codeveloper", "consumer", "dataconsumer", "facilitator", "producer"],
    "managed": [
        "basicconsumer",
        "consumer",
        "contributor",
        "dataconsumer",
        "facilitator",
        "publisher",
    ],
    "data": [
        "consumer",
        "dataconsumer",
        "datapreview",
        "facilitator",
        "operator",
        "producer",
        "publisher",
    ],
}

_ROLE_ACTIONS = {
    "facilitator": {"create", "delete", "read", "update"},
    "producer": {"create", "read", "update"},
    "codeveloper": {"create", "read"},
    "contributor": {"create", "read"},
    "publisher": {"publish", "read"},
}
_OWNER_ACTIONS = {"change_owner", "create", "delete", "read", "update"}


@dataclass(frozen=True)
class Principal:
    """The authenticated user of a request."""

    user_id: str
    name: str
    tenant_admin: bool

    @classmethod
    def of(cls, user: UserRecord) -> Principal:
        """Build the principal of a stored user."""
        return cls(user.user_id, user.name, user.tenant_admin)


class Access:
    """The spaces and roles of one principal, read once per request."""

    def __init__(self, store: Store, principal: Principal) -> None:
        self.principal = principal
        self._roles = store.roles_by_space(principal.user_id)
        self._spaces = {space.space_id: space for space in store.spaces()}

    def space(self, space_id: str) -> SpaceRecord | None:
        """Return the space with ``space_id`` whether visible or not."""
        return self._spaces.get(space_id)

    def roles_in(self, space_id: str) -> set[str]:
        """Return the roles the principal has in a space."""
        return set(self._roles.get(space_id, set()))

    def owns(self, space: SpaceRecord) -> bool:
        """Return whether the principal owns ``space``."""
        return space.owner_id == self.principal.user_id

    def can_see_space(self, space: SpaceRecord) -> bool:
        """Return whether the principal may see ``space``."""
        return self.owns(space) or bool(self.roles_in(space.space_id))

    def visible_spaces(self) -> list[SpaceRecord]:
        """Return the spaces the principal may see, oldest first."""
        return [space for space in self._spaces.values() if self.can_see_space(space)]

    def space_actions(self, space: SpaceRecord) -> list[str]:
        """Return the space actions allowed to the principal, sorted."""
        actions = {"read"} if self.can_see_space(space) else set()
        if self.owns(space):
            actions |= _OWNER_ACTIONS
        for role in self.roles_in(space.space_id):
            actions |= _ROLE_ACTIONS.get(role, set())
        return sorted(actions)

    def can_create_connection(self, space: SpaceRecord) -> bool:
        """Return whether the principal may create a connection in ``space``."""
        if self.owns(space):
            return True
        allowed = CONNECTION_CREATOR_ROLES.get(space.type, set())
        return bool(self.roles_in(space.space_id) & allowed)

    def can_see_connection(self, connection: ConnectionRecord) -> bool:
        """Return whether the principal may see ``connection``."""
        if not connection.space_id:
            return connection.owner_id == self.principal.user_id
        space = self._spaces.get(connection.space_id)
        return space is not None and self.can_see_space(space)

    def privileges(self, connection: ConnectionRecord) -> list[str]:
        """Return the principal's privileges on a visible connection, sorted."""
        if connection.owner_id == self.principal.user_id or self.principal.tenant_admin:
            return list(ALL_PRIVILEGES)
        if "facilitator" in self.roles_in(connection.space_id):
            return list(MANAGER_PRIVILEGES)
        space = self._spaces.get(connection.space_id)
        if space is not None and self.owns(space):
            return list(MANAGER_PRIVILEGES)
        return list(READER_PRIVILEGES)
