"""``qtc kinds``: the built-in catalog of connection kinds."""

from __future__ import annotations

import click

from qtc_connections.catalog import (
    GATEWAY_PROPERTY,
    GatewayRule,
    Kind,
    get_kind,
    list_kinds,
)
from qtc_connections.cli.output import emit, emit_json, output_options, render_table

_GATEWAY_LABELS = {
    GatewayRule.DATA_MOVEMENT: "Data Movement gateway (--gateway)",
    GatewayRule.QLIK_MANAGED: "Qlik-managed",
    GatewayRule.NONE: "none",
}


@click.group()
def kinds() -> None:
    """Show the built-in connection kinds."""


@kinds.command("list")
@output_options
def list_command(as_json: bool, quiet: bool) -> None:
    """List every built-in kind with its data source id and gateway rule."""
    catalog = list_kinds()
    if as_json:
        emit_json([k.to_dict() for k in catalog])
    elif quiet:
        for kind in catalog:
            emit(kind.name)
    else:
        rows = [
            (k.name, k.data_source_id, _GATEWAY_LABELS[k.gateway], k.title)
            for k in catalog
        ]
        emit(render_table(["KIND", "DATA SOURCE ID", "GATEWAY", "TITLE"], rows))


@kinds.command("show")
@click.argument("kind_name", metavar="KIND")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def show(kind_name: str, as_json: bool) -> None:
    """Show one kind: defaults, required inputs, secrets and key files."""
    kind = get_kind(kind_name)
    if as_json:
        emit_json(kind.to_dict())
        return
    emit(describe_kind(kind))


def describe_kind(kind: Kind) -> str:
    """Format a kind as the lines ``qtc kinds show`` prints."""
    lines = [
        f"{kind.name}: {kind.title}",
        f"  data source id: {kind.data_source_id}",
        f"  gateway:        {_GATEWAY_LABELS[kind.gateway]} ({GATEWAY_PROPERTY})",
        f"  required:       {', '.join(kind.required) or '-'}  (--set NAME=VALUE)",
        f"  secrets:        {', '.join(kind.secrets) or '-'}  (--secret NAME=REF)",
        f"  key files:      {', '.join(_file_label(kind, n) for n in kind.files) or '-'}  (--key-file NAME=PATH)",
        "  defaults:",
    ]
    for name, value in kind.defaults.items():
        lines.append(f"    {name} = {_format_default(value)}")
    if kind.reference:
        lines.append(f"  reference:      {kind.reference}")
    return "\n".join(lines)


def _format_default(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _file_label(kind: Kind, name: str) -> str:
    spec = kind.files[name]
    return f"{name} ({spec.file_type.value})"
