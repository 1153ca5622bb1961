"""The ``/_emulator/`` control API for tests: faults, journal and reset.

Every route needs the bearer key or token of a tenant admin. Requests to
this API are neither journaled, rate-limited nor subject to faults.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from qtc_connections.emulator.faults import FaultRule
from qtc_connections.emulator.helpers import emulator_of, query_bool, read_json
from qtc_connections.emulator.problems import problem


async def add_fault(request: Request) -> Response:
    """``POST /_emulator/faults``: add a rule; the body mirrors ``FaultRule``.

    Fields: ``kind`` (latency, status, drop or drop_after_commit),
    ``method`` (default ``*``), ``path`` prefix (default ``/``), ``count``
    (default 1, ``null`` for every match), ``seconds``, ``status`` and
    ``retry_after``.
    """
    try:
        rule = FaultRule.from_json(await read_json(request))
    except ValueError as error:
        raise problem(400, f"invalid fault rule: {error}") from None
    added = emulator_of(request).faults.add(rule)
    return JSONResponse(added.as_json(), 201)


async def list_faults(request: Request) -> Response:
    """``GET /_emulator/faults``: the rules not used up yet."""
    rules = emulator_of(request).faults.rules()
    return JSONResponse({"faults": [rule.as_json() for rule in rules]})


async def clear_faults(request: Request) -> Response:
    """``DELETE /_emulator/faults``: remove every rule."""
    emulator_of(request).faults.clear()
    return Response(status_code=204)


async def reset(request: Request) -> Response:
    """``POST /_emulator/reset``: clear faults, journal and rate-limit counters.

    With ``?data=true`` it also restores the seeded state of the tenant.
    """
    emulator_of(request).reset(data=query_bool(request, "data"))
    return Response(status_code=204)


async def list_requests(request: Request) -> Response:
    """``GET /_emulator/requests``: the journal, oldest first."""
    entries = emulator_of(request).journal.entries()
    return JSONResponse({"requests": [entry.as_json() for entry in entries]})


async def clear_requests(request: Request) -> Response:
    """``DELETE /_emulator/requests``: empty the journal."""
    emulator_of(request).journal.clear()
    return Response(status_code=204)
