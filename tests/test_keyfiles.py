import base64
import json
import os
import pickle

import pytest

from qtc_connections.catalog import FileProperty, KeyFileType, get_kind
from qtc_connections.errors import KeyFileError
from qtc_connections.keyfiles import (
    MAX_KEY_FILE_BYTES,
    load_file_unchecked,
    load_key_file,
    load_private_key,
    load_service_account,
)
from qtc_connections.redact import SENSITIVE, redact
from qtc_connections.secrets import Secret


def _raw_message(error):
    # Bypass the redaction in QtcError.__str__, which would hide a leak.
    return str(error.args[0])


def _key_lines(data):
    """Return the base64 body lines of a PEM file, the key material."""
    text = data.decode() if isinstance(data, bytes) else data
    return [line for line in text.splitlines() if line and not line.startswith("-")]


def _assert_no_key_material(message, data):
    for line in _key_lines(data):
        if len(line) >= 16 and ":" not in line:
            assert line not in message


@pytest.mark.parametrize(
    ("file_attribute", "encrypted"),
    [
        ("encrypted_pkcs8", True),
        ("plain_pkcs8", False),
        ("traditional", False),
        ("traditional_encrypted", True),
    ],
)
def test_load_private_key_accepts_rsa_pem(
    key_files, key_passphrase, file_attribute, encrypted
):
    path = getattr(key_files, file_attribute)
    passphrase = Secret(key_passphrase) if encrypted else None

    key_file = load_private_key(path, passphrase=passphrase)

    state = "encrypted" if encrypted else "not encrypted"
    assert key_file.summary == f"RSA 2048-bit private key, {state}"
    assert key_file.file_name == "snowflake_rsa_key.p8"
    assert key_file.file_type is KeyFileType.PEM_PRIVATE_KEY
    assert key_file.content.reveal() == path.read_bytes()
    assert key_file.source == path


def _private_key_error(path, passphrase=None, **options):
    with pytest.raises(KeyFileError) as caught:
        load_private_key(path, passphrase=passphrase, **options)
    message = _raw_message(caught.value)
    assert str(path) in message
    if path.exists() and path.is_file():
        _assert_no_key_material(message, path.read_bytes())
    return message


def test_encrypted_key_needs_passphrase(key_files):
    message = _private_key_error(
        key_files.encrypted_pkcs8, passphrase_property="privateKeyPassphrase"
    )

    assert "is encrypted, so it needs a passphrase" in message
    assert "--secret privateKeyPassphrase=REF" in message


def test_traditional_encrypted_needs_passphrase(key_files):
    message = _private_key_error(key_files.traditional_encrypted)

    assert "is encrypted" in message


@pytest.mark.parametrize("file_attribute", ["plain_pkcs8", "traditional"])
def test_plain_key_rejects_passphrase(key_files, key_passphrase, file_attribute):
    path = getattr(key_files, file_attribute)

    message = _private_key_error(path, Secret(key_passphrase))

    assert "is not encrypted, but a passphrase was given" in message
    assert key_passphrase not in message


@pytest.mark.parametrize("file_attribute", ["encrypted_pkcs8", "traditional_encrypted"])
def test_wrong_passphrase_is_reported(key_files, file_attribute):
    wrong = "CANARY-wrong-pass-4d"

    message = _private_key_error(getattr(key_files, file_attribute), Secret(wrong))

    assert "the passphrase is wrong" in message
    assert wrong not in message


def test_ec_key_is_rejected(key_files):
    message = _private_key_error(key_files.ec_key)

    assert "an EC private key" in message
    assert "Snowflake key pairs are RSA" in message


def test_truncated_key_is_rejected(key_files, key_passphrase):
    message = _private_key_error(key_files.truncated, Secret(key_passphrase))

    assert "damaged or truncated" in message


def test_non_key_file_is_rejected(key_files):
    message = _private_key_error(key_files.not_a_key)

    assert "is not a PEM file" in message
    assert "db.example.com" not in message


def test_public_key_is_rejected(key_files):
    message = _private_key_error(key_files.public_key)

    assert "contains a PEM PUBLIC KEY, not a private key" in message


def test_openssh_key_is_rejected(tmp_path):
    path = tmp_path / "id_rsa"
    path.write_text(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    )

    assert "OpenSSH private key" in _private_key_error(path)


