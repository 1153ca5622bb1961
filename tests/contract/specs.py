"""Find, correct and load Qlik's OpenAPI specs, and route paths to them.

The specs are reference data kept outside the repository: CI places a
``shared`` folder next to the checkout, so they are read from
``<repository>/../shared/specs``. They are loaded as published, except for
the few in-memory corrections in ``SPEC_FIXES`` without which openapi-core
rejects a whole file.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openapi_core import OpenAPI
from openapi_core.exceptions import SpecError
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]

# Path prefixes served by each spec file, matched on whole path segments.
SPEC_ROUTES = (
    ("/api/v1/data-connections", "data-connections.json"),
    ("/api/v1/data-sources", "data-sources.json"),
    ("/api/v1/spaces", "spaces.json"),
    ("/api/v1/users", "users.json"),
    ("/oauth", "oauth.json"),
)

# Prefixes the emulator serves for which no spec is loaded. Exchanges there
# are counted as unchecked, never as passed.
UNSPECIFIED_ROUTES = (
    ("/api/v1/tenants", "no tenants spec is part of the reference set"),
    ("/_emulator", "the emulator's control API is not part of Qlik's API"),
)

SPEC_FILES = tuple(file_name for _, file_name in SPEC_ROUTES)


class SpecLoadError(Exception):
    """A spec file is missing, unreadable, or no longer has a known defect."""


@dataclass(frozen=True)
class SpecFix:
    """An in-memory correction of a published spec defect.

    ``pointer`` is the JSON pointer of a member that is removed before the
    spec is loaded, and ``found`` is the defective value expected there. If
    the value differs, the spec changed upstream and loading fails, so that
    a stale correction is noticed and removed.
    """

    spec: str
    pointer: str
    found: object
    problem: str
    reason: str


SPEC_FIXES = (
    SpecFix(
        spec="data-connections.json",
        pointer="/components/parameters/limit/schema/default",
        found="All resources will be returned if limit is not defined",
        problem=(
            "the default of the int32 query parameter limit is an English "
            "sentence, not an integer"
        ),
        reason=(
            "openapi-spec-validator rejects the whole file for it. The "
            "sentence states that an absent limit returns every connection, "
            "which is behaviour, not a default value, so it is dropped."
        ),
    ),
)


@dataclass(frozen=True)
class LoadedSpec:
    """One spec file, corrected and ready to validate against.

    ``document`` is the corrected JSON document and ``openapi`` the
    openapi-core object built from it. ``server_url`` is the spec's first
    server with every variable at its default, such as
    ``https://your-tenant.us.qlikcloud.com``.
    """

    name: str
    document: dict[str, Any]
    openapi: OpenAPI
    server_url: str


def default_specs_dir() -> Path:
    """Return ``<repository>/../shared/specs``, where CI puts the specs."""
    return REPOSITORY_ROOT.parent / "shared" / "specs"


def missing_specs_reason(directory: Path) -> str | None:
    """Return why the specs cannot be loaded from ``directory``, or ``None``."""
    if not directory.is_dir():
        return (
            f"the OpenAPI specs folder {directory} does not exist; put the "
            "shared folder next to the repository to run the contract check"
        )
    missing = [name for name in SPEC_FILES if not (directory / name).is_file()]
    if missing:
        return f"{', '.join(missing)} not found in {directory}"
    return None


def load_specs(directory: Path) -> dict[str, LoadedSpec]:
    """Load every spec of ``SPEC_FILES`` from ``directory``, keyed by file name.

    Raises:
        SpecLoadError: as ``load_spec``, or a file is missing.
    """
    reason = missing_specs_reason(directory)
    if reason is not None:
        raise SpecLoadError(reason)
    return {name: load_spec(directory / name) for name in SPEC_FILES}


def load_spec(path: Path) -> LoadedSpec:
    """Load one spec file and apply its ``SPEC_FIXES``.

    Raises:
        SpecLoadError: the file is not JSON, a fix no longer matches, or
            openapi-core rejects the corrected document.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        message = f"cannot read the OpenAPI spec {path.name}: {error}"
        raise SpecLoadError(message) from error

    for fix in SPEC_FIXES:
        if fix.spec == path.name:
            document = apply_fix(document, fix)
    try:
        openapi = OpenAPI.from_dict(document)
    except (OpenAPIValidationError, SpecError) as error:
        # The first line names the fault; the rest repeats schema and value.
        reason = str(error).splitlines()[0]
        message = (
            f"openapi-core rejects the OpenAPI spec {path.name}: {reason}; "
            "if the spec itself is at fault, add an entry to SPEC_FIXES"
        )
        raise SpecLoadError(message) from error
    return LoadedSpec(
        name=path.name,
        document=document,
        openapi=openapi,
        server_url=default_server_url(document),
    )


def apply_fix(document: dict[str, Any], fix: SpecFix) -> dict[str, Any]:
    """Return a copy of ``document`` without the member at ``fix.pointer``.

    Raises:
        SpecLoadError: the member is absent or differs from ``fix.found``.
    """
    fixed = copy.deepcopy(document)
    *parents, member = split_pointer(fix.pointer)
    container: Any = fixed
    for key in parents:
        container = container.get(key) if isinstance(container, dict) else None
    if not isinstance(container, dict) or container.get(member) != fix.found:
        raise SpecLoadError(
            f"{fix.spec} no longer has {fix.found!r} at {fix.pointer}; "
            "remove that entry from SPEC_FIXES"
        )
    del container[member]
    return fixed


def split_pointer(pointer: str) -> list[str]:
    """Split a JSON pointer such as ``/a/b~1c`` into ``["a", "b/c"]``."""
    if not pointer.startswith("/"):
        raise ValueError(f"a JSON pointer must start with '/': {pointer!r}")
    return [
        part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")
    ]


def default_server_url(document: dict[str, Any]) -> str:
    """Return the first server URL of ``document`` with its default variables.

    The emulator listens on ``http://127.0.0.1:<port>``, which matches none
    of the specs' servers, so each exchange is validated as if it had been
    sent to this URL.
    """
    servers = document.get("servers") or [{"url": "/"}]
    server = servers[0]
    url: str = server["url"]
    for name, variable in server.get("variables", {}).items():
        url = url.replace("{" + name + "}", str(variable["default"]))
    return url.rstrip("/")


def spec_for_path(path: str) -> str | None:
    """Return the spec file that covers ``path``, or ``None``."""
    for prefix, file_name in SPEC_ROUTES:
        if _under(path, prefix):
            return file_name
    return None


def unspecified_reason(path: str) -> str:
    """Return why no spec covers ``path``."""
    for prefix, reason in UNSPECIFIED_ROUTES:
        if _under(path, prefix):
            return reason
    return "no spec of the reference set covers this path"


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")
