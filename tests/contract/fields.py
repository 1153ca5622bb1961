"""Find object members in a JSON document that its schema does not declare.

OpenAPI lets an object schema without ``additionalProperties: false``
carry any extra member, so openapi-core's validation accepts fields that
the spec never mentions. The contract check still wants to see them,
because an emulator that invents fields misleads the client written
against it. openapi-core's own strict mode cannot be used for this: it
treats ``{"type": "object"}`` (a free-form object such as
``connectionProperties``) and each branch of an ``allOf`` as closed, so it
reports members that the spec allows.

The rules here: an object is closed when its schema, its ``allOf``
branches, or the ``oneOf``/``anyOf`` branches the value matches declare
``properties``. A closed object may hold the union of those properties.
``additionalProperties: true`` or a schema opens it, and an object schema
that declares no properties at all is free-form.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from openapi_schema_validator import OAS30Validator

from contract.specs import split_pointer

COMPOSITIONS = ("oneOf", "anyOf")


@dataclass
class ObjectView:
    """The members an object may have, merged from a schema and its branches."""

    declared: dict[str, Any] = field(default_factory=dict)
    additional: list[Any] = field(default_factory=list)
    has_properties: bool = False
    is_open: bool = False

    def merge(self, other: ObjectView) -> None:
        for name, schema in other.declared.items():
            self.declared.setdefault(name, schema)
        self.additional.extend(other.additional)
        self.has_properties = self.has_properties or other.has_properties
        self.is_open = self.is_open or other.is_open


class FieldChecker:
    """Walk JSON values against schemas of one spec ``document``."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def undocumented(self, instance: Any, schema: Any) -> list[str]:
        """Return the JSON pointers of members of ``instance`` no schema declares.

        The pointer of a member ends with its name, such as
        ``/data/0/version``.
        """
        return list(self._walk(instance, schema, ""))

    def _walk(self, instance: Any, schema: Any, pointer: str) -> Iterator[str]:
        if isinstance(instance, dict):
            yield from self._walk_object(instance, schema, pointer)
        elif isinstance(instance, list):
            item_schema = self._items(schema, instance)
            if item_schema is None:
                return
            for index, item in enumerate(instance):
                yield from self._walk(item, item_schema, f"{pointer}/{index}")

    def _walk_object(
        self, instance: dict[str, Any], schema: Any, pointer: str
    ) -> Iterator[str]:
        view = self._object_view(schema, instance)
        closed = view.has_properties and not view.is_open and not view.additional
        for name, value in instance.items():
            member = f"{pointer}/{_escape(name)}"
            if name in view.declared:
                yield from self._walk(value, view.declared[name], member)
            elif view.additional:
                yield from self._walk(value, view.additional[0], member)
            elif closed:
                yield member

    def _object_view(self, schema: Any, instance: Any) -> ObjectView:
        schema = self.resolve(schema)
        view = ObjectView()
        if not isinstance(schema, dict):
            view.is_open = True
            return view

        if "properties" in schema:
            view.has_properties = True
            view.declared.update(schema["properties"])
        additional = schema.get("additionalProperties")
        if additional is True or additional == {}:
            view.is_open = True
        elif isinstance(additional, dict):
            view.additional.append(additional)

        for branch in schema.get("allOf", []):
            view.merge(self._object_view(branch, instance))
        for keyword in COMPOSITIONS:
            for branch in schema.get(keyword, []):
                if self.is_valid(instance, branch):
                    view.merge(self._object_view(branch, instance))
        return view

    def _items(self, schema: Any, instance: list[Any]) -> Any:
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return None
        if "items" in schema:
            return schema["items"]
        for branch in schema.get("allOf", []):
            found = self._items(branch, instance)
            if found is not None:
                return found
        for keyword in COMPOSITIONS:
            for branch in schema.get(keyword, []):
                if self.is_valid(instance, branch):
                    found = self._items(branch, instance)
                    if found is not None:
                        return found
        return None

    def resolve(self, schema: Any) -> Any:
        """Follow ``$ref`` members within the document until a schema remains."""
        seen: set[str] = set()
        while isinstance(schema, dict) and "$ref" in schema:
            reference = schema["$ref"]
            if reference in seen or not reference.startswith("#/"):
                raise ValueError(f"cannot resolve the schema reference {reference!r}")
            seen.add(reference)
            schema = self.document
            for part in split_pointer(reference[1:]):
                schema = schema[part]
        return schema

    def is_valid(self, instance: Any, schema: Any) -> bool:
        """Return whether ``instance`` is valid under ``schema``."""
        return bool(OAS30Validator(self.inline(schema)).is_valid(instance))

    def inline(self, schema: Any, depth: int = 0) -> Any:
        """Return a copy of ``schema`` with every ``$ref`` replaced by its target.

        Raises:
            ValueError: references nest more than 50 deep, which only a
                recursive schema does; none of Qlik's specs has one.
        """
        if depth > 50:
            raise ValueError("the schema references itself; cannot inline it")
        schema = self.resolve(schema)
        if isinstance(schema, dict):
            return {key: self.inline(value, depth + 1) for key, value in schema.items()}
        if isinstance(schema, list):
            return [self.inline(value, depth + 1) for value in schema]
        return schema


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")
