"""Fixtures for the emulator tests: a real server on 127.0.0.1 and clients."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from emulator_helpers import ADMIN_KEY, MEMBER_KEY, client_for, make_config

from contract.plugin import wrap_app
from qtc_connections.emulator import EmulatorConfig, EmulatorServer


@pytest.fixture(scope="session")
def config() -> EmulatorConfig:
    return make_config()


@pytest.fixture(scope="session")
def server(config: EmulatorConfig) -> Iterator[EmulatorServer]:
    with EmulatorServer(config, wrap_app=wrap_app) as running:
        yield running


@pytest.fixture(scope="session")
def admin(server: EmulatorServer) -> Iterator[httpx.Client]:
    with client_for(server, ADMIN_KEY) as client:
        yield client


@pytest.fixture(scope="session")
def member(server: EmulatorServer) -> Iterator[httpx.Client]:
    with client_for(server, MEMBER_KEY) as client:
        yield client


@pytest.fixture(scope="session")
def anonymous(server: EmulatorServer) -> Iterator[httpx.Client]:
    with client_for(server, None) as client:
        yield client
