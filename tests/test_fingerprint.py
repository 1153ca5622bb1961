"""Keyed fingerprints of secrets and key files, and the key file behind them."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from qtc_connections.catalog import KeyFileType
from qtc_connections.errors import ConfigError
from qtc_connections.keyfiles import KeyFile
from qtc_connections.secrets import Secret, SecretBytes
from qtc_connections.sync.fingerprint import (
    FINGERPRINT_KEY_ENV_VAR,
    KEY_BYTES,
    Fingerprinter,
    default_key_path,
    fingerprints_equal,
    load_or_create_key,
)

CONTEXT = ("022b8b9a1222d5f5374aa45b", "SRC_MySQL", "password")
CANARY = "CANARY-fingerprint-secret-41c9"


def key_file(content: bytes, file_name: str = "rsa_key.p8") -> KeyFile:
    return KeyFile(
        file_name=file_name,
        content=SecretBytes(content),
        file_type=KeyFileType.UNCHECKED,
        source=Path(file_name),
        summary="test file",
    )


@pytest.fixture
def fingerprinter() -> Fingerprinter:
    return Fingerprinter(bytes(range(KEY_BYTES)))


def test_same_secret_same_fingerprint(fingerprinter: Fingerprinter) -> None:
    first = fingerprinter.secret(Secret(CANARY), CONTEXT)
    second = fingerprinter.secret(Secret(CANARY), CONTEXT)

    assert first == second
    assert first.startswith("hmac-sha256:")
    assert len(first) == len("hmac-sha256:") + 64


def test_changed_secret_changes_fingerprint(fingerprinter: Fingerprinter) -> None:
    first = fingerprinter.secret(Secret(CANARY), CONTEXT)
    second = fingerprinter.secret(Secret(CANARY + "x"), CONTEXT)

    assert first != second


def test_context_changes_fingerprint(fingerprinter: Fingerprinter) -> None:
    original = fingerprinter.secret(Secret(CANARY), CONTEXT)
    elsewhere = fingerprinter.secret(Secret(CANARY), (*CONTEXT[:2], "sshPassword"))

    assert original != elsewhere


def test_context_parts_stay_apart(fingerprinter: Fingerprinter) -> None:
    joined = fingerprinter.secret(Secret(CANARY), ("ab", "c", "p"))
    split = fingerprinter.secret(Secret(CANARY), ("a", "bc", "p"))

    assert joined != split


def test_key_changes_fingerprint(fingerprinter: Fingerprinter) -> None:
    other = Fingerprinter(bytes(KEY_BYTES))

    assert fingerprinter.secret(Secret(CANARY), CONTEXT) != other.secret(
        Secret(CANARY), CONTEXT
    )


def test_fingerprint_is_not_plain_digest(fingerprinter: Fingerprinter) -> None:
    value = fingerprinter.secret(Secret(CANARY), CONTEXT)

    assert CANARY not in value
    assert hashlib.sha256(CANARY.encode()).hexdigest() not in value


def test_key_file_covers_name_and_bytes(fingerprinter: Fingerprinter) -> None:
    base = fingerprinter.key_file(key_file(b"key bytes"), CONTEXT)
    renamed = fingerprinter.key_file(key_file(b"key bytes", "other.p8"), CONTEXT)
    changed = fingerprinter.key_file(key_file(b"key bytez"), CONTEXT)

    assert base == fingerprinter.key_file(key_file(b"key bytes"), CONTEXT)
    assert base != renamed
    assert base != changed


def test_secret_and_file_kinds_differ(fingerprinter: Fingerprinter) -> None:
    assert fingerprinter.secret(Secret("abcd"), CONTEXT) != fingerprinter.key_file(
        key_file(b"abcd"), CONTEXT
    )


def test_fingerprints_equal_needs_both() -> None:
    print_a = "hmac-sha256:" + "a" * 64

    assert fingerprints_equal(print_a, print_a)
    assert not fingerprints_equal(print_a, None)
    assert not fingerprints_equal(None, None)
    assert not fingerprints_equal(print_a, "hmac-sha256:" + "b" * 64)


def test_repr_hides_key(fingerprinter: Fingerprinter) -> None:
    assert "key" not in repr(fingerprinter).lower().replace("fingerprinter", "")


def test_short_key_is_rejected() -> None:
    with pytest.raises(ValueError):
        Fingerprinter(b"short")


def test_missing_key_file_is_created(tmp_path: Path) -> None:
    path = tmp_path / "data" / "fingerprint.key"

    key = load_or_create_key(path)

    assert len(key) == KEY_BYTES
    assert path.read_bytes() == key
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_existing_key_is_reused(tmp_path: Path) -> None:
    path = tmp_path / "fingerprint.key"
    first = load_or_create_key(path)

    assert load_or_create_key(path) == first


def test_wrong_key_length_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "fingerprint.key"
    path.write_bytes(b"0123456789")
    path.chmod(0o600)

    with pytest.raises(ConfigError) as raised:
        load_or_create_key(path)

    assert str(raised.value) == (
        f"the fingerprint key file {path} contains 10 bytes, not 32; delete it to "
        "make a new key (every secret then counts as unknown once)"
    )


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_readable_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "fingerprint.key"
    path.write_bytes(bytes(KEY_BYTES))
    path.chmod(0o644)

    with pytest.raises(ConfigError) as raised:
        load_or_create_key(path)

    assert str(raised.value) == (
        f"the fingerprint key file {path} can be read by other users; restrict "
        f"it with 'chmod 600 {path}'"
    )


def test_key_path_from_environment(tmp_path: Path) -> None:
    chosen = tmp_path / "my.key"

    assert default_key_path({FINGERPRINT_KEY_ENV_VAR: str(chosen)}) == chosen


def test_default_key_path_in_user_data(monkeypatch: pytest.MonkeyPatch) -> None:
    path = default_key_path({})

    assert path.name == "fingerprint.key"
    assert "qtc" in path.parts


def test_from_key_file_loads_key(tmp_path: Path) -> None:
    path = tmp_path / "fingerprint.key"
    key = load_or_create_key(path)

    assert Fingerprinter.from_key_file(path).key == key


def test_unreachable_key_fails_clearly(tmp_path: Path) -> None:
    # A file where the folder should be fails for every user, root included.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    path = blocker / "fingerprint.key"

    with pytest.raises(ConfigError) as raised:
        load_or_create_key(path)

    assert str(raised.value) == (
        f"cannot read the fingerprint key file {path} (Not a directory); set "
        f"{FINGERPRINT_KEY_ENV_VAR} to a readable path"
    )


def test_folder_as_key_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_or_create_key(tmp_path)

    assert str(raised.value) == (
        f"cannot read the fingerprint key file {tmp_path} (Is a directory); set "
        f"{FINGERPRINT_KEY_ENV_VAR} to a readable path"
    )


def test_key_from_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("QTC_FINGERPRINT_KEY", "ab" * 32)
    monkeypatch.setenv("QTC_FINGERPRINT_KEY_FILE", str(tmp_path / "unused.key"))
    fingerprinter = Fingerprinter.from_key_file()
    assert fingerprinter.key == bytes.fromhex("ab" * 32)
    assert not (tmp_path / "unused.key").exists()


@pytest.mark.parametrize("value", ["CANARY-not-hex", "ab" * 31, "zz" * 32])
def test_bad_environment_key_rejected(monkeypatch, value):
    monkeypatch.setenv("QTC_FINGERPRINT_KEY", value)
    with pytest.raises(ConfigError) as caught:
        Fingerprinter.from_key_file()
    assert "64 hexadecimal characters" in str(caught.value)
    assert value not in str(caught.value)
