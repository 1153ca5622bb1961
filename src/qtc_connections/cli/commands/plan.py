"""``qtc plan``: show what ``qtc apply`` would change on the tenant.

Exit codes: 0 when the plan is made (with ``--detailed-exitcode``: only when
it has no changes), 2 with ``--detailed-exitcode`` when it has changes, and
1 on any error. The manifest options defined here are shared with
``qtc apply``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from qtc_connections.cli.context import TenantContext, tenant_options
from qtc_connections.cli.output import emit, emit_json, prompt_secret
from qtc_connections.errors import InputError
from qtc_connections.sync.fingerprint import Fingerprinter
from qtc_connections.sync.plan import Plan, build_plan, render_plan
from qtc_connections.sync.state import (
    StateFile,
    default_state_path,
    write_file_atomically,
)

__all__ = [
    "ManifestInputs",
    "manifest_options",
    "plan",
    "prepare_plan",
    "read_saved_plan",
    "saved_plan_document",
]

F = TypeVar("F", bound=Callable[..., Any])

# Exit code of ``qtc plan --detailed-exitcode`` for a plan with changes.
CHANGES_EXIT_CODE = 2


def manifest_options(func: F) -> F:
    """Add the manifest files and the options that shape a plan."""
    options = [
        click.argument(
            "files",
            nargs=-1,
            type=click.Path(exists=True, path_type=Path),
        ),
        click.option(
            "--env",
            "environment",
            metavar="NAME",
            help="Environment of the manifest whose variables and overlays apply.",
        ),
        click.option(
            "--var",
            "variables",
            multiple=True,
            metavar="NAME=VALUE",
            help="Set a manifest variable, over the file and the environment.",
        ),
        click.option(
            "--prune",
            is_flag=True,
            help="Delete connections in the manifest's spaces that no file declares.",
        ),
        click.option(
            "--resend-secrets",
            is_flag=True,
            help="Send secrets that the state has no fingerprint for.",
        ),
        click.option(
            "--state",
            "state_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="State file [default: .qtc-state.json next to the first manifest].",
        ),
        click.option(
            "-v",
            "--verbose",
            is_flag=True,
            help="Also list connections without changes, and every secret.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@dataclass(frozen=True)
class ManifestInputs:
    """The inputs of a plan besides the tenant, which a plan file saves."""

    files: tuple[Path, ...]
    environment: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    prune: bool = False
    resend_secrets: bool = False
    state_path: Path | None = None

    @classmethod
    def from_options(
        cls,
        files: tuple[Path, ...],
        environment: str | None,
        variables: tuple[str, ...],
        prune: bool,
        resend_secrets: bool,
        state_path: Path | None,
    ) -> ManifestInputs:
        """Build the inputs from the command's options.

        Raises:
            click.BadParameter: a ``--var`` is not ``NAME=VALUE``.
        """
        return cls(
            files=files,
            environment=environment,
            variables=parse_variables(variables),
            prune=prune,
            resend_secrets=resend_secrets,
            state_path=state_path,
        )

    def to_json(self) -> dict[str, object]:
        """Describe the inputs, with absolute paths, for a saved plan."""
        return {
            "files": [str(path.resolve()) for path in self.files],
            "environment": self.environment,
            "variables": dict(self.variables),
            "prune": self.prune,
            "resend_secrets": self.resend_secrets,
            "state": str(self.state_path.resolve()) if self.state_path else None,
        }

    @classmethod
    def from_json(cls, data: object, *, source: Path) -> ManifestInputs:
        """Read the inputs that ``to_json`` wrote into the plan file ``source``.

        Raises:
            InputError: the inputs are missing or malformed.
        """
        if not isinstance(data, dict):
            raise _invalid_plan(source, "it has no inputs object")
        files = data.get("files")
        variables = data.get("variables") or {}
        environment = data.get("environment")
        state = data.get("state")
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise _invalid_plan(source, "inputs.files is not a list of paths")
        if not isinstance(variables, dict) or not all(
            isinstance(v, str) for v in variables.values()
        ):
            raise _invalid_plan(source, "inputs.variables is not an object of strings")
        if environment is not None and not isinstance(environment, str):
            raise _invalid_plan(source, "inputs.environment is not a string")
        if state is not None and not isinstance(state, str):
            raise _invalid_plan(source, "inputs.state is not a path")
        return cls(
            files=tuple(Path(f) for f in files),
            environment=environment,
            variables={str(k): v for k, v in variables.items()},
            prune=data.get("prune") is True,
            resend_secrets=data.get("resend_secrets") is True,
            state_path=Path(state) if state else None,
        )


def parse_variables(values: tuple[str, ...]) -> dict[str, str]:
    """Parse ``--var NAME=VALUE`` options into a mapping; the last of a name wins.

    Raises:
        click.BadParameter: an option has no ``=`` or no name.
    """
    variables: dict[str, str] = {}
    for text in values:
        name, separator, value = text.partition("=")
        if not separator or not name.strip():
            raise click.BadParameter(
                "give NAME=VALUE, such as db_host=mysql.dev.internal",
                param_hint="--var",
            )
        variables[name.strip()] = value
    return variables


def _invalid_plan(path: Path, problem: str) -> InputError:
    return InputError(
        f"{path} is not a plan file of qtc plan --out: {problem}; make it again "
        "with qtc plan --out FILE"
    )


def prepare_plan(
    context: TenantContext, inputs: ManifestInputs, *, exclusive: bool = False
) -> tuple[Plan, StateFile]:
    """Load the manifest and the state, read the tenant, and build the plan.

    ``exclusive`` locks the state file for the rest of the process, as
    apply needs; see ``StateFile.load``.

    Raises:
        click.UsageError: no manifest file was given.
        QtcError: the manifest, state, key files or secrets are invalid, or
            the tenant failed; see ``build_plan``.
    """
    if not inputs.files:
        raise click.UsageError("give one or more manifest files or folders")
    # The loader is imported here so that commands without a manifest do not
    # pay for the YAML and JSON Schema libraries.
    from qtc_connections.manifest.loader import load_manifest

    manifest = load_manifest(
        list(inputs.files),
        environment=inputs.environment,
        variables=dict(inputs.variables),
    )
    state = StateFile.load(
        inputs.state_path or default_state_path(manifest.files), exclusive=exclusive
    )
    plan = build_plan(
        context.client,
        manifest,
        state,
        Fingerprinter.from_key_file(),
        prune=inputs.prune,
        resend_secrets=inputs.resend_secrets,
        default_space=context.settings.space,
        prompt=prompt_secret,
    )
    return plan, state


def saved_plan_document(plan: Plan, inputs: ManifestInputs) -> dict[str, Any]:
    """Return the plan as JSON data, with the inputs that ``apply --plan`` reuses."""
    document = plan.to_json()
    document["inputs"] = inputs.to_json()
    return document


def read_saved_plan(path: Path) -> tuple[str, ManifestInputs]:
    """Return the checksum and the inputs of a plan file written by ``--out``.

    Raises:
        InputError: the file cannot be read or is not a plan file.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the plan file {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise _invalid_plan(path, f"it is not JSON ({exc.msg})") from exc
    if not isinstance(document, dict):
        raise _invalid_plan(path, "it is not a JSON object")

    checksum = document.get("checksum")
    if not isinstance(checksum, str) or not checksum.startswith("sha256:"):
        raise _invalid_plan(path, "it has no checksum")
    return checksum, ManifestInputs.from_json(document.get("inputs"), source=path)


def _write_plan_file(path: Path, document: Mapping[str, Any]) -> None:
    try:
        write_file_atomically(path, json.dumps(document, indent=2) + "\n")
    except OSError as exc:
        raise InputError(
            f"cannot write the plan file {path} ({exc.strerror or exc})"
        ) from exc


@click.command("plan")
@manifest_options
@tenant_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan as JSON, for 'qtc apply --plan FILE'.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when the plan has changes and 0 when it has none.",
)
def plan(
    files: tuple[Path, ...],
    environment: str | None,
    variables: tuple[str, ...],
    prune: bool,
    resend_secrets: bool,
    state_path: Path | None,
    verbose: bool,
    as_json: bool,
    out_path: Path | None,
    detailed_exitcode: bool,
    **options: Any,
) -> None:
    """Show what apply would change to make the tenant match the manifest.

    FILES are manifest files or folders of *.yaml and *.yml files. Nothing
    is written to the tenant or to the state file.
    """
    inputs = ManifestInputs.from_options(
        files, environment, variables, prune, resend_secrets, state_path
    )
    context = TenantContext.from_options(options)
    built, _ = prepare_plan(context, inputs)

    document = saved_plan_document(built, inputs)
    if out_path is not None:
        _write_plan_file(out_path, document)
    if as_json:
        emit_json(document)
    else:
        emit(render_plan(built, verbose=verbose))
        if out_path is not None:
            emit(
                f"Plan saved to {out_path}; apply it with: qtc apply --plan {out_path}"
            )

    if detailed_exitcode and built.has_changes:
        click.get_current_context().exit(CHANGES_EXIT_CODE)
