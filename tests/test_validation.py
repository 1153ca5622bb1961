import pytest
from hypothesis import given
from hypothesis import strategies as st

from qtc_connections.catalog import (
    DataSourceSpec,
    FileProperty,
    GatewayRule,
    KeyFileType,
    Kind,
    Role,
    get_kind,
    raw_kind,
)
from qtc_connections.errors import InputError, ValidationError
from qtc_connections.keyfiles import load_private_key
from qtc_connections.properties import ConnectionInput
from qtc_connections.secrets import Secret
from qtc_connections.validation import (
    coerce_value,
    validate_connection_input,
    validate_properties,
)

CANARY = "CANARY-a1b2c3"

FILE_ITEMS = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
}

SPEC = {
    "connectorProvider": "QlikConnectorsCommonService.exe",
    "connectorVersion": "1.0.0",
    "connectionProperties": {
        "type": "object",
        "properties": {
            "agentId": {"type": "string"},
            "server": {"type": "string"},
            "port": {"type": "string", "default": "3306"},
            "username": {"type": "string"},
            "database": {"type": "string"},
            "password": {"type": "string"},
            "token": {"type": "string", "writeOnly": True},
            "sslMode": {"type": "string", "enum": ["PREFER", "REQUIRE", "DISABLE"]},
            "sshEnable": {"type": "boolean"},
            "maxFileSize": {"type": "integer"},
            "ratio": {"type": "number"},
            "keyFile": {"type": "array", "items": FILE_ITEMS},
            "certificate": {"type": "array", "items": FILE_ITEMS},
            "untyped": {"description": "no type given"},
        },
        "required": ["server", "database", "certificate"],
    },
}

KIND = Kind(
    name="example-source",
    title="Example source",
    data_source_id="repsrc_example",
    role=Role.SOURCE,
    gateway=GatewayRule.DATA_MOVEMENT,
    defaults={"sshEnable": False},
    required=("server", "username"),
    secrets=("password",),
    files={"keyFile": FileProperty(KeyFileType.PEM_PRIVATE_KEY)},
)


def _raw_message(error):
    # Bypass the redaction in QtcError.__str__, which would hide a leak.
    return str(error.args[0])


@pytest.fixture
def key_file(key_files):
    return load_private_key(key_files.plain_pkcs8, passphrase=None)


@pytest.fixture
def valid_properties(key_file):
    return {
        "agentId": "gw-1",
        "server": "db.example.com",
        "username": "loader",
        "database": "sales",
        "password": Secret("CANARY-valid-pass"),
        "keyFile": key_file,
        "certificate": key_file,
    }


def _problems(properties, spec=SPEC, kind=KIND, **options):
    with pytest.raises(ValidationError) as caught:
        validate_properties(properties, spec, kind=kind, subject="test", **options)
    return caught.value.problems


@pytest.mark.parametrize(
    ("raw", "schema", "expected"),
    [
        ("true", {"type": "boolean"}, True),
        ("false", {"type": "boolean"}, False),
        ("3306", {"type": "integer"}, 3306),
        ("-5", {"type": "integer"}, -5),
        ("3306", {"type": "string"}, "3306"),
        ("true", {"type": "string"}, "true"),
        ("3306", {}, "3306"),
        ("3306", None, "3306"),
        ("1.5", {"type": "number"}, 1.5),
        ("2e3", {"type": "number"}, 2000.0),
        ("7", {"type": "number"}, 7),
        ("5", {"type": ["string", "integer"]}, "5"),
        ("null", {"type": ["integer", "null"]}, None),
        ("12", {"type": ["integer", "null"]}, 12),
    ],
)
def test_coerce_value_converts(raw, schema, expected):
    converted = coerce_value(raw, schema)

    assert converted == expected
    assert type(converted) is type(expected)


