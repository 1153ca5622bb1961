"""Settings for a run: the tenant, credentials, space and gateway.

Each setting is taken from the first place that has it:

1. a command-line flag,
2. an environment variable (``QTC_HOSTNAME``, ``QTC_TOKEN``,
   ``QTC_CLIENT_ID``, ``QTC_CLIENT_SECRET``, ``QTC_SPACE_ID``,
   ``QTC_GATEWAY_ID``), named after the Postman variables; ``QTC_TOKEN`` and
   ``QTC_CLIENT_SECRET`` hold the value, or a reference ``env:NAME`` or
   ``file:PATH``,
3. a profile in the profile file (``profiles.toml`` in the user config
   directory, or the file ``QTC_CONFIG`` names), chosen by ``--profile``,
   ``QTC_PROFILE``, or else the profile called ``default``.

A profile file holds secrets only as references (``env:NAME`` or
``file:PATH``), never as values::

    [profiles.prod]
    hostname = "acme.eu.qlikcloud.com"
    token = "env:QTC_PROD_TOKEN"
    space = "Data Integration"
    gateway_id = "..."
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from qtc_connections.auth import ApiKeyAuth, OAuthClientCredentials
from qtc_connections.client import QlikClient
from qtc_connections.errors import ConfigError, SecretReferenceError
from qtc_connections.retry import RetryPolicy
from qtc_connections.secrets import Secret, SecretReference
from qtc_connections.tenant import Tenant

__all__ = ["PROFILE_KEYS", "Settings", "default_profile_path", "load_settings"]

PROFILE_KEYS = frozenset(
    {"hostname", "token", "client_id", "client_secret", "scope", "space", "gateway_id"}
)

# A secret variable whose value starts with one of these is a reference.
_REFERENCE_PREFIXES = ("env:", "file:")

_ENVIRONMENT = {
    "hostname": "QTC_HOSTNAME",
    "client_id": "QTC_CLIENT_ID",
    "scope": "QTC_SCOPE",
    "space": "QTC_SPACE_ID",
    "gateway_id": "QTC_GATEWAY_ID",
}


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one run. Secrets are ``Secret`` values.

    ``sources`` maps each setting that has a value to where it came from
    (``flag``, ``environment``, ``profile NAME``), for ``qtc doctor``.
    """

    hostname: str | None = None
    token: Secret | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    scope: str | None = None
    space: str | None = None
    gateway_id: str | None = None
    profile: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    def tenant(self) -> Tenant:
        """Return the tenant address.

        Raises:
            ConfigError: no hostname is set, or it is invalid.
        """
        if not self.hostname:
            raise ConfigError(
                "no tenant hostname; set QTC_HOSTNAME, pass --hostname, or add "
                "hostname to a profile"
            )
        return Tenant.parse(self.hostname)

    def client(
        self, *, retry: RetryPolicy | None = None, timeout: float = 30.0
    ) -> QlikClient:
        """Build a client for the tenant with the configured credentials.

        An API key wins over OAuth client credentials when both are set.

        Raises:
            ConfigError: no hostname, or no credentials at all, or only
                half of an OAuth client.
        """
        tenant = self.tenant()
        auth: ApiKeyAuth | OAuthClientCredentials
        if self.token is not None:
            auth = ApiKeyAuth(tenant, self.token)
        elif self.client_id and self.client_secret is not None:
            auth = OAuthClientCredentials(
                tenant, self.client_id, self.client_secret, scope=self.scope
            )
        elif self.client_id or self.client_secret is not None:
            missing = "QTC_CLIENT_SECRET" if self.client_id else "QTC_CLIENT_ID"
            raise ConfigError(f"OAuth client credentials are incomplete; set {missing}")
        else:
            raise ConfigError(
                "no credentials; set QTC_TOKEN to an API key, or QTC_CLIENT_ID and "
                "QTC_CLIENT_SECRET for an OAuth machine-to-machine client"
            )
        return QlikClient(tenant, auth, retry=retry, timeout=timeout)


def default_profile_path() -> Path:
    """Return the profile file: ``QTC_CONFIG`` if set, else the user config dir's."""
    override = os.environ.get("QTC_CONFIG")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir("qtc")) / "profiles.toml"


