"""The tenant address: which origin requests go to, and where a token may go."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import httpx

from qtc_connections.errors import ConfigError

_LOOPBACK_NAMES = frozenset({"localhost"})


@dataclass(frozen=True)
class Tenant:
    """The origin of one Qlik Cloud tenant, such as ``https://acme.eu.qlikcloud.com``.

    Build it with ``Tenant.parse``. ``base_url`` never ends with a slash.
    """

    scheme: str
    host: str
    port: int | None

    @classmethod
    def parse(cls, hostname: str) -> Tenant:
        """Parse a tenant hostname given with or without a scheme.

        ``acme.eu.qlikcloud.com`` (the form Postman's ``hostname`` variable
        holds) means ``https://acme.eu.qlikcloud.com``. Plain ``http`` is
        accepted only for a loopback host, which is how the local emulator
        is reached.

        Raises:
            ConfigError: the value is empty, has a path, query, fragment or
                user info, uses a scheme other than https, or uses http for
                a host that is not loopback.
        """
        text = hostname.strip()
        if not text:
            raise ConfigError(
                "the tenant hostname is empty; set QTC_HOSTNAME or pass --hostname"
            )
        if "://" not in text:
            if text.count(":") > 1 and not text.startswith("["):
                raise ConfigError(
                    f"invalid tenant hostname {hostname!r}: write an IPv6 address in "
                    "brackets, such as http://[::1]:8080"
                )
            text = f"https://{text}"

        try:
            url = httpx.URL(text)
        except httpx.InvalidURL as exc:
            raise ConfigError(f"invalid tenant hostname {hostname!r}: {exc}") from exc

        _check_url_parts(hostname, url)
        port = url.port
        if (url.scheme, port) in {("https", 443), ("http", 80)}:
            port = None
        return cls(scheme=url.scheme, host=url.host, port=port)

    @property
    def base_url(self) -> str:
        """The origin, for example ``https://acme.eu.qlikcloud.com``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port is None:
            return f"{self.scheme}://{host}"
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def hostname(self) -> str:
        """The host, and the port if not the default: Postman's ``hostname``."""
        return self.base_url.split("://", 1)[1]

    def owns(self, url: httpx.URL) -> bool:
        """Return whether ``url`` is on this tenant's origin.

        Bearer tokens are attached only to such URLs, so a redirect or a
        ``links.next`` pointing elsewhere never receives the token.
        """
        port = url.port
        if (url.scheme, port) in {("https", 443), ("http", 80)}:
            port = None
        return (
            url.scheme == self.scheme
            and url.host.lower() == self.host.lower()
            and port == self.port
        )


def _check_url_parts(original: str, url: httpx.URL) -> None:
    if url.scheme not in {"https", "http"}:
        raise ConfigError(
            f"invalid tenant hostname {original!r}: scheme {url.scheme!r} "
            "is not supported; use https"
        )
    if not url.host:
        raise ConfigError(f"invalid tenant hostname {original!r}: no host name")
    if url.userinfo:
        # The user info may hold a password, so the value is not echoed.
        raise ConfigError(
            f"invalid tenant hostname for host {url.host!r}: remove the user "
            "info before '@'; credentials go in QTC_TOKEN or a profile"
        )
    if url.raw_path not in {b"", b"/"} or url.query or url.fragment:
        raise ConfigError(
            f"invalid tenant hostname {original!r}: it must not have a path, "
            f"query or fragment; use just the host, such as "
            f"{url.host!r}"
        )
    if not _valid_host(url.host):
        raise ConfigError(
            f"invalid tenant hostname {original!r}: {url.host!r} is not a valid "
            "host name; use the tenant host, such as acme.eu.qlikcloud.com"
        )
    if url.port is not None and not 0 < url.port < 65536:
        raise ConfigError(
            f"invalid tenant hostname {original!r}: port {url.port} is outside 1 to 65535"
        )
    if url.scheme == "http" and not is_loopback(url.host):
        raise ConfigError(
            f"invalid tenant hostname {original!r}: plain http is allowed only "
            "for loopback hosts; use https"
        )


# One DNS label: letters, digits and hyphens, not starting or ending with a
# hyphen, at most 63 characters (RFC 1123).
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return len(ascii_host) <= 253 and all(_LABEL.match(label) for label in labels)


def is_loopback(host: str) -> bool:
    """Return whether ``host`` names this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
