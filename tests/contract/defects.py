"""Known defects of Qlik's published OpenAPI specs, matched finding by finding.

A defect excuses a finding only when everything matches: the spec file,
the operation, the status of the response, and one of the defect's
``FindingPattern`` entries (side, part, location, keyword and message).
Anything else is a violation. ``tests/contract/test_defects.py`` checks
that every operation named here exists in its spec, and that every status
a defect calls undocumented is still undocumented there.

The sources named below are pages of qlik.dev. The data-connections create
and gateway guides show 201 bodies, and the update and delete guides show
GET and PATCH examples. The create guide also shows a GET /data-sources
body. The OAuth machine-to-machine guide shows a token response, the
rate-limiting page documents 429, and the 2025-07-08 API changelog shows a
``users/me?fields=`` response.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from contract.findings import REQUEST, RESPONSE, UNDOCUMENTED, Finding
from contract.recorder import Exchange

DATA_CONNECTIONS = "data-connections.json"
DATA_SOURCES = "data-sources.json"
OAUTH = "oauth.json"
SPACES = "spaces.json"
USERS = "users.json"

CONNECTION_OPERATIONS = (
    "GET /api/v1/data-connections",
    "POST /api/v1/data-connections",
    "GET /api/v1/data-connections/{qID}",
    "PATCH /api/v1/data-connections/{qID}",
    "PUT /api/v1/data-connections/{qID}",
    "DELETE /api/v1/data-connections/{qID}",
    "POST /api/v1/data-connections/actions/delete",
    "POST /api/v1/data-connections/actions/duplicate",
    "POST /api/v1/data-connections/actions/update",
)
DATA_SOURCE_OPERATIONS = (
    "GET /api/v1/data-sources",
    "GET /api/v1/data-sources/{dataSourceId}/api-specs",
    "GET /api/v1/data-sources/{dataSourceId}/gateways",
    "GET /api/v1/data-sources/{dataSourceId}/settings",
    "PUT /api/v1/data-sources/{dataSourceId}/settings",
)
USER_OPERATIONS = (
    "GET /api/v1/users/me",
    "GET /api/v1/users/{userId}",
)


@dataclass(frozen=True)
class FindingPattern:
    """The shape of a finding that a defect explains.

    ``location`` and ``message`` are regular expressions that must match
    the whole of the finding's location and message.
    """

    side: str
    part: str
    location: str
    keyword: str
    message: str

    def matches(self, finding: Finding) -> bool:
        """Return whether ``finding`` has this shape."""
        return (
            finding.side == self.side
            and finding.part == self.part
            and finding.keyword == self.keyword
            and re.fullmatch(self.location, finding.location) is not None
            and re.fullmatch(self.message, finding.message) is not None
        )


@dataclass(frozen=True)
class KnownDefect:
    """A fault of a spec, and the findings it explains.

    ``pointer`` is the JSON pointer of the faulty part of the spec.
    ``problem`` states what is wrong there and ``deviation`` why the emulator
    or the client departs from the spec. ``operations`` are the spec's
    methods and path templates, and ``statuses`` the response statuses of
    the exchanges concerned. ``applies``, when set, is a further condition
    on the exchange and the finding.
    """

    key: str
    spec: str
    pointer: str
    problem: str
    deviation: str
    operations: tuple[str, ...]
    statuses: tuple[int, ...]
    patterns: tuple[FindingPattern, ...]
    applies: Callable[[Exchange, Finding], bool] | None = None

    def matches(
        self,
        exchange: Exchange,
        spec: str,
        operation: str | None,
        finding: Finding,
    ) -> bool:
        """Return whether this defect explains ``finding`` in ``exchange``."""
        return (
            spec == self.spec
            and operation in self.operations
            and exchange.status in self.statuses
            and any(pattern.matches(finding) for pattern in self.patterns)
            and (self.applies is None or self.applies(exchange, finding))
        )


def undocumented_status(status: int) -> FindingPattern:
    """Return the pattern of a response whose status the operation does not list."""
    message = re.escape(f"status {status} is not documented") + r"; the spec lists .+"
    return FindingPattern(RESPONSE, "status", "", "ResponseNotFound", message)


def undocumented_members(location: str, *names: str) -> FindingPattern:
    """Return the pattern of response members ``names`` under ``location``.

    ``location`` is a regular expression for the pointer of the parent
    object, such as ``/data/\\d+``.
    """
    alternatives = "|".join(re.escape(name) for name in names)
    return FindingPattern(
        RESPONSE,
        "body",
        f"{location}/({alternatives})",
        UNDOCUMENTED,
        f"({alternatives}) is not a documented member",
    )


def _rate_limit_defect(spec: str, operations: tuple[str, ...]) -> KnownDefect:
    return KnownDefect(
        key=f"no-429-{spec.removesuffix('.json')}",
        spec=spec,
        pointer="/paths",
        problem="these operations document no 429 response",
        deviation=(
            "Qlik's rate-limiting page documents 429 with a Retry-After header "
            "for every endpoint once its tier's rate is exceeded, and the "
            "emulator enforces those tiers."
        ),
        operations=operations,
        statuses=(429,),
        patterns=(undocumented_status(429),),
    )


def _query_values(exchange: Exchange, name: str) -> list[str]:
    return parse_qs(exchange.query, keep_blank_values=True).get(name, [])


def _renamed_list(exchange: Exchange, finding: Finding) -> bool:
    names = _query_values(exchange, "dataName")
    return bool(names) and finding.location == "/" + names[-1]


def _fields_selected(exchange: Exchange, finding: Finding) -> bool:
    return bool(_query_values(exchange, "fields"))


def _data_source_id_spelling(exchange: Exchange, finding: Finding) -> bool:
    # Only a body that spells datasourceID in another case is excused.
    try:
        body = json.loads(exchange.request_body)
    except ValueError:
        return False
    if not isinstance(body, dict) or "datasourceID" in body:
        return False
    return any(key.lower() == "datasourceid" for key in body)


KNOWN_DEFECTS: tuple[KnownDefect, ...] = (
    KnownDefect(
        key="data-connections-no-401",
        spec=DATA_CONNECTIONS,
        pointer="/paths",
        problem="no data-connections operation documents a 401 response",
        deviation=(
            "Every call needs a bearer token, and the emulator rejects a "
            "missing, malformed or unknown one with 401, the status the "
            "data-sources, spaces and oauth specs document for it."
        ),
        operations=CONNECTION_OPERATIONS,
        statuses=(401,),
        patterns=(undocumented_status(401),),
    ),
    KnownDefect(
        key="users-no-401",
        spec=USERS,
        pointer="/paths",
        problem="GET /users/me and GET /users/{userId} document no 401 response",
        deviation=(
            "Both need a bearer token, and the emulator rejects a missing or "
            "unknown one with 401, as the other specs document."
        ),
        operations=USER_OPERATIONS,
        statuses=(401,),
        patterns=(undocumented_status(401),),
    ),
    _rate_limit_defect(DATA_CONNECTIONS, CONNECTION_OPERATIONS),
    _rate_limit_defect(DATA_SOURCES, DATA_SOURCE_OPERATIONS),
    _rate_limit_defect(
        SPACES,
        ("GET /api/v1/spaces", "POST /api/v1/spaces", "GET /api/v1/spaces/types"),
    ),
    _rate_limit_defect(OAUTH, ("POST /oauth/token",)),
    KnownDefect(
        key="data-connections-list-userid-no-403",
        spec=DATA_CONNECTIONS,
        pointer="/components/parameters/userId/description",
        problem=(
            "userId 'requires admin role' when it names another user, but the "
            "list operation documents no 403 response"
        ),
        deviation="The emulator rejects such a request from a non-admin with 403.",
        operations=("GET /api/v1/data-connections",),
        statuses=(403,),
        patterns=(undocumented_status(403),),
    ),
    KnownDefect(
        key="spaces-create-no-400",
        spec=SPACES,
        pointer="/paths/~1api~1v1~1spaces/post/responses",
        problem=(
            "SpaceCreate limits name (a pattern, at most 256 characters) and "
            "type (an enum), but POST /spaces documents no 400 response"
        ),
        # NOTE: 400 is inferred, from the convention of the other Qlik specs;
        # no published example shows how a tenant rejects an invalid name.
        deviation="The emulator rejects a body that breaks those limits with 400.",
        operations=("POST /api/v1/spaces",),
        statuses=(400,),
        patterns=(undocumented_status(400),),
    ),
    KnownDefect(
        key="data-sources-settings-no-403",
        spec=DATA_SOURCES,
        pointer="/paths/~1api~1v1~1data-sources~1{dataSourceId}~1settings/put/responses",
        problem=(
            "PUT settings enables or disables a data source for the whole tenant, "
            "yet documents no 403 for a caller who may not do that"
        ),
        # NOTE: which role may change the settings is not published; the
        # emulator allows tenant admins only.
        deviation="The emulator rejects a PUT by a user who is not a tenant admin with 403.",
        operations=("PUT /api/v1/data-sources/{dataSourceId}/settings",),
        statuses=(403,),
        patterns=(undocumented_status(403),),
    ),
    KnownDefect(
        key="data-sources-details-typo",
        spec=DATA_SOURCES,
        pointer="/components/schemas/PublicApiError/required",
        problem=(
            "the required list names 'details', but the property is 'detail', "
            "so no error body can be both valid and free of undocumented members"
        ),
        deviation=(
            "The emulator sends both members, so its error bodies pass the "
            "required list; the 'details' member is then undocumented."
        ),
        operations=DATA_SOURCE_OPERATIONS,
        statuses=(400, 401, 403, 404, 500, 503),
        patterns=(
            undocumented_members(r"/errors/\d+", "details"),
            FindingPattern(
                RESPONSE,
                "body",
                r"/errors/\d+",
                "required",
                re.escape("'details' is a required property"),
            ),
        ),
    ),
    KnownDefect(
        key="connection-get-example-members",
        spec=DATA_CONNECTIONS,
        pointer="/components/schemas/ConnectionGet/properties",
        problem="ConnectionGet lacks id and version",
        deviation=(
            "The GET examples of the update and delete guides return both, "
            "and the connection list items of the audit guide carry id."
        ),
        operations=(
            "GET /api/v1/data-connections",
            "GET /api/v1/data-connections/{qID}",
        ),
        statuses=(200,),
        patterns=(undocumented_members(r"(/data/\d+)?", "id", "version"),),
    ),
    KnownDefect(
        key="connection-created-example-members",
        spec=DATA_CONNECTIONS,
        pointer="/components/schemas/ConnectionCreateResponse/properties",
        problem=(
            "ConnectionCreateResponse lacks id, datasourceID, qri, tenant, tags "
            "and version"
        ),
        deviation=(
            "The 201 examples of the create and gateway guides return all six; "
            "the duplicate action answers with the same schema."
        ),
        operations=(
            "POST /api/v1/data-connections",
            "POST /api/v1/data-connections/actions/duplicate",
        ),
        statuses=(201,),
        patterns=(
            undocumented_members(
                "", "id", "datasourceID", "qri", "tenant", "tags", "version"
            ),
        ),
    ),
    KnownDefect(
        key="connection-list-data-name",
        spec=DATA_CONNECTIONS,
        pointer="/components/schemas/Connections/properties/data",
        problem=(
            "the list member is always named data, though the dataName query "
            "parameter renames it"
        ),
        # NOTE: the items under a renamed member are not validated, because
        # the schema cannot name the member they sit in.
        deviation="The emulator names the member as dataName asks.",
        operations=("GET /api/v1/data-connections",),
        statuses=(200,),
        patterns=(
            FindingPattern(
                RESPONSE,
                "body",
                "/[^/]+",
                UNDOCUMENTED,
                r".+ is not a documented member",
            ),
        ),
        applies=_renamed_list,
    ),
    KnownDefect(
        key="connection-create-data-source-id-spelling",
        spec=DATA_CONNECTIONS,
        pointer="/components/schemas/DcaasConnectionCreate/required",
        problem="DcaasConnectionCreate requires the member datasourceID",
        deviation=(
            "Every published create example sends dataSourceId, and the service "
            "accepts it, so the emulator matches the member name in any case."
        ),
        operations=("POST /api/v1/data-connections",),
        statuses=(201,),
        patterns=(
            FindingPattern(
                REQUEST,
                "body",
                "",
                "oneOf",
                re.escape(
                    "an object is not valid under any of the given schemas "
                    "(ConnectionCreate: 'qConnectStatement' is a required property; "
                    "DcaasConnectionCreate: 'datasourceID' is a required property)"
                ),
            ),
        ),
        applies=_data_source_id_spelling,
    ),
    KnownDefect(
        key="patch-capital-value",
        spec=DATA_CONNECTIONS,
        pointer="/components/schemas/PatchRequest/items/properties",
        problem="a PATCH operation has the member value, but not Value",
        deviation=(
            "Most PATCH examples of the update guide send Value, so the emulator "
            "accepts either spelling."
        ),
        operations=("PATCH /api/v1/data-connections/{qID}",),
        statuses=(204,),
        patterns=(
            FindingPattern(
                REQUEST,
                "body",
                r"/\d+/Value",
                UNDOCUMENTED,
                re.escape("Value is not a documented member"),
            ),
        ),
    ),
    KnownDefect(
        key="data-source-example-members",
        spec=DATA_SOURCES,
        pointer="/components/schemas/DataSourceNew/properties",
        problem="DataSourceNew lacks dataSourceName and settings",
        deviation="The GET /data-sources example of the create guide returns both.",
        operations=("GET /api/v1/data-sources",),
        statuses=(200,),
        patterns=(
            undocumented_members(r"/dataSources/\d+", "dataSourceName", "settings"),
        ),
    ),
    KnownDefect(
        key="token-expires-in",
        spec=OAUTH,
        pointer="/components/schemas/oauth-token-response/properties",
        problem="oauth-token-response lacks expires_in",
        deviation=(
            "The machine-to-machine guide's token example returns expires_in "
            "(21600 seconds), and the client reads it."
        ),
        operations=("POST /oauth/token",),
        statuses=(200,),
        patterns=(undocumented_members("", "expires_in"),),
    ),
    KnownDefect(
        key="user-fields-selection",
        spec=USERS,
        pointer="/components/schemas/User/required",
        problem="User requires subject, name and tenantId in every 200 body",
        deviation=(
            "The changelog's example of fields= returns only id and the fields "
            "asked for, so the emulator omits the others."
        ),
        operations=("GET /api/v1/users/{userId}",),
        statuses=(200,),
        patterns=(
            FindingPattern(
                RESPONSE,
                "body",
                "",
                "required",
                r"'(subject|name|tenantId)' is a required property",
            ),
        ),
        applies=_fields_selected,
    ),
)