@pytest.mark.parametrize(
    ("raw", "schema", "expected"),
    [
        ("True", {"type": "boolean"}, "true or false"),
        ("1", {"type": "boolean"}, "true or false"),
        ("yes", {"type": "boolean"}, "true or false"),
        ("3.0", {"type": "integer"}, "digits only"),
        (" 3", {"type": "integer"}, "digits only"),
        ("+3", {"type": "integer"}, "digits only"),
        ("1_000", {"type": "integer"}, "digits only"),
        ("nan", {"type": "number"}, "a number"),
        ("inf", {"type": "number"}, "a number"),
        ("[1]", {"type": "array"}, "in a manifest"),
    ],
)
def test_coerce_value_rejects(raw, schema, expected):
    with pytest.raises(InputError) as caught:
        coerce_value(raw, schema, name="maxFileSize")

    message = str(caught.value)
    assert "property maxFileSize" in message
    assert expected in message


def test_coerce_value_hides_write_only():
    with pytest.raises(InputError) as caught:
        coerce_value(CANARY, {"type": "integer", "writeOnly": True}, name="pin")

    assert CANARY not in _raw_message(caught.value)


@given(st.integers())
def test_coerce_integer_round_trips(number):
    assert coerce_value(str(number), {"type": "integer"}) == number


@given(st.text())
def test_coerce_string_is_identity(text):
    assert coerce_value(text, {"type": "string"}) == text


def test_valid_properties_pass(valid_properties):
    validate_properties(valid_properties, SPEC, kind=KIND, subject="t")


def test_builtin_kind_without_spec_passes():
    kind = get_kind("mysql-source")
    connection = ConnectionInput(
        kind=kind,
        name="SRC_MySQL",
        gateway_id="gw-1",
        properties={"server": "db", "username": "loader"},
        secrets={"password": Secret("CANARY-builtin-1")},
    )

    validate_connection_input(connection, None)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"Server": "x"}, "unknown property Server; did you mean server?"),
        ({"usrname": "x"}, "unknown property usrname; did you mean username?"),
        (
            {"zzqq": "x"},
            "unknown property zzqq; see 'qtc sources specs repsrc_example'",
        ),
        ({"sshEnable": "true"}, "sshEnable must be a boolean, but is a string 'true'"),
        ({"maxFileSize": "32000"}, "maxFileSize must be an integer, but is a string"),
        ({"maxFileSize": True}, "maxFileSize must be an integer, but is a boolean"),
        ({"maxFileSize": 1.0}, "maxFileSize must be an integer, but is a number"),
        ({"ratio": "1.5"}, "ratio must be a number, but is a string"),
        ({"server": 5}, "server must be a string, but is an integer 5"),
        (
            {"sslMode": "prefer"},
            (
                "sslMode is 'prefer', which is not an allowed value; values are "
                "case-sensitive: use 'PREFER'"
            ),
        ),
        (
            {"sslMode": "VERIFY"},
            "allowed: 'PREFER', 'REQUIRE', 'DISABLE'",
        ),
        ({"password": "plain"}, "password is a secret; pass it with --secret"),
        ({"token": "plain"}, "token is a secret; pass it with --secret"),
        (
            {"keyFile": "a2V5"},
            "keyFile is a file property; pass the file with --key-file",
        ),
        ({"certificate": "Y2VydA=="}, "certificate is a file property"),
        ({"untyped": Secret("CANARY-untyped")}, None),
        ({"untyped": [1, 2]}, None),
        ({"server": Secret("CANARY-server")}, None),
    ],
)
def test_validate_reports_problem(valid_properties, change, expected):
    properties = {**valid_properties, **change}
    if expected is None:
        validate_properties(properties, SPEC, kind=KIND, subject="t")
        return

    problems = _problems(properties)

    assert len(problems) == 1
    assert expected in problems[0]


def test_validate_rejects_key_file_elsewhere(valid_properties, key_file):
    problems = _problems({**valid_properties, "server": key_file})

    assert problems == ["server is not a file property; pass it with --set or --secret"]


