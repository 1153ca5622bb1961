"""Shared fixtures."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

# The OpenAPI contract gate: every emulator exchange of the session is
# recorded and checked against Qlik's published specs at the end.
pytest_plugins = ("contract.plugin",)

# Key material: real keys made with cryptography, written as files.

KEY_PASSPHRASE = "CANARY-pass-7f3e91"
SERVICE_ACCOUNT_EMAIL = "loader@example-project.iam.gserviceaccount.com"


@dataclass(frozen=True)
class KeyFilePaths:
    """Paths of key files in one test's tmp_path, valid and broken."""

    encrypted_pkcs8: Path
    plain_pkcs8: Path
    traditional: Path
    traditional_encrypted: Path
    ec_key: Path
    truncated: Path
    not_a_key: Path
    public_key: Path
    empty: Path


@pytest.fixture(scope="session")
def rsa_private_key() -> rsa.RSAPrivateKey:
    # One 2048-bit key per session, because generating RSA keys is slow.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ec_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def pem_bytes(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    *,
    private_format: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8,
    passphrase: str | None = None,
) -> bytes:
    """Serialize ``key`` as PEM, encrypted when a passphrase is given."""
    encryption: serialization.KeySerializationEncryption
    if passphrase is None:
        encryption = serialization.NoEncryption()
    else:
        encryption = serialization.BestAvailableEncryption(passphrase.encode())
    return key.private_bytes(serialization.Encoding.PEM, private_format, encryption)


@pytest.fixture
def key_files(
    tmp_path: Path,
    rsa_private_key: rsa.RSAPrivateKey,
    ec_private_key: ec.EllipticCurvePrivateKey,
) -> KeyFilePaths:
    traditional = serialization.PrivateFormat.TraditionalOpenSSL
    encrypted = pem_bytes(rsa_private_key, passphrase=KEY_PASSPHRASE)
    public = rsa_private_key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    contents = {
        "encrypted_pkcs8": encrypted,
        "plain_pkcs8": pem_bytes(rsa_private_key),
        "traditional": pem_bytes(rsa_private_key, private_format=traditional),
        "traditional_encrypted": pem_bytes(
            rsa_private_key, private_format=traditional, passphrase=KEY_PASSPHRASE
        ),
        "ec_key": pem_bytes(ec_private_key),
        "truncated": encrypted[: len(encrypted) // 2],
        "not_a_key": b"server=db.example.com\nport=3306\n",
        "public_key": public,
        "empty": b"",
    }
    paths = {}
    for name, content in contents.items():
        path = tmp_path / f"{name}.pem"
        path.write_bytes(content)
        paths[name] = path
    return KeyFilePaths(**paths)


@pytest.fixture
def key_passphrase() -> str:
    """Passphrase of the encrypted files in ``key_files``, also a canary."""
    return KEY_PASSPHRASE


@pytest.fixture
def service_account_fields(rsa_private_key: rsa.RSAPrivateKey) -> dict[str, str]:
    """A service-account key document with the fields Google writes."""
    return {
        "type": "service_account",
        "project_id": "example-project",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": pem_bytes(rsa_private_key).decode(),
        "client_email": SERVICE_ACCOUNT_EMAIL,
        "client_id": "123456789012345678901",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


@pytest.fixture
def service_account_file(
    tmp_path: Path, service_account_fields: dict[str, str]
) -> Path:
    path = tmp_path / "my-service-account.json"
    path.write_text(json.dumps(service_account_fields, indent=2))
    return path
