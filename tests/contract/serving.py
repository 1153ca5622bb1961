"""Serve an emulator whose app is wrapped by the recorder, on 127.0.0.1.

``EmulatorServer`` serves the Starlette app it builds itself and offers no
way to put middleware around it. So the contract tests start uvicorn here
the way it does: in a background thread, on a port the system picks. The
emulator's own protocol class is used, so that faults that drop the
connection still work.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp

from qtc_connections.emulator import EmulatorConfig, create_app
from qtc_connections.emulator.runtime import Emulator
from qtc_connections.emulator.server import tracking_protocol

START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class ServedEmulator:
    """A running emulator: its base URL, its app and its in-process handle."""

    url: str
    app: Starlette
    emulator: Emulator


@contextmanager
def serve_emulator(
    config: EmulatorConfig, wrap: Callable[[ASGIApp], ASGIApp] | None = None
) -> Iterator[ServedEmulator]:
    """Serve ``create_app(config)``, wrapped by ``wrap`` when it is given.

    Raises:
        RuntimeError: the server did not start within 10 seconds.
    """
    app = create_app(config)
    served: ASGIApp = app if wrap is None else wrap(app)
    emulator: Emulator = app.state.emulator
    with serve_asgi(served, emulator) as url:
        yield ServedEmulator(url, app, emulator)


@contextmanager
def serve_asgi(app: ASGIApp, emulator: Emulator | None = None) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 and yield its base URL until the block ends.

    With ``emulator``, its transport registry lets fault rules drop
    connections, and its tenant host name becomes the listening address.

    Raises:
        RuntimeError: the server did not start within 10 seconds.
    """
    # asyncio turns off Nagle's algorithm only for sockets made with
    # IPPROTO_TCP; otherwise a response sent in two writes waits about
    # 40 ms for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        http=tracking_protocol(emulator.transports) if emulator else "h11",
        loop="asyncio",
        lifespan="off",
        log_config=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        name="qtc-recorded-emulator",
        daemon=True,
    )
    thread.start()
    try:
        _wait_until_started(server, thread)
        if emulator is not None:
            emulator.set_listen_address(f"127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT_SECONDS)
        sock.close()


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the recorded emulator stopped while starting")
        if time.monotonic() > deadline:
            raise RuntimeError("the recorded emulator did not start within 10 seconds")
        time.sleep(0.01)
