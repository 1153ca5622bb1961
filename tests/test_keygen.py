"""Snowflake key pairs: the key file, its permissions, the SQL and ``qtc keygen``."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import stat
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from qtc_connections.catalog import get_kind
from qtc_connections.cli.commands.rotate import keygen
from qtc_connections.cli.main import QtcGroup
from qtc_connections.errors import InputError, KeyFileError
from qtc_connections.keyfiles import load_private_key
from qtc_connections.secrets import Secret
from qtc_connections.sync.keygen import (
    KEY_SIZE,
    generate_snowflake_key,
    key_pair_properties,
    quote_snowflake_identifier,
    snowflake_set_statement,
    snowflake_unset_statement,
)

# DER encodings of the PKCS#5 PBES2 and AES-256-CBC object identifiers.
PBES2_OID = bytes.fromhex("06092a864886f70d01050d")
AES_256_CBC_OID = bytes.fromhex("060960864801650304012a")


def _passphrase() -> str:
    # Fresh per test: redaction registers values for the whole process.
    return f"CANARY-keygen-{secrets.token_hex(8)}"


def _der_of_pem(path: Path) -> bytes:
    lines = path.read_text().splitlines()
    return base64.b64decode("".join(line for line in lines if not line.startswith("-")))


def test_key_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "rsa_key.p8"

    generate_snowflake_key(path, Secret(_passphrase()))

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_key_file_mode_ignores_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        generate_snowflake_key(tmp_path / "key.p8", Secret(_passphrase()))
    finally:
        os.umask(previous)

    assert stat.S_IMODE((tmp_path / "key.p8").stat().st_mode) == 0o600


def test_key_is_encrypted_pkcs8_rsa_2048(tmp_path: Path) -> None:
    path = tmp_path / "rsa_key.p8"
    passphrase = _passphrase()

    generate_snowflake_key(path, Secret(passphrase))

    text = path.read_text()
    assert text.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    key = serialization.load_pem_private_key(
        path.read_bytes(), password=passphrase.encode()
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == KEY_SIZE == 2048
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(path.read_bytes(), password=None)


def test_key_uses_pbes2_with_aes(tmp_path: Path) -> None:
    path = tmp_path / "rsa_key.p8"

    generate_snowflake_key(path, Secret(_passphrase()))

    der = _der_of_pem(path)
    assert PBES2_OID in der
    assert AES_256_CBC_OID in der


def test_key_loads_as_key_file(tmp_path: Path) -> None:
    passphrase = Secret(_passphrase())

    generated = generate_snowflake_key(tmp_path / "rsa_key.p8", passphrase)

    loaded = load_private_key(tmp_path / "rsa_key.p8", passphrase=passphrase)
    assert generated.key_file.content == loaded.content
    assert generated.key_file.summary == "RSA 2048-bit private key, encrypted"
    assert generated.key_file.file_name == "snowflake_rsa_key.p8"


def test_public_key_and_fingerprint_match(tmp_path: Path) -> None:
    path = tmp_path / "rsa_key.p8"
    passphrase = _passphrase()

    generated = generate_snowflake_key(path, Secret(passphrase))

    key = serialization.load_pem_private_key(
        path.read_bytes(), password=passphrase.encode()
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert generated.public_key == base64.b64encode(der).decode()
    digest = base64.b64encode(hashlib.sha256(der).digest()).decode()
    assert generated.fingerprint == f"SHA256:{digest}"
    assert "\n" not in generated.public_key
    assert "-----" not in generated.public_key


def test_each_key_is_new(tmp_path: Path) -> None:
    first = generate_snowflake_key(tmp_path / "a.p8", Secret(_passphrase()))
    second = generate_snowflake_key(tmp_path / "b.p8", Secret(_passphrase()))

    assert first.public_key != second.public_key


def test_existing_file_is_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "rsa_key.p8"
    path.write_text("old key")

    with pytest.raises(InputError, match="already exists; choose a new path"):
        generate_snowflake_key(path, Secret(_passphrase()))

    assert path.read_text() == "old key"


def test_symlink_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("not a key")
    link = tmp_path / "rsa_key.p8"
    link.symlink_to(target)

    with pytest.raises(InputError, match="already exists"):
        generate_snowflake_key(link, Secret(_passphrase()))

    assert target.read_text() == "not a key"


def test_force_replaces_file(tmp_path: Path) -> None:
    path = tmp_path / "rsa_key.p8"
    path.write_text("old key")
    path.chmod(0o644)

    generate_snowflake_key(path, Secret(_passphrase()), force=True)

    assert path.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["rsa_key.p8"]


def test_force_replaces_symlink_itself(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("not a key")
    link = tmp_path / "rsa_key.p8"
    link.symlink_to(target)

    generate_snowflake_key(link, Secret(_passphrase()), force=True)

    assert not link.is_symlink()
    assert target.read_text() == "not a key"


def test_missing_folder_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        generate_snowflake_key(tmp_path / "no" / "key.p8", Secret(_passphrase()))


def test_folder_path_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        generate_snowflake_key(tmp_path, Secret(_passphrase()))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes whatever the permissions")
def test_unwritable_folder_is_reported(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(KeyFileError, match="cannot be created"):
            generate_snowflake_key(locked / "key.p8", Secret(_passphrase()))
    finally:
        locked.chmod(0o700)


def test_result_holds_no_secret(tmp_path: Path) -> None:
    passphrase = _passphrase()
    path = tmp_path / "rsa_key.p8"

    generated = generate_snowflake_key(path, Secret(passphrase))

    shown = repr(generated)
    assert passphrase not in shown
    for line in path.read_text().splitlines()[1:-1]:
        assert line not in shown


def test_statements_name_slots(tmp_path: Path) -> None:
    generated = generate_snowflake_key(tmp_path / "k.p8", Secret(_passphrase()))

    set_statement = snowflake_set_statement("QTC_LOADER", generated)

    assert set_statement == (
        f"ALTER USER QTC_LOADER SET RSA_PUBLIC_KEY_2='{generated.public_key}';"
    )
    assert snowflake_set_statement("U", generated, slot=1).startswith(
        "ALTER USER U SET RSA_PUBLIC_KEY="
    )
    assert snowflake_unset_statement("QTC_LOADER") == (
        "ALTER USER QTC_LOADER UNSET RSA_PUBLIC_KEY;"
    )
    assert snowflake_unset_statement("U", slot=2) == (
        "ALTER USER U UNSET RSA_PUBLIC_KEY_2;"
    )


def test_invalid_slot_is_rejected() -> None:
    with pytest.raises(InputError, match="key slot 3 is invalid"):
        snowflake_unset_statement("U", slot=3)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("QTC_LOADER", "QTC_LOADER"),
        ("loader$2", "loader$2"),
        ("qtc.loader", '"qtc.loader"'),
        ("loader@example.com", '"loader@example.com"'),
        ('say "hi"', '"say ""hi"""'),
        ("1loader", '"1loader"'),
        ("x'; DROP USER y; --", '"x\'; DROP USER y; --"'),
    ],
)
def test_identifier_quoting(name: str, expected: str) -> None:
    assert quote_snowflake_identifier(name) == expected


