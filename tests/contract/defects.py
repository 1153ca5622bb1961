"""Known defects of Qlik's published OpenAPI specs, matched finding by finding.

A defect excuses a finding only when everything matches: the spec file,
the operation, the status of the response, the side and part of the
message, the location (a regular expression matched in full), the
validator keyword and the exact message. Anything else is a violation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contract.findings import Finding
    from contract.recorder import Exchange


@dataclass(frozen=True)
class KnownDefect:
    """A fault of a spec, and the findings it explains.

    ``pointer`` is the JSON pointer of the faulty part of the spec.
    ``problem`` says what is wrong there and ``deviation`` why the emulator
    or the client departs from the spec. ``operations`` are spec methods
    and path templates, such as ``GET /api/v1/data-connections/{qID}``.
    ``statuses`` are the response statuses of the exchange. ``applies``,
    when set, is a further condition on the exchange.
    """

    key: str
    spec: str
    pointer: str
    problem: str
    deviation: str
    operations: tuple[str, ...]
    statuses: tuple[int, ...]
    side: str
    part: str
    location: str
    keyword: str
    messages: tuple[str, ...]
    applies: Callable[[Exchange], bool] | None = None

    def matches(
        self,
        exchange: Exchange,
        spec: str,
        operation: str | None,
        finding: Finding,
    ) -> bool:
        """Return whether this defect explains ``finding`` in ``exchange``."""
        return (
            spec == self.spec
            and operation in self.operations
            and exchange.status in self.statuses
            and finding.side == self.side
            and finding.part == self.part
            and re.fullmatch(self.location, finding.location) is not None
            and finding.keyword == self.keyword
            and finding.message in self.messages
            and (self.applies is None or self.applies(exchange))
        )


KNOWN_DEFECTS: tuple[KnownDefect, ...] = ()
