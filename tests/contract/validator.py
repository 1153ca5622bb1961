"""Validate recorded exchanges against Qlik's OpenAPI specs with openapi-core.

Each exchange is routed to a spec by its path prefix and checked three
ways: the request (parameters and body), the response (status, media type,
headers and body), and both bodies for members that no schema declares.
Every finding is then either matched to a ``KnownDefect`` of the spec or
counted as a violation.

Requests written by hand in tests are often invalid on purpose, to check
that the emulator rejects them. So a request finding is a violation only
when the library sent the request (its User-Agent starts with
``qtc-connections/``) or when the emulator did not reject it with a 4xx
status. Otherwise the exchange counts as a rejected invalid request, and
its response is still checked.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.datatypes import PathOperationServer
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.paths.finders import APICallPathFinder
from werkzeug.datastructures import Headers, ImmutableMultiDict

from contract.defects import KNOWN_DEFECTS, KnownDefect
from contract.fields import FieldChecker
from contract.findings import (
    REQUEST,
    RESPONSE,
    UNDOCUMENTED,
    Finding,
    request_findings,
    response_findings,
)
from contract.recorder import Exchange
from contract.specs import LoadedSpec, load_specs, spec_for_path, unspecified_reason

CLIENT_USER_AGENT_PREFIX = "qtc-connections/"

# Fault kinds whose response the test chose, or that sent no response.
# A latency fault delays a real response, which is still checked.
UNCHECKED_FAULTS = {
    "status": "the status was injected by a fault rule",
    "drop": "a fault rule dropped the connection",
    "drop_after_commit": "a fault rule dropped the response",
}


class Outcome(enum.Enum):
    """How one exchange fared."""

    PASSED = "passed"
    UNCHECKED = "unchecked"
    REJECTED = "rejected invalid request"
    VIOLATED = "violated"


@dataclass(frozen=True)
class DefectHit:
    """A finding explained by a known defect of the spec."""

    defect: KnownDefect
    finding: Finding


@dataclass(frozen=True)
class Verdict:
    """The result of checking one exchange.

    ``operation`` is the spec's method and path template, such as
    ``GET /api/v1/data-connections/{qID}``, once the request matched one.
    ``excused`` contains the request findings of a rejected invalid
    request, and ``reason`` states why an exchange was left unchecked.
    """

    exchange: Exchange
    outcome: Outcome
    spec: str | None = None
    operation: str | None = None
    violations: tuple[Finding, ...] = ()
    excused: tuple[Finding, ...] = ()
    defects: tuple[DefectHit, ...] = ()
    reason: str = ""


class OpenApiRequest:
    """A recorded request in the shape of openapi-core's ``Request`` protocol."""

    def __init__(self, exchange: Exchange, host_url: str) -> None:
        self.host_url = host_url
        self.path = exchange.path
        self.method = exchange.method.lower()
        self.body: bytes | None = exchange.request_body
        self.content_type = exchange.request_header("content-type").lower()
        query = parse_qsl(exchange.query, keep_blank_values=True)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query),
            header=Headers(list(exchange.request_headers)),
        )


class OpenApiResponse:
    """A recorded response in the shape of openapi-core's ``Response`` protocol."""

    def __init__(self, exchange: Exchange) -> None:
        self.status_code = exchange.status or 0
        self.data: bytes | None = exchange.response_body
        self.headers = Headers(list(exchange.response_headers))
        self.content_type = exchange.response_header("content-type").lower()


