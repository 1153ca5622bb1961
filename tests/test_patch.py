import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qtc_connections.catalog import get_kind
from qtc_connections.errors import PatchRuleError
from qtc_connections.keyfiles import load_private_key
from qtc_connections.patch import (
    PatchOperation,
    build_patch,
    check_patch_rules,
    patch_body,
    property_path,
)
from qtc_connections.redact import SENSITIVE
from qtc_connections.secrets import Secret

CANARY = "CANARY-a1b2c3"
CREDENTIALS = frozenset({"password", "privateKeyFile"})
CURRENT = {"server": "db-1.example.com", "host": "h1", "port": "3306"}


def _replace(path, value):
    return PatchOperation("replace", path, value)


def _property(name, value):
    return _replace(property_path(name), value)


def _remove(name):
    return PatchOperation("remove", property_path(name))


def _raw_message(error):
    # Bypass the redaction in QtcError.__str__, which would hide a leak.
    return str(error.args[0])


def test_operation_json_uses_lower_case_value():
    operation = _replace("/qName", "TGT_New")

    assert operation.to_json() == {
        "op": "replace",
        "path": "/qName",
        "value": "TGT_New",
    }


def test_remove_omits_value():
    assert _remove("port").to_json() == {
        "op": "remove",
        "path": "/connectionProperties/port",
    }


@pytest.mark.parametrize(
    ("op", "path", "value", "expected"),
    [
        ("move", "/qName", "x", "is not one of add, replace, remove"),
        ("replace", "qName", "x", "must be a JSON Pointer"),
        ("replace", "/qName", None, "needs a value"),
        ("add", "/tags", None, "needs a value"),
    ],
)
def test_operation_rejects_invalid(op, path, value, expected):
    with pytest.raises(PatchRuleError, match=expected):
        PatchOperation(op, path, value)


def test_operation_hides_secret_until_json():
    operation = _property("password", Secret(CANARY))

    assert CANARY not in repr(operation)
    assert operation.to_redacted_json()["value"] == SENSITIVE
    assert operation.to_json()["value"] == CANARY


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/connectionProperties/password", "password"),
        ("/connectionProperties/KeyFilePath/0/value", "KeyFilePath"),
        ("/connectionProperties/a~1b~0c", "a/b~c"),
        ("/connectionProperties", None),
        ("/qName", None),
    ],
)
def test_operation_property_name(path, expected):
    assert PatchOperation("remove", path).property_name == expected


@given(st.text())
def test_property_path_round_trips(name):
    assert PatchOperation("remove", property_path(name)).property_name == name


def test_build_patch_orders_operations(key_files):
    key_file = load_private_key(key_files.plain_pkcs8, passphrase=None)

    operations = build_patch(
        name="TGT_Renamed",
        tags=["team:data"],
        properties={"warehouse": "W2", "port": 443},
        secrets={"privateKeyPassphrase": Secret("CANARY-patch-pp")},
        files={"privateKeyFile": key_file},
        remove=["proxyHost"],
    )

    assert [(op.op, op.path) for op in operations] == [
        ("replace", "/qName"),
        ("replace", "/tags"),
        ("replace", "/connectionProperties/warehouse"),
        ("replace", "/connectionProperties/port"),
        ("replace", "/connectionProperties/privateKeyPassphrase"),
        ("replace", "/connectionProperties/privateKeyFile"),
        ("remove", "/connectionProperties/proxyHost"),
    ]


def test_build_patch_file_replaces_array(key_files):
    key_file = load_private_key(key_files.plain_pkcs8, passphrase=None)

    body = patch_body(build_patch(files={"privateKeyFile": key_file}))

    assert body == [
        {
            "op": "replace",
            "path": "/connectionProperties/privateKeyFile",
            "value": key_file.to_property_value(),
        }
    ]


def test_build_patch_redacted_body(key_files):
    key_file = load_private_key(key_files.plain_pkcs8, passphrase=None)
    operations = build_patch(
        secrets={"password": Secret(CANARY)}, files={"privateKeyFile": key_file}
    )

    shown = json.dumps([operation.to_redacted_json() for operation in operations])

    assert CANARY not in shown
    assert key_file.to_property_value()[0]["value"] not in shown
    assert "snowflake_rsa_key.p8" in shown


def test_build_patch_escapes_names():
    operations = build_patch(properties={"a/b~c": "x"})

    assert operations[0].path == "/connectionProperties/a~1b~0c"