def test_mismatched_encryption_marker(tmp_path, key_files):
    # An unencrypted PKCS#8 key followed by a stray encryption header.
    path = tmp_path / "odd.pem"
    path.write_bytes(key_files.plain_pkcs8.read_bytes() + b"Proc-Type: 4,ENCRYPTED\n")

    message = _private_key_error(path, Secret("CANARY-odd-pass"))

    assert "encryption markers do not match its content" in message
    assert "CANARY-odd-pass" not in message


def test_missing_key_file(tmp_path):
    message = _private_key_error(tmp_path / "absent.p8")

    assert "not found" in message


def test_directory_as_key_file(tmp_path):
    assert "is a directory" in _private_key_error(tmp_path)


def test_empty_key_file(key_files):
    assert "is empty" in _private_key_error(key_files.empty)


def test_oversized_key_file(tmp_path):
    path = tmp_path / "huge.p8"
    path.write_bytes(b"A" * (MAX_KEY_FILE_BYTES + 1))

    assert "too large for a key file" in _private_key_error(path)


def test_property_value_is_base64_array(key_files):
    key_file = load_private_key(key_files.plain_pkcs8, passphrase=None)

    value = key_file.to_property_value()

    assert len(value) == 1
    assert value[0]["name"] == "snowflake_rsa_key.p8"
    assert "\n" not in value[0]["value"]
    assert base64.b64decode(value[0]["value"], validate=True) == (
        key_files.plain_pkcs8.read_bytes()
    )


def test_file_name_can_be_overridden(key_files):
    loaded = load_private_key(key_files.plain_pkcs8, passphrase=None, file_name="k.p8")
    renamed = loaded.with_file_name("rsa_key.p8")

    assert loaded.to_property_value()[0]["name"] == "k.p8"
    assert renamed.to_property_value()[0]["name"] == "rsa_key.p8"
    assert renamed.content == loaded.content


def test_key_file_rejects_empty_name(key_files):
    loaded = load_private_key(key_files.plain_pkcs8, passphrase=None)

    with pytest.raises(KeyFileError, match="file name"):
        loaded.with_file_name(" ")


def test_key_material_is_registered(key_files):
    key_file = load_private_key(key_files.plain_pkcs8, passphrase=None)
    encoded = key_file.to_property_value()[0]["value"]
    body_line = _key_lines(key_files.plain_pkcs8.read_bytes())[0]

    assert redact(f"detail: {encoded}") == f"detail: {SENSITIVE}"
    assert redact(f"line {body_line}") == f"line {SENSITIVE}"


def test_key_file_repr_hides_content(key_files):
    key_file = load_private_key(key_files.plain_pkcs8, passphrase=None)
    encoded = key_file.to_property_value()[0]["value"]

    shown = repr(key_file)

    assert encoded not in shown
    assert _key_lines(key_files.plain_pkcs8.read_bytes())[0] not in shown
    assert SENSITIVE in shown


def test_key_file_refuses_pickling(key_files):
    key_file = load_private_key(key_files.plain_pkcs8, passphrase=None)

    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(key_file)


def test_load_service_account(service_account_file):
    key_file = load_service_account(service_account_file)

    assert key_file.file_name == "service-account.json"
    assert key_file.file_type is KeyFileType.SERVICE_ACCOUNT_JSON
    assert "loader@example-project.iam.gserviceaccount.com" in key_file.summary
    assert base64.b64decode(key_file.to_property_value()[0]["value"]) == (
        service_account_file.read_bytes()
    )


def test_service_account_key_is_registered(
    service_account_file, service_account_fields
):
    load_service_account(service_account_file)
    pem_line = _key_lines(service_account_fields["private_key"])[0]

    assert redact(pem_line) == SENSITIVE


def test_service_account_accepts_bom(tmp_path, service_account_fields):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(service_account_fields).encode())

    assert load_service_account(path).file_type is KeyFileType.SERVICE_ACCOUNT_JSON


