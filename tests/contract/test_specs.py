"""Locating, correcting and routing the OpenAPI specs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contract.specs import (
    SPEC_FILES,
    SPEC_FIXES,
    SpecFix,
    SpecLoadError,
    apply_fix,
    default_server_url,
    default_specs_dir,
    load_spec,
    load_specs,
    missing_specs_reason,
    spec_for_path,
    split_pointer,
)

FIX = SpecFix(
    spec="x.json",
    pointer="/components/parameters/limit/schema/default",
    found="All of them",
    problem="a sentence as an integer default",
    reason="test",
)


def limit_document(default: object) -> dict[str, Any]:
    schema = {"type": "integer", "default": default}
    return {"components": {"parameters": {"limit": {"schema": schema}}}}


def test_fix_removes_member() -> None:
    document = limit_document("All of them")

    fixed = apply_fix(document, FIX)

    assert fixed == {
        "components": {"parameters": {"limit": {"schema": {"type": "integer"}}}}
    }
    # The published document itself is left as it was.
    assert "default" in document["components"]["parameters"]["limit"]["schema"]


def test_stale_fix_is_rejected() -> None:
    with pytest.raises(SpecLoadError, match="remove that entry from SPEC_FIXES"):
        apply_fix(limit_document(10), FIX)


def test_missing_fix_target_is_rejected() -> None:
    with pytest.raises(SpecLoadError, match="no longer has"):
        apply_fix({"components": {}}, FIX)


def test_pointer_parts_are_unescaped() -> None:
    assert split_pointer("/paths/~1api~1v1~1spaces/a~0b") == [
        "paths",
        "/api/v1/spaces",
        "a~b",
    ]


def test_server_url_uses_defaults() -> None:
    document = {
        "servers": [
            {
                "url": "https://{tenant}.{region}.qlikcloud.com",
                "variables": {
                    "tenant": {"default": "your-tenant"},
                    "region": {"default": "us"},
                },
            }
        ]
    }

    assert default_server_url(document) == "https://your-tenant.us.qlikcloud.com"


@pytest.mark.parametrize(
    ("path", "spec"),
    [
        ("/api/v1/data-connections", "data-connections.json"),
        ("/api/v1/data-connections/actions/delete", "data-connections.json"),
        ("/api/v1/data-sources/DG_mysql/gateways", "data-sources.json"),
        ("/api/v1/spaces/types", "spaces.json"),
        ("/api/v1/users/me", "users.json"),
        ("/oauth/token", "oauth.json"),
        ("/api/v1/data-connectionsX", None),
        ("/api/v1/tenants/me", None),
        ("/_emulator/faults", None),
    ],
)
def test_path_routes_to_spec(path: str, spec: str | None) -> None:
    assert spec_for_path(path) == spec


def test_missing_folder_has_reason(tmp_path: Path) -> None:
    reason = missing_specs_reason(tmp_path / "absent")

    assert reason is not None
    assert "does not exist" in reason


def test_missing_file_has_reason(tmp_path: Path) -> None:
    (tmp_path / "oauth.json").write_text("{}")

    reason = missing_specs_reason(tmp_path)

    assert reason is not None
    assert "data-connections.json" in reason
    assert "oauth.json" not in reason


def test_unreadable_spec_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "oauth.json"
    path.write_text("{not json")

    with pytest.raises(SpecLoadError, match="cannot read the OpenAPI spec oauth.json"):
        load_spec(path)


def test_invalid_spec_is_rejected(tmp_path: Path) -> None:
    schema = {"type": "integer", "default": "All of them"}
    limit = {"name": "limit", "in": "query", "schema": schema}
    document = {
        "openapi": "3.0.0",
        "info": {"title": "t", "version": "1"},
        "paths": {"/x": {"get": {"parameters": [limit], "responses": {}}}},
    }
    path = tmp_path / "oauth.json"
    path.write_text(json.dumps(document))

    with pytest.raises(SpecLoadError, match="openapi-core rejects the OpenAPI spec"):
        load_spec(path)


def test_published_specs_load() -> None:
    directory = default_specs_dir()
    reason = missing_specs_reason(directory)
    if reason is not None:
        pytest.skip(f"OpenAPI specs not available: {reason}")

    specs = load_specs(directory)

    assert sorted(specs) == sorted(SPEC_FILES)
    assert {spec.server_url for spec in specs.values()} == {
        "https://your-tenant.us.qlikcloud.com"
    }


def test_every_fix_still_applies() -> None:
    directory = default_specs_dir()
    reason = missing_specs_reason(directory)
    if reason is not None:
        pytest.skip(f"OpenAPI specs not available: {reason}")

    for fix in SPEC_FIXES:
        document = json.loads((directory / fix.spec).read_text(encoding="utf-8"))
        assert apply_fix(document, fix) != document, fix.pointer
