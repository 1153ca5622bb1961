"""EmulatorServer lifecycle, file-backed state, signals and request logging."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import httpx
import pytest
import uvicorn
from emulator_helpers import (
    ADMIN_KEY,
    client_for,
    create_body,
    create_connection,
    make_config,
    mysql_properties,
)
from starlette.applications import Starlette

from qtc_connections.emulator import Emulator, EmulatorServer, FaultRule, create_app

CANARY = "CANARY-logged-password-3a3a"


def test_url_before_start_raises():
    server = EmulatorServer(make_config())

    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url


def test_start_accepts_connections_at_once():
    server = EmulatorServer(make_config())
    server.start()
    try:
        response = httpx.get(f"{server.url}/api/v1/spaces")
    finally:
        server.stop()

    assert response.status_code == 401


def test_start_twice_raises():
    with (
        EmulatorServer(make_config()) as server,
        pytest.raises(RuntimeError, match="already"),
    ):
        server.start()


def test_restart_keeps_state():
    server = EmulatorServer(make_config())
    with server, client_for(server, ADMIN_KEY) as client:
        space_id = server.config.space("Data Integration").space_id
        created = create_connection(client, create_body(space_id))

    with server, client_for(server, ADMIN_KEY) as client:
        response = client.get(f"/api/v1/data-connections/{created['id']}")

    assert response.status_code == 200


def test_file_database_survives_new_server(tmp_path):
    db_path = str(tmp_path / "tenant.sqlite")
    with EmulatorServer(make_config(db_path=db_path)) as first:
        with client_for(first, ADMIN_KEY) as client:
            space_id = first.config.space("Data Integration").space_id
            created = create_connection(client, create_body(space_id))

    with EmulatorServer(make_config(db_path=db_path)) as second:
        with client_for(second, ADMIN_KEY) as client:
            response = client.get(f"/api/v1/data-connections/{created['id']}")
            spaces = client.get("/api/v1/spaces").json()
            tenant = client.get("/api/v1/tenants/me", follow_redirects=True).json()
            address = second.url.removeprefix("http://")

    assert response.status_code == 200
    assert second.emulator.secret_matches(
        created["id"], "password", "CANARY-mysql-password"
    )
    assert spaces["meta"]["count"] == 4
    assert tenant["hostnames"] == [address]


def test_configured_hostnames_kept():
    config = make_config()
    config.hostnames = ["acme.us.qlikcloud.com"]

    with EmulatorServer(config) as server, client_for(server, ADMIN_KEY) as client:
        tenant = client.get("/api/v1/tenants/me", follow_redirects=True).json()

    assert tenant["hostnames"] == ["acme.us.qlikcloud.com"]


def test_drop_under_plain_uvicorn_truncates():
    app = create_app(make_config())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, lifespan="off", loop="asyncio")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True
    )
    thread.start()
    app.state.emulator.add_fault(FaultRule(kind="drop", path_prefix="/api/v1/spaces"))
    try:
        while not server.started:
            time.sleep(0.01)
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(
                f"http://127.0.0.1:{port}/api/v1/spaces",
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            )
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_create_app_exposes_emulator():
    app = create_app(make_config())

    assert isinstance(app, Starlette)
    assert isinstance(app.state.emulator, Emulator)


def _emulator_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "qtc_connections.emulator"
    ]


def test_one_log_line_per_request(caplog, server, config):
    caplog.set_level(logging.INFO, logger="qtc_connections.emulator")
    body = create_body(
        config.space("Data Integration").space_id, properties=mysql_properties(CANARY)
    )
    with client_for(server, ADMIN_KEY) as client:
        client.post("/api/v1/data-connections", json=body)
        client.get("/api/v1/spaces", params={"name": CANARY})

    messages = _emulator_messages(caplog)

    assert len(messages) == 2
    assert messages[0].startswith("POST /api/v1/data-connections 201 ")
    assert messages[0].endswith(" ms")
    assert messages[1].startswith("GET /api/v1/spaces 200 ")
    for message in messages:
        assert CANARY not in message
        assert ADMIN_KEY not in message


def test_fault_named_in_log_line(caplog, config):
    caplog.set_level(logging.INFO, logger="qtc_connections.emulator")
    with EmulatorServer(config) as server, client_for(server, ADMIN_KEY) as client:
        server.emulator.add_fault(FaultRule(kind="status", status=503))
        client.get("/api/v1/spaces")
        messages = _emulator_messages(caplog)

    assert messages[-1].startswith("GET /api/v1/spaces 503 ")
    assert messages[-1].endswith("ms (fault: status)")


CHILD = textwrap.dedent(
    """
    import logging, sys
    from qtc_connections.emulator import EmulatorConfig, EmulatorServer

    handler = logging.StreamHandler(sys.stdout)
    logging.getLogger("qtc_connections.emulator").addHandler(handler)
    logging.getLogger("qtc_connections.emulator").setLevel(logging.INFO)
    EmulatorServer(EmulatorConfig.default(api_key="k")).serve_forever()
    print("serve_forever returned", flush=True)
    """
)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_forever_returns_on_signal(signum):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        first_line = child.stdout.readline()
        url = first_line.strip().rsplit(" ", 1)[-1]
        reachable = httpx.get(
            f"{url}/api/v1/spaces", headers={"Authorization": "Bearer k"}
        )
        child.send_signal(signum)
        output, errors = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    assert first_line.startswith("emulator listening on http://127.0.0.1:")
    assert reachable.status_code == 200
    assert child.returncode == 0, errors
    assert "serve_forever returned" in output
