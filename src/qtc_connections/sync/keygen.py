"""New key pairs for Snowflake key-pair authentication, and the SQL to register them.

Snowflake keeps two public keys per user, ``RSA_PUBLIC_KEY`` and
``RSA_PUBLIC_KEY_2``, so a key can be replaced without downtime. The new
public key goes into the free slot, the connection switches to the new
private key, and once that works the old key is unset.

``generate_snowflake_key`` writes an encrypted PKCS#8 RSA 2048 key, readable
by its owner only, and returns the public facts about it: the fingerprint
and the base64 DER public key that ``ALTER USER`` takes. The private key and
its passphrase are never part of the result.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from qtc_connections.catalog import KeyFileType, Kind
from qtc_connections.errors import InputError, KeyFileError
from qtc_connections.keyfiles import KeyFile, load_private_key
from qtc_connections.redact import register_secret
from qtc_connections.secrets import Secret

__all__ = [
    "KEY_FILE_MODE",
    "KEY_SIZE",
    "GeneratedKey",
    "generate_snowflake_key",
    "key_pair_properties",
    "public_key_fingerprint",
    "quote_snowflake_identifier",
    "snowflake_set_statement",
    "snowflake_unset_statement",
]

# Snowflake requires RSA keys of at least 2048 bits for key-pair authentication.
KEY_SIZE = 2048
PUBLIC_EXPONENT = 65537

# Owner read and write only, because the file contains a private key.
KEY_FILE_MODE = 0o600

# Snowflake identifiers that need no double quotes: a letter or underscore,
# then letters, digits, underscores or dollar signs. Unquoted identifiers
# are stored in upper case.
_UNQUOTED_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


@dataclass(frozen=True)
class GeneratedKey:
    """A key pair written to disk; every field is safe to show.

    Attributes:
        path: The encrypted PKCS#8 private key file.
        fingerprint: ``SHA256:`` and the base64 SHA-256 digest of the DER
            public key, the form Snowflake shows as ``RSA_PUBLIC_KEY_FP``.
        public_key: Base64 of the DER ``SubjectPublicKeyInfo``, without PEM
            armour or line breaks, as ``ALTER USER ... SET RSA_PUBLIC_KEY``
            takes it.
        key_file: The private key loaded back and checked, ready to send as
            the file property.
    """

    path: Path
    fingerprint: str
    public_key: str
    key_file: KeyFile


def generate_snowflake_key(
    path: Path,
    passphrase: Secret,
    *,
    force: bool = False,
    file_name: str | None = None,
) -> GeneratedKey:
    """Make a new RSA 2048 key, write it encrypted to ``path`` with mode 0600.

    The file is created with mode 0600 from the start, so the key is never
    readable by others, even for a moment. Without ``force`` an existing
    file (or a symbolic link) at ``path`` is never replaced. With ``force``
    the new file replaces it in one rename. The key is then read back with
    ``load_private_key``, so what is returned is what the loader accepts.

    Args:
        path: Where to write the private key.
        passphrase: Encrypts the key; the connection's passphrase property
            must carry the same value.
        force: Replace an existing file.
        file_name: Name to send the file under; the kind's default if ``None``.

    Raises:
        InputError: ``path`` exists and ``force`` is not set, or its folder
            does not exist.
        KeyFileError: the file cannot be written.
    """
    _check_target(path, force=force)
    key = rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=KEY_SIZE)
    pem = _encrypted_pem(key, passphrase)
    register_secret(pem.decode("ascii"))

    if force:
        _replace_file(path, pem)
    else:
        _create_file(path, pem)

    key_file = load_private_key(path, passphrase=passphrase)
    if file_name is not None:
        key_file = key_file.with_file_name(file_name)
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    return GeneratedKey(
        path=path,
        fingerprint=public_key_fingerprint(public_der),
        public_key=base64.b64encode(public_der).decode("ascii"),
        key_file=key_file,
    )


def _check_target(path: Path, *, force: bool) -> None:
    if not path.parent.is_dir():
        raise InputError(
            f"folder {path.parent} does not exist; create it or choose another "
            "path for the key file"
        )
    if path.is_dir():
        raise InputError(f"{path} is a folder; give the path of the new key file")
    if not force and (path.exists() or path.is_symlink()):
        raise InputError(
            f"{path} already exists; choose a new path, or pass --force to replace it"
        )


def _encrypted_pem(key: rsa.RSAPrivateKey, passphrase: Secret) -> bytes:
    # For PKCS#8, cryptography (checked with 50.0) writes PBES2 with PBKDF2
    # and AES-256-CBC; a test checks the scheme.
    # NOTE: Snowflake's key-pair guide encrypts with "openssl pkcs8 -v2 des3".
    # That the Qlik service reads AES-256 PBES2 keys too is assumed.
    encryption = serialization.BestAvailableEncryption(
        passphrase.reveal().encode("utf-8")
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _create_file(path: Path, content: bytes) -> None:
    # O_EXCL fails on any existing entry, a dangling symbolic link included,
    # so a file created between the check and here is not replaced either.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags, KEY_FILE_MODE)
    except FileExistsError:
        raise InputError(
            f"{path} already exists; choose a new path, or pass --force to replace it"
        ) from None
    except OSError as exc:
        raise KeyFileError(
            f"key file {path} cannot be created ({exc.strerror})"
        ) from exc
    _write_all(path, descriptor, content)


def _replace_file(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(temporary, flags, KEY_FILE_MODE)
    except OSError as exc:
        raise KeyFileError(
            f"temporary key file {temporary} cannot be created ({exc.strerror})"
        ) from exc
    _write_all(temporary, descriptor, content)

    try:
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise KeyFileError(
            f"key file {path} cannot be replaced ({exc.strerror})"
        ) from exc


def _write_all(path: Path, descriptor: int, content: bytes) -> None:
    # os.open created the file with KEY_FILE_MODE at most: a umask or a
    # default ACL can remove permission bits but never add them.
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        with contextlib.suppress(OSError):
            path.unlink()
        raise KeyFileError(
            f"key file {path} cannot be written ({exc.strerror})"
        ) from exc


def key_pair_properties(kind: Kind) -> tuple[str, str]:
    """Return the key file property of ``kind`` and the passphrase that opens it.

    Raises:
        InputError: The kind has no file property for an encrypted PEM key,
            so a generated key has nowhere to go.
    """
    for name, file_property in kind.files.items():
        passphrase = file_property.passphrase_property
        if file_property.file_type is KeyFileType.PEM_PRIVATE_KEY and passphrase:
            return name, passphrase
    raise InputError(
        f"kind {kind.name} has no encrypted private key property, so "
        "--generate-key cannot be used with it; it is for snowflake-target"
    )


def public_key_fingerprint(public_der: bytes) -> str:
    """Return ``SHA256:<base64 digest>`` of a DER public key, as Snowflake shows it."""
    digest = hashlib.sha256(public_der).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii")


def quote_snowflake_identifier(name: str) -> str:
    """Return ``name`` as a Snowflake identifier for an ``ALTER USER`` statement.

    A name made of letters, digits, ``_`` and ``$`` (not starting with a
    digit or ``$``) is written as it is. Any other name is double-quoted,
    with inner double quotes doubled.

    NOTE: a quoted identifier is case-sensitive. A connection stores the
    login name, which is usually, but not always, the user's name in
    Snowflake; check the statement before running it.

    Raises:
        InputError: ``name`` is empty.
    """
    if not name.strip():
        raise InputError(
            "the Snowflake user name is empty; give it with --user, or set the "
            "connection's username property"
        )
    if _UNQUOTED_IDENTIFIER.fullmatch(name):
        return name
    escaped = name.replace('"', '""')
    return f'"{escaped}"'


def snowflake_set_statement(user: str, key: GeneratedKey, *, slot: int = 2) -> str:
    """Return the ``ALTER USER`` statement that registers the new public key.

    ``slot`` 2 sets ``RSA_PUBLIC_KEY_2``, which leaves the current key in
    ``RSA_PUBLIC_KEY`` working while the connection switches over. Use
    ``slot`` 1 when the current key is the one in ``RSA_PUBLIC_KEY_2``.

    Raises:
        InputError: ``slot`` is not 1 or 2, or ``user`` is empty.
    """
    column = _key_column(slot)
    identifier = quote_snowflake_identifier(user)
    return f"ALTER USER {identifier} SET {column}='{key.public_key}';"


def snowflake_unset_statement(user: str, *, slot: int = 1) -> str:
    """Return the ``ALTER USER`` statement that removes the old public key.

    Run it only after the connection has worked with the new key. ``slot``
    names the old key's column: 1 for ``RSA_PUBLIC_KEY``.

    Raises:
        InputError: ``slot`` is not 1 or 2, or ``user`` is empty.
    """
    column = _key_column(slot)
    return f"ALTER USER {quote_snowflake_identifier(user)} UNSET {column};"


def _key_column(slot: int) -> str:
    if slot == 1:
        return "RSA_PUBLIC_KEY"
    if slot == 2:
        return "RSA_PUBLIC_KEY_2"
    raise InputError(f"key slot {slot} is invalid; Snowflake has slots 1 and 2")
