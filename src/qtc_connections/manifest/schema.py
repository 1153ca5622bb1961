"""The JSON Schema of a manifest file, and plain-language schema problems.

``manifest.schema.json`` ships inside this package, so editors can point at
``SCHEMA_FILE`` (for example with a ``# yaml-language-server: $schema=...``
line) and flag mistakes while a manifest is written. ``check_document``
validates one parsed file against it and turns each failure into a message
that names the field and the fix.

Messages never quote the value that failed: a value in the wrong place may
be a secret written where a reference belongs. They quote key names, which
are not secret, and values taken from the schema itself.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

__all__ = [
    "SCHEMA_FILE",
    "SCHEMA_ID",
    "JsonPath",
    "SchemaProblem",
    "check_document",
    "format_path",
    "manifest_schema",
]

SCHEMA_FILE = Path(__file__).with_name("manifest.schema.json")
SCHEMA_ID = "urn:qtc-connections:manifest:1"

# A position inside a parsed document: mapping keys and list indexes.
JsonPath = tuple[str | int, ...]

# Patterns of the schema that get their own explanation. They must stay
# equal to the patterns written in manifest.schema.json.
_SECRET_REFERENCE_PATTERN = "^(?:(?:env|file|keyring):|\\$\\{|-$|prompt$)"
_VARIABLE_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "null": "empty",
}


@dataclass(frozen=True)
class SchemaProblem:
    """One way in which a document fails the schema.

    Attributes:
        path: The field the problem is about.
        message: What is wrong and how to fix it, without the field's value.
        at_key: Whether the problem is with the key at ``path`` (such as an
            unknown field) rather than with its value.
    """

    path: JsonPath
    message: str
    at_key: bool = False


def manifest_schema() -> dict[str, Any]:
    """Return the manifest JSON Schema (draft 2020-12) as a new dict.

    The caller may change the result; the copy used for validation stays
    as shipped.
    """
    return copy.deepcopy(_shipped_schema())


@cache
def _shipped_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(_shipped_schema())


def check_document(document: object) -> list[SchemaProblem]:
    """Validate one parsed manifest file against the schema.

    Args:
        document: The file's content as plain JSON values (dicts with string
            keys, lists, strings, numbers, booleans and ``None``).

    Returns:
        Every problem found, in no particular order.
    """
    problems: list[SchemaProblem] = []
    for error in _validator().iter_errors(document):
        problems.extend(_explain(error))
    return problems


def format_path(path: JsonPath) -> str:
    """Write a document path the way a reader finds it in the file.

    ``("connections", 2, "properties", "port")`` becomes
    ``connections[2].properties.port``; the empty path is ``the file``.
    """
    if not path:
        return "the file"
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            text += f".{part}"
        else:
            text = part
    return text


def _explain(error: SchemaError) -> Iterator[SchemaProblem]:
    path: JsonPath = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    validator = str(error.validator)

    if validator == "additionalProperties":
        yield from _unknown_keys(path, error.instance, schema)
    elif validator == "required":
        yield from _missing_keys(path, error.instance, schema)
    elif validator == "oneOf":
        yield from _one_of(error, path, schema)
    elif "propertyNames" in error.relative_schema_path:
        yield _key_name_problem(path, error.instance, schema)
    else:
        yield SchemaProblem(path, _value_problem(path, error, schema))


def _unknown_keys(
    path: JsonPath, instance: object, schema: Mapping[str, Any]
) -> Iterator[SchemaProblem]:
    allowed = list(schema.get("properties", {}))
    if not isinstance(instance, Mapping):
        return
    noun = "top-level key" if not path else f"{schema.get('title', 'mapping')} field"
    for key in instance:
        if key in allowed:
            continue
        message = f"unknown {noun} {key!r}"
        close = difflib.get_close_matches(str(key), allowed, n=1)
        if close:
            message += f" (did you mean {close[0]!r}?)"
        message += f"; allowed: {', '.join(allowed)}"
        yield SchemaProblem((*path, key), message, at_key=True)


def _missing_keys(
    path: JsonPath, instance: object, schema: Mapping[str, Any]
) -> Iterator[SchemaProblem]:
    if not isinstance(instance, Mapping):
        return
    for key in schema.get("required", []):
        if key in instance:
            continue
        if not path and key == "version":
            message = "missing top-level key 'version'; start the file with version: 1"
        else:
            message = f"{format_path(path)} is missing required field {key!r}"
        yield SchemaProblem(path, message)


def _one_of(
    error: SchemaError, path: JsonPath, schema: Mapping[str, Any]
) -> Iterator[SchemaProblem]:
    alternatives: Sequence[Mapping[str, Any]] = schema.get("oneOf", [])
    if alternatives and all(set(alt) == {"required"} for alt in alternatives):
        yield SchemaProblem(path, _exactly_one_problem(path, error, alternatives))
        return

    # When only one alternative has the value's type, the errors inside that
    # alternative say more than "must be this or that".
    matching = [
        index
        for index, alternative in enumerate(alternatives)
        if _type_matches(alternative, error.instance)
    ]
    if len(matching) == 1:
        inner = [
            sub
            for sub in error.context or []
            if sub.relative_schema_path[0] == matching[0]
        ]
        if inner:
            for sub in inner:
                yield from _explain(sub)
            return
    expected = " or ".join(_describe_schema(alt) for alt in alternatives)
    yield SchemaProblem(path, f"{format_path(path)} must be {expected}")


def _exactly_one_problem(
    path: JsonPath, error: SchemaError, alternatives: Sequence[Mapping[str, Any]]
) -> str:
    names = [str(alt["required"][0]) for alt in alternatives]
    instance = error.instance if isinstance(error.instance, Mapping) else {}
    present = [name for name in names if name in instance]
    label = format_path(path)
    if present:
        return f"{label} has both {' and '.join(present)}; give only one of them"
    return f"{label} has neither {' nor '.join(names)}; give one of them"


def _key_name_problem(
    path: JsonPath, key: object, schema: Mapping[str, Any]
) -> SchemaProblem:
    where = (*path, str(key))
    if schema.get("pattern") == _VARIABLE_NAME_PATTERN:
        message = (
            f"variable name {key!r} is invalid; use letters, digits and "
            "underscores, not starting with a digit"
        )
    else:
        message = f"{format_path(path)} has an empty key; give every entry a name"
    return SchemaProblem(where, message, at_key=True)


def _value_problem(
    path: JsonPath, error: SchemaError, schema: Mapping[str, Any]
) -> str:
    label = format_path(path)
    validator = str(error.validator)
    if validator == "type":
        return _type_problem(path, error.instance, schema)
    if validator == "const":
        return f"{label} must be {json.dumps(schema.get('const'))}"
    if validator == "minLength":
        return f"{label} must not be empty"
    if validator == "maxItems":
        return f"{label} has more than {schema.get('maxItems')} items"
    if validator == "uniqueItems":
        return f"{label} lists the same item more than once"
    if validator == "pattern" and schema.get("pattern") == _SECRET_REFERENCE_PATTERN:
        return (
            f"{label} is not a secret reference; give env:NAME, file:PATH, "
            "- (standard input) or prompt, never the value itself"
        )
    return f"{label} is invalid (schema rule {validator!r})"


def _type_problem(path: JsonPath, instance: object, schema: Mapping[str, Any]) -> str:
    expected = _describe_types(schema.get("type"))
    if not path:
        return (
            "the file must be a mapping with version, variables, environments, "
            "defaults and connections"
        )
    if instance is None:
        return f"{format_path(path)} has no value; give {expected}"
    return f"{format_path(path)} must be {expected}"


def _describe_schema(schema: Mapping[str, Any]) -> str:
    return _describe_types(schema.get("type"))


def _describe_types(declared: object) -> str:
    names = [declared] if isinstance(declared, str) else declared
    if not isinstance(names, list) or not names:
        return "a valid value"
    described = [_TYPE_NAMES.get(str(name), str(name)) for name in names]
    if len(described) == 1:
        return described[0]
    return ", ".join(described[:-1]) + " or " + described[-1]


def _type_matches(schema: Mapping[str, Any], instance: object) -> bool:
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else declared or []
    return any(_is_json_type(instance, str(name)) for name in names)


def _is_json_type(instance: object, name: str) -> bool:
    if name == "object":
        return isinstance(instance, Mapping)
    if name == "array":
        return isinstance(instance, list)
    if name == "string":
        return isinstance(instance, str)
    if name == "boolean":
        return isinstance(instance, bool)
    if name in ("number", "integer"):
        return isinstance(instance, int | float) and not isinstance(instance, bool)
    return name == "null" and instance is None