def test_build_patch_tags_as_list():
    operations = build_patch(tags=("a", "b"))

    assert operations[0].to_json()["value"] == ["a", "b"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "PATCH body is empty"),
        ({"properties": {}, "remove": []}, "PATCH body is empty"),
        ({"name": " "}, "new connection name is empty"),
        (
            {"properties": {"port": "1"}, "remove": ["port"]},
            "changes /connectionProperties/port twice",
        ),
        (
            {
                "properties": {"password": CANARY},
                "secrets": {"password": Secret(CANARY)},
            },
            "changes /connectionProperties/password twice",
        ),
    ],
)
def test_build_patch_rejects(options, expected):
    with pytest.raises(PatchRuleError) as caught:
        build_patch(**options)

    assert expected in str(caught.value)
    assert CANARY not in _raw_message(caught.value)


PASSWORD = _property("password", Secret("CANARY-rule-pass"))
Q_PASSWORD = _replace("/qPassword", Secret("CANARY-rule-qpass"))
STATEMENT = _replace("/qConnectStatement", 'CUSTOM CONNECT TO "provider=x;"')


@pytest.mark.parametrize(
    ("operations", "current", "expected"),
    [
        # Rule 1: connect statement and connection properties are exclusive.
        (
            [STATEMENT, Q_PASSWORD, _property("port", "1")],
            CURRENT,
            "two PATCH requests",
        ),
        ([STATEMENT, PASSWORD], CURRENT, "two PATCH requests"),
        # Rule 2: a connect statement change needs credentials.
        ([STATEMENT], CURRENT, "changing /qConnectStatement needs credentials"),
        ([STATEMENT, Q_PASSWORD], CURRENT, None),
        # Rule 3: an address change needs credentials.
        ([_property("server", "db-2")], CURRENT, "/connectionProperties/server"),
        ([_property("host", "h2")], CURRENT, "/connectionProperties/host"),
        ([_property("url", "https://x")], CURRENT, "/connectionProperties/url"),
        ([_property("server", "db-2")], None, "needs credentials"),
        ([_property("url", "https://x")], {}, "needs credentials"),
        ([_remove("server")], CURRENT, "needs credentials"),
        ([_property("server", "db-2"), _remove("password")], CURRENT, "needs"),
        ([_property("server", "db-1.example.com")], CURRENT, None),
        ([_property("server", "db-2"), PASSWORD], CURRENT, None),
        ([_property("server", "db-2"), Q_PASSWORD], CURRENT, None),
        (
            [_property("server", "db-2"), _property("privateKeyFile", [{"a": 1}])],
            CURRENT,
            None,
        ),
        ([_property("port", "3307")], None, None),
        ([_replace("/connectionProperties/server/0", "x")], CURRENT, None),
        # Rule 4: credentials in one form only.
        ([Q_PASSWORD, PASSWORD], CURRENT, "not both"),
        ([Q_PASSWORD, _property("privateKeyFile", [{"a": 1}])], CURRENT, "not both"),
        # Body shape.
        ([], CURRENT, "PATCH body is empty"),
        ([PASSWORD, PASSWORD], CURRENT, "twice"),
    ],
)
def test_patch_rules_table(operations, current, expected):
    if expected is None:
        check_patch_rules(
            operations, current_properties=current, credential_properties=CREDENTIALS
        )
        return

    with pytest.raises(PatchRuleError) as caught:
        check_patch_rules(
            operations, current_properties=current, credential_properties=CREDENTIALS
        )

    message = _raw_message(caught.value)
    assert expected in message
    assert "CANARY-rule" not in message


def test_rule_message_names_fix():
    with pytest.raises(PatchRuleError) as caught:
        check_patch_rules(
            [_property("server", "db-2")],
            current_properties=CURRENT,
            credential_properties=get_kind("mysql-source").credential_properties,
        )

    assert str(caught.value) == (
        "PATCH body rejected: changing /connectionProperties/server to a new "
        "value needs credentials in the same body; add /qPassword or "
        "/connectionProperties/password to the same body"
    )


def test_rules_list_every_break():
    with pytest.raises(PatchRuleError) as caught:
        check_patch_rules(
            [STATEMENT, _property("server", "db-2")],
            current_properties=CURRENT,
            credential_properties=CREDENTIALS,
        )

    message = str(caught.value)
    assert message.startswith("PATCH body breaks 3 rules:")
    assert "two PATCH requests" in message
    assert "changing /qConnectStatement needs credentials" in message
    assert "changing /connectionProperties/server" in message


def test_rotation_body_passes():
    kind = get_kind("mysql-source")
    operations = build_patch(
        properties={"username": "loader2"}, secrets={"password": Secret(CANARY)}
    )

    check_patch_rules(
        operations,
        current_properties=CURRENT,
        credential_properties=kind.credential_properties,
    )
