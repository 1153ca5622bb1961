"""``qtc export``: write the tenant's data connections as a manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from qtc_connections.cli.context import TenantContext, tenant_options
from qtc_connections.cli.output import (
    emit,
    emit_json,
    manifest_out_options,
    render_table,
)
from qtc_connections.sync.export import (
    Export,
    export_connections,
    render_manifest,
    write_manifest,
)


@click.command("export")
@tenant_options
@click.option(
    "--space",
    metavar="NAME|ID",
    help="Export this space only, by exact name or id [env QTC_SPACE_ID].",
)
@click.option(
    "--all-spaces",
    is_flag=True,
    help="Export every visible space, ignoring QTC_SPACE_ID.",
)
@click.option(
    "--filter",
    "scim_filter",
    metavar="EXPR",
    help="SCIM filter on the connections, such as 'qName sw \"SRC_\"'.",
)
@manifest_out_options
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the entries, the variables to set and the manifest text as JSON.",
)
def export(
    space: str | None,
    all_spaces: bool,
    scim_filter: str | None,
    out: Path | None,
    force: bool,
    as_json: bool,
    **options: Any,
) -> None:
    """Write the tenant's data connections as a manifest for qtc plan.

    Each connection becomes one entry: its catalog kind (or data_source
    for other data sources), its gateway, its tags and the properties
    that differ from the kind's defaults. Secrets and key files are never
    returned by the tenant, so they are written as env: references. The
    variables to set are listed on standard error.

    \b
    Example:
      qtc export --space "Data Integration" --out connections.yaml
      qtc plan connections.yaml
    """
    if space and all_spaces:
        raise click.UsageError("give --space or --all-spaces, not both")

    context = TenantContext.from_options(options, space=space)
    client = context.client
    space_name = None if all_spaces else context.settings.space
    space_id = client.spaces.resolve(space_name).id if space_name else None

    exported = export_connections(client, space_id=space_id, scim_filter=scim_filter)
    manifest = render_manifest(exported)
    if out is not None:
        write_manifest(out, manifest, force=force)

    if as_json:
        emit_json(
            {
                **exported.to_dict(),
                "out": str(out) if out else None,
                "manifest": manifest,
            }
        )
    elif out is None:
        emit(manifest.removesuffix("\n"))
    _report(exported, out)


def _report(exported: Export, out: Path | None) -> None:
    """Write the summary, the skipped connections and the variables to stderr."""
    count = len(exported.connections)
    noun = "connection" if count == 1 else "connections"
    where = f" to {out}" if out else ""
    emit(f"exported {count} {noun}{where}", err=True)
    for skipped in exported.skipped:
        emit(
            f"skipped {skipped.name} ({skipped.connection_id}): {skipped.reason}",
            err=True,
        )

    if not exported.variables:
        return
    emit("set these variables, or edit the references, before qtc plan:", err=True)
    rows = [
        (
            variable.name,
            variable.connection,
            variable.property,
            "key file path" if variable.key_file else "secret",
        )
        for variable in exported.variables
    ]
    emit(render_table(["VARIABLE", "CONNECTION", "PROPERTY", "HOLDS"], rows), err=True)
