"""Tenant options shared by every command that talks to a tenant."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from qtc_connections.cli.output import prompt_secret
from qtc_connections.client import QlikClient
from qtc_connections.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def tenant_options(func: F) -> F:
    """Add the flags that select the tenant and the way to authenticate.

    Secrets are references only: ``--token env:NAME`` or ``file:PATH``.
    """
    options = [
        click.option(
            "--hostname",
            metavar="HOST",
            help="Tenant host, such as acme.eu.qlikcloud.com [env QTC_HOSTNAME].",
        ),
        click.option(
            "--token",
            metavar="REF",
            help="API key as a reference: env:NAME, file:PATH or - [env QTC_TOKEN: the key, or env:NAME or file:PATH].",
        ),
        click.option(
            "--client-id",
            metavar="ID",
            help="OAuth machine-to-machine client id [env QTC_CLIENT_ID].",
        ),
        click.option(
            "--client-secret",
            metavar="REF",
            help="OAuth client secret as a reference [env QTC_CLIENT_SECRET].",
        ),
        click.option(
            "--profile",
            metavar="NAME",
            help="Profile in the profile file [env QTC_PROFILE].",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=30.0,
            show_default=True,
            help="Seconds to wait for each response.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@dataclass
class TenantContext:
    """Settings and a lazily built client for one command run."""

    flags: dict[str, str | None]
    profile: str | None
    timeout: float
    _settings: Settings | None = field(default=None, init=False)
    _client: QlikClient | None = field(default=None, init=False)

    @classmethod
    def from_options(
        cls, options: dict[str, Any], **extra_flags: str | None
    ) -> TenantContext:
        """Take the tenant options out of a command's keyword arguments."""
        flags = {
            "hostname": options.pop("hostname", None),
            "token": options.pop("token", None),
            "client_id": options.pop("client_id", None),
            "client_secret": options.pop("client_secret", None),
        }
        flags.update(extra_flags)
        return cls(
            flags=flags,
            profile=options.pop("profile", None),
            timeout=options.pop("timeout", 30.0),
        )

    @property
    def settings(self) -> Settings:
        """Resolve settings once; a secret read from stdin is read only once."""
        if self._settings is None:
            self._settings = load_settings(
                flags=self.flags,
                profile=self.profile,
                read_stdin=_read_stdin,
                prompt=prompt_secret,
            )
        return self._settings

    @property
    def client(self) -> QlikClient:
        """Build the client on first use and close it when the command ends."""
        if self._client is None:
            self._client = self.settings.client(timeout=self.timeout)
            click.get_current_context().call_on_close(self._client.close)
        return self._client


def _read_stdin() -> str:
    return sys.stdin.read()
