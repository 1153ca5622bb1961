"""Rate limits, injected faults, the request journal and the control API."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from emulator_helpers import (
    ADMIN_KEY,
    MEMBER_KEY,
    client_for,
    create_body,
    make_config,
    mysql_properties,
    unique,
)

from qtc_connections.emulator import EmulatorServer, FaultRule, RateLimits

CANARY = "CANARY-fault-password-7e7e"

# 3 reads and 2 writes per user in any one-second window.
TIGHT_LIMITS = RateLimits(read_per_minute=180, write_per_minute=120, window_seconds=1)


@pytest.fixture(scope="module")
def limited() -> Iterator[EmulatorServer]:
    with EmulatorServer(make_config(rate_limits=TIGHT_LIMITS)) as running:
        yield running


@pytest.fixture(scope="module")
def faulty() -> Iterator[EmulatorServer]:
    with EmulatorServer(make_config()) as running:
        yield running


@pytest.fixture
def fault_admin(faulty: EmulatorServer) -> Iterator[httpx.Client]:
    faulty.emulator.reset()
    with client_for(faulty, ADMIN_KEY) as client:
        yield client


def _add(client: httpx.Client, **rule: object) -> None:
    response = client.post("/_emulator/faults", json=rule)
    assert response.status_code == 201, response.text


def _journal(client: httpx.Client) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = client.get("/_emulator/requests").json()[
        "requests"
    ]
    return entries


# Rate limits


def test_reads_limited_after_capacity(limited):
    limited.emulator.limiter.reset()
    with client_for(limited, ADMIN_KEY) as client:
        allowed = [client.get("/api/v1/spaces").status_code for _ in range(3)]
        rejected = client.get("/api/v1/spaces")

    assert allowed == [200, 200, 200]
    assert rejected.status_code == 429
    assert rejected.headers["retry-after"] == "1"
    error = rejected.json()["errors"][0]
    assert error["code"] == "HTTP-429"
    assert error["title"] == "API rate limit reached."


def test_writes_have_their_own_tier(limited):
    limited.emulator.limiter.reset()
    with client_for(limited, ADMIN_KEY) as client:
        for _ in range(3):
            client.get("/api/v1/spaces")
        writes = [
            client.delete("/api/v1/data-connections/x").status_code for _ in range(2)
        ]
        third = client.delete("/api/v1/data-connections/x")

    assert writes == [404, 404]
    assert third.status_code == 429


def test_limit_is_per_user(limited):
    limited.emulator.limiter.reset()
    with (
        client_for(limited, ADMIN_KEY) as admin,
        client_for(limited, MEMBER_KEY) as member,
    ):
        for _ in range(4):
            admin.get("/api/v1/spaces")
        response = member.get("/api/v1/spaces")

    assert response.status_code == 200


def test_limit_lifts_after_retry_after(limited):
    limited.emulator.limiter.reset()
    with client_for(limited, ADMIN_KEY) as client:
        for _ in range(3):
            client.get("/api/v1/spaces")
        rejected = client.get("/api/v1/spaces")
        time.sleep(int(rejected.headers["retry-after"]) + 0.05)
        response = client.get("/api/v1/spaces")

    assert rejected.status_code == 429
    assert response.status_code == 200


def test_token_endpoint_is_tier_two(limited):
    limited.emulator.limiter.reset()
    fields = {
        "grant_type": "client_credentials",
        "client_id": "c",
        "client_secret": "s",
    }
    with client_for(limited, None) as client:
        statuses = [
            client.post("/oauth/token", json=fields).status_code for _ in range(3)
        ]

    assert statuses == [401, 401, 429]


# Faults


def test_latency_delays_response(fault_admin):
    _add(fault_admin, kind="latency", seconds=0.3, path="/api/v1/spaces")

    started = time.monotonic()
    response = fault_admin.get("/api/v1/spaces")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert elapsed >= 0.3


def test_status_fault_uses_api_error_shape(fault_admin):
    _add(fault_admin, kind="status", status=503, path="/api/v1/data-connections")

    failed = fault_admin.get("/api/v1/data-connections")
    after = fault_admin.get("/api/v1/data-connections")

    assert failed.status_code == 503
    assert failed.json()["errors"][0]["status"] == 503
    assert after.status_code == 200


def test_status_fault_429_sets_retry_after(fault_admin):
    _add(fault_admin, kind="status", status=429, retry_after=7, path="/api/v1/spaces")

    response = fault_admin.get("/api/v1/spaces")

    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["errors"][0]["code"] == "HTTP-429"


def test_drop_closes_without_response(fault_admin):
    _add(fault_admin, kind="drop", path="/api/v1/spaces")

    with pytest.raises(httpx.RemoteProtocolError):
        fault_admin.get("/api/v1/spaces")

    entry = _journal(fault_admin)[-1]
    assert entry["status"] is None
    assert entry["fault"] == "drop"


def test_drop_happens_before_handling(fault_admin, config):
    name = unique("dropped")
    body = create_body(config.space("Data Integration").space_id, name)
    _add(fault_admin, kind="drop", method="POST", path="/api/v1/data-connections")

    with pytest.raises(httpx.RemoteProtocolError):
        fault_admin.post("/api/v1/data-connections", json=body)

    listed = fault_admin.get(
        "/api/v1/data-connections", params={"filter": f'qName eq "{name}"'}
    )
    assert listed.json()["meta"]["count"] == 0


def test_drop_after_commit_keeps_write(fault_admin, config):
    name = unique("committed")
    body = create_body(config.space("Data Integration").space_id, name)
    _add(
        fault_admin,
        kind="drop_after_commit",
        method="POST",
        path="/api/v1/data-connections",
    )

    with pytest.raises(httpx.RemoteProtocolError):
        fault_admin.post("/api/v1/data-connections", json=body)

    listed = fault_admin.get(
        "/api/v1/data-connections", params={"filter": f'qName eq "{name}"'}
    )
    assert listed.json()["meta"]["count"] == 1
    post_entries = [e for e in _journal(fault_admin) if e["method"] == "POST"]
    assert post_entries[-1]["status"] == 201
    assert post_entries[-1]["fault"] == "drop_after_commit"


def test_fault_count_is_honoured(fault_admin):
    _add(fault_admin, kind="status", status=500, count=2, path="/api/v1/spaces")

    statuses = [fault_admin.get("/api/v1/spaces").status_code for _ in range(3)]

    assert statuses == [500, 500, 200]


def test_unlimited_fault_until_cleared(fault_admin):
    _add(fault_admin, kind="status", status=502, count=None, path="/api/v1/spaces")

    first = fault_admin.get("/api/v1/spaces").status_code
    second = fault_admin.get("/api/v1/spaces").status_code
    listed = fault_admin.get("/_emulator/faults").json()["faults"]
    cleared = fault_admin.delete("/_emulator/faults")
    after = fault_admin.get("/api/v1/spaces").status_code

    assert [first, second] == [502, 502]
    assert listed[0]["count"] is None
    assert cleared.status_code == 204
    assert after == 200


def test_fault_matches_method(fault_admin):
    _add(fault_admin, kind="status", status=500, method="POST", path="/api/v1/spaces")

    response = fault_admin.get("/api/v1/spaces")

    assert response.status_code == 200
    assert len(fault_admin.get("/_emulator/faults").json()["faults"]) == 1


def test_in_process_fault_api(fault_admin, faulty):
    faulty.emulator.add_fault(
        FaultRule(kind="status", status=500, path_prefix="/api/v1/users")
    )

    response = fault_admin.get("/api/v1/users/me")

    assert response.status_code == 500
    assert "traceId" in response.json()


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "explode"},
        {},
        {"kind": "drop", "count": 0},
        {"kind": "status", "status": 99},
        {"kind": "latency", "seconds": -1},
        {"kind": "drop", "path": "api"},
        {"kind": "drop", "colour": "red"},
        {"kind": "status", "retry_after": "soon"},
    ],
)
def test_invalid_fault_rule_rejected(fault_admin, rule):
    response = fault_admin.post("/_emulator/faults", json=rule)

    assert response.status_code == 400
    assert "invalid fault rule" in response.json()["errors"][0]["detail"]


def test_control_api_needs_admin(faulty):
    with (
        client_for(faulty, MEMBER_KEY) as member,
        client_for(faulty, None) as anonymous,
    ):
        forbidden = member.get("/_emulator/requests")
        unauthenticated = anonymous.post("/_emulator/reset")

    assert forbidden.status_code == 403
    assert unauthenticated.status_code == 401


def test_journal_starts_empty_after_reset(fault_admin):
    fault_admin.get("/api/v1/spaces")

    fault_admin.post("/_emulator/reset")

    assert _journal(fault_admin) == []


def test_journal_records_method_path_query_status(fault_admin):
    fault_admin.get("/api/v1/spaces", params={"name": "fin"})

    assert _journal(fault_admin) == [
        {
            "method": "GET",
            "path": "/api/v1/spaces",
            "query": "name=fin",
            "status": 200,
            "fault": None,
        }
    ]


def test_journal_never_holds_bodies_or_headers(fault_admin, config):
    body = create_body(
        config.space("Data Integration").space_id, properties=mysql_properties(CANARY)
    )
    fault_admin.post("/api/v1/data-connections", json=body)

    response = fault_admin.get("/_emulator/requests")

    assert CANARY not in response.text
    assert ADMIN_KEY not in response.text


def test_journal_cleared_by_delete(fault_admin):
    fault_admin.get("/api/v1/spaces")

    response = fault_admin.delete("/_emulator/requests")

    assert response.status_code == 204
    assert _journal(fault_admin) == []


def test_reset_with_data_restores_seed(fault_admin, config):
    body = create_body(config.space("Data Integration").space_id)
    fault_admin.post("/api/v1/data-connections", json=body)

    response = fault_admin.post("/_emulator/reset", params={"data": "true"})

    assert response.status_code == 204
    assert fault_admin.get("/api/v1/data-connections").json()["meta"]["count"] == 0
    assert fault_admin.get("/api/v1/spaces").json()["meta"]["count"] == 4


def test_journal_complete_when_response_arrives(fault_admin, faulty):
    counts = []
    for _ in range(50):
        fault_admin.get("/api/v1/data-sources")
        counts.append(len(faulty.emulator.requests()))

    assert counts == list(range(1, 51))
