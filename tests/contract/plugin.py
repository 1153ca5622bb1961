"""pytest plugin: record emulator traffic for the whole session, check it last.

Register it in the suite's top-level ``conftest.py``::

    pytest_plugins = ("contract.plugin",)

and let the shared emulator fixture serve ``wrap_app(app)`` in place of the
emulator's app. Every exchange of every test is then recorded. The plugin
appends one item, ``openapi-contract``, to the end of the collected tests.
It validates the recorded exchanges against Qlik's specs and fails with one
line per violation. It is skipped, with the reason, when nothing was
recorded or the specs folder beside the repository is missing. The run
ends with a summary line of the counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp

from contract import recorder
from contract.recorder import ExchangeLog
from contract.report import ContractReport, check_exchanges
from contract.specs import default_specs_dir, missing_specs_reason
from contract.validator import ContractValidator

CHECK_NAME = "openapi-contract"
PLUGIN_PATH = Path(__file__)

SESSION_LOG = ExchangeLog()

REPORT_KEY = pytest.StashKey[ContractReport]()


def wrap_app(app: ASGIApp) -> ASGIApp:
    """Return ``app`` wrapped so that the session's contract check gets its traffic."""
    return recorder.wrap_app(app, SESSION_LOG)


@pytest.fixture(scope="session")
def contract_wrap_app() -> Any:
    """The ``wrap_app`` function, for fixtures that prefer to request it."""
    return wrap_app


class ContractViolations(Exception):
    """Recorded traffic broke the OpenAPI contract; the message lists how."""


class ContractCheck(pytest.Item):
    """The session's last item: validate every exchange recorded so far."""

    def runtest(self) -> None:
        exchanges = SESSION_LOG.exchanges()
        if not exchanges:
            pytest.skip("no emulator traffic was recorded in this session")
        reason = missing_specs_reason(default_specs_dir())
        if reason is not None:
            pytest.skip(f"OpenAPI contract not checked: {reason}")

        validator = ContractValidator.from_directory(default_specs_dir())
        report = check_exchanges(validator, exchanges)
        self.config.stash[REPORT_KEY] = report
        lines = report.violation_lines()
        if lines:
            raise ContractViolations("\n".join([report.summary(), *lines]))

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str:
        if isinstance(excinfo.value, ContractViolations):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return PLUGIN_PATH, None, CHECK_NAME


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    # Stamp exchanges with the test that caused them, for the report lines.
    SESSION_LOG.origin = item.nodeid
    try:
        return (yield)
    finally:
        SESSION_LOG.origin = ""


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    # trylast, so that -k and -m deselection run first and cannot drop it.
    if items:
        check = ContractCheck.from_parent(
            session, name=CHECK_NAME, path=PLUGIN_PATH, nodeid=CHECK_NAME
        )
        items.append(check)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    report = config.stash.get(REPORT_KEY, None)
    if report is not None:
        terminalreporter.write_line(report.summary())
