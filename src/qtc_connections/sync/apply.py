"""Carry out a plan: create, update and delete connections, and record the state.

Creates and updates run first and deletes last, so that a connection is
never removed before its replacement exists. Each phase runs on a few
threads, and every write first takes a token from a ``WriteBudget``, so
that a large manifest does not run into the tenant's write limit.

Each create goes through ``client.connections.create``, which looks the
name up first and resolves a lost response by lookup, so running apply
again after an interruption never makes a duplicate. Each update is one
PATCH. After a create or PATCH the connection is read back, and a plain
property or tag that did not take effect fails that connection.

The state is saved after every successful write, so an interrupted run
keeps the fingerprints of what it did. A failure of one connection does
not stop the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any

from qtc_connections.client import QlikClient
from qtc_connections.errors import QtcError
from qtc_connections.patch import patch_body
from qtc_connections.properties import build_connection_properties
from qtc_connections.sync.budget import WriteBudget
from qtc_connections.sync.plan import (
    Action,
    Change,
    Payload,
    Plan,
    json_equal,
    user_tags,
)
from qtc_connections.sync.state import StateFile

__all__ = [
    "DEFAULT_CONCURRENCY",
    "ApplyResult",
    "Outcome",
    "OutcomeStatus",
    "apply_plan",
]

logger = logging.getLogger("qtc_connections.sync")

DEFAULT_CONCURRENCY = 4

_WRITE_ACTIONS = (Action.CREATE, Action.UPDATE, Action.DELETE)


class OutcomeStatus(Enum):
    """The result of the change to one connection."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """The result of one change.

    ``detail`` explains why a change failed. A failed create or update that
    did reach the tenant still has its ``connection_id``.
    """

    change: Change
    status: OutcomeStatus
    connection_id: str | None = None
    detail: str = ""

    def to_json(self) -> dict[str, object]:
        """Describe the outcome as JSON data."""
        return {
            "action": self.change.action.value,
            "space": self.change.space_name,
            "space_id": self.change.key.space_id,
            "name": self.change.name,
            "id": self.connection_id,
            "status": self.status.value,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ApplyResult:
    """The outcome of every write of a plan, in the plan's order."""

    outcomes: tuple[Outcome, ...]

    @property
    def failed(self) -> list[Outcome]:
        """The outcomes that failed."""
        return [o for o in self.outcomes if o.status is OutcomeStatus.FAILED]

    def count(self, status: OutcomeStatus) -> int:
        """Return the number of outcomes with ``status``."""
        return sum(1 for outcome in self.outcomes if outcome.status is status)

    def to_json(self) -> dict[str, Any]:
        """Describe the outcomes and their counts as JSON data."""
        return {
            "outcomes": [outcome.to_json() for outcome in self.outcomes],
            "counts": {status.value: self.count(status) for status in OutcomeStatus},
        }


