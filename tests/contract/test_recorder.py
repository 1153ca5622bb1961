"""The recording middleware, in front of a small app served by uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from contract.recorder import Exchange, ExchangeLog, wrap_app
from contract.serving import serve_asgi

API_KEY = "CANARY-recorder-key-0c55"


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {"length": len(body)}, status_code=201, headers={"X-Trace": "trace-1"}
    )


async def reject(request: Request) -> Response:
    return JSONResponse({"errors": []}, status_code=401)


async def fail(request: Request) -> Response:
    raise RuntimeError("the handler failed on purpose")


async def stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for chunk in (b"one,", b"two,", b"three"):
            yield chunk

    return StreamingResponse(chunks(), media_type="text/plain")


APP = Starlette(
    routes=[
        Route("/echo", echo, methods=["POST"]),
        Route("/reject", reject, methods=["POST"]),
        Route("/fail", fail),
        Route("/stream", stream),
    ]
)


@pytest.fixture
def log() -> ExchangeLog:
    return ExchangeLog()


@pytest.fixture
def client(log: ExchangeLog) -> Iterator[httpx.Client]:
    with serve_asgi(wrap_app(APP, log)) as url:
        headers = {"Authorization": f"Bearer {API_KEY}", "User-Agent": "recorder-test"}
        with httpx.Client(base_url=url, headers=headers) as http:
            yield http


def only_exchange(log: ExchangeLog) -> Exchange:
    exchanges = log.exchanges()
    assert len(exchanges) == 1
    return exchanges[0]


def test_recorder_keeps_request_and_response(
    client: httpx.Client, log: ExchangeLog
) -> None:
    client.post("/echo", params={"limit": "5"}, json={"a": 1})

    exchange = only_exchange(log)
    assert exchange.method == "POST"
    assert exchange.path == "/echo"
    assert exchange.query == "limit=5"
    assert exchange.request_body == b'{"a":1}'
    assert exchange.request_header("content-type") == "application/json"
    assert exchange.status == 201
    assert exchange.response_body == b'{"length":7}'
    assert exchange.response_header("x-trace") == "trace-1"
    assert exchange.fault is None


def test_recorder_omits_authorization(client: httpx.Client, log: ExchangeLog) -> None:
    client.post("/echo", json={})

    exchange = only_exchange(log)
    assert exchange.request_header("authorization") == ""
    assert exchange.request_header("user-agent") == "recorder-test"
    assert API_KEY not in repr(exchange)


def test_recorder_keeps_unread_body(client: httpx.Client, log: ExchangeLog) -> None:
    client.post("/reject", content=b"never read by the app")

    exchange = only_exchange(log)
    assert exchange.status == 401
    assert exchange.request_body == b"never read by the app"


def test_recorder_records_failing_app(client: httpx.Client, log: ExchangeLog) -> None:
    response = client.get("/fail")

    assert log.wait_for(1, timeout=5)
    exchange = only_exchange(log)
    assert response.status_code == 500
    assert exchange.status == 500


def test_recorder_joins_streamed_body(client: httpx.Client, log: ExchangeLog) -> None:
    client.get("/stream")

    exchange = only_exchange(log)
    assert exchange.response_body == b"one,two,three"


def test_recorder_stamps_origin(client: httpx.Client, log: ExchangeLog) -> None:
    log.origin = "tests/test_example.py::test_case"
    client.post("/echo", json={})

    assert only_exchange(log).origin == "tests/test_example.py::test_case"


def test_wait_for_times_out() -> None:
    assert ExchangeLog().wait_for(1, timeout=0.01) is False
