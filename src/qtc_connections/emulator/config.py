"""Configuration of an emulated tenant: identities, clients, spaces and limits.

``EmulatorConfig.default`` builds the tenant that tests and ``qtc emulator
serve`` use. Its ids are fixed, so a database file written by one run can be
opened again by the next one without duplicating the seed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

# Fixed ids of the default tenant. Space ids are 24 lowercase hex digits and
# user ids 24 characters, as in Qlik Cloud; the tenant id has 32 characters.
DEFAULT_TENANT_ID = "kJDiG-OgN1GSuFIMSm47KILkKJMVHRxA"
ADMIN_USER_ID = "9UQpdoqqYHNQG0tMm3Lm2JxA"
MEMBER_USER_ID = "rY30d-Ahv-stwdPw59zHbjfS"
DATA_INTEGRATION_SPACE_ID = "022b8b9a1222d5f5374aa45b"
FINANCE_DATA_SPACE_ID = "57eae8298e0b6e203f715f8e"
SHARED_SPACE_ID = "d34b1d26c5fa3f76c6ff4a16"
RESTRICTED_SPACE_ID = "ad4b29166c490a70046a1f6d"

SPACE_TYPES = ("shared", "managed", "data")


@dataclass
class Identity:
    """A user of the tenant and the API keys that authenticate as that user."""

    user_id: str
    name: str
    subject: str
    email: str
    tenant_admin: bool = False
    api_keys: list[str] = field(default_factory=list, repr=False)


@dataclass
class OAuthClient:
    """An OAuth machine-to-machine client and the user its tokens act as."""

    client_id: str
    client_secret: str = field(repr=False)
    user_id: str
    token_lifetime_seconds: int = 21600
    scopes: tuple[str, ...] = ("user_default", "admin_classic")


@dataclass
class SpaceSeed:
    """A space created when the tenant is seeded.

    ``roles`` maps a user id to the space roles that user holds, using the
    API's role names (``facilitator``, ``consumer``, ...).
    """

    space_id: str
    name: str
    type: str
    owner_id: str
    description: str = ""
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class RateLimits:
    """Per-user request rates of the two tiers, counted over a sliding window.

    Tier 1 is every GET, tier 2 every other method. Each rate is a number of
    requests per minute. The number allowed in any window of
    ``window_seconds`` is the rate scaled to that window, and at least one,
    so ``window_seconds=1`` with ``read_per_minute=180`` allows 3 reads in
    any second.
    """

    read_per_minute: int = 1000
    write_per_minute: int = 100
    window_seconds: float = 60.0

    def capacity(self, tier: int) -> int:
        """Return the number of requests of ``tier`` allowed in one window."""
        per_minute = self.read_per_minute if tier == 1 else self.write_per_minute
        return max(1, int(per_minute * self.window_seconds / 60))


@dataclass
class EmulatorConfig:
    """Everything an emulator instance needs to start.

    ``db_path`` is a SQLite file path or ``":memory:"``. With ``seed`` set,
    the tenant, identities, OAuth clients, spaces and data-source settings
    are written to the database when missing. Without it, they must already
    be in the database file. ``hostnames`` lists the tenant's host names,
    and an empty list means the address the server listens on.
    """

    tenant_id: str = DEFAULT_TENANT_ID
    tenant_name: str = "emulated-tenant"
    identities: list[Identity] = field(default_factory=list)
    oauth_clients: list[OAuthClient] = field(default_factory=list)
    spaces: list[SpaceSeed] = field(default_factory=list)
    rate_limits: RateLimits = field(default_factory=RateLimits)
    db_path: str = ":memory:"
    seed: bool = True
    hostnames: list[str] = field(default_factory=list)

    @classmethod
    def default(
        cls,
        api_key: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        member_api_key: str | None = None,
        token_lifetime_seconds: int = 21600,
        rate_limits: RateLimits | None = None,
        db_path: str = ":memory:",
    ) -> EmulatorConfig:
        """Build the standard tenant: an admin, a member and four spaces.

        The admin owns every space and has the ``facilitator`` role in each.
        The member has ``dataconsumer`` in "Finance Data" (so creating a
        connection there is rejected with 403), ``producer`` in the shared
        space, and cannot see "Restricted Data" or "Data Integration".
        ``member_api_key`` defaults to a random key; read it back from
        ``config.member.api_keys``. The OAuth client, when given, acts as
        the admin.

        Raises:
            ValueError: ``api_key`` is empty, or only one of ``client_id``
                and ``client_secret`` is given.
        """
        if not api_key:
            raise ValueError("api_key must not be empty")
        if (client_id is None) != (client_secret is None):
            raise ValueError("give both client_id and client_secret, or neither")

        admin = Identity(
            user_id=ADMIN_USER_ID,
            name="Tenant Admin",
            subject="auth0|emulator-admin",
            email="admin@example.com",
            tenant_admin=True,
            api_keys=[api_key],
        )
        member = Identity(
            user_id=MEMBER_USER_ID,
            name="Data Member",
            subject="auth0|emulator-member",
            email="member@example.com",
            tenant_admin=False,
            api_keys=[member_api_key or secrets.token_urlsafe(32)],
        )
        clients = []
        if client_id is not None and client_secret is not None:
            clients.append(
                OAuthClient(
                    client_id=client_id,
                    client_secret=client_secret,
                    user_id=admin.user_id,
                    token_lifetime_seconds=token_lifetime_seconds,
                )
            )
        return cls(
            identities=[admin, member],
            oauth_clients=clients,
            spaces=_default_spaces(admin.user_id, member.user_id),
            rate_limits=rate_limits or RateLimits(),
            db_path=db_path,
        )

    @property
    def admin(self) -> Identity:
        """The first tenant admin among the identities."""
        for identity in self.identities:
            if identity.tenant_admin:
                return identity
        raise LookupError("the configuration has no tenant admin")

    @property
    def member(self) -> Identity:
        """The first identity that is not a tenant admin."""
        for identity in self.identities:
            if not identity.tenant_admin:
                return identity
        raise LookupError("the configuration has no identity without admin rights")

    def space(self, name: str) -> SpaceSeed:
        """Return the seeded space called ``name``.

        Raises:
            LookupError: no seeded space has that name.
        """
        for seed in self.spaces:
            if seed.name == name:
                return seed
        raise LookupError(f"no seeded space is named {name!r}")


def _default_spaces(admin_id: str, member_id: str) -> list[SpaceSeed]:
    manage = ("facilitator",)
    return [
        SpaceSeed(
            space_id=DATA_INTEGRATION_SPACE_ID,
            name="Data Integration",
            type="data",
            owner_id=admin_id,
            description="Connections for Data Integration projects.",
            roles={admin_id: manage},
        ),
        SpaceSeed(
            space_id=FINANCE_DATA_SPACE_ID,
            name="Finance Data",
            type="data",
            owner_id=admin_id,
            description="Finance sources and targets.",
            roles={admin_id: manage, member_id: ("dataconsumer",)},
        ),
        SpaceSeed(
            space_id=SHARED_SPACE_ID,
            name="Analytics Shared",
            type="shared",
            owner_id=admin_id,
            roles={admin_id: manage, member_id: ("producer",)},
        ),
        SpaceSeed(
            space_id=RESTRICTED_SPACE_ID,
            name="Restricted Data",
            type="data",
            owner_id=admin_id,
            description="Visible to its managers only.",
            roles={admin_id: manage},
        ),
    ]
