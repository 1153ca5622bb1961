"""Entry point of the ``qtc`` command: the group, logging and exit codes.

Exit codes: 0 on success, 1 when a command fails (invalid input found
locally, or an error from the tenant) or a confirmation is declined, 2 for
a usage error (click's own).
"""

from __future__ import annotations

import logging
import sys

import click

from qtc_connections import __version__
from qtc_connections.cli.commands import (
    apply,
    connections,
    doctor,
    emulator,
    export,
    kinds,
    plan,
    postman,
    rotate,
    sources,
    spaces,
)
from qtc_connections.cli.output import echo_error
from qtc_connections.errors import QtcError
from qtc_connections.redact import RedactingFilter

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class QtcGroup(click.Group):
    """The top-level group: turns any ``QtcError`` into a click error.

    Doing it here rather than in ``main`` means ``CliRunner`` tests see the
    same message and exit code as a user does.
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except QtcError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=QtcGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="qtc")
@click.option(
    "--debug",
    is_flag=True,
    help="Log each HTTP request and retry to standard error (secrets redacted).",
)
def cli(debug: bool) -> None:
    """Provision and manage Qlik Talend Cloud data connections."""
    configure_logging(debug=debug)


cli.add_command(doctor.doctor)
cli.add_command(sources.sources)
cli.add_command(kinds.kinds)
cli.add_command(spaces.spaces)
cli.add_command(connections.connections)
cli.add_command(plan.plan)
cli.add_command(apply.apply)
cli.add_command(export.export)
cli.add_command(rotate.rotate)
cli.add_command(rotate.keygen)
cli.add_command(postman.postman)
cli.add_command(emulator.emulator)


def configure_logging(*, debug: bool) -> None:
    """Send the library's log records to standard error, redacted.

    Only the CLI configures logging; the library just names its loggers.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    package_logger = logging.getLogger("qtc_connections")
    package_logger.handlers[:] = [handler]
    package_logger.setLevel(logging.DEBUG if debug else logging.WARNING)
    package_logger.propagate = False
    # httpx logs every request at INFO; the client's own DEBUG line replaces it.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def main() -> None:
    """Run the CLI; errors print one ``Error:`` message and exit non-zero."""
    try:
        result = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        # click raises Abort both for a declined confirmation and for Ctrl-C
        # at a prompt, so the two cannot be distinguished here.
        echo_error("aborted; nothing more was changed")
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except QtcError as exc:
        echo_error(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        echo_error("interrupted")
        sys.exit(130)
    except Exception as exc:
        # A bug, or a failure no library error covers: one line for the
        # user, and the traceback only on request, because it can show
        # local values.
        if logging.getLogger("qtc_connections").isEnabledFor(logging.DEBUG):
            logging.getLogger("qtc_connections").exception("unexpected error")
        echo_error(
            f"unexpected {type(exc).__name__}: {exc}; run again with --debug for "
            "the traceback, and report it if it persists"
        )
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)
