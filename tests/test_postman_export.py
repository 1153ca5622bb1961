"""Postman export: folders, bodies, variables and the CLI command."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from qtc_connections.catalog import get_kind
from qtc_connections.cli.commands.postman import postman
from qtc_connections.postman.export import export_catalog
from qtc_connections.postman.model import iter_requests


def _bodies(collection: dict[str, object], folder: str) -> list[object]:
    items = collection["item"]
    assert isinstance(items, list)
    return [
        json.loads(item["request"]["body"]["raw"])
        for folders, item in iter_requests(items)
        if folders == (folder,)
    ]


def test_catalog_folders_in_order() -> None:
    collection = export_catalog().collection
    names = [folder["name"] for folder in collection["item"]]  # type: ignore[attr-defined]
    assert names == ["1 Discovery", "2 Create", "3 Update"]


def test_catalog_creates_fourteen_kinds() -> None:
    bodies = _bodies(export_catalog().collection, "2 Create")
    assert len(bodies) == 14


def test_create_body_uses_variables() -> None:
    exported = export_catalog([get_kind("mysql-source")])
    (body,) = _bodies(exported.collection, "2 Create")
    properties = body["connectionProperties"]  # type: ignore[index]
    assert body["datasourceID"] == "repsrc_mysql"  # type: ignore[index]
    assert body["space"] == "{{spaceId}}"  # type: ignore[index]
    assert properties["agentId"] == "{{gatewayId}}"
    assert properties["password"] == "{{mysql_source_password}}"
    assert properties["port"] == "3306"


def test_rotation_patches_key_file() -> None:
    exported = export_catalog([get_kind("bigquery-target")])
    (body,) = _bodies(exported.collection, "3 Update")
    expected = [
        {
            "op": "replace",
            "path": "/connectionProperties/jsonCredentials",
            "value": [
                {
                    "name": "service-account.json",
                    "value": "{{bigquery_target_jsonCredentials}}",
                }
            ],
        }
    ]
    assert body == expected


def test_environment_marks_secrets_empty() -> None:
    exported = export_catalog()
    entries = {entry["key"]: entry for entry in exported.environment["values"]}  # type: ignore[attr-defined]
    for name in [*exported.secret_variables, "token"]:
        assert entries[name]["type"] == "secret"
        assert entries[name]["value"] == ""


def test_cli_export_writes_both_files(tmp_path: Path) -> None:
    out = tmp_path / "collection.json"
    environment_out = tmp_path / "environment.json"
    result = CliRunner().invoke(
        postman,
        ["export", "--out", str(out), "--environment-out", str(environment_out)],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["auth"]["type"] == "bearer"
    assert "values" in json.loads(environment_out.read_text())


def test_cli_export_keeps_existing_file(tmp_path: Path) -> None:
    out = tmp_path / "collection.json"
    out.write_text("keep")
    result = CliRunner().invoke(postman, ["export", "--out", str(out)])
    assert result.exit_code != 0
    assert out.read_text() == "keep"


def test_refused_environment_writes_nothing(tmp_path):
    from click.testing import CliRunner

    from qtc_connections.cli.main import cli

    existing = tmp_path / "env.json"
    existing.write_text("{}")
    collection = tmp_path / "new.json"
    result = CliRunner().invoke(
        cli,
        [
            "postman",
            "export",
            "--out",
            str(collection),
            "--environment-out",
            str(existing),
        ],
    )
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert not collection.exists()
    assert existing.read_text() == "{}"


def _scripts(item: dict[str, object], listen: str) -> str:
    events = item.get("event", [])
    assert isinstance(events, list)
    return "\n".join(
        line
        for event in events
        if event["listen"] == listen
        for line in event["script"]["exec"]
    )


def test_patch_skipped_without_stored_id() -> None:
    collection = export_catalog([get_kind("mysql-source")]).collection
    update = next(f for f in collection["item"] if f["name"] == "3 Update")
    (patch,) = update["item"]
    script = _scripts(patch, "prerequest")
    assert "pm.execution.skipRequest()" in script
    assert "connectionId_mysql_source" in script


def test_failed_create_stores_no_id() -> None:
    collection = export_catalog([get_kind("mysql-source")]).collection
    create = next(f for f in collection["item"] if f["name"] == "2 Create")
    (request,) = create["item"]
    script = _scripts(request, "test")
    guard = script.index('if (typeof created.id === "string") {')
    assert script.index("pm.collectionVariables.set(") > guard
