"""``qtc sources``, ``qtc kinds`` and ``qtc spaces`` against the emulator."""

from __future__ import annotations

import json
import re

import pytest
from cli_support import (
    KIND_INPUTS,
    KIND_NAMES,
    KIND_SECRETS,
    KIND_SOURCES,
    Qtc,
    TenantFixture,
    member_key,
    settled_requests,
)

pytestmark = pytest.mark.usefixtures("loopback_only", "restore_cli_logging")

DATA_INTEGRATION_ID = "022b8b9a1222d5f5374aa45b"
DG_MYSQL_GATEWAYS = [
    "hX2pWq9LzT4vKc7RbN1mYs8dJf3GuA6e::a6CxFtkInvsJnrNXCOVWR8pQOwaphpU0",
    "hX2pWq9LzT4vKc7RbN1mYs8dJf3GuA6e::Ue2RkVbq0yFwJm8HtTsXp3LdQ7cZnG4o",
]


def table(stdout: str) -> list[list[str]]:
    """Split a ``qtc`` table into rows of cells. The first row is the header."""
    return [re.split(r"\s{2,}", line.strip()) for line in stdout.splitlines()]


# sources list


def test_sources_list_shows_catalog_sources(qtc: Qtc) -> None:
    result = qtc("sources", "list")

    rows = table(result.stdout)
    ids = [row[0] for row in rows[1:]]
    assert result.exit_code == 0, result.output
    assert rows[0] == ["DATA SOURCE ID", "NAME", "PROVIDER", "DISABLED"]
    for data_source_id, _ in KIND_SOURCES.values():
        assert data_source_id in ids
    assert "DG_mysql" in ids


def test_sources_list_json_is_raw(qtc: Qtc) -> None:
    result = qtc("sources", "list", "--json")

    sources = json.loads(result.stdout)
    by_id = {source["dataSourceId"]: source for source in sources}
    assert result.exit_code == 0, result.output
    assert by_id["reptgt_qdisnowflake"]["provider"] == (
        "QlikConnectorsCommonService.exe"
    )


def test_sources_list_quiet_prints_ids(qtc: Qtc) -> None:
    result = qtc("sources", "list", "-q")

    ids = result.stdout.splitlines()
    assert result.exit_code == 0, result.output
    assert len(ids) == len(set(ids))
    assert "repsrc_mysql" in ids
    for data_source_id in ids:
        assert re.fullmatch(r"[A-Za-z0-9_]+", data_source_id), data_source_id


def test_sources_list_hides_disabled_sources(qtc: Qtc, tenant: TenantFixture) -> None:
    tenant.server.emulator.store.set_data_source_disabled("reptgt_qdis3", True)

    default = qtc("sources", "list", "-q")
    everything = qtc("sources", "list", "-q", "--include-disabled")

    assert "reptgt_qdis3" not in default.stdout.splitlines()
    assert "reptgt_qdis3" in everything.stdout.splitlines()


# sources specs


def test_sources_specs_table_marks_secrets(qtc: Qtc) -> None:
    result = qtc("sources", "specs", "repsrc_mysql")

    lines = result.stdout.splitlines()
    rows = {row[0]: row for row in table("\n".join(lines[1:]))[1:]}
    assert result.exit_code == 0, result.output
    assert lines[0] == "repsrc_mysql: QlikConnectorsCommonService.exe 1.202.0"
    assert rows["password"] == ["password", "string", "yes", "yes"]
    assert rows["sshEnable"] == ["sshEnable", "boolean", "false"]
    assert rows["sslMode"][-1] == "NONE,PREFER,REQUIRED,VERIFY_CA,VERIFY_FULL"


def test_sources_specs_shows_file_type(qtc: Qtc) -> None:
    result = qtc("sources", "specs", "reptgt_qdisnowflake")

    rows = {row[0]: row for row in table(result.stdout)[2:]}
    assert result.exit_code == 0, result.output
    assert rows["privateKeyFile"][1] == "file"


def test_sources_specs_json_is_schema(qtc: Qtc) -> None:
    result = qtc("sources", "specs", "reptgt_qdibigquery", "--json")

    spec = json.loads(result.stdout)
    properties = spec["connectionProperties"]["properties"]
    assert result.exit_code == 0, result.output
    assert properties["jsonCredentials"]["type"] == "array"