def load_settings(
    *,
    flags: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
    profile: str | None = None,
    profile_path: Path | None = None,
    read_stdin: Callable[[], str] | None = None,
    prompt: Callable[[str], str] | None = None,
) -> Settings:
    """Merge flags, environment and profile into ``Settings``.

    ``flags`` holds raw flag values; ``token`` and ``client_secret`` there
    must be references. ``environ`` defaults to ``os.environ``.

    Raises:
        ConfigError: the profile file is malformed, or the named profile
            does not exist.
        SecretReferenceError: a secret is a literal, or its reference
            cannot be read.
    """
    given = {k: v for k, v in (flags or {}).items() if v}
    environ = os.environ if environ is None else environ
    profile_name = profile or environ.get("QTC_PROFILE") or None
    profile_values, profile_label = _load_profile(
        profile_path or default_profile_path(), profile_name
    )
    layers = _Layers(given, environ, profile_values, profile_label)

    def secret(key: str, variable: str) -> Secret | None:
        return layers.secret(key, variable, read_stdin=read_stdin, prompt=prompt)

    return Settings(
        hostname=layers.value("hostname"),
        token=secret("token", "QTC_TOKEN"),
        client_id=layers.value("client_id"),
        client_secret=secret("client_secret", "QTC_CLIENT_SECRET"),
        scope=layers.value("scope"),
        space=layers.value("space"),
        gateway_id=layers.value("gateway_id"),
        profile=profile_label,
        sources=layers.sources,
    )


@dataclass
class _Layers:
    """Flags over environment over profile, recording where each value came from."""

    flags: Mapping[str, str]
    environ: Mapping[str, str]
    profile_values: Mapping[str, str]
    profile_label: str | None
    sources: dict[str, str] = field(default_factory=dict)

    def value(self, key: str) -> str | None:
        if self.flags.get(key):
            self.sources[key] = "flag"
            return self.flags[key]
        env_value = self.environ.get(_ENVIRONMENT[key])
        if env_value:
            self.sources[key] = "environment"
            return env_value
        if self.profile_values.get(key):
            self.sources[key] = f"profile {self.profile_label}"
            return self.profile_values[key]
        return None

    def secret(
        self,
        key: str,
        variable: str,
        *,
        read_stdin: Callable[[], str] | None,
        prompt: Callable[[str], str] | None,
    ) -> Secret | None:
        if self.flags.get(key):
            self.sources[key] = "flag"
            flag = f"--{key.replace('_', '-')}"
            reference = SecretReference.parse(self.flags[key], name=flag)
            return reference.resolve(
                stdin=read_stdin, prompt=prompt, environ=self.environ
            )

        env_value = self.environ.get(variable)
        if env_value and env_value.startswith(_REFERENCE_PREFIXES):
            # QTC_TOKEN=file:PATH keeps the key itself out of the environment.
            self.sources[key] = "environment"
            reference = SecretReference.parse(env_value, name=variable)
            return reference.resolve(
                stdin=read_stdin, prompt=prompt, environ=self.environ
            )
        if env_value:
            # Otherwise the environment variable contains the value itself.
            self.sources[key] = "environment"
            return Secret(env_value)

        if self.profile_values.get(key):
            self.sources[key] = f"profile {self.profile_label}"
            try:
                reference = SecretReference.parse(self.profile_values[key], name=key)
            except SecretReferenceError:
                raise SecretReferenceError(
                    f"profile {self.profile_label}: {key} must be a reference such "
                    "as env:NAME or file:PATH, never the value itself"
                ) from None
            return reference.resolve(
                stdin=read_stdin, prompt=prompt, environ=self.environ
            )
        return None


def _load_profile(path: Path, name: str | None) -> tuple[dict[str, str], str | None]:
    if not path.exists():
        if name:
            raise ConfigError(
                f"profile {name!r} not found: the profile file {path} does not exist"
            )
        return {}, None

    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the profile file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML in the profile file {path}: {exc}") from exc

    profiles = document.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"{path}: 'profiles' must be a table of named profiles")
    chosen = name or "default"
    if chosen not in profiles:
        if name is None:
            return {}, None
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(
            f"profile {name!r} not found in {path}; known profiles: {known}"
        )
    return _check_profile(path, chosen, profiles[chosen]), chosen


def _check_profile(path: Path, name: str, table: object) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: profile {name!r} must be a table")
    unknown = sorted(set(table) - PROFILE_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: profile {name!r} has unknown keys {', '.join(unknown)}; "
            f"known keys: {', '.join(sorted(PROFILE_KEYS))}"
        )
    values: dict[str, str] = {}
    for key, value in table.items():
        if not isinstance(value, str):
            raise ConfigError(f"{path}: profile {name!r}: {key} must be a string")
        values[key] = value
    return values
