"""Key files for file-valued connection properties, checked before upload.

A file property is sent as ``[{"name": <file name>, "value": <base64 of the
file>}]``. The loaders here check that a file is what the data source
expects: an RSA private key in PEM, or a Google service-account key. A wrong
or damaged file then fails locally with a clear message, and not later in a
test of the connection. Messages name the path and the problem, never the
key material.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from qtc_connections.catalog.model import (
    PEM_KEY_FILE_NAME,
    SERVICE_ACCOUNT_FILE_NAME,
    FileProperty,
    KeyFileType,
)
from qtc_connections.errors import KeyFileError
from qtc_connections.redact import register_secret
from qtc_connections.secrets import Secret, SecretBytes

__all__ = [
    "MAX_KEY_FILE_BYTES",
    "KeyFile",
    "load_file_unchecked",
    "load_key_file",
    "load_private_key",
    "load_service_account",
]

# Key files are a few kilobytes. A larger file is almost certainly the wrong
# path, and reading it whole could exhaust memory.
MAX_KEY_FILE_BYTES = 1024 * 1024

# Snowflake's key-pair authentication guide requires an RSA key of at least 2048 bits.
MIN_RSA_KEY_BITS = 2048

_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")

# PKCS#8 labels, then the traditional (OpenSSL) ones that cryptography reads.
_PRIVATE_KEY_LABELS = frozenset(
    {
        b"PRIVATE KEY",
        b"ENCRYPTED PRIVATE KEY",
        b"RSA PRIVATE KEY",
        b"EC PRIVATE KEY",
        b"DSA PRIVATE KEY",
    }
)

# A traditional PEM key carries its encryption in a header, not its label.
_TRADITIONAL_ENCRYPTION_HEADER = b"Proc-Type: 4,ENCRYPTED"


@dataclass(frozen=True)
class KeyFile:
    """A checked file, ready to send as a file-valued connection property.

    Attributes:
        file_name: Name sent with the content.
        content: The file's bytes as read.
        file_type: Content type that the loader checked.
        source: Path the file was read from, for messages.
        summary: Short description that is safe to show, such as
            ``RSA 2048-bit private key, encrypted``.
    """

    file_name: str
    content: SecretBytes
    file_type: KeyFileType
    source: Path
    summary: str

    def __post_init__(self) -> None:
        if not self.file_name.strip():
            raise KeyFileError(f"file name for {self.source} is empty; give a name")
        # Registering the base64 form hides it wherever it could be echoed,
        # such as in a server's error detail about the upload.
        register_secret(self._encoded())

    def _encoded(self) -> str:
        return base64.b64encode(self.content.reveal()).decode("ascii")

    def to_property_value(self) -> list[dict[str, str]]:
        """Return the property value to send: one ``{name, value}`` object.

        ``value`` is standard base64 (``+`` and ``/``, with padding) on one
        line.

        NOTE: Qlik documents base64 of the file contents but not the flavour
        or line wrapping. Standard base64 without newlines is an assumption.
        """
        return [{"name": self.file_name, "value": self._encoded()}]

    def with_file_name(self, file_name: str) -> KeyFile:
        """Return a copy that sends the content under ``file_name``."""
        return dataclasses.replace(self, file_name=file_name)


def load_key_file(
    path: Path,
    file_property: FileProperty,
    *,
    passphrase: Secret | None = None,
    file_name: str | None = None,
) -> KeyFile:
    """Load and check ``path`` as the file that ``file_property`` expects.

    ``file_name`` overrides the property's default file name, and a property
    without a default sends the name of the file on disk.

    Raises:
        KeyFileError: The file is unreadable or not the expected content, or
            a passphrase was given for a file type that has none.
    """
    name = file_name or file_property.default_file_name or path.name
    file_type = file_property.file_type
    if file_type is KeyFileType.PEM_PRIVATE_KEY:
        return load_private_key(
            path,
            passphrase=passphrase,
            file_name=name,
            passphrase_property=file_property.passphrase_property,
        )

    if passphrase is not None:
        raise KeyFileError(
            f"{path}: a passphrase was given, but a {file_type.value} file has "
            "none; leave the passphrase out"
        )
    if file_type is KeyFileType.SERVICE_ACCOUNT_JSON:
        return load_service_account(path, file_name=name)
    return load_file_unchecked(path, file_name=name)


def load_private_key(
    path: Path,
    *,
    passphrase: Secret | None,
    file_name: str = PEM_KEY_FILE_NAME,
    passphrase_property: str | None = None,
) -> KeyFile:
    """Load and check a PEM RSA private key, such as a Snowflake key pair's.

    PKCS#8 (encrypted or not) and traditional OpenSSL PEM are accepted. A
    passphrase must be given if and only if the key is encrypted. The key
    must be RSA, because Snowflake key-pair authentication uses RSA keys.

    Args:
        path: The PEM file.
        passphrase: Passphrase of an encrypted key, else ``None``.
        file_name: Name sent with the content.
        passphrase_property: Property that carries the passphrase, named in
            the messages about it.

    Raises:
        KeyFileError: The file is unreadable, not a PEM private key, damaged,
            encrypted without a passphrase (or the reverse), the passphrase
            is wrong, or the key is not RSA.
    """
    data = _read_file(path)
    label = _first_pem_label(path, data)
    encrypted = label == b"ENCRYPTED PRIVATE KEY" or (
        _TRADITIONAL_ENCRYPTION_HEADER in data
    )
    register_secret(data.decode("utf-8", errors="replace"))

    _check_passphrase_given(path, encrypted, passphrase, passphrase_property)
    password = passphrase.reveal().encode("utf-8") if passphrase else None
    key = _load_pem(path, data, password, encrypted=encrypted)
    if not isinstance(key, rsa.RSAPrivateKey):
        _fail(
            path,
            f"contains {_key_type_name(key)} private key, but Snowflake key "
            "pairs are RSA; generate an RSA key in PKCS#8 format",
        )
    if key.key_size < MIN_RSA_KEY_BITS:
        _fail(
            path,
            f"contains a {key.key_size}-bit RSA key, but Snowflake key-pair "
            f"authentication needs at least {MIN_RSA_KEY_BITS} bits; generate a new key "
            "(qtc keygen snowflake)",
        )

    state = "encrypted" if encrypted else "not encrypted"
    return KeyFile(
        file_name=file_name,
        content=SecretBytes(data),
        file_type=KeyFileType.PEM_PRIVATE_KEY,
        source=path,
        summary=f"RSA {key.key_size}-bit private key, {state}",
    )


def _first_pem_label(path: Path, data: bytes) -> bytes:
    match = _PEM_LABEL.search(data)
    if match is None:
        _fail(
            path,
            "is not a PEM file (it has no '-----BEGIN' line); export the key "
            "as PEM in PKCS#8 format",
        )

    label = match.group(1)
    if label == b"OPENSSH PRIVATE KEY":
        _fail(
            path,
            "is an OpenSSH private key; convert it to PEM PKCS#8, for "
            "example with 'ssh-keygen -p -m PKCS8 -f FILE'",
        )
    if label not in _PRIVATE_KEY_LABELS:
        shown = label.decode("ascii")
        _fail(path, f"contains a PEM {shown}, not a private key; give the key file")
    return label


def _check_passphrase_given(
    path: Path,
    encrypted: bool,
    passphrase: Secret | None,
    passphrase_property: str | None,
) -> None:
    if encrypted and passphrase is None:
        how = (
            f"pass --secret {passphrase_property}=REF"
            if passphrase_property
            else "give its passphrase"
        )
        _fail(path, f"is encrypted, so it needs a passphrase: {how}")
    if not encrypted and passphrase is not None:
        what = passphrase_property or "the passphrase"
        _fail(
            path,
            f"is not encrypted, but a passphrase was given; leave {what} out, "
            "or use the encrypted key file",
        )


def _load_pem(
    path: Path, data: bytes, password: bytes | None, *, encrypted: bool
) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(data, password=password)
    except TypeError:
        # The label and header disagree with the encryption of the content.
        _fail(path, "is damaged: its encryption markers do not match its content")
    except UnsupportedAlgorithm:
        _fail(path, "uses a key algorithm or cipher that is not supported")
    except ValueError as exc:
        # cryptography words a wrong passphrase as "Incorrect password".
        if encrypted and "password" in str(exc).lower():
            _fail(path, "could not be decrypted: the passphrase is wrong")
        _fail(
            path,
            "is not a valid PEM private key (damaged or truncated?); export "
            "the key again",
        )


def _key_type_name(key: PrivateKeyTypes) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "an EC"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "an Ed25519"
    if isinstance(key, ed448.Ed448PrivateKey):
        return "an Ed448"
    if isinstance(key, dsa.DSAPrivateKey):
        return "a DSA"
    return f"a {type(key).__name__}"


def load_service_account(
    path: Path, *, file_name: str = SERVICE_ACCOUNT_FILE_NAME
) -> KeyFile:
    """Load and check a Google service-account key file (JSON).

    The file must be a JSON object with ``type`` equal to
    ``service_account``, a non-empty ``client_email``, and a ``private_key``
    that loads as an unencrypted PEM private key.

    Raises:
        KeyFileError: The file is unreadable, not JSON, or lacks one of those
            fields or values.
    """
    data = _read_file(path)
    document = _parse_json_object(path, data)
    private_key = document.get("private_key")
    if isinstance(private_key, str):
        register_secret(private_key)

    _check_service_account_type(path, document.get("type"))
    client_email = document.get("client_email")
    if not isinstance(client_email, str) or not client_email.strip():
        _fail(path, "has no client_email; download the service account's key again")
    _check_embedded_private_key(path, private_key)

    return KeyFile(
        file_name=file_name,
        content=SecretBytes(data),
        file_type=KeyFileType.SERVICE_ACCOUNT_JSON,
        source=path,
        summary=f"service account {client_email}",
    )


def _parse_json_object(path: Path, data: bytes) -> dict[str, Any]:
    try:
        # utf-8-sig also reads files that an editor saved with a BOM.
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        _fail(path, "is not UTF-8 text; give the JSON key file")
    except json.JSONDecodeError as exc:
        # The decoder's message names the position only, never the content.
        _fail(
            path,
            f"is not valid JSON ({exc.msg}: line {exc.lineno}, column "
            f"{exc.colno}); download the key file again",
        )
    if not isinstance(document, dict):
        _fail(path, "is JSON but not an object; give a service account key file")
    return document


def _check_service_account_type(path: Path, value: object) -> None:
    if value == "service_account":
        return
    if value is None:
        _fail(
            path,
            "has no 'type' field; give a service account key file, whose type "
            "is 'service_account'",
        )
    shown = repr(value) if isinstance(value, str) and len(value) <= 40 else "another"
    _fail(
        path,
        f"has type {shown}, not 'service_account'; create a key for a service "
        "account in the Google Cloud console",
    )


def _check_embedded_private_key(path: Path, private_key: object) -> None:
    if not isinstance(private_key, str) or not private_key.strip():
        _fail(path, "has no private_key; download the service account's key again")
    try:
        serialization.load_pem_private_key(private_key.encode("utf-8"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        _fail(
            path,
            "has a private_key that is not a valid unencrypted PEM private "
            "key; download the service account's key again",
        )


def load_file_unchecked(path: Path, *, file_name: str | None = None) -> KeyFile:
    """Load a file as it is, checking only that it is readable and not empty.

    This serves file properties whose expected content is unknown, such as
    those that the api-specs of a raw data source id declare.

    Raises:
        KeyFileError: The file is missing, unreadable, empty or too large.
    """
    data = _read_file(path)
    return KeyFile(
        file_name=file_name or path.name,
        content=SecretBytes(data),
        file_type=KeyFileType.UNCHECKED,
        source=path,
        summary=f"file of {len(data)} bytes, content not checked",
    )


def _read_file(path: Path) -> bytes:
    # Opening a named pipe or a device would block or read forever.
    if path.exists() and not path.is_dir() and not path.is_file():
        _fail(path, "is not a regular file; give the path of the key file")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        _fail(path, "not found; check the path")
    except IsADirectoryError:
        _fail(path, "is a directory; give the path of the key file")
    except PermissionError:
        _fail(path, "cannot be read (permission denied); check its permissions")
    except OSError as exc:
        _fail(path, f"cannot be read ({exc.strerror})")

    if not data:
        _fail(path, "is empty; give the key file")
    if len(data) > MAX_KEY_FILE_BYTES:
        _fail(
            path,
            f"is larger than {MAX_KEY_FILE_BYTES} bytes, too large for a key "
            "file; check the path",
        )
    return data


def _fail(path: Path, problem: str) -> NoReturn:
    raise KeyFileError(f"key file {path} {problem}")
