"""Keyed fingerprints of secrets, so that a plan can tell whether one changed.

The tenant never returns a secret, so the only way to know whether a
password or key file in the manifest differs from what was last sent is to
remember something about the value sent. The state file keeps an
HMAC-SHA256 of each value under a per-user key that lives outside the
state. Without that key a fingerprint cannot be used to test guesses of
the value, so a leaked state file alone reveals nothing.

The key is 32 random bytes. In CI, where each runner starts empty, give it
as ``QTC_FINGERPRINT_KEY`` (64 hexadecimal characters, from the CI's secret
store), so that every run uses the same key. Otherwise it is kept in a file
readable by its owner only: the file that ``QTC_FINGERPRINT_KEY_FILE``
names, else ``fingerprint.key`` in ``platformdirs.user_data_dir("qtc")``,
created on first use.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import secrets
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from qtc_connections.errors import ConfigError
from qtc_connections.keyfiles import KeyFile
from qtc_connections.secrets import Secret

__all__ = [
    "FINGERPRINT_KEY_ENV_VAR",
    "FINGERPRINT_PREFIX",
    "KEY_BYTES",
    "Fingerprinter",
    "default_key_path",
    "fingerprints_equal",
    "load_or_create_key",
]

FINGERPRINT_KEY_ENV_VAR = "QTC_FINGERPRINT_KEY_FILE"
KEY_BYTES = 32
FINGERPRINT_PREFIX = "hmac-sha256:"

# Separates fingerprints of this scheme from any other use of the same key.
_DOMAIN = b"qtc-connections secret fingerprint v1"


FINGERPRINT_KEY_VALUE_ENV_VAR = "QTC_FINGERPRINT_KEY"


def _key_from_hex(text: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        # The value is a secret, so the message does not repeat it.
        raise ConfigError(
            f"{FINGERPRINT_KEY_VALUE_ENV_VAR} must be {KEY_BYTES * 2} hexadecimal "
            "characters; make one with: python3 -c 'import secrets; print(secrets.token_hex(32))'"
        )
    return key


def default_key_path(environ: Mapping[str, str] | None = None) -> Path:
    """Return the key file: ``QTC_FINGERPRINT_KEY_FILE``, else the user data dir's."""
    environ = os.environ if environ is None else environ
    override = environ.get(FINGERPRINT_KEY_ENV_VAR)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("qtc")) / "fingerprint.key"


def load_or_create_key(path: Path) -> bytes:
    """Return the key in ``path``, creating the file with a new key if missing.

    A new file is created with mode 0600 and exclusive creation, so two runs
    that start at once agree on one key.

    Raises:
        ConfigError: the file cannot be read or written, does not hold
            exactly 32 bytes, or can be read by other users.
    """
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass

    key = secrets.token_bytes(KEY_BYTES)
    try:
        _create_key_file(path, key)
    except FileExistsError:
        # Another run created it between the read and the create.
        return _read_key(path)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the fingerprint key file {path} ({exc.strerror}); "
            f"set {FINGERPRINT_KEY_ENV_VAR} to a writable path"
        ) from exc
    return key


def _read_key(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            data = handle.read(KEY_BYTES + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(
            f"cannot read the fingerprint key file {path} ({exc.strerror}); "
            f"set {FINGERPRINT_KEY_ENV_VAR} to a readable path"
        ) from exc

    if sys.platform != "win32" and stat.S_IMODE(mode) & 0o077:
        raise ConfigError(
            f"the fingerprint key file {path} can be read by other users; "
            f"restrict it with 'chmod 600 {path}'"
        )
    if len(data) != KEY_BYTES:
        raise ConfigError(
            f"the fingerprint key file {path} contains {len(data)} bytes, not "
            f"{KEY_BYTES}; delete it to make a new key (every secret then "
            "counts as unknown once)"
        )
    return data


def _create_key_file(path: Path, key: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        written = os.write(descriptor, key)
        if written != len(key):
            raise OSError(errno.EIO, "short write")
        os.fsync(descriptor)
    except OSError:
        os.close(descriptor)
        path.unlink(missing_ok=True)
        raise
    os.close(descriptor)


@dataclass(frozen=True)
class Fingerprinter:
    """Computes fingerprints of secret values with one key.

    Each fingerprint binds the value to its context (space id, connection
    name and property), so equal passwords on two connections give unequal
    fingerprints and the state file does not show that they are shared.
    """

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise ValueError(f"a fingerprint key has {KEY_BYTES} bytes")

    @classmethod
    def from_key_file(cls, path: Path | None = None) -> Fingerprinter:
        """Load the key (creating it if needed) from ``path`` or the default path.

        ``QTC_FINGERPRINT_KEY``, when set, wins over any file.

        Raises:
            ConfigError: as ``load_or_create_key``, or the variable is not
                64 hexadecimal characters.
        """
        if path is None:
            from_environment = os.environ.get(FINGERPRINT_KEY_VALUE_ENV_VAR)
            if from_environment:
                return cls(_key_from_hex(from_environment))
        return cls(load_or_create_key(path or default_key_path()))

    def secret(self, value: Secret, context: Sequence[str]) -> str:
        """Return the fingerprint of a secret string's revealed value."""
        return self._digest(b"secret", context, [value.reveal().encode("utf-8")])

    def key_file(self, value: KeyFile, context: Sequence[str]) -> str:
        """Return the fingerprint of a key file: its bytes and the name sent.

        The name is part of the property value sent, so renaming the file
        counts as a change too.
        """
        parts = [value.file_name.encode("utf-8"), value.content.reveal()]
        return self._digest(b"file", context, parts)

    def _digest(self, kind: bytes, context: Sequence[str], values: list[bytes]) -> str:
        mac = hmac.new(self.key, digestmod=hashlib.sha256)
        for part in [_DOMAIN, kind, *(c.encode("utf-8") for c in context), *values]:
            # A length prefix keeps ("ab", "c") and ("a", "bc") apart.
            mac.update(len(part).to_bytes(8, "big"))
            mac.update(part)
        return FINGERPRINT_PREFIX + mac.hexdigest()


def fingerprints_equal(left: str | None, right: str | None) -> bool:
    """Return whether two fingerprints are present and equal, in constant time."""
    if left is None or right is None:
        return False
    return hmac.compare_digest(left.encode("utf-8"), right.encode("utf-8"))