def test_empty_user_is_rejected() -> None:
    with pytest.raises(InputError, match="user name is empty"):
        quote_snowflake_identifier(" ")


def test_snowflake_key_pair_properties() -> None:
    assert key_pair_properties(get_kind("snowflake-target")) == (
        "privateKeyFile",
        "privateKeyPassphrase",
    )


def test_key_pair_needs_pem_kind() -> None:
    with pytest.raises(InputError, match="bigquery-target has no encrypted"):
        key_pair_properties(get_kind("bigquery-target"))


def _keygen_cli() -> click.Group:
    @click.group(cls=QtcGroup)
    def group() -> None:
        """qtc with keygen only."""

    group.add_command(keygen)
    return group


def test_keygen_command_prints_steps(tmp_path: Path) -> None:
    passphrase = _passphrase()
    path = tmp_path / "rsa_key.p8"

    result = CliRunner().invoke(
        _keygen_cli(),
        ["keygen", "snowflake", "--out", str(path), "--passphrase", "env:KEY_PASS"]
        + ["--user", "qtc.loader"],
        env={"KEY_PASS": passphrase},
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    assert 'ALTER USER "qtc.loader" SET RSA_PUBLIC_KEY_2=\'' in result.stdout
    assert 'ALTER USER "qtc.loader" UNSET RSA_PUBLIC_KEY;' in result.stdout
    assert f"--key-file privateKeyFile={path}" in result.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    output = result.stdout + result.stderr
    assert passphrase not in output
    for line in path.read_text().splitlines()[1:-1]:
        assert line not in output


def test_keygen_command_json(tmp_path: Path) -> None:
    path = tmp_path / "rsa_key.p8"

    result = CliRunner().invoke(
        _keygen_cli(),
        ["keygen", "snowflake", "--out", str(path), "--passphrase", "env:KEY_PASS"]
        + ["--user", "LOADER", "--json"],
        env={"KEY_PASS": _passphrase()},
        catch_exceptions=False,
    )

    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["path"] == str(path)
    assert body["fingerprint"].startswith("SHA256:")
    assert body["set_statement"].endswith(f"'{body['public_key']}';")
    assert body["unset_statement"] == "ALTER USER LOADER UNSET RSA_PUBLIC_KEY;"


def test_keygen_command_keeps_existing(tmp_path: Path) -> None:
    path = tmp_path / "rsa_key.p8"
    path.write_text("old key")

    result = CliRunner().invoke(
        _keygen_cli(),
        ["keygen", "snowflake", "--out", str(path), "--passphrase", "env:KEY_PASS"]
        + ["--user", "LOADER"],
        env={"KEY_PASS": _passphrase()},
        catch_exceptions=False,
    )

    assert result.exit_code == 1
    assert "already exists" in result.stderr
    assert path.read_text() == "old key"


def test_keygen_rejects_literal_passphrase(tmp_path: Path) -> None:
    literal = _passphrase()

    result = CliRunner().invoke(
        _keygen_cli(),
        ["keygen", "snowflake", "--out", str(tmp_path / "k.p8")]
        + ["--passphrase", literal, "--user", "LOADER"],
        catch_exceptions=False,
    )

    assert result.exit_code == 1
    assert "is not a reference" in result.stderr
    assert literal not in result.stderr
    assert not (tmp_path / "k.p8").exists()
