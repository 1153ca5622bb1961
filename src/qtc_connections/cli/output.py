"""Rendering for the CLI: JSON, plain tables and ids only.

Everything the CLI writes goes through ``emit`` or ``echo_error``, which
pass the text through ``redact`` as a last guard against a secret value
reaching a terminal or a CI log.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from qtc_connections.redact import redact

F = TypeVar("F", bound=Callable[..., Any])


def output_options(func: F) -> F:
    """Add ``--json`` and ``-q/--quiet`` with the same meaning on every command."""
    func = click.option(
        "-q",
        "--quiet",
        is_flag=True,
        help="Print only ids, one a line, for scripts.",
    )(func)
    func = click.option(
        "--json", "as_json", is_flag=True, help="Print the result as JSON."
    )(func)
    return func


def emit(text: str = "", *, err: bool = False) -> None:
    """Write one line (or block) of output after redacting secrets."""
    click.echo(redact(text), err=err)


def emit_json(value: Any) -> None:
    """Write ``value`` as indented JSON."""
    emit(json.dumps(value, indent=2, sort_keys=False, default=str))


def echo_error(message: str) -> None:
    """Write ``Error: message`` to standard error."""
    emit(f"Error: {message}", err=True)


def render_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Format rows as left-aligned columns separated by two spaces.

    Written by hand rather than with rich: output must not wrap or change
    with the terminal width, so that scripts can parse it.
    """
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], len(value))

    lines = [_join(headers, widths)]
    lines.extend(_join(row, widths) for row in cells)
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def _join(values: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()


def prompt_secret(label: str) -> str:
    """Ask for a secret on the terminal without echoing it.

    Raises:
        SecretReferenceError: standard input is not a terminal, as in CI,
            where a prompt would block or read the wrong input.
    """
    from qtc_connections.errors import SecretReferenceError

    name = label.rstrip().rstrip(":")
    if not stdin_is_terminal():
        raise SecretReferenceError(
            f"cannot prompt for {name}: standard input is not a terminal; "
            "use env:NAME, file:PATH or - instead of prompt"
        )
    value: str = click.prompt(name, hide_input=True, err=True)
    return value


def stdin_is_terminal() -> bool:
    """Return whether standard input is a terminal that a person can type at."""
    return sys.stdin.isatty()


def manifest_out_options(func: F) -> F:
    """Add ``--out FILE`` and ``--force`` for commands that write a manifest."""
    func = click.option("--force", is_flag=True, help="Replace FILE if it exists.")(
        func
    )
    func = click.option(
        "--out",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help="Write the manifest to FILE instead of standard output.",
    )(func)
    return func