def test_secret_type_mismatch_hides_value(valid_properties):
    problems = _problems({**valid_properties, "maxFileSize": Secret(CANARY)})

    assert problems == ["maxFileSize must be an integer, but is a secret (a string)"]


@pytest.mark.parametrize(
    ("removed", "expected"),
    [
        ("server", "missing required property server: pass --set server=VALUE"),
        ("username", "missing required property username"),
        ("database", "missing required property database"),
        ("certificate", "missing file certificate: pass --key-file certificate=PATH"),
        ("agentId", "missing Data Movement gateway id (agentId): pass --gateway"),
    ],
)
def test_validate_reports_missing(valid_properties, removed, expected):
    properties = dict(valid_properties)
    del properties[removed]

    problems = _problems(properties)

    assert len(problems) == 1
    assert expected in problems[0]


def test_gateway_problem_names_variable(valid_properties):
    del valid_properties["agentId"]

    assert "QTC_GATEWAY_ID" in _problems(valid_properties)[0]


def test_missing_schema_secret_suggests_secret(valid_properties):
    spec = DataSourceSpec.from_api_spec(SPEC)
    spec = DataSourceSpec(
        properties=spec.properties, required=spec.required | {"token"}
    )

    problems = _problems(valid_properties, spec=spec)

    assert problems == [
        (
            "missing secret token: pass --secret token=REF "
            "(env:NAME, file:PATH, - (standard input) or prompt)"
        )
    ]


def test_missing_uses_kind_example():
    kind = get_kind("oracle-target")

    problems = _problems({"password": Secret("CANARY-ora")}, spec=None, kind=kind)

    assert "pass --set server=//<HOST>:1521/<SERVICE_NAME>" in problems[1]


def test_defaults_fill_required(valid_properties):
    spec = DataSourceSpec.from_api_spec(SPEC)
    spec = DataSourceSpec(
        properties=spec.properties, required=spec.required | {"port", "sshEnable"}
    )

    # port has a schema default, sshEnable a kind default.
    validate_properties(valid_properties, spec, kind=KIND, subject="t")


def test_validate_collects_every_problem(valid_properties):
    properties = {
        **valid_properties,
        "Server": "x",
        "password": CANARY,
        "sslMode": "prefer",
    }
    del properties["database"]

    with pytest.raises(ValidationError) as caught:
        validate_properties(properties, SPEC, kind=KIND, subject="connection 'A'")

    message = str(caught.value)
    assert caught.value.subject == "connection 'A'"
    assert len(caught.value.problems) == 4
    assert message.startswith("connection 'A': 4 problems")


def test_partial_skips_required():
    properties = {"password": Secret("CANARY-partial")}

    validate_properties(properties, SPEC, kind=KIND, subject="t", partial=True)


def test_no_spec_still_checks_catalog(key_file):
    problems = _problems({"password": CANARY, "server": key_file}, spec=None)

    assert problems[0].startswith("password is a secret")
    assert problems[1].startswith("server is not a file property")
    assert "missing required property username" in problems[3]


def test_spec_without_properties_skips_unknown():
    properties = {"anything": "x", "server": "s", "username": "u", "agentId": "g"}

    validate_properties(properties, {"type": "object"}, kind=KIND, subject="t")


def test_gateway_exempt_from_unknown(valid_properties):
    declared = dict(SPEC["connectionProperties"]["properties"])
    del declared["agentId"]
    spec = {"properties": declared}

    validate_properties(valid_properties, spec, kind=KIND, subject="t")


def test_gateway_unknown_without_rule():
    kind = raw_kind("repsrc_db2luw")

    problems = _problems(
        {"agentId": "gw"}, spec={"properties": {"server": {}}}, kind=kind
    )

    assert len(problems) == 1
    assert problems[0].startswith("unknown property agentId")


