"""Plans as values: the text rendering, the JSON form and the checksum."""

from __future__ import annotations

import json

import pytest

from qtc_connections.sync.plan import (
    Action,
    Change,
    Plan,
    PropertyChange,
    SecretChange,
    SecretStatus,
    SnapshotEntry,
    TagChange,
    json_equal,
    render_plan,
    user_tags,
)
from qtc_connections.sync.state import ConnectionKey

SPACE_ID = "022b8b9a1222d5f5374aa45b"
SPACE = "Data Integration"


def key(name: str) -> ConnectionKey:
    return ConnectionKey(SPACE_ID, name)


CREATE = Change(
    action=Action.CREATE,
    key=key("SRC_MySQL"),
    space_name=SPACE,
    data_source_id="repsrc_mysql",
    kind_name="mysql-source",
    properties=(
        PropertyChange("port", "3306"),
        PropertyChange("server", "mysql.dev.internal"),
    ),
    tags=TagChange((), ("team-sales",)),
    secrets=(SecretChange("password", SecretStatus.NEW, send=True),),
)

UPDATE = Change(
    action=Action.UPDATE,
    key=key("TGT_Snowflake"),
    space_name=SPACE,
    data_source_id="reptgt_qdisnowflake",
    kind_name="snowflake-target",
    connection_id="id-update",
    properties=(
        PropertyChange("warehouse", "LOAD_WH_XL", "LOAD_WH", old_present=True),
        PropertyChange("role", "LOADER"),
    ),
    tags=TagChange(("old",), ("new",)),
    secrets=(
        SecretChange("privateKeyFile", SecretStatus.CHANGED, send=True, is_file=True),
        SecretChange("privateKeyPassphrase", SecretStatus.UNCHANGED, send=False),
    ),
)

NO_OP = Change(
    action=Action.NO_OP,
    key=key("SRC_Steady"),
    space_name=SPACE,
    data_source_id="repsrc_mysql",
    kind_name="mysql-source",
    connection_id="id-steady",
    secrets=(SecretChange("password", SecretStatus.UNKNOWN, send=False),),
)

DELETE = Change(
    action=Action.DELETE,
    key=key("OLD_Source"),
    space_name=SPACE,
    data_source_id="repsrc_db2luw",
    connection_id="id-delete",
)

UNMANAGED = Change(
    action=Action.UNMANAGED,
    key=key("HAND_MADE"),
    space_name=SPACE,
    data_source_id="repsrc_mysql",
    kind_name="mysql-source",
    connection_id="id-unmanaged",
)


def plan_of(*changes: Change, **fields: object) -> Plan:
    return Plan(
        tenant="acme.eu.qlikcloud.com",
        changes=changes,
        snapshot=(SnapshotEntry("id-update", "2026-12-04T10:00:00.000Z"),),
        spaces={SPACE_ID: SPACE},
        **fields,  # type: ignore[arg-type]
    )


def test_render_shows_each_action() -> None:
    text = render_plan(plan_of(CREATE, UPDATE, NO_OP, DELETE, UNMANAGED))

    assert text.splitlines() == [
        "+ create SRC_MySQL (mysql-source) in space 'Data Integration'",
        '    port: "3306"',
        '    server: "mysql.dev.internal"',
        '    tags: ["team-sales"]',
        "    password: (sensitive) (secret)",
        (
            "~ update TGT_Snowflake (snowflake-target) in space 'Data Integration', "
            "id id-update"
        ),
        '    warehouse: "LOAD_WH" -> "LOAD_WH_XL"',
        '    role: (not set) -> "LOADER"',
        '    tags: ["old"] -> ["new"]',
        "    privateKeyFile: (sensitive) (key file changed, sent)",
        "- delete OLD_Source (repsrc_db2luw) in space 'Data Integration', id id-delete",
        (
            "? unmanaged HAND_MADE (mysql-source) in space 'Data Integration', "
            "id id-unmanaged"
        ),
        "",
        "Creates=1, Updates=1, Deletes=1, Unchanged=1, Unmanaged=1",
    ]