def apply_plan(
    client: QlikClient,
    plan: Plan,
    state: StateFile,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    budget: WriteBudget | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> ApplyResult:
    """Write the plan's creates, updates and deletes to the tenant.

    Args:
        client: Client for the tenant the plan was made against.
        plan: The plan, as ``build_plan`` returned it.
        state: Where each successful write is recorded and saved.
        concurrency: Writes in flight at once.
        budget: Paces the writes; ``WriteBudget()`` by default.
        on_outcome: Called with each outcome as it happens, from the thread
            that made it, for progress display.

    Returns:
        One outcome per create, update and delete. Connections without
        changes are not listed, but their ids are recorded in the state.

    Raises:
        ValueError: ``concurrency`` is below 1.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    writer = _Writer(
        client=client,
        state=state,
        budget=budget or WriteBudget(),
        on_outcome=on_outcome or _ignore,
    )
    writes = [change for change in plan.changes if change.action in _WRITE_ACTIONS]
    first = [c for c in writes if c.action is not Action.DELETE]
    deletes = [c for c in writes if c.action is Action.DELETE]

    outcomes: dict[int, Outcome] = {}
    for phase in (first, deletes):
        outcomes.update(_run_phase(writer, phase, concurrency))
    writer.remember_unchanged(plan.changes)
    return ApplyResult(tuple(outcomes[id(change)] for change in writes))


def _ignore(outcome: Outcome) -> None:
    """Discard an outcome, when the caller shows no progress."""


def _run_phase(
    writer: _Writer, changes: Sequence[Change], concurrency: int
) -> dict[int, Outcome]:
    if not changes:
        return {}
    executor = ThreadPoolExecutor(
        max_workers=min(concurrency, len(changes)), thread_name_prefix="qtc-apply"
    )
    futures: dict[int, Future[Outcome]] = {}
    try:
        for change in changes:
            futures[id(change)] = executor.submit(writer.converge, change)
        results = {key: future.result() for key, future in futures.items()}
    except BaseException:
        # On Ctrl-C, writes in flight finish and record their state, and the
        # writes not started yet are dropped.
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
    return results


@dataclass
class _Writer:
    client: QlikClient
    state: StateFile
    budget: WriteBudget
    on_outcome: Callable[[Outcome], None]

    def __post_init__(self) -> None:
        self._report_lock = threading.Lock()

    def converge(self, change: Change) -> Outcome:
        """Make one change; a ``QtcError`` becomes a failed outcome."""
        try:
            outcome = self._write(change)
        except QtcError as error:
            logger.warning("%s %s failed: %s", change.action.value, change.key, error)
            outcome = Outcome(
                change, OutcomeStatus.FAILED, change.connection_id, str(error)
            )
        with self._report_lock:
            self.on_outcome(outcome)
        return outcome

    def _write(self, change: Change) -> Outcome:
        if change.action is Action.CREATE:
            return self._create(change)
        if change.action is Action.UPDATE:
            return self._update(change)
        return self._delete(change)

    def _create(self, change: Change) -> Outcome:
        payload = _payload_of(change)
        built = build_connection_properties(payload.connection)
        # NOTE: the token is taken before create() looks the name up, so the
        # POSTs of concurrent creates may bunch by up to the lookup's latency:
        # at most concurrency - 1 writes beyond the budget in a window.
        self.budget.acquire()
        created = self.client.connections.create(
            name=change.name,
            data_source_id=payload.connection.kind.data_source_id,
            connection_properties=built.payload,
            space_id=change.key.space_id,
            tags=payload.tags,
        )
        self.state.record(change.key, created.id, payload.fingerprints, replace=True)
        return self._verified(change, OutcomeStatus.CREATED, created.id, payload)

    def _update(self, change: Change) -> Outcome:
        payload = _payload_of(change)
        connection_id = change.connection_id or ""
        self.budget.acquire()
        self.client.connections.patch(connection_id, patch_body(change.operations))

        sent = {s.name for s in change.secrets if s.send}
        prints = {n: p for n, p in payload.fingerprints.items() if n in sent}
        self.state.record(change.key, connection_id, prints)
        return self._verified(change, OutcomeStatus.UPDATED, connection_id, payload)

    def _delete(self, change: Change) -> Outcome:
        connection_id = change.connection_id or ""
        self.budget.acquire()
        # A connection that is already gone counts as deleted, which also
        # covers a repeated DELETE whose first response was lost.
        self.client.connections.delete(connection_id, missing_ok=True)
        self.state.forget(change.key)
        return Outcome(change, OutcomeStatus.DELETED, connection_id)

    def _verified(
        self,
        change: Change,
        status: OutcomeStatus,
        connection_id: str,
        payload: Payload,
    ) -> Outcome:
        """Read the connection back and fail it if a written value did not stick."""
        current = self.client.connections.get(connection_id, parse_connection=True)
        properties = current.connection_properties or {}
        problems = []
        for name in sorted(payload.plain):
            expected = payload.plain[name]
            if name not in properties:
                problems.append(f"{name} is missing, expected {expected!r}")
            elif not json_equal(properties[name], expected):
                problems.append(
                    f"{name} is {properties[name]!r}, expected {expected!r}"
                )
        tags = user_tags(current.tags)
        if sorted(tags) != sorted(payload.tags):
            problems.append(f"tags are {list(tags)!r}, expected {list(payload.tags)!r}")

        if not problems:
            return Outcome(change, status, connection_id)
        detail = (
            f"{status.value}, but the tenant did not keep every value: "
            + "; ".join(problems)
        )
        return Outcome(change, OutcomeStatus.FAILED, connection_id, detail)

    def remember_unchanged(self, changes: Sequence[Change]) -> None:
        """Record the ids of connections without changes that the state lacks.

        This keeps the state complete after it was lost. No fingerprint is
        recorded, because nothing was sent.
        """
        for change in changes:
            if change.action is not Action.NO_OP or change.connection_id is None:
                continue
            known = self.state.get(change.key)
            if known is None or known.connection_id != change.connection_id:
                self.state.record(change.key, change.connection_id, {}, replace=True)


def _payload_of(change: Change) -> Payload:
    if change.payload is None:
        raise QtcError(
            f"the plan has no values to send for {change.key}; run qtc plan again"
        )
    return change.payload
