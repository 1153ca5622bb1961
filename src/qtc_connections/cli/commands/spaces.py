"""``qtc spaces``: the spaces connections can live in."""

from __future__ import annotations

from typing import Any

import click

from qtc_connections.cli.context import TenantContext, tenant_options
from qtc_connections.cli.output import emit, emit_json, output_options, render_table


@click.group()
def spaces() -> None:
    """List spaces and resolve a space name to its id."""


@spaces.command("list")
@tenant_options
@output_options
@click.option("--name", help="Case-insensitive substring of the space name.")
@click.option(
    "--type", "space_type", help="Space type: data, shared or managed (comma list)."
)
def list_spaces(
    as_json: bool, quiet: bool, name: str | None, space_type: str | None, **options: Any
) -> None:
    """List the spaces visible to this identity (GET /api/v1/spaces)."""
    client = TenantContext.from_options(options).client
    found = list(client.spaces.list(name=name, type=space_type))
    if as_json:
        emit_json([s.raw for s in found])
    elif quiet:
        for space in found:
            emit(space.id)
    else:
        rows = [(s.id, s.name, s.type, s.roles) for s in found]
        emit(render_table(["SPACE ID", "NAME", "TYPE", "YOUR ROLES"], rows))


@spaces.command("resolve")
@click.argument("name_or_id")
@tenant_options
@output_options
def resolve(name_or_id: str, as_json: bool, quiet: bool, **options: Any) -> None:
    """Print the id of the space with exactly this name (or id)."""
    client = TenantContext.from_options(options).client
    space = client.spaces.resolve(name_or_id)
    if as_json:
        emit_json(space.raw)
    elif quiet:
        emit(space.id)
    else:
        emit(f"{space.id}  {space.name}  ({space.type})")
