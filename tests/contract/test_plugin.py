"""The session gate, run in a separate pytest process on a small test suite.

Each case writes a conftest that registers ``contract.plugin`` and a test
that serves a tiny Starlette app behind ``wrap_app``, then runs pytest on
them and reads the exit code and output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from contract.specs import default_specs_dir, missing_specs_reason

TESTS_DIR = Path(__file__).resolve().parents[1]

CONFTEST = """
pytest_plugins = ("contract.plugin",)
"""

# Moves the repository root, so that no specs folder sits beside it.
CONFTEST_WITHOUT_SPECS = """
from pathlib import Path

import contract.specs

contract.specs.REPOSITORY_ROOT = Path(__file__).parent / "checkout"
pytest_plugins = ("contract.plugin",)
"""

SUITE = """
import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from contract.plugin import wrap_app
from contract.serving import serve_asgi

CONNECTION = CONNECTION_BODY


async def listing(request):
    body = {"data": [CONNECTION], "links": {"self": {"href": "x"}}}
    return JSONResponse(body)


def test_list_connections():
    app = Starlette(routes=[Route("/api/v1/data-connections", listing)])
    with serve_asgi(wrap_app(app)) as url:
        response = httpx.get(url + "/api/v1/data-connections")
    assert response.status_code == 200
"""

VALID_CONNECTION = {
    "qID": "82ee7b44-0c4d-491b-bd38-82640c0430a5",
    "qEngineObjectID": "82ee7b44-0c4d-491b-bd38-82640c0430a5",
    "qName": "orders",
    "qConnectStatement": "CUSTOM CONNECT TO x",
    "qType": "QlikConnectorsCommonService.exe",
    "qLogOn": 1,
    "qArchitecture": 0,
    "privileges": ["read"],
    "tenant": "t1",
    "links": {"self": {"href": "x"}},
}

NO_TRAFFIC = """
def test_nothing():
    assert True
"""


@pytest.fixture
def specs_available() -> None:
    reason = missing_specs_reason(default_specs_dir())
    if reason is not None:
        pytest.skip(f"OpenAPI specs not available: {reason}")


def run_suite(
    tmp_path: Path, conftest: str, suite: str
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "test_suite.py").write_text(suite)
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(TESTS_DIR), environment.get("PYTHONPATH", "")]
    )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-rs",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def suite_serving(connection: dict[str, object]) -> str:
    """Return the suite's source, serving ``connection`` as the only list item."""
    return SUITE.replace("CONNECTION_BODY", repr(connection))


@pytest.mark.usefixtures("specs_available")
def test_gate_fails_on_violation(tmp_path: Path) -> None:
    broken = {**VALID_CONNECTION, "qID": 5}
    result = run_suite(tmp_path, CONFTEST, suite_serving(broken))

    assert result.returncode == 1, result.stdout
    assert (
        "GET /api/v1/data-connections 200 (in test_suite.py::test_list_connections): "
        "response body /data/0/qID: 5 is not of type 'string'"
    ) in result.stdout
    assert "1 failed, 1 passed" in result.stdout


@pytest.mark.usefixtures("specs_available")
def test_gate_passes_valid_traffic(tmp_path: Path) -> None:
    result = run_suite(tmp_path, CONFTEST, suite_serving(VALID_CONNECTION))

    assert result.returncode == 0, result.stdout
    assert "openapi contract: 1 exchanges checked" in result.stdout
    assert "0 violations" in result.stdout
    assert "2 passed" in result.stdout


def test_gate_skips_without_specs(tmp_path: Path) -> None:
    result = run_suite(
        tmp_path, CONFTEST_WITHOUT_SPECS, suite_serving(VALID_CONNECTION)
    )

    assert result.returncode == 0, result.stdout
    assert "OpenAPI contract not checked: the OpenAPI specs folder" in result.stdout
    assert "1 passed, 1 skipped" in result.stdout


def test_gate_skips_without_traffic(tmp_path: Path) -> None:
    result = run_suite(tmp_path, CONFTEST, NO_TRAFFIC)

    assert result.returncode == 0, result.stdout
    assert "no emulator traffic was recorded in this session" in result.stdout
