"""``qtc rotate`` and ``qtc keygen``: rotate credentials and verify them by read-back.

``qtc rotate`` writes new secrets or key files to one connection, or to
every connection a filter or kind selects, and reports each as verified,
unverified or failed (see ``qtc_connections.sync.rotate``). With
``--generate-key`` it first makes a new Snowflake key pair and prints the
SQL that registers its public key. ``qtc keygen snowflake`` makes the key
pair only, for users who register the key before touching the connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from qtc_connections.api.models import Connection
from qtc_connections.catalog import Kind, get_kind, kind_for_data_source
from qtc_connections.cli.context import TenantContext, tenant_options
from qtc_connections.cli.output import emit, emit_json, prompt_secret, render_table
from qtc_connections.client import QlikClient
from qtc_connections.errors import InputError
from qtc_connections.properties import parse_assignment
from qtc_connections.secrets import Secret, SecretReference, resolve_references
from qtc_connections.sync.keygen import (
    KEY_SIZE,
    GeneratedKey,
    generate_snowflake_key,
    key_pair_properties,
    snowflake_set_statement,
    snowflake_unset_statement,
)
from qtc_connections.sync.rotate import (
    RotationOutcome,
    RotationStatus,
    SecretChange,
    apply_rotation,
    looks_like_id,
    prepare_rotations,
    select_connections,
)

# Property of a Snowflake connection that contains the user's login name.
SNOWFLAKE_USER_PROPERTY = "username"

# Name under which the --passphrase reference is read, shown in its messages.
PASSPHRASE_OPTION = "--passphrase"


@dataclass(frozen=True)
class KeyPlan:
    """A generated key pair and the SQL that goes with it; all safe to show."""

    key: GeneratedKey
    user: str
    file_property: str
    passphrase_property: str

    @property
    def set_statement(self) -> str:
        """SQL that registers the new public key in the second slot."""
        return snowflake_set_statement(self.user, self.key)

    @property
    def unset_statement(self) -> str:
        """SQL that removes the old public key from the first slot."""
        return snowflake_unset_statement(self.user)

    def to_dict(self) -> dict[str, object]:
        """Describe the key for ``--json`` output."""
        return {
            "path": str(self.key.path),
            "fingerprint": self.key.fingerprint,
            "public_key": self.key.public_key,
            "user": self.user,
            "set_statement": self.set_statement,
            "unset_statement": self.unset_statement,
        }


@click.command("rotate")
@click.argument("selector", required=False, metavar="[ID|NAME]")
@tenant_options
@click.option(
    "--space",
    metavar="NAME|ID",
    help="Space of the connections, by exact name or id [env QTC_SPACE_ID].",
)
@click.option(
    "--filter",
    "scim_filter",
    metavar="EXPR",
    help="Rotate every connection that matches a SCIM filter, such as 'qName sw \"SRC_\"'.",
)
@click.option(
    "--kind",
    "kind_name",
    metavar="KIND",
    help="Rotate every connection of this catalog kind, such as mysql-source.",
)
@click.option(
    "--secret",
    "secret_refs",
    multiple=True,
    metavar="PROP=REF",
    help="New secret from a reference: env:VAR, file:PATH, - (stdin) or prompt.",
)
@click.option(
    "--key-file",
    "key_files",
    multiple=True,
    metavar="PROP=PATH",
    help="New key file, such as privateKeyFile=rsa_key.p8; checked locally.",
)
@click.option(
    "--generate-key",
    "generate_key",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Make a new Snowflake key pair at PATH (mode 0600) and rotate to it.",
)
@click.option(
    "--passphrase",
    "passphrase_ref",
    metavar="REF",
    help="Passphrase of the generated key, as a reference like --secret takes.",
)
@click.option("--force", is_flag=True, help="Replace an existing file at PATH.")
@click.option("--yes", is_flag=True, help="Rotate without asking for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def rotate(
    selector: str | None,
    space: str | None,
    scim_filter: str | None,
    kind_name: str | None,
    secret_refs: tuple[str, ...],
    key_files: tuple[str, ...],
    generate_key: Path | None,
    passphrase_ref: str | None,
    force: bool,
    yes: bool,
    as_json: bool,
    **options: Any,
) -> None:
    """Rotate secrets or key files, then verify each connection by read-back.

    Select one connection by id or name, or several with --filter and
    --kind. Only the given secrets are patched. Each connection is then
    read back and reported as verified (updated advanced and nothing else
    changed), unverified (the read-back cannot tell) or failed. A failure
    does not stop the other connections, and the exit status is 1 if any
    failed. More than one connection needs confirmation unless --yes is
    given; a secret read from standard input (-) therefore needs --yes.

    \b
    Examples:
      qtc rotate SRC_MySQL --secret password=env:NEW_MYSQL_PASSWORD
      qtc rotate --kind s3-target --secret s3SecretKey=file:s3.key --yes
      qtc rotate TGT_Snowflake --generate-key new_key.p8 --passphrase prompt
    """
    _check_usage(
        selector=selector,
        selecting=bool(scim_filter or kind_name),
        changing=bool(secret_refs or key_files or generate_key),
        generate_key=generate_key,
        passphrase_ref=passphrase_ref,
        force=force,
    )
    context = TenantContext.from_options(options, space=space)
    secrets = _read_secrets(secret_refs, passphrase_ref)
    passphrase = secrets.pop(PASSPHRASE_OPTION, None)
    paths = _key_file_paths(key_files)

    client = context.client
    connections = _select(context, selector, scim_filter, kind_name)
    key_plan = None
    if generate_key is not None and passphrase is not None:
        key_plan = _generate(
            client, connections, generate_key, passphrase, force, (secrets, paths)
        )
        secrets[key_plan.passphrase_property] = passphrase
        paths[key_plan.file_property] = key_plan.key.path
        _show_generated(key_plan, as_json=as_json, confirmed=yes)
        if not yes:
            click.confirm(
                f"Rotate {connections[0].name} to the new key now?",
                abort=True,
                err=True,
            )

    change = SecretChange(secrets=secrets, key_files=paths)
    prepared, outcomes = prepare_rotations(client, connections, change)
    if len(prepared) > 1 and not yes:
        _confirm_several([rotation.connection for rotation in prepared], change)
    outcomes += [apply_rotation(client, rotation) for rotation in prepared]

    order = {connection.id: index for index, connection in enumerate(connections)}
    outcomes.sort(key=lambda outcome: order.get(outcome.connection_id, len(order)))
    _report(outcomes, key_plan, as_json=as_json)
    if any(outcome.status is RotationStatus.FAILED for outcome in outcomes):
        raise click.exceptions.Exit(1)


def _check_usage(
    *,
    selector: str | None,
    selecting: bool,
    changing: bool,
    generate_key: Path | None,
    passphrase_ref: str | None,
    force: bool,
) -> None:
    if selector is not None and selecting:
        raise click.UsageError(
            "give a connection id or name, or --filter and --kind, not both"
        )
    if selector is None and not selecting:
        raise click.UsageError(
            "give a connection id or name, or select several with --filter or --kind"
        )
    if not changing:
        raise click.UsageError(
            "nothing to rotate; give --secret PROP=REF, --key-file PROP=PATH or "
            "--generate-key PATH"
        )
    if generate_key is not None and passphrase_ref is None:
        raise click.UsageError(
            "--generate-key needs --passphrase REF, the passphrase that encrypts "
            "the new key"
        )
    if generate_key is None and passphrase_ref is not None:
        raise click.UsageError(
            "--passphrase goes with --generate-key; give other secrets with --secret"
        )
    if generate_key is None and force:
        raise click.UsageError("--force replaces the file of --generate-key; give both")


def _read_secrets(
    secret_refs: tuple[str, ...], passphrase_ref: str | None
) -> dict[str, Secret]:
    """Parse and read every secret reference, the passphrase included.

    They are read together, so that only one of them can use standard input.
    The passphrase is returned under the key ``--passphrase``.

    Raises:
        InputError: An argument is not PROP=REF, a property repeats, or a
            reference is a literal or cannot be read.
    """
    references = []
    seen: set[str] = set()
    for text in secret_refs:
        name, reference = parse_assignment(text)
        if name in seen:
            raise InputError(f"--secret {name} is given twice; give each property once")
        seen.add(name)
        references.append(SecretReference.parse(reference, name=name))
    if passphrase_ref is not None:
        references.append(SecretReference.parse(passphrase_ref, name=PASSPHRASE_OPTION))
    return resolve_references(references, prompt=prompt_secret)


def _key_file_paths(key_files: tuple[str, ...]) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    for text in key_files:
        name, path = parse_assignment(text)
        if name in paths:
            raise InputError(
                f"--key-file {name} is given twice; give each property once"
            )
        paths[name] = Path(path).expanduser()
    return paths


def _select(
    context: TenantContext,
    selector: str | None,
    scim_filter: str | None,
    kind_name: str | None,
) -> list[Connection]:
    kind = get_kind(kind_name) if kind_name else None
    client = context.client
    space_name = context.settings.space
    # An id names one connection in any space, so no space is looked up.
    by_id = selector is not None and looks_like_id(selector)
    space_id = None
    if space_name and not by_id:
        space_id = client.spaces.resolve(space_name).id
    return select_connections(
        client,
        reference=selector,
        space_id=space_id,
        scim_filter=scim_filter,
        kind=kind,
    )


def _generate(
    client: QlikClient,
    connections: list[Connection],
    path: Path,
    passphrase: Secret,
    force: bool,
    flag_values: tuple[dict[str, Secret], dict[str, Path]],
) -> KeyPlan:
    """Make the key pair for the one selected connection, which must use one.

    ``flag_values`` are the --secret and --key-file values, which must not
    set the two properties that the generated key fills.

    Raises:
        InputError: The selection is not one connection, its kind has no
            encrypted key property, it has no username for the SQL, or the
            key file cannot be written.
        click.UsageError: --secret or --key-file sets one of those properties.
    """
    if len(connections) != 1:
        raise InputError(
            f"--generate-key rotates one connection, but {len(connections)} are "
            "selected; select one by id or name"
        )
    connection = client.connections.get(connections[0].id, parse_connection=True)
    kind = _catalog_kind(connection)
    file_property, passphrase_property = key_pair_properties(kind)
    secrets, paths = flag_values
    if passphrase_property in secrets or file_property in paths:
        raise click.UsageError(
            f"--generate-key sets {file_property} and {passphrase_property}; "
            "leave them out of --key-file and --secret"
        )

    user = (connection.connection_properties or {}).get(SNOWFLAKE_USER_PROPERTY)
    if not isinstance(user, str) or not user.strip():
        raise InputError(
            f"connection {connection.name!r} has no {SNOWFLAKE_USER_PROPERTY} "
            "property, so the ALTER USER statement cannot name the Snowflake user"
        )
    key = generate_snowflake_key(path, passphrase, force=force)
    return KeyPlan(
        key=key,
        user=user,
        file_property=file_property,
        passphrase_property=passphrase_property,
    )


def _catalog_kind(connection: Connection) -> Kind:
    kind = kind_for_data_source(connection.data_source_id or "")
    if kind is None:
        raise InputError(
            f"connection {connection.name!r} has data source "
            f"{connection.data_source_id}, which has no catalog kind with a key "
            "pair; --generate-key is for snowflake-target"
        )
    return kind


def _show_generated(plan: KeyPlan, *, as_json: bool, confirmed: bool) -> None:
    """Print the new key's facts and the SQL to run before the rotation."""
    lines = [
        f"wrote a new encrypted RSA {KEY_SIZE}-bit key to {plan.key.path} (mode 0600)",
        f"public key fingerprint: {plan.key.fingerprint}",
        "register the public key in Snowflake before the connection uses it:",
        f"  {plan.set_statement}",
        "(if the current key is in RSA_PUBLIC_KEY_2, set RSA_PUBLIC_KEY instead)",
    ]
    if confirmed:
        lines.append(
            "--yes was given, so the connection switches to the new key now and "
            "cannot connect until the statement has run"
        )
    emit("\n".join(lines), err=as_json)


