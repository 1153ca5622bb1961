"""``qtc apply``: make the tenant's connections equal to the manifest.

The plan is shown and confirmed first, unless ``--yes`` is given or a
saved plan (``--plan FILE``) is applied. When standard input is not a
terminal and ``--yes`` is missing, apply fails instead of waiting for input.

Exit codes: 0 when every write succeeded or nothing had to change, 1 when
any connection failed or the run could not start.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from qtc_connections.cli.commands.plan import (
    ManifestInputs,
    manifest_options,
    prepare_plan,
    read_saved_plan,
    saved_plan_document,
)
from qtc_connections.cli.context import TenantContext, tenant_options
from qtc_connections.cli.output import emit, emit_json
from qtc_connections.errors import InputError
from qtc_connections.redact import redact
from qtc_connections.sync.apply import (
    DEFAULT_CONCURRENCY,
    ApplyResult,
    Outcome,
    OutcomeStatus,
    apply_plan,
)
from qtc_connections.sync.budget import DEFAULT_WRITES_PER_MINUTE, WriteBudget
from qtc_connections.sync.plan import Action, Plan, render_plan

__all__ = ["apply"]


@click.command("apply")
@manifest_options
@tenant_options
@click.option(
    "--plan",
    "plan_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Apply a plan saved by 'qtc plan --out', without asking; rejected if "
    "the tenant or the manifest changed since.",
)
@click.option(
    "-y",
    "--yes",
    is_flag=True,
    help="Apply without asking for confirmation, as CI needs.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 32),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Connections written at the same time.",
)
@click.option(
    "--max-writes-per-minute",
    type=click.IntRange(min=1),
    default=DEFAULT_WRITES_PER_MINUTE,
    show_default=True,
    help="Writes (POST, PATCH, DELETE) sent a minute at most; tenants allow 100.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the plan and the outcomes as JSON."
)
def apply(
    files: tuple[Path, ...],
    environment: str | None,
    variables: tuple[str, ...],
    prune: bool,
    resend_secrets: bool,
    state_path: Path | None,
    verbose: bool,
    plan_path: Path | None,
    yes: bool,
    concurrency: int,
    max_writes_per_minute: int,
    as_json: bool,
    **options: Any,
) -> None:
    """Create, update and delete connections until the tenant matches FILES.

    Creates and updates run first, deletes last. The state file is saved
    after every successful write, so an interrupted run can be repeated.
    """
    fresh = ManifestInputs.from_options(
        files, environment, variables, prune, resend_secrets, state_path
    )
    inputs, saved_checksum = _inputs(fresh, plan_path)
    context = TenantContext.from_options(options)
    built, state = prepare_plan(context, inputs, exclusive=True)
    if plan_path is not None and saved_checksum is not None:
        _check_saved_plan(plan_path, saved_checksum, built)

    # With --json the text plan goes to standard error, where the prompt is.
    emit(render_plan(built, verbose=verbose), err=as_json)
    if built.has_changes and plan_path is None and not yes:
        _confirm()

    writes = sum(1 for change in built.changes if change.action in _WRITE_ACTIONS)
    with _ProgressReport(writes, terminal=_is_terminal(sys.stderr)) as progress:
        result = apply_plan(
            context.client,
            built,
            state,
            concurrency=concurrency,
            budget=WriteBudget(max_writes_per_minute),
            on_outcome=progress.report,
        )

    if as_json:
        emit_json({"plan": saved_plan_document(built, inputs), **result.to_json()})
    else:
        emit(_render_result(result))
    if result.failed:
        click.get_current_context().exit(1)


_WRITE_ACTIONS = (Action.CREATE, Action.UPDATE, Action.DELETE)


def _inputs(
    fresh: ManifestInputs, plan_path: Path | None
) -> tuple[ManifestInputs, str | None]:
    """Return the inputs to plan with, and the saved plan's checksum if any.

    A saved plan brings its own inputs, and only its manifest files may be
    given again, such as from another checkout of the same repository.

    Raises:
        click.UsageError: a plan option is given together with ``--plan``.
    """
    if plan_path is None:
        return fresh, None
    if fresh.environment or fresh.variables or fresh.prune or fresh.resend_secrets:
        raise _plan_options_given()
    if fresh.state_path is not None:
        raise _plan_options_given()

    saved_checksum, inputs = read_saved_plan(plan_path)
    if fresh.files:
        inputs = dataclasses.replace(inputs, files=fresh.files)
    return inputs, saved_checksum


def _plan_options_given() -> click.UsageError:
    return click.UsageError(
        "--env, --var, --prune, --resend-secrets and --state come from the "
        "plan file; leave them out with --plan"
    )


def _check_saved_plan(path: Path, saved_checksum: str, built: Plan) -> None:
    if built.checksum == saved_checksum:
        return
    raise InputError(
        f"the saved plan {path} no longer matches: the tenant or the manifest "
        f"changed since it was made (checksum {saved_checksum}, now "
        f"{built.checksum}); nothing was written. Run qtc plan again."
    )


def _confirm() -> None:
    if not _is_terminal(sys.stdin):
        raise InputError(
            "standard input is not a terminal, so the plan cannot be confirmed; "
            "pass --yes to apply without asking"
        )
    if not click.confirm("Apply these changes?", default=False, err=True):
        raise InputError("apply cancelled; nothing was written")


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _ProgressReport:
    """Shows each outcome: a rich progress bar on a terminal, else one log line."""

    def __init__(self, total: int, *, terminal: bool) -> None:
        self._total = total
        self._done = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if terminal and total:
            self._progress = Progress(
                TextColumn("applying"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )

    def __enter__(self) -> _ProgressReport:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task("apply", total=self._total)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def report(self, outcome: Outcome) -> None:
        """Show one outcome; ``apply_plan`` calls this under its own lock."""
        self._done += 1
        line = redact(f"[{self._done}/{self._total}] {_outcome_line(outcome)}")
        if self._progress is None or self._task is None:
            emit(line, err=True)
            return
        self._progress.console.print(line, markup=False, highlight=False)
        self._progress.advance(self._task)


def _outcome_line(outcome: Outcome) -> str:
    change = outcome.change
    line = f"{outcome.status.value} {change.name} in space {change.space_name!r}"
    if outcome.connection_id:
        line += f" (id {outcome.connection_id})"
    if outcome.detail:
        line += f": {outcome.detail}"
    return line


def _render_result(result: ApplyResult) -> str:
    lines = [_outcome_line(outcome) for outcome in result.outcomes]
    counts = ", ".join(
        f"{result.count(status)} {status.value}"
        for status in (
            OutcomeStatus.CREATED,
            OutcomeStatus.UPDATED,
            OutcomeStatus.DELETED,
            OutcomeStatus.FAILED,
        )
    )
    if not result.outcomes:
        lines.append("No changes.")
    else:
        lines.append(f"Apply finished: {counts}.")
    return "\n".join(lines)