def test_unknown_default_is_labelled():
    kind = get_kind("mysql-source")
    connection = ConnectionInput(
        kind=kind,
        name="SRC",
        gateway_id="gw-1",
        properties={"server": "db", "username": "loader"},
        secrets={"password": Secret("CANARY-default-1")},
    )
    spec = {"properties": {name: {} for name in ("agentId", "server", "username")}}
    spec["properties"]["password"] = {"type": "string", "writeOnly": True}

    with pytest.raises(ValidationError) as caught:
        validate_connection_input(connection, spec)

    expected = "unknown property port (a default of kind mysql-source);"
    assert any(problem.startswith(expected) for problem in caught.value.problems)


def test_raw_kind_write_only_is_secret():
    kind = raw_kind("repsrc_db2luw", api_spec=SPEC)

    problems = _problems({"token": "plain"}, kind=kind, partial=True)

    assert problems == [
        (
            "token is a secret; pass it with --secret token=REF "
            "(env:NAME, file:PATH, - (standard input) or prompt), not with --set"
        )
    ]


def test_connection_input_missing_gateway():
    connection = ConnectionInput(
        kind=get_kind("postgresql-target"),
        name="TGT",
        properties={"host": "h", "username": "u", "database": "d"},
        secrets={"password": Secret("CANARY-pg-1")},
    )

    with pytest.raises(ValidationError) as caught:
        validate_connection_input(connection, None)

    assert caught.value.subject == "connection 'TGT' (postgresql-target)"
    assert caught.value.problems == [
        (
            "missing Data Movement gateway id (agentId): pass --gateway or set "
            "QTC_GATEWAY_ID"
        )
    ]


def test_qlik_managed_gateway_fills_required():
    connection = ConnectionInput(
        kind=get_kind("s3-target"),
        name="TGT_S3",
        properties={"bucketName": "b"},
        secrets={
            "s3AccessKey": Secret("AKIAEXAMPLE"),
            "s3SecretKey": Secret("CANARY-s3-1"),
        },
    )
    spec = {"properties": {}, "required": ["agentId"]}

    validate_connection_input(connection, spec)


@pytest.mark.parametrize(
    "properties",
    [
        {"password": CANARY},
        {"token": CANARY},
        {"keyFile": CANARY},
        {"maxFileSize": Secret(CANARY)},
        {"sslMode": Secret(CANARY)},
        {"Password": Secret(CANARY)},
    ],
)
def test_problems_never_show_secret(properties):
    with pytest.raises(ValidationError) as caught:
        validate_properties(properties, SPEC, kind=KIND, subject="t")

    assert CANARY not in _raw_message(caught.value)
    for problem in caught.value.problems:
        assert CANARY not in problem


def test_long_values_are_shortened(valid_properties):
    problems = _problems({**valid_properties, "sslMode": "X" * 200})

    assert "X" * 50 not in problems[0]
    assert "..." in problems[0]


def test_no_gateway_kind_requires_agent_id():
    kind = get_kind("bigquery-target")
    spec = {"properties": {"agentId": {}}, "required": ["agentId"]}

    problems = _problems({}, spec=spec, kind=kind)

    assert problems == [
        "missing required property agentId: pass --set agentId=VALUE",
        (
            "missing required property datasetLocation: pass --set "
            "datasetLocation=ASIA_SOUTHEAST1"
        ),
    ]


def test_manifest_wording_names_fields():
    connection = ConnectionInput(
        kind=get_kind("mysql-source"),
        name="SRC",
        properties={"password": "CANARY-manifest-pw"},
    )
    with pytest.raises(ValidationError) as caught:
        validate_connection_input(connection, None, for_manifest=True)
    problems = caught.value.problems
    assert (
        "password is a secret; move it under secrets as a reference (env:NAME or file:PATH)"
        in problems
    )
    assert (
        "missing required property server: add server: VALUE under properties"
        in problems
    )
    assert any("give the connection, or defaults, a gateway" in p for p in problems)
    assert all("--" not in p for p in problems)
    assert "CANARY-manifest-pw" not in str(caught.value)