def _confirm_several(connections: list[Connection], change: SecretChange) -> None:
    listed = "\n".join(f"  {c.name} ({c.id})" for c in connections)
    properties = ", ".join(change.property_names)
    click.confirm(
        f"About to rotate {properties} on {len(connections)} connections:\n"
        f"{listed}\nRotate them?",
        abort=True,
        err=True,
    )


def _report(
    outcomes: list[RotationOutcome], key_plan: KeyPlan | None, *, as_json: bool
) -> None:
    counts = dict.fromkeys(RotationStatus, 0)
    for outcome in outcomes:
        counts[outcome.status] += 1

    if as_json:
        body: dict[str, object] = {
            "results": [outcome.to_dict() for outcome in outcomes],
            "summary": {status.value: count for status, count in counts.items()},
        }
        if key_plan is not None:
            body["key"] = key_plan.to_dict()
        emit_json(body)
    else:
        rows = [(o.status.value, o.name, o.connection_id, o.reason) for o in outcomes]
        emit(render_table(["STATUS", "CONNECTION", "ID", "DETAIL"], rows))

    summary = ", ".join(f"{count} {status.value}" for status, count in counts.items())
    emit(summary, err=True)
    rotated = any(o.status is not RotationStatus.FAILED for o in outcomes)
    if key_plan is not None and rotated:
        emit(
            "once the connection works with the new key, remove the old one:\n"
            f"  {key_plan.unset_statement}",
            err=as_json,
        )


