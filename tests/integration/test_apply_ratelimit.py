"""Apply of a few hundred connections under the tenant's write limit.

A separate emulator counts writes over a 2-second sliding window, so the
limit is reached in seconds rather than minutes. The write budget is set
to 90 % of that rate, as the default of 90 a minute is to the tenant's 100.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apply_support import Secrets, SyncRun, manifest_of, mysql_source, statuses
from cli_support import canary

from qtc_connections.auth import ApiKeyAuth
from qtc_connections.client import QlikClient
from qtc_connections.emulator import EmulatorConfig, EmulatorServer, RateLimits
from qtc_connections.manifest.model import Manifest
from qtc_connections.retry import RetryPolicy
from qtc_connections.secrets import Secret
from qtc_connections.sync.budget import WriteBudget
from qtc_connections.tenant import Tenant

CONNECTION_COUNT = 300
WINDOW_SECONDS = 2.0
# 100 writes in any 2-second window, the tenant's 100 a minute sped up 30 times.
WRITES_PER_MINUTE = 3000
BUDGET_PER_MINUTE = WRITES_PER_MINUTE * 0.9
# Reads are not what this test is about, so their limit is out of reach.
READS_PER_MINUTE = 6_000_000


@pytest.fixture
def limited_server() -> Iterator[EmulatorServer]:
    config = EmulatorConfig.default(
        api_key=canary("limited-key"),
        rate_limits=RateLimits(
            read_per_minute=READS_PER_MINUTE,
            write_per_minute=WRITES_PER_MINUTE,
            window_seconds=WINDOW_SECONDS,
        ),
    )
    with EmulatorServer(config) as server:
        yield server


def client_for(server: EmulatorServer, retry: RetryPolicy) -> QlikClient:
    tenant = Tenant.parse(server.url)
    key = Secret(server.config.admin.api_keys[0])
    return QlikClient(tenant, ApiKeyAuth(tenant, key), retry=retry)


def many_sources(count: int) -> Manifest:
    return manifest_of(*(mysql_source(f"SRC_{index:04d}") for index in range(count)))


def rate_limited(server: EmulatorServer) -> int:
    return sum(1 for entry in server.emulator.requests() if entry.status == 429)


@pytest.mark.timeout(120)
def test_budget_avoids_rate_limit(
    limited_server: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    Secrets(monkeypatch).set_defaults()
    with client_for(limited_server, RetryPolicy()) as client:
        run = SyncRun(client, tmp_path)

        _, result = run.apply(
            many_sources(CONNECTION_COUNT), budget=WriteBudget(BUDGET_PER_MINUTE)
        )

    assert set(statuses(result).values()) == {"created"}
    assert len(result.outcomes) == CONNECTION_COUNT
    assert rate_limited(limited_server) == 0


@pytest.mark.timeout(120)
def test_unbudgeted_apply_hits_limit(
    limited_server: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # The control case: without a budget the same emulator does respond with 429,
    # so the test above can fail.
    Secrets(monkeypatch).set_defaults()
    no_retry = RetryPolicy(max_attempts=1)
    with client_for(limited_server, no_retry) as client:
        run = SyncRun(client, tmp_path)

        run.apply(many_sources(CONNECTION_COUNT // 2), concurrency=8)

    assert rate_limited(limited_server) > 0
