"""``qtc sources``: data sources, their property schemas and gateways."""

from __future__ import annotations

from typing import Any

import click

from qtc_connections.cli.context import TenantContext, tenant_options
from qtc_connections.cli.output import emit, emit_json, output_options, render_table


@click.group()
def sources() -> None:
    """List data sources and read their property schemas."""


@sources.command("list")
@tenant_options
@output_options
@click.option(
    "--include-disabled", is_flag=True, help="Also list disabled data sources."
)
def list_sources(
    as_json: bool, quiet: bool, include_disabled: bool, **options: Any
) -> None:
    """List the tenant's data sources (GET /api/v1/data-sources)."""
    client = TenantContext.from_options(options).client
    found = client.data_sources.list(include_disabled=include_disabled)
    if as_json:
        emit_json([s.raw for s in found])
    elif quiet:
        for source in found:
            emit(source.data_source_id)
    else:
        rows = [
            (s.data_source_id, s.display_name, s.provider, s.disabled) for s in found
        ]
        emit(render_table(["DATA SOURCE ID", "NAME", "PROVIDER", "DISABLED"], rows))


@sources.command("specs")
@click.argument("data_source_id")
@tenant_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def specs(data_source_id: str, as_json: bool, **options: Any) -> None:
    """Show the connection properties a data source accepts (its api-specs)."""
    client = TenantContext.from_options(options).client
    spec = client.data_sources.api_specs(data_source_id)
    if as_json:
        emit_json(spec.raw)
        return

    emit(f"{data_source_id}: {spec.connector_provider} {spec.connector_version}")
    required = set(spec.required)
    rows = []
    for name, schema in spec.properties.items():
        rows.append(
            (
                name,
                _type_label(schema),
                "yes" if name in required else "",
                "yes" if schema.get("writeOnly") else "",
                _default_label(schema),
                ",".join(str(v) for v in schema.get("enum", [])),
            )
        )
    emit(
        render_table(
            ["PROPERTY", "TYPE", "REQUIRED", "SECRET", "DEFAULT", "ALLOWED"], rows
        )
    )


@sources.command("gateways")
@click.argument("data_source_id")
@tenant_options
@output_options
def gateways(data_source_id: str, as_json: bool, quiet: bool, **options: Any) -> None:
    """List the Direct Access gateways of a DG_ data source."""
    client = TenantContext.from_options(options).client
    found = client.data_sources.gateways(data_source_id)
    if as_json:
        emit_json([g.raw for g in found])
    elif quiet:
        for gateway in found:
            emit(gateway.id)
    else:
        emit(
            render_table(
                ["GATEWAY ID", "NAME", "DEFAULT"],
                [(g.id, g.name, g.default) for g in found],
            )
        )


def _type_label(schema: dict[str, Any]) -> str:
    kind = str(schema.get("type", "?"))
    items = schema.get("items")
    if (
        kind == "array"
        and isinstance(items, dict)
        and "value" in items.get("properties", {})
    ):
        return "file"
    return kind


def _default_label(schema: dict[str, Any]) -> str:
    if "default" not in schema:
        return ""
    value = schema["default"]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
