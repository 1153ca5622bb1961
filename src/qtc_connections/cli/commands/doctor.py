"""``qtc doctor``: are the token, tenant, space, gateway and sources usable?"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import click

from qtc_connections.catalog import list_kinds
from qtc_connections.cli.context import TenantContext, tenant_options
from qtc_connections.cli.output import emit, emit_json, render_table
from qtc_connections.errors import ApiError, PermissionDeniedError, QtcError


@dataclass
class Check:
    """One line of the doctor's report."""

    name: str
    status: str  # "ok", "warn" or "fail"
    detail: str


@click.command()
@tenant_options
@click.option("--space", metavar="NAME|ID", help="Space to check [env QTC_SPACE_ID].")
@click.option(
    "--gateway", metavar="ID", help="Gateway id to check [env QTC_GATEWAY_ID]."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def doctor(
    space: str | None, gateway: str | None, as_json: bool, **options: Any
) -> None:
    """Check that the token, tenant, space, gateway and data sources are usable.

    Runs the checks in the order a first request would need them and
    exits 1 if any check fails. Warnings do not fail the run.
    """
    context = TenantContext.from_options(options, space=space, gateway_id=gateway)
    checks = run_checks(context)

    if as_json:
        emit_json({"checks": [asdict(c) for c in checks]})
    else:
        emit(
            render_table(
                ["STATUS", "CHECK", "DETAIL"],
                [(c.status, c.name, c.detail) for c in checks],
            )
        )
    if any(c.status == "fail" for c in checks):
        raise click.exceptions.Exit(1)


def run_checks(context: TenantContext) -> list[Check]:
    """Run every check; stop early when a failure makes the rest meaningless."""
    checks: list[Check] = []
    try:
        settings = context.settings
        tenant = settings.tenant()
        client = context.client
    except QtcError as exc:
        return [Check("settings", "fail", str(exc))]

    source = settings.sources.get("hostname", "?")
    checks.append(Check("hostname", "ok", f"{tenant.base_url} (from {source})"))

    try:
        user = client.users.me()
    except QtcError as exc:
        checks.append(Check("token", "fail", str(exc)))
        return checks
    method = "API key" if settings.token is not None else "OAuth client credentials"
    admin = ", tenant admin" if user.is_tenant_admin else ""
    checks.append(
        Check(
            "token",
            "ok",
            f"{method} accepted for {user.name or user.id} ({user.id}{admin})",
        )
    )

    checks.append(_tenant_check(context))
    checks.append(_space_check(context))
    checks.append(_gateway_check(context))
    checks.append(_sources_check(context))
    return checks


def _tenant_check(context: TenantContext) -> Check:
    try:
        info = context.client.tenants.me()
    except PermissionDeniedError:
        return Check("tenant", "warn", "this identity may not read the tenant record")
    except QtcError as exc:
        return Check("tenant", "warn", str(exc))

    host = context.settings.tenant().host.lower()
    hostnames = [h.lower().split(":")[0] for h in info.hostnames]
    if hostnames and host not in hostnames:
        return Check(
            "tenant",
            "warn",
            f"{info.name} ({info.id}) does not list {host} among its hostnames {', '.join(info.hostnames)}",
        )
    return Check("tenant", "ok", f"{info.name} ({info.id})")


def _space_check(context: TenantContext) -> Check:
    wanted = context.settings.space
    if not wanted:
        return Check(
            "space",
            "warn",
            "no space set; connections go to the personal space unless --space or QTC_SPACE_ID is given",
        )
    try:
        space = context.client.spaces.resolve(wanted)
    except QtcError as exc:
        return Check("space", "fail", str(exc))

    roles = ", ".join(space.roles) or "none listed"
    detail = f"{space.name} ({space.id}, {space.type}); your roles: {roles}"
    if space.type != "data":
        return Check(
            "space",
            "warn",
            f"{detail}; Data Integration connections belong in a data space",
        )
    if space.roles and "facilitator" not in space.roles:
        return Check(
            "space",
            "warn",
            f"{detail}; creating connections needs Can manage (facilitator)",
        )
    return Check("space", "ok", detail)


def _gateway_check(context: TenantContext) -> Check:
    gateway = context.settings.gateway_id
    if not gateway:
        return Check(
            "gateway",
            "warn",
            "no gateway set; kinds on a Data Movement gateway need --gateway or QTC_GATEWAY_ID",
        )
    # NOTE: no published endpoint lists Data Movement gateways, so the id
    # can only be checked for presence here; a create reports a bad id.
    return Check(
        "gateway", "ok", f"{gateway} (not verifiable: no published gateway list)"
    )


def _sources_check(context: TenantContext) -> Check:
    try:
        sources = context.client.data_sources.list()
    except ApiError as exc:
        return Check("sources", "fail", str(exc))
    except QtcError as exc:
        return Check("sources", "fail", str(exc))

    available = {s.data_source_id for s in sources if not s.disabled}
    catalog_ids = {k.data_source_id for k in list_kinds()}
    missing = sorted(catalog_ids - available)
    detail = f"{len(sources)} data sources; {len(catalog_ids) - len(missing)} of {len(catalog_ids)} catalog kinds available"
    if missing:
        return Check("sources", "warn", f"{detail}; not enabled: {', '.join(missing)}")
    return Check("sources", "ok", detail)
