"""The in-process handle on a running emulator: state, faults and journal.

``create_app`` puts one ``Emulator`` on ``app.state.emulator``. Tests use
it to inject faults, read the request journal and check stored secrets
without going through HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qtc_connections.emulator.config import EmulatorConfig
from qtc_connections.emulator.faults import FaultInjector, FaultRule, TransportRegistry
from qtc_connections.emulator.journal import JournalEntry, RequestJournal
from qtc_connections.emulator.ratelimit import RateLimiter
from qtc_connections.emulator.store import Store


@dataclass
class Emulator:
    """State and test controls of one emulated tenant.

    ``transports`` is filled by ``EmulatorServer``; it stays empty when the
    app is served some other way, and dropped connections then degrade as
    ``faults.drop_connection`` describes.
    """

    config: EmulatorConfig
    store: Store
    faults: FaultInjector = field(default_factory=FaultInjector)
    journal: RequestJournal = field(default_factory=RequestJournal)
    limiter: RateLimiter = field(init=False)
    transports: TransportRegistry = field(default_factory=TransportRegistry)
    listen_hostnames: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.config.rate_limits)

    def set_listen_address(self, netloc: str) -> None:
        """Use ``netloc`` (host:port) as the tenant's host name unless configured."""
        if self.config.hostnames:
            return
        self.listen_hostnames = [netloc]
        self.store.set_hostnames(self.listen_hostnames)

    def add_fault(self, rule: FaultRule) -> FaultRule:
        """Add a fault rule; see ``FaultRule`` for the fields."""
        return self.faults.add(rule)

    def requests(self) -> list[JournalEntry]:
        """Return the journal of requests received so far."""
        return self.journal.entries()

    def reset(self, *, data: bool = False) -> None:
        """Clear faults, the journal and rate-limit counters.

        With ``data``, also delete every stored row and seed the tenant
        again, which removes all connections, created spaces and tokens.
        """
        self.faults.clear()
        self.journal.clear()
        self.limiter.reset()
        if data:
            self.store.wipe()
            self.store.seed(self.config)
            if self.listen_hostnames:
                self.store.set_hostnames(self.listen_hostnames)

    def secret_digest(self, connection_id: str, property_name: str) -> str | None:
        """Return the salted digest of a stored secret; see ``Store.secret_digest``."""
        return self.store.secret_digest(connection_id, property_name)

    def secret_matches(
        self, connection_id: str, property_name: str, value: str
    ) -> bool:
        """Return whether a stored secret equals ``value``."""
        return self.store.secret_matches(connection_id, property_name, value)
