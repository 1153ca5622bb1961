"""Undocumented members: closed objects, free-form objects and compositions."""

from __future__ import annotations

from typing import Any

from contract.fields import FieldChecker

DOCUMENT: dict[str, Any] = {
    "components": {
        "schemas": {
            "Link": {
                "type": "object",
                "required": ["href"],
                "properties": {"href": {"type": "string"}},
            },
            "Item": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "links": {"$ref": "#/components/schemas/Link"},
                    "settings": {"type": "object"},
                },
            },
            "Token": {
                "type": "object",
                "required": ["token"],
                "properties": {"token": {"type": "string"}},
            },
            "Url": {
                "type": "object",
                "required": ["url"],
                "properties": {"url": {"type": "string"}},
            },
        }
    }
}
ITEM = {"$ref": "#/components/schemas/Item"}


def undocumented(instance: Any, schema: Any) -> list[str]:
    return FieldChecker(DOCUMENT).undocumented(instance, schema)


def test_closed_object_reports_extra_member() -> None:
    found = undocumented({"id": "1", "colour": "blue"}, ITEM)

    assert found == ["/colour"]


def test_nested_reference_is_followed() -> None:
    found = undocumented({"links": {"href": "x", "rel": "self"}}, ITEM)

    assert found == ["/links/rel"]


def test_free_form_object_allows_anything() -> None:
    found = undocumented({"settings": {"any": {"deep": 1}}}, ITEM)

    assert found == []


def test_array_items_are_walked() -> None:
    schema = {"type": "array", "items": ITEM}

    found = undocumented([{"id": "1"}, {"id": "2", "extra": 1}], schema)

    assert found == ["/1/extra"]


def test_all_of_merges_properties() -> None:
    schema = {
        "allOf": [
            {"type": "object", "properties": {"prefix": {"type": "string"}}},
            {"$ref": "#/components/schemas/Link"},
        ]
    }

    found = undocumented({"prefix": "/", "href": "x", "other": 1}, schema)

    assert found == ["/other"]


def test_one_of_uses_matching_branch() -> None:
    schema = {
        "oneOf": [
            {"$ref": "#/components/schemas/Token"},
            {"$ref": "#/components/schemas/Url"},
        ]
    }

    found = undocumented({"url": "x", "token_hint": "y"}, schema)

    assert found == ["/token_hint"]


def test_no_matching_branch_reports_nothing() -> None:
    # The schema error already describes a body that matches no branch.
    schema = {
        "oneOf": [
            {"$ref": "#/components/schemas/Token"},
            {"$ref": "#/components/schemas/Url"},
        ]
    }

    found = undocumented({"other": 1}, schema)

    assert found == []


def test_additional_properties_schema_applies() -> None:
    schema = {"type": "object", "additionalProperties": ITEM}

    found = undocumented({"a": {"id": "1"}, "b": {"id": "2", "x": 0}}, schema)

    assert found == ["/b/x"]


def test_additional_properties_true_opens() -> None:
    schema = {
        "type": "object",
        "properties": {"id": {"type": "string"}},
        "additionalProperties": True,
    }

    found = undocumented({"id": "1", "x": 0}, schema)

    assert found == []


def test_member_name_is_escaped() -> None:
    found = undocumented({"a/b~c": 1}, ITEM)

    assert found == ["/a~1b~0c"]
