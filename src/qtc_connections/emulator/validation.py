"""Checks of connection property values against the emulator's api-specs.

Every problem found becomes one error item. Details name the property and
the expected type or values, but never repeat a secret or file value.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from qtc_connections.emulator.catalog import DataSource, PropertySpec
from qtc_connections.emulator.problems import ApiProblem, ErrorItem
from qtc_connections.emulator.store import SecretValue

INVALID_PROPERTY = "Invalid connection property"


@dataclass
class CheckedProperties:
    """Property values split into what may be stored in clear and secrets."""

    plain: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, SecretValue] = field(default_factory=dict)


def json_type(value: object) -> str:
    """Return the JSON type name of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def invalid(detail: str) -> ErrorItem:
    """Build an error item about an invalid connection property."""
    return ErrorItem(detail, title=INVALID_PROPERTY)


def check_create_properties(
    source: DataSource, properties: object
) -> CheckedProperties:
    """Validate the ``connectionProperties`` of a create request.

    Raises:
        ApiProblem: 400 listing every unknown property, wrong JSON type,
            value outside an enum, missing or empty required property, and
            malformed file.
    """
    if not isinstance(properties, dict):
        kind = json_type(properties)
        raise ApiProblem(
            400, [invalid(f"connectionProperties must be an object, not {kind}")]
        )

    checked = CheckedProperties()
    problems: list[ErrorItem] = []
    for name, value in properties.items():
        spec = source.spec_for(name)
        if spec is None:
            problems.append(invalid(unknown_property_detail(source, name)))
            continue
        problem = check_value(source, spec, value, digits_as_integer=False)
        if problem is not None:
            problems.append(invalid(problem))
        else:
            store_value(checked, spec, value)

    for spec in source.properties:
        if spec.required and spec.name not in properties:
            detail = (
                f"connectionProperties.{spec.name} is missing; data source "
                f"{source.data_source_id} requires it"
            )
            problems.append(invalid(detail))

    if problems:
        raise ApiProblem(400, problems)
    return checked


def unknown_property_detail(source: DataSource, name: str) -> str:
    """Describe a property name that the data source does not define."""
    return (
        f"connectionProperties.{name} is not a property of data source "
        f"{source.data_source_id}; GET /api/v1/data-sources/"
        f"{source.data_source_id}/api-specs lists the valid names"
    )


def check_value(
    source: DataSource, spec: PropertySpec, value: object, *, digits_as_integer: bool
) -> str | None:
    """Return a problem description for ``value``, or ``None`` if it is valid.

    With ``digits_as_integer`` a non-negative JSON integer is accepted for
    a string property whose default is a number, such as a port.
    """
    label = f"connectionProperties.{spec.name}"
    if spec.is_file:
        return check_file(label, value)

    if spec.type == "boolean":
        if not isinstance(value, bool):
            return f"{label} must be a JSON boolean, not {json_type(value)}"
        return None

    if not isinstance(value, str):
        if digits_as_integer and _is_digit_integer(spec, value):
            return None
        return f"{label} must be a JSON string, not {json_type(value)}"

    if spec.enum and value not in spec.enum:
        allowed = ", ".join(spec.enum)
        return (
            f"{label} value {value!r} is not one of {allowed}; "
            "values are case-sensitive"
        )

    if spec.required and not value.strip():
        if spec.name == source.gateway_property:
            return (
                f"{label} must not be empty, because data source "
                f"{source.data_source_id} runs on a gateway; give the gateway id"
            )
        return f"{label} must not be empty"
    return None


def _is_digit_integer(spec: PropertySpec, value: object) -> bool:
    return (
        spec.is_numeric_string
        and isinstance(value, int)
        and not isinstance(value, bool)
        and value >= 0
    )


def check_file(label: str, value: object) -> str | None:
    """Return a problem with a file value ``[{"name", "value"}]``, or ``None``."""
    shape = f'{label} must be an array of one {{"name", "value"}} object'
    if not isinstance(value, list) or len(value) != 1:
        return shape
    item = value[0]
    if not isinstance(item, dict) or set(item) != {"name", "value"}:
        return shape
    if not isinstance(item["name"], str) or not item["name"].strip():
        return f"{label}[0].name must be a non-empty string (the file name)"
    return check_base64(f"{label}[0].value", item["value"])


def check_base64(label: str, value: object) -> str | None:
    """Return a problem unless ``value`` is non-empty standard base64 text."""
    if not isinstance(value, str) or not value:
        return f"{label} must be a non-empty string of base64 file content"
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return f"{label} is not valid base64; send the file content base64-encoded"
    return None


def store_value(checked: CheckedProperties, spec: PropertySpec, value: Any) -> None:
    """Put a validated value into the plain or secret part of ``checked``."""
    if spec.is_file:
        item = value[0]
        checked.secrets[spec.name] = SecretValue(item["value"], item["name"])
    elif spec.secret:
        checked.secrets[spec.name] = SecretValue(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        checked.plain[spec.name] = str(value)
    else:
        checked.plain[spec.name] = value