def test_sources_specs_unknown_source_fails(qtc: Qtc) -> None:
    result = qtc("sources", "specs", "repsrc_nosuchdb")

    errors = result.stderr.splitlines()
    assert result.exit_code == 1
    assert len(errors) == 1
    assert errors[0].startswith("Error: 404 Not Found on GET ")
    assert "repsrc_nosuchdb" in errors[0]


def test_sources_specs_slash_id_sends_nothing(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc("sources", "specs", "repsrc_mysql/../users")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: invalid data source id 'repsrc_mysql/../users'; list valid ids "
        "with 'qtc sources list'\n"
    )
    assert settled_requests(tenant) == []


# sources gateways


def test_sources_gateways_table(qtc: Qtc) -> None:
    result = qtc("sources", "gateways", "DG_mysql")

    rows = table(result.stdout)
    assert result.exit_code == 0, result.output
    assert rows == [
        ["GATEWAY ID", "NAME", "DEFAULT"],
        [DG_MYSQL_GATEWAYS[0], "Gateway A", "yes"],
        [DG_MYSQL_GATEWAYS[1], "Gateway B", "no"],
    ]


def test_sources_gateways_json(qtc: Qtc) -> None:
    result = qtc("sources", "gateways", "DG_mysql", "--json")

    gateways = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert [gateway["id"] for gateway in gateways] == DG_MYSQL_GATEWAYS
    assert [gateway["default"] for gateway in gateways] == [True, False]


def test_sources_gateways_quiet(qtc: Qtc) -> None:
    result = qtc("sources", "gateways", "DG_mysql", "-q")

    assert result.exit_code == 0, result.output
    assert result.stdout == "".join(f"{gateway}\n" for gateway in DG_MYSQL_GATEWAYS)


def test_gateways_non_dg_source_sends_nothing(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc("sources", "gateways", "repsrc_mysql")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: data source 'repsrc_mysql' has no gateway list: only DG_ data "
        "sources use Direct Access gateways; Data Movement gateway ids come from "
        "Administration > Data gateways\n"
    )
    assert settled_requests(tenant) == []


# kinds


def test_kinds_list_shows_fourteen_kinds(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc("kinds", "list")

    rows = table(result.stdout)
    assert result.exit_code == 0, result.output
    assert rows[0] == ["KIND", "DATA SOURCE ID", "GATEWAY", "TITLE"]
    assert [row[0] for row in rows[1:]] == KIND_NAMES
    for row in rows[1:]:
        assert row[1] == KIND_SOURCES[row[0]][0], row
    assert settled_requests(tenant) == []


def test_kinds_list_quiet_prints_names(qtc: Qtc) -> None:
    result = qtc("kinds", "list", "-q")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == KIND_NAMES


def test_kinds_list_json_describes_kinds(qtc: Qtc) -> None:
    result = qtc("kinds", "list", "--json")

    kinds = {kind["name"]: kind for kind in json.loads(result.stdout)}
    assert result.exit_code == 0, result.output
    assert list(kinds) == KIND_NAMES
    for name, (data_source_id, gateway) in KIND_SOURCES.items():
        assert kinds[name]["data_source_id"] == data_source_id
        assert kinds[name]["gateway"] == gateway


def test_kinds_list_needs_no_tenant(qtc: Qtc) -> None:
    result = qtc("kinds", "list", "-q", env={"QTC_HOSTNAME": None, "QTC_TOKEN": None})

    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_kinds_show_every_kind(qtc: Qtc, tenant: TenantFixture, kind: str) -> None:
    result = qtc("kinds", "show", kind)

    lines = result.stdout.splitlines()
    fields = dict(line.strip().split(":", 1) for line in lines[1:] if ": " in line)
    assert result.exit_code == 0, result.output
    assert lines[0].startswith(f"{kind}: ")
    assert fields["data source id"].strip() == KIND_SOURCES[kind][0]
    for name in KIND_INPUTS[kind]:
        assert name in fields["required"], name
    for name in KIND_SECRETS[kind]:
        assert name in fields["secrets"], name
    assert settled_requests(tenant) == []


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_kinds_show_json_every_kind(qtc: Qtc, kind: str) -> None:
    result = qtc("kinds", "show", kind, "--json")

    described = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert described["name"] == kind
    assert set(described["required"]) == set(KIND_INPUTS[kind])
    assert set(KIND_SECRETS[kind]) <= set(described["secrets"])


def test_kinds_show_snowflake_key_file(qtc: Qtc) -> None:
    result = qtc("kinds", "show", "snowflake-target")

    assert result.exit_code == 0, result.output
    assert (
        "  key files:      privateKeyFile (pem-private-key)  (--key-file NAME=PATH)"
        in result.stdout.splitlines()
    )


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (
            "mysql-sourc",
            (
                "Error: unknown connection kind 'mysql-sourc'; did you mean "
                "mysql-source or sqlserver-source or postgresql-source? Run "
                "'qtc kinds list' to see every kind."
            ),
        ),
        (
            "Snowflake-Target",
            (
                "Error: unknown connection kind 'Snowflake-Target'; did you mean "
                "snowflake-target? Run 'qtc kinds list' to see every kind."
            ),
        ),
        (
            "repsrc_oracle",
            (
                "Error: unknown connection kind 'repsrc_oracle'; did you mean "
                "oracle-source? Run 'qtc kinds list' to see every kind."
            ),
        ),
        (
            "teradata",
            (
                "Error: unknown connection kind 'teradata'. Run 'qtc kinds list' "
                "to see every kind."
            ),
        ),
    ],
)
def test_kinds_show_unknown_suggests(qtc: Qtc, typed: str, expected: str) -> None:
    result = qtc("kinds", "show", typed)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == expected + "\n"


