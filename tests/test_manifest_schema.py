"""The manifest JSON Schema: valid, documented, shipped, and in step with the loader."""

from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

import qtc_connections.manifest
from qtc_connections.manifest.schema import (
    SCHEMA_FILE,
    SCHEMA_ID,
    SchemaProblem,
    check_document,
    format_path,
    manifest_schema,
)

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "manifest" / "connections.yaml"
GOOD = Path(__file__).parent / "manifests" / "good"
GOOD_FILES = [
    GOOD / "overlays.yaml",
    GOOD / "variables.yaml",
    *sorted((GOOD / "folder").glob("*.y*ml")),
]


def _read_yaml(path: Path) -> object:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def _property_schemas(schema, trail=()):
    """Yield (trail, schema) for each field declared anywhere in ``schema``."""
    for name, field_schema in schema.get("properties", {}).items():
        yield (*trail, name), field_schema
        yield from _property_schemas(field_schema, (*trail, name))
    for name, definition in schema.get("$defs", {}).items():
        yield from _property_schemas(definition, (*trail, name))
    for keyword in ("additionalProperties", "items"):
        if isinstance(schema.get(keyword), dict):
            yield from _property_schemas(schema[keyword], (*trail, keyword))
    for index, alternative in enumerate(schema.get("oneOf", [])):
        yield from _property_schemas(alternative, (*trail, index))


def test_schema_is_valid_draft_2020_12():
    schema = manifest_schema()

    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_has_id_and_title():
    schema = manifest_schema()

    assert schema["$id"] == SCHEMA_ID
    assert schema["title"] == "qtc connections manifest"
    assert schema["description"]


def test_every_field_has_description():
    schema = manifest_schema()
    definitions = schema["$defs"]

    for trail, field_schema in _property_schemas(schema):
        reference = field_schema.get("$ref", "").removeprefix("#/$defs/")
        described = field_schema.get("description") or definitions.get(
            reference, {}
        ).get("description")
        assert described, f"no description for {'/'.join(map(str, trail))}"


def test_schema_file_inside_package():
    package = Path(qtc_connections.manifest.__file__).parent

    assert SCHEMA_FILE.parent == package
    assert SCHEMA_FILE.is_file()


def test_manifest_schema_returns_copy():
    first = manifest_schema()
    first["properties"].clear()

    assert manifest_schema()["properties"]


def test_connection_fields_are_loader_fields():
    connection = manifest_schema()["$defs"]["connection"]

    assert list(connection["properties"]) == [
        "name",
        "kind",
        "data_source",
        "space",
        "gateway",
        "tags",
        "properties",
        "secrets",
        "key_files",
    ]


def test_example_validates_in_editor():
    validator = Draft202012Validator(manifest_schema())

    errors = list(validator.iter_errors(_read_yaml(EXAMPLE)))

    assert errors == []


@pytest.mark.parametrize("path", GOOD_FILES, ids=lambda path: path.name)
def test_good_fixture_validates(path):
    assert check_document(_read_yaml(path)) == []


def test_unknown_key_points_at_key():
    problems = check_document({"version": 1, "extra": True})

    assert problems == [
        SchemaProblem(
            ("extra",),
            "unknown top-level key 'extra'; allowed: version, variables, "
            "environments, defaults, connections",
            at_key=True,
        )
    ]


def test_key_file_alternatives_explained():
    document = {
        "version": 1,
        "connections": [
            {"name": "TGT_GCS", "kind": "gcs-target", "key_files": {"k": 5}}
        ],
    }

    problems = check_document(document)

    assert problems == [
        SchemaProblem(
            ("connections", 0, "key_files", "k"),
            "connections[0].key_files.k must be a string or a mapping",
        )
    ]


def test_key_file_mapping_errors_explained():
    document = {
        "version": 1,
        "connections": [
            {
                "name": "TGT_GCS",
                "kind": "gcs-target",
                "key_files": {"k": {"path": "a.json", "filename": "b.json"}},
            }
        ],
    }

    problems = check_document(document)

    assert problems == [
        SchemaProblem(
            ("connections", 0, "key_files", "k", "filename"),
            "unknown key file field 'filename' (did you mean 'file_name'?); "
            "allowed: path, file_name",
            at_key=True,
        )
    ]


def test_too_many_tags_reported():
    document = {"version": 1, "defaults": {"tags": [f"t{i}" for i in range(32)]}}

    problems = check_document(document)

    assert problems == [
        SchemaProblem(("defaults", "tags"), "defaults.tags has more than 31 items")
    ]


def test_repeated_tag_reported():
    document = {"version": 1, "defaults": {"tags": ["a", "a"]}}

    problems = check_document(document)

    assert problems == [
        SchemaProblem(
            ("defaults", "tags"), "defaults.tags lists the same item more than once"
        )
    ]


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), "the file"),
        (("version",), "version"),
        (("connections", 2, "properties", "port"), "connections[2].properties.port"),
        (("connections", 0), "connections[0]"),
    ],
)
def test_format_path_reads_like_file(path, text):
    assert format_path(path) == text
