"""``qtc postman import``: turn a Postman collection into a manifest.

The command is attached to the ``qtc postman`` group by the CLI.
"""

from __future__ import annotations

from pathlib import Path

import click

from qtc_connections.cli.output import emit, emit_json, manifest_out_options
from qtc_connections.postman.importer import (
    ImportResult,
    import_collection,
    render_manifest,
    write_manifest,
)

__all__ = ["import_command"]


@click.command("import")
@click.argument(
    "collection",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--environment",
    "environment",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="ENV",
    help="Postman environment file whose values replace the collection's variables.",
)
@manifest_out_options
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the manifest, the skipped requests and the warnings as JSON.",
)
def import_command(
    collection: Path,
    environment: Path | None,
    out: Path | None,
    force: bool,
    as_json: bool,
) -> None:
    """Write the create requests of a Postman collection as a manifest.

    Each POST to /api/v1/data-connections becomes one entry. Secrets become
    env: references named after the Postman variable, so mysqlPassword is
    read from MYSQL_PASSWORD, and a key file's path from NAME_PATH. Other
    requests, and the problems found, are listed on standard error.

    \b
    Example:
      qtc postman import collection.json --environment dev.json --out qtc.yaml
      qtc plan qtc.yaml --var spaceId="Data Integration"
    """
    result = import_collection(collection, environment_path=environment)
    if out is not None:
        write_manifest(result, out, force=force)

    if as_json:
        emit_json({**result.to_dict(), "out": str(out) if out else None})
        return
    if out is None:
        emit(render_manifest(result).removesuffix("\n"))
    _report(result, out)


def _report(result: ImportResult, out: Path | None) -> None:
    """Write the summary, skipped requests, warnings and variables to stderr."""
    count = len(result.manifest["connections"])
    noun = "connection" if count == 1 else "connections"
    where = f" to {out}" if out else ""
    emit(f"imported {count} {noun}{where}", err=True)

    for skipped in result.skipped:
        emit(f"skipped {skipped.method} {skipped.name}: {skipped.reason}", err=True)
    for warning in result.warnings:
        emit(f"warning: {warning}", err=True)

    if result.unresolved_variables:
        names = ", ".join(result.unresolved_variables)
        emit(f"give these variables with --var NAME=VALUE: {names}", err=True)
    if result.environment_variables:
        names = ", ".join(result.environment_variables)
        emit(f"set these environment variables before qtc plan: {names}", err=True)
