"""``qtc postman``: exchange connections with Postman collections."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from qtc_connections.cli.commands.plan import parse_variables
from qtc_connections.cli.output import emit
from qtc_connections.errors import InputError, QtcError
from qtc_connections.manifest.loader import load_manifest
from qtc_connections.postman.export import (
    PostmanExport,
    export_catalog,
    export_manifest,
)
from qtc_connections.postman.import_command import import_command


@click.group("postman")
def postman() -> None:
    """Export connections as a Postman collection, or import one as a manifest."""


@postman.command("export")
@click.option(
    "--manifest",
    "manifests",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    metavar="PATH",
    help="Manifest file or folder to export; repeat for several. "
    "Without it, one request per catalog kind is exported.",
)
@click.option(
    "--env",
    "environment",
    metavar="NAME",
    help="Environment of the manifest whose variables and overlays apply.",
)
@click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a manifest variable, over the file and the environment.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the collection to FILE instead of standard output.",
)
@click.option(
    "--environment-out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write a Postman environment that lists every variable.",
)
@click.option("--force", is_flag=True, help="Replace output files that exist.")
def export(
    manifests: tuple[Path, ...],
    environment: str | None,
    variables: tuple[str, ...],
    out: Path | None,
    environment_out: Path | None,
    force: bool,
) -> None:
    """Write a Postman collection of discovery, create and PATCH requests.

    The bodies are the ones qtc itself sends. Secrets and key files become
    {{variables}} that the environment marks as secret and leaves empty;
    fill them in Postman. Set baseUrl to the tenant (https://{{hostname}})
    or to a local emulator.

    \b
    Example:
      qtc postman export --out qtc.postman_collection.json \\
        --environment-out qtc.postman_environment.json
    """
    if (environment or variables) and not manifests:
        raise click.UsageError("--env and --var apply only with --manifest")

    # Check every target first, so that a refused file leaves nothing
    # half-written behind.
    for target in (out, environment_out):
        if target is not None:
            _check_target(target, force=force)

    exported = _build(manifests, environment, variables)
    collection_text = _to_json(exported.collection)
    if out is None:
        emit(collection_text.removesuffix("\n"))
    else:
        _write(out, collection_text, force=force)
        emit(f"wrote collection to {out}", err=True)

    if environment_out is not None:
        _write(environment_out, _to_json(exported.environment), force=force)
        emit(f"wrote environment to {environment_out}", err=True)
    count = len(exported.connections)
    emit(f"exported {count} create requests", err=True)


postman.add_command(import_command)


def _build(
    manifests: tuple[Path, ...], environment: str | None, variables: tuple[str, ...]
) -> PostmanExport:
    if not manifests:
        return export_catalog()
    manifest = load_manifest(
        manifests, environment=environment, variables=parse_variables(variables)
    )
    return export_manifest(manifest)


def _to_json(document: object) -> str:
    return json.dumps(document, indent=2) + "\n"


def _check_target(path: Path, *, force: bool) -> None:
    if path.is_dir():
        raise InputError(f"{path} is a folder; give the path of a file")
    if not path.parent.is_dir():
        raise InputError(f"folder {path.parent} does not exist; create it first")
    if path.exists() and not force:
        raise InputError(
            f"{path} already exists; choose another path, or pass --force to replace it"
        )


def _write(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``path``, replacing a file only with ``force``.

    Raises:
        InputError: ``path`` exists without ``force``, is a folder, or its
            folder does not exist.
        QtcError: The file cannot be written.
    """
    _check_target(path, force=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        descriptor = os.open(path, flags, 0o644)
    except FileExistsError:
        raise InputError(
            f"{path} already exists; choose another path, or pass --force to replace it"
        ) from None
    except OSError as exc:
        raise QtcError(f"{path} cannot be written ({exc.strerror})") from exc
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
