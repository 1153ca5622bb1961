"""Invalid ``qtc connections create`` input: one clear error, and nothing sent.

Each case runs against the emulator and checks the exact error line, the
exit code, and that no secret reached either output stream. The journal
must show no request at all where the mistake is visible without the
tenant, and no write where the data source's api-specs must be read first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cli_support import (
    KeyMaterial,
    Qtc,
    TenantFixture,
    admin_key,
    canary,
    error_lines,
    leaked_fragments,
    settled_requests,
    settled_writes,
    write_key_material,
)
from cryptography.hazmat.primitives.asymmetric import rsa

pytestmark = pytest.mark.usefixtures("loopback_only", "restore_cli_logging")

MYSQL = ["--kind", "mysql-source", "--name", "BAD_MySQL"]
SERVER = ["--set", "server=db.internal"]
USERNAME = ["--set", "username=qtc"]
PASSWORD = ["--secret", "password=env:QTC_TEST_PASSWORD"]
SNOWFLAKE = [
    "--kind",
    "snowflake-target",
    "--name",
    "BAD_Snowflake",
    "--set",
    "server=acme.snowflakecomputing.com",
    "--set",
    "databaseQcsString=DB",
    "--set",
    "warehouse=WH",
    "--set",
    "username=LOADER",
]
PASSPHRASE = ["--secret", "privateKeyPassphrase=env:QTC_TEST_PASSPHRASE"]
BIGQUERY = ["--kind", "bigquery-target", "--name", "BAD_BigQuery"]
BIGQUERY += ["--set", "datasetLocation=US"]

SECRET_FORMS = "env:NAME, file:PATH, - (standard input) or prompt"
NO_CREDENTIALS = (
    "Error: no credentials; set QTC_TOKEN to an API key, or QTC_CLIENT_ID and "
    "QTC_CLIENT_SECRET for an OAuth machine-to-machine client"
)


@dataclass(frozen=True)
class BadInput:
    """One invalid command line and the single error line it must produce.

    ``args``, ``expected`` and ``env`` values may contain placeholders in
    braces. Key files are named by their ``KeyMaterial`` attribute, such as
    ``{encrypted_key}``. ``{missing}`` is a path that does not exist,
    ``{empty}`` an empty file, ``{binary}`` a file that is not UTF-8 and
    ``{folder}`` the test's directory. ``{literal}`` is a fresh canary for a
    secret typed in the wrong place. With ``reads_allowed`` the command may read (GET) before it
    fails, because only the api-specs can show the problem.
    """

    args: list[str]
    expected: str
    env: dict[str, str | None] = field(default_factory=dict)
    exit_code: int = 1
    reads_allowed: bool = False


CASES: dict[str, BadInput] = {
    "unknown-kind": BadInput(
        ["--kind", "mysql-sourc", "--name", "BAD_MySQL", *SERVER, *USERNAME],
        "Error: unknown connection kind 'mysql-sourc'; did you mean mysql-source "
        "or sqlserver-source or postgresql-source? Run 'qtc kinds list' to see "
        "every kind.",
    ),
    "missing-required": BadInput(
        [*MYSQL, *USERNAME, *PASSWORD],
        "Error: connection 'BAD_MySQL' (mysql-source): missing required property "
        "server: pass --set server=VALUE",
    ),
    "empty-required-value": BadInput(
        [*MYSQL, "--set", "server=", *USERNAME, *PASSWORD],
        "Error: connection 'BAD_MySQL' (mysql-source): required property server "
        "is empty: pass --set server=VALUE",
    ),
    "missing-secret": BadInput(
        [*MYSQL, *SERVER, *USERNAME],
        "Error: connection 'BAD_MySQL' (mysql-source): missing secret password: "
        f"pass --secret password=REF ({SECRET_FORMS})",
        reads_allowed=True,
    ),
    "missing-gateway": BadInput(
        [*MYSQL, *SERVER, *USERNAME, *PASSWORD],
        "Error: connection 'BAD_MySQL' (mysql-source): missing Data Movement "
        "gateway id (agentId): pass --gateway or set QTC_GATEWAY_ID",
        env={"QTC_GATEWAY_ID": None},
    ),
    "boolean-given-yes": BadInput(
        [*MYSQL, *SERVER, *USERNAME, *PASSWORD, "--set", "sshEnable=yes"],
        "Error: property sshEnable must be a boolean, but 'yes' is not; write "
        "true or false, in lower case",
        reads_allowed=True,
    ),
    "enum-wrong-case": BadInput(
        [*MYSQL, *SERVER, *USERNAME, *PASSWORD, "--set", "sslMode=prefer"],
        "Error: connection 'BAD_MySQL' (mysql-source): sslMode is 'prefer', "
        "which is not an allowed value; values are case-sensitive: use 'PREFER'",
        reads_allowed=True,
    ),
    "unknown-property": BadInput(
        [*MYSQL, *SERVER, *USERNAME, *PASSWORD, "--set", "servr=db2"],
        "Error: connection 'BAD_MySQL' (mysql-source): unknown property servr; "
        "did you mean server?",
        reads_allowed=True,
    ),
    "secret-literal": BadInput(
        [*MYSQL, *SERVER, *USERNAME, "--secret", "password={literal}"],
        "Error: secret for password is not a reference; give "
        f"{SECRET_FORMS}, never the value itself",
    ),
    "secret-literal-hunter2": BadInput(
        [*MYSQL, *SERVER, *USERNAME, "--secret", "password=hunter2"],
        "Error: secret for password is not a reference; give "
        f"{SECRET_FORMS}, never the value itself",
    ),
    "secret-with-set": BadInput(
        [*MYSQL, *SERVER, *USERNAME, "--set", "password={literal}"],
        "Error: connection 'BAD_MySQL' (mysql-source): password is a secret; "
        f"pass it with --secret password=REF ({SECRET_FORMS}), not with --set",
    ),
    "env-unset": BadInput(
        [*MYSQL, *SERVER, *USERNAME, "--secret", "password=env:QTC_TEST_UNSET"],
        "Error: secret for password: environment variable QTC_TEST_UNSET is not "
        "set; export it, or use file:PATH, - or prompt",
        env={"QTC_TEST_UNSET": None},
    ),
    "env-empty": BadInput(
        [*MYSQL, *SERVER, *USERNAME, "--secret", "password=env:QTC_TEST_EMPTY"],
        "Error: secret for password: environment variable QTC_TEST_EMPTY is "
        "empty; set it to the value",
        env={"QTC_TEST_EMPTY": ""},
    ),
    "env-bad-name": BadInput(
        [*MYSQL, *SERVER, *USERNAME, "--secret", "password=env:1PASSWORD"],
        "Error: secret for password: env: needs an environment variable name "
        "made of letters, digits and underscores, such as env:DB_PASSWORD",
    ),
    "file-missing": BadInput(
        [*MYSQL, *SERVER, *USERNAME, "--secret", "password=file:{missing}"],
        "Error: secret for password: file {missing} not found; check the path "
        "after file:",
    ),
    "file-empty": BadInput(
        [*MYSQL, *SERVER, *USERNAME, "--secret", "password=file:{empty}"],
        "Error: secret for password: file {empty} is empty; give a non-empty value",
    ),
    "file-not-utf8": BadInput(
        [*MYSQL, *SERVER, *USERNAME, "--secret", "password=file:{binary}"],
        "Error: secret for password: file {binary} is not UTF-8 text; save it as UTF-8",
    ),
    "two-stdin-secrets": BadInput(
        [
            *["--kind", "s3-target", "--name", "BAD_S3", "--set", "bucketName=b"],
            *["--secret", "s3AccessKey=-", "--secret", "s3SecretKey=-"],
        ],
        "Error: secrets for s3AccessKey, s3SecretKey all read standard input "
        "(-), but only one secret per command can; use env:NAME, file:PATH or "
        "prompt for the others",
    ),
    "key-truncated": BadInput(
        [*SNOWFLAKE, "--key-file", "privateKeyFile={truncated_key}", *PASSPHRASE],
        "Error: key file {truncated_key} is not a valid PEM private key (damaged "
        "or truncated?); export the key again",
    ),
    "key-ec-for-snowflake": BadInput(
        [*SNOWFLAKE, "--key-file", "privateKeyFile={ec_key}"],
        "Error: key file {ec_key} contains an EC private key, but Snowflake key "
        "pairs are RSA; generate an RSA key in PKCS#8 format",
    ),
    "key-encrypted-no-passphrase": BadInput(
        [*SNOWFLAKE, "--key-file", "privateKeyFile={encrypted_key}"],
        "Error: key file {encrypted_key} is encrypted, so it needs a passphrase: "
        "pass --secret privateKeyPassphrase=REF",
    ),
    "key-wrong-passphrase": BadInput(
        [*SNOWFLAKE, "--key-file", "privateKeyFile={encrypted_key}", *PASSPHRASE],
        "Error: key file {encrypted_key} could not be decrypted: the passphrase "
        "is wrong",
        env={"QTC_TEST_PASSPHRASE": "{literal}"},
    ),
    "key-passphrase-not-needed": BadInput(
        [*SNOWFLAKE, "--key-file", "privateKeyFile={plain_key}", *PASSPHRASE],
        "Error: key file {plain_key} is not encrypted, but a passphrase was "
        "given; leave privateKeyPassphrase out, or use the encrypted key file",
        env={"QTC_TEST_PASSPHRASE": "{literal}"},
    ),
    "key-missing": BadInput(
        [*SNOWFLAKE, "--key-file", "privateKeyFile={missing}"],
        "Error: key file {missing} not found; check the path",
    ),
    "key-directory": BadInput(
        [*SNOWFLAKE, "--key-file", "privateKeyFile={folder}"],
        "Error: key file {folder} is a directory; give the path of the key file",
    ),
    "key-empty": BadInput(
        [*SNOWFLAKE, "--key-file", "privateKeyFile={empty}"],
        "Error: key file {empty} is empty; give the key file",
    ),
    "key-json-for-snowflake": BadInput(
        [*SNOWFLAKE, "--key-file", "privateKeyFile={service_account}"],
        "Error: key file {service_account} is not a valid PEM private key "
        "(damaged or truncated?); export the key again",
    ),
    "service-account-no-private-key": BadInput(
        [*BIGQUERY, "--key-file", "jsonCredentials={service_account_without_key}"],
        "Error: key file {service_account_without_key} has no private_key; "
        "download the service account's key again",
    ),
    "service-account-malformed": BadInput(
        [*BIGQUERY, "--key-file", "jsonCredentials={malformed_service_account}"],
        "Error: key file {malformed_service_account} is not valid JSON "
        "(Unterminated string starting at: line 1, column 10); download the key "
        "file again",
    ),
    "service-account-is-pem": BadInput(
        [*BIGQUERY, "--key-file", "jsonCredentials={plain_key}"],
        "Error: key file {plain_key} is not valid JSON (Expecting value: line 1, "
        "column 1); download the key file again",
    ),
    "file-property-with-set": BadInput(
        [*SNOWFLAKE, "--set", "privateKeyFile={literal}"],
        "Error: connection 'BAD_Snowflake' (snowflake-target): privateKeyFile is "
        "a file property; pass the file with --key-file privateKeyFile=PATH, not "
        "as a value",
    ),
    "same-property-two-flags": BadInput(
        [*MYSQL, *SERVER, *USERNAME, *PASSWORD, "--key-file", "password={plain_key}"],
        "Error: property password is given with both --secret and --key-file; "
        "give it once",
    ),
    "set-without-equals": BadInput(
        [*MYSQL, *USERNAME, *PASSWORD, "--set", "server"],
        "Error: a property must be given as NAME=VALUE, such as server=db.example.com",
    ),
    "set-without-equals-hides-value": BadInput(
        [*MYSQL, *SERVER, *USERNAME, *PASSWORD, "--set", "{literal}"],
        "Error: a property must be given as NAME=VALUE, such as server=db.example.com",
    ),
    "set-empty-name": BadInput(
        [*MYSQL, *USERNAME, *PASSWORD, "--set", "=db.internal"],
        "Error: a property name before '=' is empty or has surrounding spaces; "
        "give NAME=VALUE",
    ),
    "set-twice": BadInput(
        [*MYSQL, *SERVER, *USERNAME, *PASSWORD, "--set", "server=db2.internal"],
        "Error: --set server is given twice; give each property once",
    ),
    "empty-name": BadInput(
        ["--kind", "mysql-source", "--name", "", *SERVER, *USERNAME, *PASSWORD],
        "Error: connection name is empty; give a name",
    ),
    "kind-and-data-source": BadInput(
        [*MYSQL, "--data-source", "repsrc_mysql", *SERVER, *USERNAME, *PASSWORD],
        "Error: give exactly one of --kind or --data-source",
        exit_code=2,
    ),
    "neither-kind-nor-data-source": BadInput(
        ["--name", "BAD_MySQL", *SERVER, *USERNAME, *PASSWORD],
        "Error: give exactly one of --kind or --data-source",
        exit_code=2,
    ),
    "hostname-with-path": BadInput(
        [*MYSQL, *SERVER, *USERNAME, *PASSWORD],
        "Error: invalid tenant hostname 'acme.eu.qlikcloud.com/api': it must not "
        "have a path, query or fragment; use just the host, such as "
        "'acme.eu.qlikcloud.com'",
        env={"QTC_HOSTNAME": "acme.eu.qlikcloud.com/api"},
    ),
    "hostname-plain-http": BadInput(
        [*MYSQL, *SERVER, *USERNAME, *PASSWORD],
        "Error: invalid tenant hostname 'http://acme.eu.qlikcloud.com': plain "
        "http is allowed only for loopback hosts; use https",
        env={"QTC_HOSTNAME": "http://acme.eu.qlikcloud.com"},
    ),
    "hostname-other-scheme": BadInput(
        [*MYSQL, *SERVER, *USERNAME, *PASSWORD],
        "Error: invalid tenant hostname 'ftp://acme.eu.qlikcloud.com': scheme "
        "'ftp' is not supported; use https",
        env={"QTC_HOSTNAME": "ftp://acme.eu.qlikcloud.com"},
    ),
    "hostname-with-password": BadInput(
        [*MYSQL, *SERVER, *USERNAME, *PASSWORD],
        "Error: invalid tenant hostname for host 'acme.eu.qlikcloud.com': remove "
        "the user info before '@'; credentials go in QTC_TOKEN or a profile",
        env={"QTC_HOSTNAME": "https://admin:{literal}@acme.eu.qlikcloud.com"},
    ),
    "hostname-missing": BadInput(
        [*MYSQL, *SERVER, *USERNAME, *PASSWORD],
        "Error: no tenant hostname; set QTC_HOSTNAME, pass --hostname, or add "
        "hostname to a profile",
        env={"QTC_HOSTNAME": None},
    ),
    "token-missing": BadInput(
        [*MYSQL, *SERVER, *USERNAME, *PASSWORD],
        NO_CREDENTIALS,
        env={"QTC_TOKEN": None},
    ),
    "token-flag-literal": BadInput(
        [*MYSQL, *SERVER, *USERNAME, *PASSWORD, "--token", "{literal}"],
        "Error: secret for --token is not a reference; give "
        f"{SECRET_FORMS}, never the value itself",
    ),
}


@pytest.fixture
def keys(tmp_path: Path, rsa_private_key: rsa.RSAPrivateKey) -> KeyMaterial:
    folder = tmp_path / "keys"
    folder.mkdir()
    return write_key_material(folder, rsa_private_key)


def placeholders(keys: KeyMaterial, literal: str) -> dict[str, str]:
    """Return the values that ``BadInput`` fields may name in braces."""
    (keys.folder / "empty").write_bytes(b"")
    (keys.folder / "binary").write_bytes(b"\xff\xfe" + literal.encode())
    names = {
        name: str(value)
        for name, value in vars(keys).items()
        if isinstance(value, Path)
    }
    names.update(
        missing=str(keys.folder / "missing"),
        empty=str(keys.folder / "empty"),
        binary=str(keys.folder / "binary"),
        literal=literal,
    )
    return names


def fill(text: str, names: dict[str, str]) -> str:
    for name, value in names.items():
        text = text.replace("{" + name + "}", value)
    return text


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_create_rejects_bad_input(
    qtc: Qtc, tenant: TenantFixture, keys: KeyMaterial, case: BadInput
) -> None:
    literal = canary("literal")
    password = canary("password")
    names = placeholders(keys, literal)
    env: dict[str, str | None] = {
        "QTC_TEST_PASSWORD": password,
        "QTC_TEST_PASSPHRASE": keys.passphrase,
    }
    for variable, value in case.env.items():
        env[variable] = None if value is None else fill(value, names)
    args = [fill(arg, names) for arg in case.args]
    expected = fill(case.expected, names)

    result = qtc("connections", "create", *args, env=env)

    assert result.exit_code == case.exit_code, result.output
    assert result.stdout == ""
    if case.exit_code == 1:
        assert result.stderr == expected + "\n"
    else:
        assert error_lines(result) == [expected]
    secrets = [literal, password, admin_key(tenant), *keys.canaries]
    assert leaked_fragments(result, secrets) == []
    if case.reads_allowed:
        assert settled_writes(tenant) == []
    else:
        assert settled_requests(tenant) == []


def test_token_literal_never_sent(qtc: Qtc, tenant: TenantFixture) -> None:
    literal = canary("token")

    result = qtc("connections", "list", "--token", literal)

    assert result.exit_code == 1
    assert leaked_fragments(result, [literal]) == []
    assert settled_requests(tenant) == []


def test_token_from_file_reference(
    qtc: Qtc, tenant: TenantFixture, tmp_path: Path
) -> None:
    token_file = tmp_path / "api-key"
    token_file.write_text(admin_key(tenant) + "\n")

    result = qtc(
        "spaces",
        "list",
        "-q",
        "--token",
        f"file:{token_file}",
        env={"QTC_TOKEN": None},
    )

    assert result.exit_code == 0, result.output
    assert "022b8b9a1222d5f5374aa45b" in result.stdout.splitlines()


def test_invalid_token_names_variable(qtc: Qtc, tenant: TenantFixture) -> None:
    token = canary("invalid-token")

    result = qtc("connections", "list", env={"QTC_TOKEN": token})

    errors = result.stderr.splitlines()
    assert result.exit_code == 1
    assert len(errors) == 1
    assert errors[0].startswith("Error: 401 Unauthorized on GET ")
    assert "check QTC_TOKEN (an API key)" in errors[0]
    assert leaked_fragments(result, [token]) == []
