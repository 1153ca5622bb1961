import httpx
import pytest

from qtc_connections.errors import ConfigError
from qtc_connections.tenant import Tenant, is_loopback


@pytest.mark.parametrize(
    ("given", "base_url"),
    [
        ("acme.eu.qlikcloud.com", "https://acme.eu.qlikcloud.com"),
        ("https://acme.eu.qlikcloud.com", "https://acme.eu.qlikcloud.com"),
        ("https://acme.eu.qlikcloud.com/", "https://acme.eu.qlikcloud.com"),
        ("  ACME.eu.qlikcloud.com  ", "https://acme.eu.qlikcloud.com"),
        ("acme.eu.qlikcloud.com:8443", "https://acme.eu.qlikcloud.com:8443"),
        ("https://acme.eu.qlikcloud.com:443", "https://acme.eu.qlikcloud.com"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("http://localhost:8123", "http://localhost:8123"),
        ("http://[::1]:8123", "http://[::1]:8123"),
    ],
)
def test_parse_accepts_hostnames(given, base_url):
    assert Tenant.parse(given).base_url == base_url


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("acme.eu.qlikcloud.com/api/v1", "must not have a path"),
        ("https://acme.eu.qlikcloud.com/hub", "must not have a path"),
        ("acme.eu.qlikcloud.com?x=1", "query"),
        ("http://acme.eu.qlikcloud.com", "plain http is allowed only"),
        ("http://10.0.0.5", "plain http is allowed only"),
        ("ftp://acme.eu.qlikcloud.com", "scheme 'ftp'"),
        ("https://user:pw@acme.eu.qlikcloud.com", "user info"),
    ],
)
def test_parse_rejects_bad_hostnames(given, fragment):
    with pytest.raises(ConfigError) as caught:
        Tenant.parse(given)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_parse_error_does_not_leak_userinfo_password():
    with pytest.raises(ConfigError) as caught:
        Tenant.parse("https://user:pw-canary-9@acme.eu.qlikcloud.com")
    assert "pw-canary-9" not in str(caught.value)
    assert "remove the user info" in str(caught.value)


def test_owns_matches_origin_only():
    tenant = Tenant.parse("acme.eu.qlikcloud.com")
    assert tenant.owns(httpx.URL("https://acme.eu.qlikcloud.com/api/v1/spaces"))
    assert tenant.owns(httpx.URL("https://ACME.eu.qlikcloud.com:443/x"))
    assert not tenant.owns(httpx.URL("http://acme.eu.qlikcloud.com/x"))
    assert not tenant.owns(httpx.URL("https://orchestration.eu.qlikcloud.com/x"))
    assert not tenant.owns(httpx.URL("https://acme.eu.qlikcloud.com:8443/x"))


def test_hostname_property_drops_scheme():
    assert Tenant.parse("http://127.0.0.1:9000").hostname == "127.0.0.1:9000"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("example.com", False),
        ("0.0.0.0", False),
    ],
)
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected
