"""``qtc connections``: list, get, create, patch and delete data connections."""

from __future__ import annotations

import re
from typing import Any

import click

from qtc_connections.api.models import Connection
from qtc_connections.cli import output
from qtc_connections.cli.context import TenantContext, tenant_options
from qtc_connections.cli.inputs import (
    FlagInputs,
    check_create,
    connection_input_options,
    create_connection,
    patch_connection,
)
from qtc_connections.cli.output import (
    emit,
    emit_json,
    output_options,
    render_table,
)
from qtc_connections.client import QlikClient
from qtc_connections.errors import NotFoundError

_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

space_option = click.option(
    "--space",
    metavar="NAME|ID",
    help="Space, by exact name or id [env QTC_SPACE_ID].",
)


@click.group()
def connections() -> None:
    """List, read, create, patch and delete data connections."""


@connections.command("list")
@tenant_options
@output_options
@space_option
@click.option(
    "--all-spaces",
    is_flag=True,
    help="List every visible space, ignoring QTC_SPACE_ID.",
)
@click.option(
    "--filter",
    "scim_filter",
    metavar="EXPR",
    help="SCIM filter, such as 'qName sw \"TGT_\"'.",
)
@click.option(
    "--sort", metavar="FIELD", help="Sort field with + or - prefix, such as -updated."
)
@click.option(
    "--page-size",
    type=click.IntRange(1, 100),
    default=100,
    show_default=True,
    help="Connections fetched per request; every page is read.",
)
def list_connections(
    as_json: bool,
    quiet: bool,
    space: str | None,
    all_spaces: bool,
    scim_filter: str | None,
    sort: str | None,
    page_size: int,
    **options: Any,
) -> None:
    """List data connections, following every page."""
    context = TenantContext.from_options(options, space=space)
    client = context.client
    space_id = None if all_spaces else _space_id(client, context.settings.space)
    found = list(
        client.connections.list(
            space_id=space_id, filter=scim_filter, sort=sort, limit=page_size
        )
    )

    if as_json:
        emit_json([c.raw for c in found])
    elif quiet:
        for connection in found:
            emit(connection.id)
    else:
        rows = [(c.id, c.name, c.data_source_id, c.space_id, c.updated) for c in found]
        emit(render_table(["ID", "NAME", "DATA SOURCE", "SPACE", "UPDATED"], rows))
        emit(f"{len(found)} connection{'' if len(found) == 1 else 's'}", err=True)


@connections.command("get")
@click.argument("connection")
@tenant_options
@output_options
@space_option
@click.option(
    "--parse",
    "parse_connection",
    is_flag=True,
    help="Include the parsed connection properties.",
)
def get_connection(
    connection: str,
    as_json: bool,
    quiet: bool,
    space: str | None,
    parse_connection: bool,
    **options: Any,
) -> None:
    """Show one connection, by id or by exact name within the space."""
    context = TenantContext.from_options(options, space=space)
    found = find_connection(context, connection, parse_connection=parse_connection)
    if as_json:
        emit_json(found.raw)
    elif quiet:
        emit(found.id)
    else:
        emit(describe_connection(found))


@connections.command("create")
@tenant_options
@output_options
@space_option
@click.option(
    "--name", required=True, help="Connection name (qName), unique in the space."
)
@click.option(
    "--kind",
    "kind_name",
    metavar="KIND",
    help="Catalog kind, such as snowflake-target (see 'qtc kinds list').",
)
@click.option(
    "--data-source",
    "data_source_id",
    metavar="ID",
    help="Any data source id, for a kind outside the catalog.",
)
@click.option(
    "--gateway",
    metavar="ID",
    help="Data Movement gateway id (agentId) [env QTC_GATEWAY_ID].",
)
@click.option("--tag", "tags", multiple=True, help="Tag to add; repeat for several.")
@connection_input_options
def create(
    as_json: bool,
    quiet: bool,
    space: str | None,
    name: str,
    kind_name: str | None,
    data_source_id: str | None,
    gateway: str | None,
    tags: tuple[str, ...],
    set_values: tuple[str, ...],
    secret_refs: tuple[str, ...],
    key_files: tuple[str, ...],
    **options: Any,
) -> None:
    """Create a connection of a catalog kind or a raw data source id.

    Plain properties are --set NAME=VALUE. Secrets are --secret
    NAME=REF, where REF is env:VAR, file:PATH, - (standard input) or
    prompt. Key files are --key-file NAME=PATH. Everything is checked
    against the catalog and the data source's api-specs before the
    request is sent, and an existing name in the space is an error.

    \b
    Example:
      qtc connections create --kind mysql-source --name SRC_MySQL \\
        --set server=db.internal --set username=qtc \\
        --secret password=env:MYSQL_PASSWORD
    """
    if (kind_name is None) == (data_source_id is None):
        raise click.UsageError("give exactly one of --kind or --data-source")

    context = TenantContext.from_options(options, space=space, gateway_id=gateway)
    checked = check_create(
        name=name,
        kind_name=kind_name,
        data_source_id=data_source_id,
        gateway_id=context.settings.gateway_id,
        set_values=set_values,
        secret_refs=secret_refs,
        key_files=key_files,
    )

    client = context.client
    space_id = _space_id(client, context.settings.space)
    created = create_connection(client, checked, space_id=space_id, tags=tags)
    if as_json:
        emit_json(created.raw)
    elif quiet:
        emit(created.id)
    else:
        emit(
            f"created {created.name} ({created.id}) in space {created.space_id or 'personal'}"
        )