@click.group("keygen")
def keygen() -> None:
    """Make key pairs for connections that authenticate with one."""


@keygen.command("snowflake")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Where to write the encrypted private key (mode 0600).",
)
@click.option(
    "--passphrase",
    "passphrase_ref",
    required=True,
    metavar="REF",
    help="Passphrase that encrypts the key: env:VAR, file:PATH, - (stdin) or prompt.",
)
@click.option(
    "--user",
    required=True,
    help="Snowflake user the key is for, named in the ALTER USER statements.",
)
@click.option(
    "--slot",
    type=click.IntRange(1, 2),
    default=2,
    show_default=True,
    help="Key column for the new key: 2 is RSA_PUBLIC_KEY_2; use 1 when the current key is in RSA_PUBLIC_KEY_2.",
)
@click.option("--force", is_flag=True, help="Replace an existing file at PATH.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def keygen_snowflake(
    out: Path, passphrase_ref: str, user: str, slot: int, force: bool, as_json: bool
) -> None:
    """Make an encrypted PKCS#8 RSA 2048 key pair for Snowflake key-pair auth.

    Prints the public key's fingerprint and the ALTER USER statement that
    registers it as the user's second key. After the statement has run,
    rotate the connection with qtc rotate --key-file, and once that works,
    unset the old key. The private key and passphrase are never printed.
    """
    reference = SecretReference.parse(passphrase_ref, name=PASSPHRASE_OPTION)
    passphrase = reference.resolve(prompt=prompt_secret)
    key = generate_snowflake_key(out, passphrase, force=force)
    # The new key goes into the free slot; the old one is in the other.
    set_statement = snowflake_set_statement(user, key, slot=slot)
    unset_statement = snowflake_unset_statement(user, slot=3 - slot)

    if as_json:
        emit_json(
            {
                "path": str(key.path),
                "fingerprint": key.fingerprint,
                "public_key": key.public_key,
                "user": user,
                "set_statement": set_statement,
                "unset_statement": unset_statement,
            }
        )
        return

    steps = [
        f"wrote a new encrypted RSA {KEY_SIZE}-bit key to {key.path} (mode 0600)",
        f"public key fingerprint: {key.fingerprint}",
        "1. register the public key in Snowflake:",
        f"  {set_statement}",
        f"   (this keeps the key in the other slot working; if the current key is not in that slot, pass --slot {3 - slot})",
        "2. rotate the connection to the new key:",
        (
            f"  qtc rotate CONNECTION --key-file privateKeyFile={key.path} "
            "--secret privateKeyPassphrase=REF"
        ),
        "3. once the connection works with the new key, remove the old one:",
        f"  {unset_statement}",
    ]
    emit("\n".join(steps))
