"""Each manifest mistake gives one exact message at the right file, line and column.

The fixtures under ``manifests/bad`` hold one mistake each.
"""

from pathlib import Path

import pytest

from qtc_connections.errors import ManifestError
from qtc_connections.manifest.loader import load_manifest

BAD = Path(__file__).parent / "manifests" / "bad"
GOOD = Path(__file__).parent / "manifests" / "good"

# (fixture, environment, line, column, message)
CASES = [
    (
        "unknown-top-level-key.yaml",
        None,
        2,
        1,
        (
            "unknown top-level key 'connection' (did you mean 'connections'?); "
            "allowed: version, variables, environments, defaults, connections"
        ),
    ),
    (
        "unknown-connection-field.yaml",
        None,
        7,
        5,
        (
            "unknown connection field 'propertes' (did you mean 'properties'?); "
            "allowed: name, kind, data_source, space, gateway, tags, properties, "
            "secrets, key_files"
        ),
    ),
    (
        "overlay-with-kind.yaml",
        None,
        6,
        9,
        (
            "unknown connection overlay field 'kind'; allowed: space, gateway, tags, "
            "properties, secrets, key_files"
        ),
    ),
    (
        "kind-and-data-source.yaml",
        None,
        3,
        5,
        "connections[0] has both kind and data_source; give only one of them",
    ),
    (
        "no-kind.yaml",
        None,
        3,
        5,
        "connections[0] has neither kind nor data_source; give one of them",
    ),
    (
        "missing-version.yaml",
        None,
        1,
        1,
        "missing top-level key 'version'; start the file with version: 1",
    ),
    ("wrong-version.yaml", None, 1, 10, "version must be 1"),
    (
        "syntax-error.yaml",
        None,
        7,
        1,
        (
            "invalid YAML: found unexpected end of stream (while scanning a quoted "
            "scalar at line 6, column 15)"
        ),
    ),
    (
        "duplicate-key.yaml",
        None,
        5,
        5,
        "duplicate key 'name'; a key may appear once in a mapping",
    ),
    (
        "empty.yaml",
        None,
        1,
        1,
        "file is empty; a manifest starts with version: 1",
    ),
    (
        "not-a-mapping.yaml",
        None,
        1,
        1,
        (
            "the file must be a mapping with version, variables, environments, "
            "defaults and connections"
        ),
    ),
    (
        "properties-not-mapping.yaml",
        None,
        6,
        7,
        "connections[0].properties must be a mapping",
    ),
    (
        "property-without-value.yaml",
        None,
        6,
        7,
        (
            "connections[0].properties.server has no value; give a string, a number, "
            "true or false, a list or a mapping"
        ),
    ),
    (
        "invalid-variable-name.yaml",
        None,
        3,
        3,
        (
            "variable name 'db-host' is invalid; use letters, digits and underscores, "
            "not starting with a digit"
        ),
    ),
    (
        "date-value.yaml",
        None,
        3,
        12,
        "variables.release is read as a date or time; quote it to keep it as text",
    ),
    (
        "key-file-without-path.yaml",
        None,
        7,
        9,
        "connections[0].key_files.privateKeyFile is missing required field 'path'",
    ),
    (
        "literal-secret.yaml",
        None,
        12,
        17,
        (
            "connections[0].secrets.password is not a secret reference; give "
            "env:NAME, file:PATH, - (standard input) or prompt, never the value itself"
        ),
    ),
    (
        "undefined-variable.yaml",
        None,
        10,
        15,
        (
            "properties.server: undefined variable db_hots (did you mean db_host?); "
            "define it under variables, in the environment, or with --var "
            "db_hots=VALUE"
        ),
    ),
    (
        "unterminated-variable.yaml",
        None,
        3,
        11,
        "name: unterminated ${ with no closing }; write $${ for a literal ${",
    ),
    (
        "invalid-reference.yaml",
        None,
        3,
        11,
        (
            "name: invalid variable name 'db host' in ${...}; use letters, digits and "
            "underscores, or write $${ for a literal ${"
        ),
    ),
    (
        "variable-cycle.yaml",
        None,
        3,
        9,
        "variable host refers to itself through host -> domain -> host",
    ),
    (
        "reserved-variable.yaml",
        None,
        3,
        3,
        "variable name env is reserved for the environment name; rename the variable",
    ),
    (
        "unknown-kind.yaml",
        None,
        6,
        11,
        (
            "unknown connection kind 'mysql-sorce'; did you mean mysql-source or "
            "mysql-target or sqlserver-source? Run 'qtc kinds list' to see every kind."
        ),
    ),
    (
        "missing-space.yaml",
        None,
        3,
        5,
        (
            "connection 'TGT_S3' has no space; set space on the connection or under "
            "defaults"
        ),
    ),
    (
        "missing-gateway.yaml",
        None,
        5,
        5,
        (
            "connection 'SRC_MySQL' of kind mysql-source needs a Data Movement "
            "gateway id; set gateway on the connection or under defaults"
        ),
    ),
    (
        "gateway-not-used.yaml",
        None,
        7,
        5,
        (
            "gateway does not apply: kind s3-target uses the Qlik-managed gateway; "
            "remove it"
        ),
    ),
    (
        "agent-id-property.yaml",
        None,
        11,
        7,
        "properties.agentId is set from the gateway field; write gateway: ID instead",
    ),
    (
        "missing-required.yaml",
        None,
        5,
        5,
        (
            "connection 'TGT_Snowflake' is missing required property "
            "databaseQcsString of kind snowflake-target; add it under properties, "
            "such as databaseQcsString: <DB>"
        ),
    ),
    (
        "empty-required.yaml",
        None,
        10,
        7,
        "properties.bucketName is empty; give a value",
    ),
    (
        "secret-in-properties.yaml",
        None,
        9,
        7,
        (
            "properties.s3SecretKey is a secret of kind s3-target; move it to "
            "secrets as a reference (env:NAME or file:PATH), never the value itself"
        ),
    ),
    (
        "secret-looking-property.yaml",
        None,
        9,
        7,
        (
            "properties.dbPassword looks like a secret; move it to secrets as a "
            "reference (env:NAME or file:PATH), never the value itself"
        ),
    ),
    (
        "file-in-properties.yaml",
        None,
        9,
        7,
        (
            "properties.jsonCredentials is a file property of kind bigquery-target; "
            "move it to key_files with the file's path"
        ),
    ),
    (
        "file-in-secrets.yaml",
        None,
        10,
        7,
        (
            "secrets.jsonCredentials is a file property of kind bigquery-target; "
            "move it to key_files with the file's path"
        ),
    ),
    (
        "not-a-file-property.yaml",
        None,
        10,
        7,
        (
            "key_files.s3SecretKey is not a file property of kind s3-target (it has "
            "no file properties)"
        ),
    ),
    (
        "keyring-secret.yaml",
        None,
        12,
        17,
        (
            "secrets.password: keyring: references are not supported yet; use "
            "env:NAME or file:PATH"
        ),
    ),
    (
        "invalid-env-reference.yaml",
        None,
        12,
        17,
        (
            "secret for password: env: needs an environment variable name made of "
            "letters, digits and underscores, such as env:DB_PASSWORD"
        ),
    ),
    (
        "key-file-env-unset.yaml",
        None,
        10,
        24,
        (
            "key_files.jsonCredentials: environment variable QTC_TEST_UNSET_KEY_PATH "
            "is not set; set it to the key file's path, or write the path here"
        ),
    ),
    ("duplicate-tag.yaml", None, 9, 24, "tag 'team-sales' is listed twice"),
    (
        "unknown-overlay.yaml",
        "prod",
        5,
        7,
        (
            "environments.prod.connections.TGT_Snowflak: no connection is named "
            "'TGT_Snowflak' (did you mean 'TGT_Snowflake'?); correct the name or "
            "remove the overlay"
        ),
    ),
]