@connections.command("patch")
@click.argument("connection")
@tenant_options
@output_options
@space_option
@click.option("--rename", "new_name", metavar="NAME", help="New connection name.")
@click.option(
    "--remove",
    "removals",
    multiple=True,
    metavar="NAME",
    help="Connection property to remove.",
)
@connection_input_options
def patch(
    connection: str,
    as_json: bool,
    quiet: bool,
    space: str | None,
    new_name: str | None,
    removals: tuple[str, ...],
    set_values: tuple[str, ...],
    secret_refs: tuple[str, ...],
    key_files: tuple[str, ...],
    **options: Any,
) -> None:
    """Change properties or rotate secrets of a connection with PATCH.

    Takes the same --set, --secret and --key-file flags as create. The
    documented update rules are checked before sending: changing host,
    server or url needs the credentials in the same command, and
    credentials go through one channel only.
    """
    context = TenantContext.from_options(options, space=space)
    inputs = FlagInputs.parse(set_values, secret_refs, key_files)
    current = find_connection(context, connection, parse_connection=True)
    operations = patch_connection(
        context.client, current, new_name=new_name, removals=removals, inputs=inputs
    )
    if as_json:
        emit_json({"id": current.id, "operations": operations})
    elif quiet:
        emit(current.id)
    else:
        paths = ", ".join(str(op["path"]) for op in operations)
        emit(f"patched {current.name} ({current.id}): {paths}")


@connections.command("delete")
@click.argument("connection")
@tenant_options
@output_options
@space_option
@click.option("--yes", is_flag=True, help="Delete without asking.")
@click.option(
    "--missing-ok", is_flag=True, help="Succeed if the connection does not exist."
)
def delete(
    connection: str,
    as_json: bool,
    quiet: bool,
    space: str | None,
    yes: bool,
    missing_ok: bool,
    **options: Any,
) -> None:
    """Delete a connection, by id or by exact name within the space."""
    context = TenantContext.from_options(options, space=space)
    found = _find_for_delete(context, connection, missing_ok=missing_ok)
    if found is None:
        emit(f"{connection} does not exist; nothing to delete", err=True)
        return
    if not yes:
        if not output.stdin_is_terminal():
            raise click.UsageError(
                "deleting needs confirmation, but standard input is not a terminal; pass --yes"
            )
        click.confirm(
            f"Delete connection {found.name} ({found.id})?", abort=True, err=True
        )
    context.client.connections.delete(found.id, missing_ok=missing_ok)
    if as_json:
        emit_json({"id": found.id, "deleted": True})
    elif quiet:
        emit(found.id)
    else:
        emit(f"deleted {found.name} ({found.id})")


def find_connection(
    context: TenantContext, reference: str, *, parse_connection: bool = False
) -> Connection:
    """Return the connection a command names, by UUID or by exact name in the space.

    Raises:
        NotFoundError: no connection has that id.
        ResolutionError: no connection, or several, have that name.
    """
    client = context.client
    if _UUID.match(reference):
        return client.connections.get(reference, parse_connection=parse_connection)
    space_id = _space_id(client, context.settings.space)
    return client.connections.get_by_name(
        reference, space_id=space_id, parse_connection=parse_connection
    )


def _find_for_delete(
    context: TenantContext, reference: str, *, missing_ok: bool
) -> Connection | None:
    """Return the connection to delete, or ``None`` for a missing one with ``missing_ok``.

    An unknown space, or a name that several connections share, raises even
    with ``missing_ok``, because deleting nothing would hide a mistake in
    the command.
    """
    client = context.client
    if _UUID.match(reference):
        try:
            return client.connections.get(reference)
        except NotFoundError:
            if missing_ok:
                return None
            raise

    space_id = _space_id(client, context.settings.space)
    if missing_ok:
        return client.connections.find(reference, space_id=space_id)
    return client.connections.get_by_name(reference, space_id=space_id)


def describe_connection(connection: Connection) -> str:
    """Format a connection as aligned ``field: value`` lines."""
    fields: list[tuple[str, object]] = [
        ("id", connection.id),
        ("name", connection.name),
        ("data source", connection.data_source_id),
        ("type", connection.q_type),
        ("space", connection.space_id or "personal"),
        ("created", connection.created),
        ("updated", connection.updated),
        ("tags", ", ".join(connection.tags) or "-"),
    ]
    lines = [f"{label + ':':<13}{value}" for label, value in fields]
    if connection.connection_properties is not None:
        lines.append("properties:")
        for key in sorted(connection.connection_properties):
            lines.append(
                f"  {key}: {_format_value(connection.connection_properties[key])}"
            )
    return "\n".join(lines)


def _format_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _space_id(client: QlikClient, space: str | None) -> str | None:
    if not space:
        return None
    return client.spaces.resolve(space).id
