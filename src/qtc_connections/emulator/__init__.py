"""A local emulator of a Qlik Cloud tenant's REST API.

It serves the data-connections, data-sources, spaces, users, tenants and
OAuth token endpoints from SQLite state, validates connection properties
against its own api-specs, enforces rate limits, and injects faults for
tests. It imports nothing from the rest of ``qtc_connections``, so that
client and emulator stay two independent readings of Qlik's documents::

    config = EmulatorConfig.default(api_key="admin-key")
    with EmulatorServer(config) as server:
        ...  # send requests to server.url with "Authorization: Bearer admin-key"
"""

from qtc_connections.emulator.app import create_app
from qtc_connections.emulator.config import (
    EmulatorConfig,
    Identity,
    OAuthClient,
    RateLimits,
    SpaceSeed,
)
from qtc_connections.emulator.faults import FaultRule
from qtc_connections.emulator.runtime import Emulator
from qtc_connections.emulator.server import EmulatorServer

__all__ = [
    "Emulator",
    "EmulatorConfig",
    "EmulatorServer",
    "FaultRule",
    "Identity",
    "OAuthClient",
    "RateLimits",
    "SpaceSeed",
    "create_app",
]
