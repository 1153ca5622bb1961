"""``EmulatorServer``: the emulator app served by uvicorn on a local port."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from qtc_connections.emulator.app import create_app
from qtc_connections.emulator.config import EmulatorConfig
from qtc_connections.emulator.faults import TransportRegistry
from qtc_connections.emulator.runtime import Emulator

logger = logging.getLogger("qtc_connections.emulator")

START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 10.0
# Requests still running at shutdown (a long latency fault, say) are
# cancelled after this many seconds.
GRACEFUL_SHUTDOWN_SECONDS = 3


def tracking_protocol(registry: TransportRegistry) -> type[H11Protocol]:
    """Return an ``H11Protocol`` subclass that records transports in ``registry``.

    uvicorn accepts a protocol class as ``Config(http=...)``. Recording the
    transport under the client address lets the app close a connection
    without a response, which ASGI alone cannot do (see ``faults``).
    """

    class TrackingH11Protocol(H11Protocol):
        def connection_made(  # type: ignore[override]
            self, transport: asyncio.Transport
        ) -> None:
            super().connection_made(transport)
            if self.client is not None:
                registry.register(self.client, transport)

        def connection_lost(self, exc: Exception | None) -> None:
            if self.client is not None:
                registry.unregister(self.client)
            super().connection_lost(exc)

    return TrackingH11Protocol


class EmulatorServer:
    """Serve an emulated tenant on ``host:port`` in a background thread.

    Port 0 picks a free port; ``url`` gives the address once started. Use
    it as a context manager, or call ``start`` and ``stop``. The app and
    its state outlive ``stop``, so a test can inspect them afterwards.
    """

    def __init__(
        self,
        config: EmulatorConfig,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        wrap_app: Callable[[ASGIApp], ASGIApp] | None = None,
    ) -> None:
        self.config = config
        self.host = host
        self.port = port
        self.app: Starlette = create_app(config)
        # A test harness may wrap the app, for example to record exchanges;
        # ``app`` stays the Starlette app so that ``emulator`` keeps working.
        self._served_app: ASGIApp = wrap_app(self.app) if wrap_app else self.app
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._bound_port: int | None = None

    @property
    def emulator(self) -> Emulator:
        """The in-process handle on state, faults and journal."""
        emulator: Emulator = self.app.state.emulator
        return emulator

    @property
    def url(self) -> str:
        """The base URL, such as ``http://127.0.0.1:54321``.

        Raises:
            RuntimeError: the server has not been started.
        """
        if self._bound_port is None:
            raise RuntimeError("the emulator server is not running; call start() first")
        return f"http://{self._netloc()}"

    def _netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self._bound_port}"

    def start(self) -> None:
        """Start serving and return once the port accepts connections.

        Raises:
            RuntimeError: the server is already running, or did not start
                within 10 seconds.
            OSError: the address cannot be bound.
        """
        if self._thread is not None:
            raise RuntimeError("the emulator server is already running")
        # asyncio disables Nagle's algorithm only on sockets whose protocol is
        # IPPROTO_TCP. Without that, each response written in two parts waits
        # for the client's delayed ACK, 40 ms or more on Linux.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self._socket = sock
        self._bound_port = sock.getsockname()[1]

        uvicorn_config = uvicorn.Config(
            self._served_app,
            http=tracking_protocol(self.emulator.transports),
            loop="asyncio",
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
        self._server = uvicorn.Server(uvicorn_config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name="qtc-emulator",
            daemon=True,
        )
        self._thread.start()
        self._wait_until_started()
        self.emulator.set_listen_address(self._netloc())
        logger.info("emulator listening on %s", self.url)

    def _wait_until_started(self) -> None:
        assert self._server is not None and self._thread is not None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive():
                self._reset()
                raise RuntimeError(
                    "the emulator server stopped while starting; see the log"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    "the emulator server did not start within 10 seconds"
                )
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving and wait for the server thread to end."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT_SECONDS)
        if self._thread.is_alive():
            logger.error("the emulator server thread did not stop within 10 seconds")
        else:
            logger.info("emulator on %s stopped", self.url)
        self._reset()

    def _reset(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._server = None
        self._thread = None
        self._socket = None
        self._bound_port = None

    def serve_forever(self) -> None:
        """Serve until SIGINT or SIGTERM arrives, then stop and return.

        Starts the server unless ``start`` was already called.

        uvicorn runs in a thread here too: run in the main thread, it would
        raise the caught signal again after shutting down, which ends the
        process on SIGTERM instead of returning.

        Raises:
            RuntimeError: called outside the main thread, where signal
                handlers cannot be installed.
        """
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("serve_forever() must run in the main thread")
        stop_requested = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            logger.info("signal %s received; stopping", signal.Signals(signum).name)
            stop_requested.set()

        previous = {
            sig: signal.signal(sig, request_stop)
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            # A caller may start first to learn the URL before blocking here.
            if self._thread is None:
                self.start()
            while not stop_requested.wait(0.2):
                if self._thread is None or not self._thread.is_alive():
                    logger.error("the emulator server thread ended unexpectedly")
                    break
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