def _problems(paths, **options) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_manifest(paths, **options)
    return caught.value.problems


@pytest.mark.parametrize(
    ("fixture", "environment", "line", "column", "message"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_bad_fixture_reports_problem(
    fixture, environment, line, column, message, monkeypatch
):
    monkeypatch.delenv("QTC_TEST_UNSET_KEY_PATH", raising=False)
    path = BAD / fixture

    problems = _problems(path, environment=environment)

    assert problems == [f"{path}, line {line}, column {column}: {message}"]


def test_duplicate_connection_names_both_files():
    folder = BAD / "duplicate"

    problems = _problems(folder)

    assert problems == [
        (
            f"{folder / 'b.yaml'}, line 3, column 5: connection 'TGT_S3' in space "
            f"'Data Integration' is also declared at {folder / 'a.yaml'}, line 5, "
            "column 5; a name must be unique within its space"
        )
    ]


def test_conflicting_variable_names_both_files():
    folder = BAD / "conflict"

    problems = _problems(folder)

    assert problems == [
        (
            f"{folder / 'b.yaml'}, line 3, column 3: variables.space is also set at "
            f"{folder / 'a.yaml'}, line 3, column 3 to a different value; set it in "
            "one file only"
        )
    ]


def test_same_value_twice_is_no_conflict(tmp_path):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("version: 1\nvariables:\n  space: Sales\n")

    manifest = load_manifest(tmp_path)

    assert manifest.connections == ()


def test_overlay_conflict_across_files(tmp_path):
    overlay = (
        "version: 1\nenvironments:\n  prod:\n    connections:\n      TGT_S3:\n"
        "        properties:\n          bucketName: {bucket}\n"
    )
    (tmp_path / "a.yaml").write_text(overlay.format(bucket="landing"))
    (tmp_path / "b.yaml").write_text(overlay.format(bucket="archive"))

    problems = _problems(tmp_path)

    assert problems == [
        (
            f"{tmp_path / 'b.yaml'}, line 7, column 11: "
            "environments.prod.connections.TGT_S3.properties.bucketName is also set "
            f"at {tmp_path / 'a.yaml'}, line 7, column 11 to a different value; set "
            "it in one file only"
        )
    ]


def test_unknown_environment_lists_known():
    problems = _problems(GOOD / "variables.yaml", environment="qa")

    assert problems == ["--env qa: unknown environment; known environments: dev, prod"]


def test_environment_given_but_none_defined():
    problems = _problems(GOOD / "folder" / "20-targets.yml", environment="prod")

    assert problems == [
        "--env prod: unknown environment; the manifest defines no environments"
    ]


def test_env_variable_without_environment():
    path = GOOD / "variables.yaml"

    problems = _problems(path)

    unset = "variable env is the environment name, but no environment was chosen; pass --env NAME"
    assert problems == [
        f"{path}, line 14, column 10: space: {unset}",
        f"{path}, line 17, column 11: name: {unset}",
        f"{path}, line 35, column 15: key_files.jsonCredentials: {unset}",
        f"{path}, line 36, column 20: key_files.jsonCredentials.file_name: {unset}",
    ]


def test_reserved_variable_on_command_line():
    problems = _problems(GOOD / "overlays.yaml", variables={"env": "dev"})

    assert problems == [
        (
            "--var env: the name env is reserved for the environment name; choose "
            "the environment with --env"
        )
    ]


def test_invalid_variable_name_on_command_line():
    problems = _problems(GOOD / "overlays.yaml", variables={"db-host": "x"})

    assert problems == [
        (
            "--var db-host: invalid variable name; use letters, digits and "
            "underscores, not starting with a digit"
        )
    ]


def test_broken_command_line_variable(tmp_path):
    path = tmp_path / "manifest.yaml"
    path.write_text(
        "version: 1\nconnections:\n  - name: ${prefix}_S3\n    kind: s3-target\n"
    )

    problems = _problems(path, variables={"prefix": "${missing}"})

    assert problems == [
        (
            "--var prefix: undefined variable missing; define it under variables, in "
            "the environment, or with --var missing=VALUE"
        )
    ]


def test_file_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("version: 1\nvariables:\n  city: Z\xfcrich\n".encode("latin-1"))

    problems = _problems(path)

    assert problems == [
        (
            f"{path}, line 3, column 10: file is not valid UTF-8 (byte 0xfc); save it "
            "as UTF-8"
        )
    ]


def test_control_character_rejected(tmp_path):
    path = tmp_path / "control.yaml"
    path.write_text("version: 1\nvariables:\n  city: Z\x07rich\n")

    problems = _problems(path)

    assert problems == [
        (
            f"{path}, line 3, column 10: invalid YAML: control character #x0007 is "
            "not allowed; remove it, or write it as an escape in a double-quoted "
            "string"
        )
    ]


def test_variable_in_flow_list_hint(tmp_path):
    path = tmp_path / "flow.yaml"
    path.write_text("version: 1\ndefaults:\n  tags: [team-${team}]\n")

    problems = _problems(path)

    assert problems == [
        (
            f"{path}, line 3, column 16: invalid YAML: expected ',' or ']', but got "
            "'{' (while parsing a flow sequence at line 3, column 9); quote a value "
            "that contains ${...} inside [ ] or { }"
        )
    ]


def test_key_that_is_not_text(tmp_path):
    path = tmp_path / "number-key.yaml"
    path.write_text("version: 1\nvariables:\n  3306: port\n")

    problems = _problems(path)

    assert problems == [
        f"{path}, line 3, column 3: variables has a key that is not text; quote it"
    ]


def test_infinite_number_rejected(tmp_path):
    path = tmp_path / "infinite.yaml"
    path.write_text("version: 1\nvariables:\n  limit: .inf\n")

    problems = _problems(path)

    assert problems == [
        f"{path}, line 3, column 10: variables.limit is not a finite number"
    ]


def test_custom_tag_rejected(tmp_path):
    path = tmp_path / "tagged.yaml"
    path.write_text("version: 1\nvariables:\n  host: !vault db/host\n")

    problems = _problems(path)

    assert problems == [
        (
            f"{path}, line 3, column 9: variables.host has a YAML type that a "
            "manifest cannot hold; write a string, number, true or false, list or "
            "mapping"
        )
    ]


def test_missing_path_reported():
    missing = BAD / "no-such-file.yaml"

    problems = _problems(missing)

    assert problems == [f"{missing}: file or folder not found"]


def test_empty_folder_reported(tmp_path):
    (tmp_path / "readme.txt").write_text("not a manifest\n")

    problems = _problems(tmp_path)

    assert problems == [f"{tmp_path}: folder contains no .yaml or .yml files"]


def test_no_paths_reported():
    problems = _problems([])

    assert problems == ["no manifest files given; pass one or more files or folders"]


def test_problems_collected_across_files(tmp_path):
    (tmp_path / "a.yaml").write_text("version: 1\nconection: []\n")
    (tmp_path / "b.yaml").write_text("version: 3\n")

    problems = _problems(tmp_path)

    assert problems == [
        (
            f"{tmp_path / 'a.yaml'}, line 2, column 1: unknown top-level key "
            "'conection' (did you mean 'connections'?); allowed: version, variables, "
            "environments, defaults, connections"
        ),
        f"{tmp_path / 'b.yaml'}, line 1, column 10: version must be 1",
    ]


def test_problems_collected_across_connections(tmp_path):
    path = tmp_path / "manifest.yaml"
    path.write_text(
        "version: 1\n"
        "defaults:\n  space: Sales\n"
        "connections:\n"
        "  - name: TGT_S3\n    kind: s3-target\n"
        "  - name: TGT_GCS\n    kind: gcs-target\n    gateway: gw-1\n"
    )

    problems = _problems(path)

    assert problems == [
        (
            f"{path}, line 5, column 5: connection 'TGT_S3' is missing required "
            "property bucketName of kind s3-target; add it under properties"
        ),
        (
            f"{path}, line 7, column 5: connection 'TGT_GCS' is missing required "
            "property bucketName of kind gcs-target; add it under properties"
        ),
        (
            f"{path}, line 9, column 5: gateway does not apply: kind gcs-target uses "
            "the Qlik-managed gateway; remove it"
        ),
    ]


def test_error_message_lists_problems(tmp_path):
    (tmp_path / "a.yaml").write_text("version: 2\n")
    (tmp_path / "b.yaml").write_text("version: 3\n")

    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path)

    assert str(caught.value) == (
        "manifest: 2 problems\n"
        f"  - {tmp_path / 'a.yaml'}, line 1, column 10: version must be 1\n"
        f"  - {tmp_path / 'b.yaml'}, line 1, column 10: version must be 1"
    )


def test_many_mistakes_reported_together():
    path = BAD / "many-mistakes.yaml"
    at = f"{path}, line"

    problems = _problems(path)

    assert problems == [
        f"{at} 1, column 10: version must be 1",
        (
            f"{at} 4, column 3: variable name '9lives' is invalid; use letters, "
            "digits and underscores, not starting with a digit"
        ),
        f"{at} 7, column 9: defaults.tags must be a list",
        (
            f"{at} 12, column 9: unknown connection overlay field 'kind'; allowed: "
            "space, gateway, tags, properties, secrets, key_files"
        ),
        (
            f"{at} 13, column 1: unknown top-level key 'connectionz' (did you mean "
            "'connections'?); allowed: version, variables, environments, defaults, "
            "connections"
        ),
        (
            f"{at} 19, column 15: properties.server: undefined variable regoin (did "
            "you mean region?); define it under variables, in the environment, or "
            "with --var regoin=VALUE"
        ),
        (
            f"{at} 21, column 7: properties.password is a secret of kind "
            "mysql-source; move it to secrets as a reference (env:NAME or "
            "file:PATH), never the value itself"
        ),
        (
            f"{at} 22, column 5: connection 'TGT_S3' is missing required property "
            "bucketName of kind s3-target; add it under properties"
        ),
        (
            f"{at} 25, column 18: secrets.accessKey: keyring: references are not "
            "supported yet; use env:NAME or file:PATH"
        ),
        (
            f"{at} 30, column 18: connections[2].secrets.secretKey is not a secret "
            "reference; give env:NAME, file:PATH, - (standard input) or prompt, "
            "never the value itself"
        ),
        (
            f"{at} 32, column 11: unknown connection kind 'no-such-kind'. Run "
            "'qtc kinds list' to see every kind."
        ),
        (
            f"{at} 36, column 5: unknown connection field 'propertes' (did you mean "
            "'properties'?); allowed: name, kind, data_source, space, gateway, "
            "tags, properties, secrets, key_files"
        ),
        (
            f"{at} 38, column 5: connection 'SRC_Postgres' of kind "
            "postgresql-source needs a Data Movement gateway id; set gateway on "
            "the connection or under defaults"
        ),
        (
            f"{at} 38, column 5: connection 'SRC_Postgres' is missing required "
            "property username of kind postgresql-source; add it under properties"
        ),
        (
            f"{at} 38, column 5: connection 'SRC_Postgres' is missing required "
            "property database of kind postgresql-source; add it under properties"
        ),
        (
            f"{at} 42, column 5: connection 'SRC_MySQL' in space 'Data "
            f"Integration' is also declared at {at} 15, column 5; a name must be "
            "unique within its space"
        ),
    ]


def test_invalid_variable_hides_its_uses(tmp_path):
    path = tmp_path / "manifest.yaml"
    path.write_text(
        "version: 1\n"
        "variables:\n  host: [a, b]\n"
        "connections:\n"
        "  - name: SRC_A\n    kind: mysql-source\n    space: Sales\n"
        "    gateway: gw-1\n"
        "    properties:\n      server: ${host}\n      username: u\n"
    )

    problems = _problems(path)

    assert problems == [
        (
            f"{path}, line 3, column 9: variables.host must be a string, a number "
            "or true or false"
        )
    ]


def test_invalid_default_space_hides_missing_space(tmp_path):
    path = tmp_path / "manifest.yaml"
    path.write_text(
        "version: 1\n"
        "defaults:\n  space: [Sales]\n"
        "connections:\n"
        "  - name: TGT_S3\n    kind: s3-target\n"
    )

    problems = _problems(path)

    assert problems == [
        f"{path}, line 3, column 10: defaults.space must be a string",
        (
            f"{path}, line 5, column 5: connection 'TGT_S3' is missing required "
            "property bucketName of kind s3-target; add it under properties"
        ),
    ]


def test_invalid_chosen_environment_stops_checks(tmp_path):
    path = tmp_path / "manifest.yaml"
    path.write_text(
        "version: 1\n"
        "environments:\n  prod:\n    connections:\n      TGT_S3:\n"
        "        kind: s3-target\n"
        "connections:\n"
        "  - name: TGT_S3\n    kind: s3-target\n    space: Sales\n"
    )

    problems = _problems(path, environment="prod")

    assert problems == [
        (
            f"{path}, line 6, column 9: unknown connection overlay field 'kind'; "
            "allowed: space, gateway, tags, properties, secrets, key_files"
        )
    ]


def test_unreadable_file_hides_undefined_variables(tmp_path):
    (tmp_path / "a.yaml").write_text("version: 1\nvariables: {host: [\n")
    (tmp_path / "b.yaml").write_text(
        "version: 1\n"
        "connections:\n"
        "  - name: TGT_S3\n    kind: s3-target\n    space: ${space}\n"
    )

    problems = _problems(tmp_path)

    assert len(problems) == 2
    assert problems[0].startswith(f"{tmp_path / 'a.yaml'}, line 3, column 1: ")
    assert problems[1] == (
        f"{tmp_path / 'b.yaml'}, line 3, column 5: connection 'TGT_S3' is missing "
        "required property bucketName of kind s3-target; add it under properties"
    )