def test_render_verbose_shows_no_ops() -> None:
    text = render_plan(plan_of(UPDATE, NO_OP), verbose=True)

    lines = text.splitlines()
    assert (
        "= no-op SRC_Steady (mysql-source) in space 'Data Integration', id id-steady"
    ) in lines
    assert (
        "    password: (sensitive) (secret unknown: no fingerprint in the state; "
        "sent only with --resend-secrets)"
    ) in lines
    assert (
        "    privateKeyPassphrase: (sensitive) (secret unchanged, not sent)"
    ) in lines


def test_render_empty_plan_is_summary() -> None:
    assert render_plan(plan_of()) == (
        "Creates=0, Updates=0, Deletes=0, Unchanged=0, Unmanaged=0"
    )


def test_render_puts_notes_before_summary() -> None:
    text = render_plan(plan_of(NO_OP, notes=("No state file at x.",)))

    assert text.splitlines()[-2:] == [
        "No state file at x.",
        "Creates=0, Updates=0, Deletes=0, Unchanged=1, Unmanaged=0",
    ]


def test_json_describes_changes() -> None:
    document = plan_of(CREATE, UPDATE).to_json()

    create, update = document["changes"]
    assert create["properties"]["server"] == {"new": "mysql.dev.internal"}
    assert update["properties"]["warehouse"] == {"old": "LOAD_WH", "new": "LOAD_WH_XL"}
    assert update["tags"] == {"old": ["old"], "new": ["new"]}
    assert update["secrets"]["privateKeyFile"] == {
        "status": "changed",
        "send": True,
        "value": "(sensitive)",
        "file": True,
    }
    assert document["summary"] == {
        "create": 1,
        "update": 1,
        "delete": 0,
        "no-op": 0,
        "unmanaged": 0,
    }
    assert document["snapshot"] == [
        {"id": "id-update", "updated": "2026-12-04T10:00:00.000Z"}
    ]
    json.dumps(document)


def test_checksum_is_stable() -> None:
    assert plan_of(CREATE, UPDATE).checksum == plan_of(CREATE, UPDATE).checksum
    assert plan_of(CREATE).checksum.startswith("sha256:")


@pytest.mark.parametrize(
    "other",
    [
        plan_of(CREATE),
        Plan(
            tenant="acme.eu.qlikcloud.com",
            changes=(CREATE, UPDATE),
            snapshot=(SnapshotEntry("id-update", "2026-12-04T10:00:01.000Z"),),
            spaces={SPACE_ID: SPACE},
        ),
        plan_of(CREATE, UPDATE, prune=True),
        Plan(
            tenant="other.eu.qlikcloud.com",
            changes=(CREATE, UPDATE),
            snapshot=(SnapshotEntry("id-update", "2026-12-04T10:00:00.000Z"),),
            spaces={SPACE_ID: SPACE},
        ),
    ],
    ids=["changes", "updated-time", "prune", "tenant"],
)
def test_checksum_follows_content(other: Plan) -> None:
    assert other.checksum != plan_of(CREATE, UPDATE).checksum


def test_has_changes_ignores_unmanaged() -> None:
    assert not plan_of(NO_OP, UNMANAGED).has_changes
    assert plan_of(NO_OP, DELETE).has_changes


def test_unknown_secrets_lists_unsent() -> None:
    assert NO_OP.unknown_secrets == ["password"]
    assert UPDATE.unknown_secrets == []


def test_change_repr_hides_payload() -> None:
    assert "payload" not in repr(CREATE)
    assert "operations" not in repr(CREATE)


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        ("3306", "3306", True),
        ("3306", 3306, False),
        (True, 1, False),
        (False, 0, False),
        (True, True, True),
        ([True], [1], False),
        (["a", "b"], ("a", "b"), True),
        (1, 1.0, True),
    ],
)
def test_json_equal_keeps_types_apart(left: object, right: object, equal: bool) -> None:
    assert json_equal(left, right) is equal


def test_user_tags_drop_service_tags() -> None:
    tags = ["DcaasAPI:QlikConnectorsCommonService.exe:1.202.0", "b", "a", "b"]

    assert user_tags(tags) == ("b", "a")
