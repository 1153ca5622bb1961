"""Summarise the verdicts of a contract check as lines a person can act on.

Report lines name the method, path, status and finding of an exchange and
the test that sent it. They never contain a query string or a body, which
may carry secrets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from contract.recorder import Exchange
from contract.validator import ContractValidator, Outcome, Verdict


@dataclass(frozen=True)
class ContractReport:
    """The verdicts of every recorded exchange, with counts and report lines."""

    verdicts: tuple[Verdict, ...]

    @property
    def checked(self) -> int:
        """The number of exchanges validated against a spec."""
        return sum(
            1 for verdict in self.verdicts if verdict.outcome is not Outcome.UNCHECKED
        )

    @property
    def unchecked(self) -> int:
        """The number of exchanges no spec covers, or that had no real response."""
        return len(self.verdicts) - self.checked

    @property
    def rejected(self) -> int:
        """The number of invalid hand-written requests that the emulator rejected."""
        return self._count(Outcome.REJECTED)

    @property
    def defect_hits(self) -> Counter[str]:
        """How many findings each known defect explained, by defect key."""
        return Counter(
            hit.defect.key for verdict in self.verdicts for hit in verdict.defects
        )

    @property
    def violation_count(self) -> int:
        """The number of findings that are violations."""
        return sum(len(verdict.violations) for verdict in self.verdicts)

    def _count(self, outcome: Outcome) -> int:
        return sum(1 for verdict in self.verdicts if verdict.outcome is outcome)

    def summary(self) -> str:
        """Return the one-line summary of the check."""
        hits = self.defect_hits
        return (
            f"openapi contract: {self.checked} exchanges checked "
            f"({self.rejected} of them invalid requests that were rejected), "
            f"{self.unchecked} unchecked, {sum(hits.values())} findings from "
            f"{len(hits)} known spec defects, {self.violation_count} violations"
        )

    def violation_lines(self) -> list[str]:
        """Return one line per violation, in the order the exchanges happened."""
        lines = []
        for verdict in self.verdicts:
            for finding in verdict.violations:
                lines.append(
                    f"{exchange_label(verdict.exchange)}: {finding.describe()}"
                )
        return lines

    def unchecked_reasons(self) -> Counter[str]:
        """How many exchanges were left unchecked, by reason."""
        return Counter(
            verdict.reason
            for verdict in self.verdicts
            if verdict.outcome is Outcome.UNCHECKED
        )


def exchange_label(exchange: Exchange) -> str:
    """Return ``METHOD path status``, and the test that sent it when known."""
    status = exchange.status if exchange.status is not None else "no response"
    label = f"{exchange.method} {exchange.path} {status}"
    if exchange.origin:
        label += f" (in {exchange.origin})"
    return label


def check_exchanges(
    validator: ContractValidator, exchanges: Iterable[Exchange]
) -> ContractReport:
    """Validate every exchange and return the report."""
    return ContractReport(tuple(validator.check(exchange) for exchange in exchanges))