# spaces


def test_spaces_list_table(qtc: Qtc) -> None:
    result = qtc("spaces", "list")

    rows = table(result.stdout)
    names = {row[1]: row for row in rows[1:]}
    assert result.exit_code == 0, result.output
    assert rows[0] == ["SPACE ID", "NAME", "TYPE", "YOUR ROLES"]
    assert set(names) == {
        "Data Integration",
        "Finance Data",
        "Analytics Shared",
        "Restricted Data",
    }
    assert names["Data Integration"] == [
        DATA_INTEGRATION_ID,
        "Data Integration",
        "data",
        "facilitator",
    ]


def test_spaces_list_json_and_quiet(qtc: Qtc) -> None:
    as_json = qtc("spaces", "list", "--json")
    quiet = qtc("spaces", "list", "-q")

    ids = [space["id"] for space in json.loads(as_json.stdout)]
    assert as_json.exit_code == 0, as_json.output
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout.splitlines() == ids


def test_spaces_list_filters_type(qtc: Qtc) -> None:
    result = qtc("spaces", "list", "--type", "shared", "-q")

    assert result.exit_code == 0, result.output
    assert result.stdout == "d34b1d26c5fa3f76c6ff4a16\n"


def test_spaces_list_member_sees_less(qtc: Qtc, tenant: TenantFixture) -> None:
    result = qtc("spaces", "list", "-q", env={"QTC_TOKEN": member_key(tenant)})

    assert result.exit_code == 0, result.output
    assert DATA_INTEGRATION_ID not in result.stdout.splitlines()


def test_spaces_resolve_by_name(qtc: Qtc) -> None:
    result = qtc("spaces", "resolve", "Data Integration")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{DATA_INTEGRATION_ID}  Data Integration  (data)\n"


def test_spaces_resolve_by_id_quiet(qtc: Qtc) -> None:
    result = qtc("spaces", "resolve", DATA_INTEGRATION_ID, "-q")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{DATA_INTEGRATION_ID}\n"


def test_spaces_resolve_json(qtc: Qtc) -> None:
    result = qtc("spaces", "resolve", "Finance Data", "--json")

    space = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert space["id"] == "57eae8298e0b6e203f715f8e"


def test_spaces_resolve_is_exact(qtc: Qtc) -> None:
    # The server's name filter is a substring match; resolve must not be.
    result = qtc("spaces", "resolve", "Data")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: space 'Data' not found, or not visible to this identity; list "
        "spaces with 'qtc spaces list'\n"
    )


def test_spaces_resolve_case_sensitive(qtc: Qtc) -> None:
    result = qtc("spaces", "resolve", "data integration")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: space 'data integration' not found")


def test_spaces_resolve_invisible_for_member(qtc: Qtc, tenant: TenantFixture) -> None:
    env = {"QTC_TOKEN": member_key(tenant)}

    result = qtc("spaces", "resolve", "Restricted Data", env=env)

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: space 'Restricted Data' not found")