class ContractValidator:
    """Check exchanges against loaded specs and a list of known defects."""

    def __init__(
        self,
        specs: dict[str, LoadedSpec],
        defects: Sequence[KnownDefect] = KNOWN_DEFECTS,
    ) -> None:
        self.specs = specs
        self.defects = tuple(defects)
        self._finders = {
            name: APICallPathFinder(spec.openapi.spec) for name, spec in specs.items()
        }
        self._fields = {
            name: FieldChecker(spec.document) for name, spec in specs.items()
        }
        # Test suites repeat many exchanges byte for byte, and openapi-core
        # needs several milliseconds for each, so verdicts are reused.
        self._verdicts: dict[Exchange, Verdict] = {}

    @classmethod
    def from_directory(cls, directory: Path) -> ContractValidator:
        """Load the specs from ``directory`` and build a validator on them.

        Raises:
            SpecLoadError: as ``load_specs``.
        """
        return cls(load_specs(directory))

    def check(self, exchange: Exchange) -> Verdict:
        """Validate one exchange and classify what was found."""
        key = dataclasses.replace(exchange, origin="")
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._check(key)
            self._verdicts[key] = verdict
        return dataclasses.replace(verdict, exchange=exchange)

    def _check(self, exchange: Exchange) -> Verdict:
        spec_name = spec_for_path(exchange.path)
        if spec_name is None:
            reason = unspecified_reason(exchange.path)
            return Verdict(exchange, Outcome.UNCHECKED, reason=reason)
        if exchange.fault in UNCHECKED_FAULTS:
            reason = UNCHECKED_FAULTS[exchange.fault]
            return Verdict(exchange, Outcome.UNCHECKED, spec_name, reason=reason)
        if exchange.status is None:
            reason = "no response was sent"
            return Verdict(exchange, Outcome.UNCHECKED, spec_name, reason=reason)

        spec = self.specs[spec_name]
        request = OpenApiRequest(exchange, spec.server_url)
        try:
            found = self._finders[spec_name].find(
                request.method, spec.server_url + exchange.path
            )
        except PathError as error:
            findings = request_findings([error], exchange.method, exchange.path)
            return self._classify(exchange, spec_name, None, findings)

        operation = f"{exchange.method} {found.path.parts[-1]}"
        findings = self._request_findings(spec, request, found, exchange)
        findings += self._response_findings(spec, request, found, exchange)
        return self._classify(exchange, spec_name, operation, findings)

    def _request_findings(
        self,
        spec: LoadedSpec,
        request: OpenApiRequest,
        found: PathOperationServer,
        exchange: Exchange,
    ) -> list[Finding]:
        # NOTE: openapi-core 0.23 decodes a form-encoded body only through the
        # oneOf branch it matches, so a form body that matches no branch of
        # the token request is reported as if it were empty. JSON bodies are
        # not affected, and the library sends JSON.
        errors = spec.openapi.request_validator.iter_errors(request)
        findings = request_findings(errors, exchange.method, exchange.path)
        content = _content_schema(found.operation.read_value().get("requestBody"))
        body = _json_body(exchange.request_body, request.content_type)
        if content is not None and body is not None:
            findings += _undocumented(REQUEST, self._fields[spec.name], body, content)
        return findings

    def _response_findings(
        self,
        spec: LoadedSpec,
        request: OpenApiRequest,
        found: PathOperationServer,
        exchange: Exchange,
    ) -> list[Finding]:
        response = OpenApiResponse(exchange)
        errors = spec.openapi.response_validator.iter_errors(request, response)
        findings = response_findings(errors)
        responses = found.operation.read_value().get("responses", {})
        documented = responses.get(str(exchange.status), responses.get("default"))
        content = _content_schema(documented)
        body = _json_body(exchange.response_body, response.content_type)
        if content is not None and body is not None:
            findings += _undocumented(RESPONSE, self._fields[spec.name], body, content)
        return findings

    def _classify(
        self,
        exchange: Exchange,
        spec_name: str,
        operation: str | None,
        findings: list[Finding],
    ) -> Verdict:
        violations: list[Finding] = []
        excused: list[Finding] = []
        hits: list[DefectHit] = []
        rejected = _rejected_by_emulator(exchange)
        for finding in findings:
            defect = self._known_defect(exchange, spec_name, operation, finding)
            if defect is not None:
                hits.append(DefectHit(defect, finding))
            elif finding.side == REQUEST and rejected:
                excused.append(finding)
            else:
                violations.append(finding)

        if violations:
            outcome = Outcome.VIOLATED
        elif excused:
            outcome = Outcome.REJECTED
        else:
            outcome = Outcome.PASSED
        return Verdict(
            exchange,
            outcome,
            spec_name,
            operation,
            tuple(violations),
            tuple(excused),
            tuple(hits),
        )

    def _known_defect(
        self,
        exchange: Exchange,
        spec_name: str,
        operation: str | None,
        finding: Finding,
    ) -> KnownDefect | None:
        for defect in self.defects:
            if defect.matches(exchange, spec_name, operation, finding):
                return defect
        return None


def _rejected_by_emulator(exchange: Exchange) -> bool:
    """Return whether the emulator rejected a hand-written request with a 4xx status."""
    user_agent = exchange.request_header("user-agent")
    status = exchange.status or 0
    return not user_agent.startswith(CLIENT_USER_AGENT_PREFIX) and 400 <= status < 500


def _content_schema(documented: Any) -> Any:
    """Return the ``application/json`` schema of a request body or response."""
    if not isinstance(documented, dict):
        return None
    media = documented.get("content", {}).get("application/json")
    return media.get("schema") if isinstance(media, dict) else None


def _json_body(raw: bytes, content_type: str) -> Any:
    """Return the decoded JSON body, or ``None`` if it is absent or not JSON."""
    if not raw or not content_type.startswith("application/json"):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _undocumented(
    side: str, checker: FieldChecker, body: Any, schema: Any
) -> list[Finding]:
    findings = []
    for pointer in checker.undocumented(body, schema):
        name = pointer.rpartition("/")[2]
        message = f"{name} is not a documented member"
        findings.append(Finding(side, "body", pointer, UNDOCUMENTED, message))
    return findings
