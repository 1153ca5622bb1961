"""The contract validator must report what the specs forbid, and only that.

Exchanges are built by hand here, so that each test can break the
contract in exactly one way, and are checked against the real specs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract.findings import UNDOCUMENTED
from contract.recorder import Exchange
from contract.report import ContractReport, exchange_label
from contract.specs import default_specs_dir, missing_specs_reason
from contract.validator import ContractValidator, Outcome, Verdict
from qtc_connections.secrets import Secret

CONNECTION_ID = "82ee7b44-0c4d-491b-bd38-82640c0430a5"
CONNECTION_PATH = f"/api/v1/data-connections/{CONNECTION_ID}"
LIBRARY_AGENT = "qtc-connections/0.1.0"
HAND_WRITTEN_AGENT = "python-httpx/0.29.0"
CANARY = "CANARY-contract-secret-4f0a"


@pytest.fixture(scope="module")
def validator() -> ContractValidator:
    reason = missing_specs_reason(default_specs_dir())
    if reason is not None:
        pytest.skip(f"OpenAPI contract not checked: {reason}")
    return ContractValidator.from_directory(default_specs_dir())


def exchange(
    method: str,
    path: str,
    status: int | None,
    *,
    query: str = "",
    request: Any = None,
    response: Any = None,
    user_agent: str = HAND_WRITTEN_AGENT,
    fault: str | None = None,
) -> Exchange:
    """Build an exchange with JSON bodies; ``None`` means no body."""
    request_headers = [("user-agent", user_agent)]
    if request is not None:
        request_headers.append(("content-type", "application/json"))
    response_headers = []
    if response is not None:
        response_headers.append(("content-type", "application/json"))
    return Exchange(
        method=method,
        path=path,
        query=query,
        request_headers=tuple(request_headers),
        request_body=b"" if request is None else json.dumps(request).encode(),
        status=status,
        response_headers=tuple(response_headers),
        response_body=b"" if response is None else json.dumps(response).encode(),
        fault=fault,
    )


def connection(**changes: Any) -> dict[str, Any]:
    """Return a ``ConnectionGet`` body that the spec accepts, with changes."""
    body: dict[str, Any] = {
        "qID": CONNECTION_ID,
        "qEngineObjectID": CONNECTION_ID,
        "qName": "orders",
        "qConnectStatement": 'CUSTOM CONNECT TO "provider=x;"',
        "qType": "QlikConnectorsCommonService.exe",
        "qLogOn": 1,
        "qArchitecture": 0,
        "privileges": ["read", "update", "delete"],
        "tenant": "kJDiG-OgN1GSuFIMSm47KILkKJMVHRxA",
        "links": {"self": {"href": f"https://acme.us.qlikcloud.com{CONNECTION_PATH}"}},
    }
    body.update(changes)
    return body


def created_connection() -> dict[str, Any]:
    """Return a ``ConnectionCreateResponse`` body that the spec accepts."""
    body = connection(qLogOn="1", qSeparateCredentials=False)
    del body["tenant"]
    return body


def messages(verdict: Verdict) -> list[str]:
    return [finding.describe() for finding in verdict.violations]


# Responses


def test_valid_connection_passes(validator: ContractValidator) -> None:
    verdict = validator.check(
        exchange("GET", CONNECTION_PATH, 200, response=connection())
    )

    assert verdict.outcome is Outcome.PASSED
    assert verdict.operation == "GET /api/v1/data-connections/{qID}"
    assert verdict.violations == ()


def test_response_wrong_type_is_reported(validator: ContractValidator) -> None:
    body = connection(qLogOn="1")
    verdict = validator.check(exchange("GET", CONNECTION_PATH, 200, response=body))

    assert verdict.outcome is Outcome.VIOLATED
    assert messages(verdict) == [
        "response body /qLogOn: a string is not one of [0, 1]",
        "response body /qLogOn: a string is not of type 'integer'",
    ]


def test_response_missing_field_is_reported(validator: ContractValidator) -> None:
    body = connection()
    del body["tenant"]
    verdict = validator.check(exchange("GET", CONNECTION_PATH, 200, response=body))

    assert verdict.outcome is Outcome.VIOLATED
    assert messages(verdict) == ["response body: 'tenant' is a required property"]


def test_undocumented_status_is_reported(validator: ContractValidator) -> None:
    verdict = validator.check(exchange("DELETE", CONNECTION_PATH, 200))

    assert verdict.outcome is Outcome.VIOLATED
    assert messages(verdict) == [
        "response status: status 200 is not documented; the spec lists 204, 403, 404"
    ]


def test_undocumented_member_is_reported(validator: ContractValidator) -> None:
    body = connection(colour="blue")
    verdict = validator.check(exchange("GET", CONNECTION_PATH, 200, response=body))

    assert verdict.outcome is Outcome.VIOLATED
    assert [finding.keyword for finding in verdict.violations] == [UNDOCUMENTED]
    assert messages(verdict) == [
        "response body /colour: colour is not a documented member"
    ]


def test_free_form_properties_pass(validator: ContractValidator) -> None:
    body = connection(connectionProperties={"server": "db", "anything": {"a": 1}})
    verdict = validator.check(
        exchange(
            "GET", CONNECTION_PATH, 200, query="parseConnection=true", response=body
        )
    )

    assert verdict.outcome is Outcome.PASSED


def test_empty_body_with_content_is_reported(validator: ContractValidator) -> None:
    verdict = validator.check(exchange("GET", CONNECTION_PATH, 200))

    assert messages(verdict) == [
        "response body: the body is empty, but the spec documents content"
    ]


def test_body_matching_two_branches_is_reported(
    validator: ContractValidator,
) -> None:
    body = {**created_connection(), "authUrl": "https://login.example/authorize"}
    request = {"qName": "orders", "datasourceID": "x", "connectionProperties": {}}
    verdict = validator.check(
        exchange(
            "POST", "/api/v1/data-connections", 201, request=request, response=body
        )
    )

    expected = (
        "response body: an object is valid under more than one branch of "
        "ConnectionCreateResponse, DcaasConnectionCreateAuthResponse"
    )
    assert messages(verdict) == [expected]


# Requests


def test_limit_zero_from_library_is_violation(validator: ContractValidator) -> None:
    verdict = validator.check(
        exchange(
            "GET",
            "/api/v1/data-connections",
            400,
            query="limit=0",
            response={"errors": [{"code": "DCERROR-0010", "status": 400}]},
            user_agent=LIBRARY_AGENT,
        )
    )

    assert verdict.outcome is Outcome.VIOLATED
    assert messages(verdict) == ["request query limit: 0 is less than the minimum of 1"]


def test_limit_zero_rejected_is_excused(validator: ContractValidator) -> None:
    verdict = validator.check(
        exchange(
            "GET",
            "/api/v1/data-connections",
            400,
            query="limit=0",
            response={"errors": [{"code": "DCERROR-0010", "status": 400}]},
        )
    )

    assert verdict.outcome is Outcome.REJECTED
    assert verdict.violations == ()
    assert [finding.location for finding in verdict.excused] == ["limit"]


def test_limit_zero_accepted_is_violation(validator: ContractValidator) -> None:
    listing = {"data": [], "meta": {"count": 0}, "links": {"self": {"href": "x"}}}
    verdict = validator.check(
        exchange(
            "GET", "/api/v1/data-connections", 200, query="limit=0", response=listing
        )
    )

    assert verdict.outcome is Outcome.VIOLATED
    assert messages(verdict) == ["request query limit: 0 is less than the minimum of 1"]


def test_patch_object_body_is_reported(validator: ContractValidator) -> None:
    operation = {"op": "replace", "path": "/qName", "value": "orders-v2"}
    verdict = validator.check(
        exchange("PATCH", CONNECTION_PATH, 204, request=operation)
    )

    assert verdict.outcome is Outcome.VIOLATED
    assert messages(verdict) == ["request body: an object is not of type 'array'"]


def test_patch_unknown_op_is_reported(validator: ContractValidator) -> None:
    operations = [{"op": "move", "path": "/qName", "value": "orders-v2"}]
    verdict = validator.check(
        exchange(
            "PATCH", CONNECTION_PATH, 204, request=operations, user_agent=LIBRARY_AGENT
        )
    )

    assert messages(verdict) == [
        "request body /0/op: a string is not one of ['add', 'replace', 'remove']"
    ]


def test_unknown_operation_from_library_is_violation(
    validator: ContractValidator,
) -> None:
    verdict = validator.check(
        exchange("GET", f"{CONNECTION_PATH}/history", 404, user_agent=LIBRARY_AGENT)
    )

    assert verdict.outcome is Outcome.VIOLATED
    assert messages(verdict) == [
        f"request operation: no path of the spec matches {CONNECTION_PATH}/history"
    ]


def test_unknown_method_rejected_is_excused(validator: ContractValidator) -> None:
    verdict = validator.check(exchange("PATCH", "/api/v1/data-sources", 405))

    assert verdict.outcome is Outcome.REJECTED
    assert [finding.keyword for finding in verdict.excused] == ["OperationNotFound"]


# Unchecked exchanges


@pytest.mark.parametrize(
    ("path", "status", "fault", "reason"),
    [
        (
            "/api/v1/tenants/me",
            302,
            None,
            "no tenants spec is part of the reference set",
        ),
        (
            "/_emulator/faults",
            201,
            None,
            "the emulator's control API is not part of Qlik's API",
        ),
        ("/api/v1/apps", 404, None, "no spec of the reference set covers this path"),
        (CONNECTION_PATH, 503, "status", "the status was injected by a fault rule"),
        (CONNECTION_PATH, 200, "drop", "a fault rule dropped the connection"),
        (CONNECTION_PATH, None, None, "no response was sent"),
    ],
)
def test_exchange_left_unchecked(
    validator: ContractValidator,
    path: str,
    status: int | None,
    fault: str | None,
    reason: str,
) -> None:
    verdict = validator.check(exchange("GET", path, status, fault=fault))

    assert verdict.outcome is Outcome.UNCHECKED
    assert verdict.reason == reason


def test_latency_fault_is_still_checked(validator: ContractValidator) -> None:
    verdict = validator.check(
        exchange("GET", CONNECTION_PATH, 200, response={}, fault="latency")
    )

    assert verdict.outcome is Outcome.VIOLATED


# Known defects


def test_known_defect_excuses_its_finding(validator: ContractValidator) -> None:
    body = {"errors": [{"code": "DCERROR-401", "title": "Unauthorized", "status": 401}]}
    verdict = validator.check(
        exchange("GET", "/api/v1/data-connections", 401, response=body)
    )

    assert verdict.outcome is Outcome.PASSED
    assert [hit.defect.key for hit in verdict.defects] == ["data-connections-no-401"]


def test_defect_stays_in_its_spec(validator: ContractValidator) -> None:
    # The data-sources "details" typo does not excuse the member elsewhere.
    error = {"code": "DCERROR-0010", "title": "Bad", "detail": "x", "details": "x"}
    verdict = validator.check(
        exchange("GET", CONNECTION_PATH, 404, response={"errors": [error]})
    )

    assert verdict.outcome is Outcome.VIOLATED
    assert messages(verdict) == [
        "response body /errors/0/details: details is not a documented member"
    ]


def test_defect_needs_its_condition(validator: ContractValidator) -> None:
    # Omitting subject is excused only when fields= selects the members.
    user = {"id": "u1", "name": "Tenant Admin", "tenantId": "t1"}
    verdict = validator.check(exchange("GET", "/api/v1/users/u1", 200, response=user))

    assert verdict.outcome is Outcome.VIOLATED
    assert messages(verdict) == ["response body: 'subject' is a required property"]


def test_data_source_spelling_needs_member(validator: ContractValidator) -> None:
    # A create body without any datasourceID spelling is not excused.
    body = {"qName": "orders", "connectionProperties": {}}
    verdict = validator.check(
        exchange(
            "POST",
            "/api/v1/data-connections",
            201,
            request=body,
            response=created_connection(),
        )
    )

    assert verdict.outcome is Outcome.VIOLATED
    assert [finding.keyword for finding in verdict.violations] == ["oneOf"]


def test_data_source_spelling_is_excused(validator: ContractValidator) -> None:
    body = {
        "qName": "orders",
        "dataSourceId": "repsrc_mysql",
        "connectionProperties": {},
    }
    verdict = validator.check(
        exchange(
            "POST",
            "/api/v1/data-connections",
            201,
            request=body,
            response=created_connection(),
        )
    )

    assert verdict.outcome is Outcome.PASSED
    assert [hit.defect.key for hit in verdict.defects] == [
        "connection-create-data-source-id-spelling"
    ]


# Secrets


def test_request_secrets_stay_out_of_report(validator: ContractValidator) -> None:
    operations = [
        {
            "op": "replace",
            "path": "/connectionProperties/password",
            "value": {"v": CANARY},
        },
        {"op": "replace", "path": "/connectionProperties/password", "value": 1.5},
    ]
    patch = exchange(
        "PATCH", CONNECTION_PATH, 204, request=operations, user_agent=LIBRARY_AGENT
    )
    token_request = exchange(
        "POST",
        "/oauth/token",
        200,
        request={"grant_type": CANARY, "client_id": "c", "client_secret": CANARY},
        response={"access_token": "t", "token_type": "bearer"},
        user_agent=LIBRARY_AGENT,
    )
    report = ContractReport((validator.check(patch), validator.check(token_request)))

    text = "\n".join([report.summary(), *report.violation_lines()])
    assert report.violation_count == 3
    assert CANARY not in text


def test_response_secrets_stay_out_of_report(validator: ContractValidator) -> None:
    token = {"access_token": [CANARY], "token_type": CANARY, "scope": CANARY}
    verdict = validator.check(exchange("POST", "/oauth/token", 200, response=token))

    text = "\n".join(messages(verdict))
    assert verdict.outcome is Outcome.VIOLATED
    assert CANARY not in text


def test_registered_secret_is_redacted(validator: ContractValidator) -> None:
    # A member named like a registered secret would otherwise be printed.
    registered = Secret("CANARY-registered-7d2c")
    body = connection(**{registered.reveal(): True})
    verdict = validator.check(exchange("GET", CONNECTION_PATH, 200, response=body))

    text = "\n".join(messages(verdict))
    assert verdict.outcome is Outcome.VIOLATED
    assert registered.reveal() not in text
    assert "(sensitive)" in text


def test_report_line_names_exchange(validator: ContractValidator) -> None:
    base = exchange(
        "GET", CONNECTION_PATH, 200, query="credentialId=" + CANARY, response={}
    )
    labelled = Exchange(**{**base.__dict__, "origin": "tests/test_x.py::test_y"})

    assert exchange_label(labelled) == (
        f"GET {CONNECTION_PATH} 200 (in tests/test_x.py::test_y)"
    )