def _broken(fields, change):
    broken = dict(fields)
    if change == "no-type":
        del broken["type"]
    elif change == "user-type":
        broken["type"] = "authorized_user"
    elif change == "no-email":
        del broken["client_email"]
    elif change == "blank-email":
        broken["client_email"] = " "
    elif change == "no-key":
        del broken["private_key"]
    elif change == "garbage-key":
        broken["private_key"] = "CANARY-not-a-key-0e"
    elif change == "truncated-key":
        broken["private_key"] = broken["private_key"][:300]
    return json.dumps(broken)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("no-type", "has no 'type' field"),
        ("user-type", "has type 'authorized_user', not 'service_account'"),
        ("no-email", "has no client_email"),
        ("blank-email", "has no client_email"),
        ("no-key", "has no private_key"),
        ("garbage-key", "not a valid unencrypted PEM private key"),
        ("truncated-key", "not a valid unencrypted PEM private key"),
    ],
)
def test_service_account_broken_fields(
    tmp_path, service_account_fields, change, expected
):
    path = tmp_path / "sa.json"
    path.write_text(_broken(service_account_fields, change))

    with pytest.raises(KeyFileError) as caught:
        load_service_account(path)

    message = _raw_message(caught.value)
    assert str(path) in message
    assert expected in message
    assert "CANARY-not-a-key" not in message
    _assert_no_key_material(message, service_account_fields["private_key"])


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"type": "service_account", ', "is not valid JSON"),
        (b"[1, 2]", "is JSON but not an object"),
        (b"\xff\xfe\x00", "is not UTF-8 text"),
        (b"", "is empty"),
    ],
)
def test_service_account_not_json(tmp_path, content, expected):
    path = tmp_path / "sa.json"
    path.write_bytes(content)

    with pytest.raises(KeyFileError) as caught:
        load_service_account(path)

    assert expected in _raw_message(caught.value)


def test_service_account_json_error_position(tmp_path):
    path = tmp_path / "sa.json"
    path.write_text('{\n  "private_key": "CANARY-json-pos-5",\n  oops\n}')

    with pytest.raises(KeyFileError) as caught:
        load_service_account(path)

    message = _raw_message(caught.value)
    assert "line 3" in message
    assert "CANARY-json-pos-5" not in message


def test_load_key_file_uses_kind_defaults(key_files, key_passphrase):
    file_property = get_kind("snowflake-target").files["privateKeyFile"]

    key_file = load_key_file(
        key_files.encrypted_pkcs8, file_property, passphrase=Secret(key_passphrase)
    )

    assert key_file.file_name == "snowflake_rsa_key.p8"
    assert key_file.summary.endswith("encrypted")


def test_load_key_file_names_passphrase_property(key_files):
    file_property = get_kind("snowflake-target").files["privateKeyFile"]

    with pytest.raises(KeyFileError, match="--secret privateKeyPassphrase=REF"):
        load_key_file(key_files.encrypted_pkcs8, file_property)


def test_load_key_file_service_account(service_account_file):
    file_property = get_kind("bigquery-target").files["jsonCredentials"]

    key_file = load_key_file(service_account_file, file_property, file_name="sa.json")

    assert key_file.file_name == "sa.json"


def test_service_account_rejects_passphrase(service_account_file):
    file_property = get_kind("gcs-target").files["jsonCredentials"]

    with pytest.raises(KeyFileError, match="leave the passphrase out"):
        load_key_file(
            service_account_file, file_property, passphrase=Secret("CANARY-sa-pass")
        )


def test_unchecked_file_keeps_own_name(key_files):
    file_property = FileProperty(KeyFileType.UNCHECKED)

    key_file = load_key_file(key_files.not_a_key, file_property)

    assert key_file.file_name == "not_a_key.pem"
    size = key_files.not_a_key.stat().st_size
    assert key_file.summary == f"file of {size} bytes, content not checked"


def test_unchecked_file_rejects_empty(key_files):
    with pytest.raises(KeyFileError, match="is empty"):
        load_file_unchecked(key_files.empty)


def test_named_pipe_key_file_rejected(tmp_path):
    pipe = tmp_path / "key.p8"
    os.mkfifo(pipe)
    with pytest.raises(KeyFileError) as caught:
        load_private_key(pipe, passphrase=None)
    assert "is not a regular file" in str(caught.value)


def test_short_rsa_key_rejected(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    path = tmp_path / "short.p8"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(KeyFileError) as caught:
        load_private_key(path, passphrase=None)
    assert "1024-bit RSA key" in str(caught.value)
    assert "at least 2048 bits" in str(caught.value)
