"""Local checks of connection properties before anything is sent.

Two sources of truth are combined: the data source's ``api-specs`` schema
(names, JSON types, enums, ``required``, ``writeOnly``) and the catalog kind
(required inputs, secret and file properties, gateway rule). Every problem
is collected, and one ``ValidationError`` lists them all. A problem names
the property and the fix, and shows a value only when it is a plain one.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from qtc_connections.catalog.model import (
    GATEWAY_PROPERTY,
    DataSourceSpec,
    GatewayRule,
    Kind,
    declared_types,
)
from qtc_connections.errors import InputError, ValidationError
from qtc_connections.keyfiles import KeyFile
from qtc_connections.properties import GATEWAY_ENV_VAR, ConnectionInput, merge_values
from qtc_connections.secrets import ACCEPTED_FORMS, Secret

__all__ = [
    "coerce_value",
    "validate_connection_input",
    "validate_properties",
]

ApiSpec = Mapping[str, Any] | DataSourceSpec

_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")

# Marks a failed conversion, since None is the valid result for "null".
_NO_VALUE = object()

# Maximum length of a plain value quoted in a message. Longer ones are cut.
_MAX_SHOWN_VALUE = 40


def coerce_value(
    raw: str, schema: Mapping[str, Any] | None, *, name: str | None = None
) -> object:
    """Convert a ``--set NAME=VALUE`` string to the type the schema declares.

    Booleans must be exactly ``true`` or ``false``. Integers are optional
    ``-`` and digits only. A ``number`` also takes a decimal fraction or
    exponent. ``array`` and ``object`` values are not supported on the
    command line. A property declared ``string``, or with no type, keeps the
    raw string even when it looks like a number, since ports are sent as
    strings. Where the schema allows several types, ``string`` wins, then
    the first of the others that parses.

    Args:
        raw: The text after ``=``.
        schema: The property's schema from api-specs, or ``None``.
        name: Property name, for messages.

    Raises:
        InputError: The text does not parse as the declared type. The
            message quotes the text unless the schema marks it ``writeOnly``.
    """
    schema = schema or {}
    types = declared_types(schema)
    if not types or "string" in types:
        return raw

    for json_type in types:
        converted = _convert(raw, json_type)
        if converted is not _NO_VALUE:
            return converted

    subject = f"property {name}" if name else "value"
    shown = "the value" if schema.get("writeOnly") is True else _show(raw)
    raise InputError(
        f"{subject} must be {_describe_types(types)}, but {shown} is not; "
        f"{_spelling_hint(types)}"
    )


def _convert(raw: str, json_type: str) -> object:
    if json_type == "boolean":
        if raw in ("true", "false"):
            return raw == "true"
        return _NO_VALUE
    if json_type == "integer":
        return int(raw) if _INTEGER.fullmatch(raw) else _NO_VALUE
    if json_type == "number":
        return _convert_number(raw)
    if json_type == "null":
        return None if raw == "null" else _NO_VALUE
    return _NO_VALUE


def _convert_number(raw: str) -> object:
    if _INTEGER.fullmatch(raw):
        return int(raw)
    # float() also takes "nan", "inf" and "1_0", which JSON does not.
    if not _DECIMAL.fullmatch(raw):
        return _NO_VALUE
    number = float(raw)
    return number if math.isfinite(number) else _NO_VALUE


def _describe_types(types: tuple[str, ...]) -> str:
    names = []
    for json_type in types:
        article = "an" if json_type.startswith(("a", "e", "i", "o", "u")) else "a"
        names.append(f"{article} {json_type}")
    return " or ".join(names)


def _spelling_hint(types: tuple[str, ...]) -> str:
    if "boolean" in types:
        return "write true or false, in lower case"
    if "integer" in types:
        return "write digits only, such as 3306"
    if "number" in types:
        return "write a number, such as 1.5"
    return "set this property in a manifest instead of with --set"


def validate_properties(
    properties: Mapping[str, object],
    api_spec: ApiSpec | None,
    *,
    kind: Kind,
    subject: str,
    partial: bool = False,
    for_manifest: bool = False,
) -> None:
    """Check properties against the data source's schema and the kind.

    Values show how they were given: a ``Secret`` came from ``--secret``, a
    ``KeyFile`` from ``--key-file``, anything else is plain. The checks are:
    unknown names (with close matches), JSON types, exact enum values (with
    the right case when only the case differs), secret properties given as
    plain values, file properties not given as files, and, unless
    ``partial``, missing required inputs. Required inputs are the kind's
    ``required``, the schema's ``required`` and, for a Data Movement kind,
    ``agentId``. Kind defaults and schema defaults fill them.

    Secret properties are the kind's ``secrets`` and the schema's
    ``writeOnly`` properties. File properties are the kind's ``files`` and
    the schema's arrays of ``{name, value}`` objects.

    Args:
        properties: Values by property name, such as ``merge_values``
            returns, or the properties of a PATCH.
        api_spec: The api-specs response or a ``DataSourceSpec``. ``None``
            skips the schema checks.
        kind: Kind of the connection.
        subject: What is validated, for the message, such as
            ``connection 'SRC_MySQL' (mysql-source)``.
        partial: Skip the required-input checks, for a PATCH.
        for_manifest: Word each fix as a manifest field rather than a flag.

    Raises:
        ValidationError: One or more problems, all listed.
        InputError: ``api_spec`` has no schema object.
    """
    rules = _Rules.build(kind, api_spec, for_manifest=for_manifest)
    problems: list[str] = []
    for name, value in properties.items():
        problem = rules.check_property(name, value)
        if problem is not None:
            problems.append(problem)

    if not partial:
        problems.extend(rules.missing_required(properties))
    if problems:
        raise ValidationError(subject, problems)


def validate_connection_input(
    connection: ConnectionInput,
    api_spec: ApiSpec | None,
    *,
    subject: str | None = None,
    for_manifest: bool = False,
) -> None:
    """Validate everything a create request for ``connection`` would send.

    That is the output of ``merge_values``: the gateway id, the kind's
    defaults and the user's values. A missing Data Movement gateway id is
    one of the problems listed.

    Raises:
        ValidationError: One or more problems, all listed.
    """
    kind = connection.kind
    validate_properties(
        merge_values(connection),
        api_spec,
        kind=kind,
        subject=subject or f"connection {connection.name!r} ({kind.name})",
        for_manifest=for_manifest,
    )


@dataclass(frozen=True)
class _Hints:
    """Wording of each fix, as command-line flags or as manifest fields."""

    file_not_value: str
    not_a_file: str
    secret_not_plain: str
    empty_required: str
    missing_file: str
    missing_secret: str
    missing_property: str
    missing_gateway: str


_CLI_HINTS = _Hints(
    file_not_value="{name} is a file property; pass the file with --key-file {name}=PATH, not as a value",
    not_a_file="{name} is not a file property; pass it with --set or --secret",
    secret_not_plain="{name} is a secret; pass it with --secret {name}=REF ({forms}), not with --set",
    empty_required="required property {name} is empty: pass --set {name}=VALUE",
    missing_file="missing file {name}: pass --key-file {name}=PATH",
    missing_secret="missing secret {name}: pass --secret {name}=REF ({forms})",
    missing_property="missing required property {name}: pass --set {name}={example}",
    missing_gateway=f"missing Data Movement gateway id ({GATEWAY_PROPERTY}): pass --gateway or set {GATEWAY_ENV_VAR}",
)

_MANIFEST_HINTS = _Hints(
    file_not_value="{name} is a file property; list its path under key_files, not as a value",
    not_a_file="{name} is not a file property; move it under properties or secrets",
    secret_not_plain="{name} is a secret; move it under secrets as a reference (env:NAME or file:PATH)",
    empty_required="required property {name} is empty; give it a value under properties",
    missing_file="missing file {name}: add {name}: PATH under key_files",
    missing_secret="missing secret {name}: add {name}: env:NAME under secrets",
    missing_property="missing required property {name}: add {name}: {example} under properties",
    missing_gateway=f"missing Data Movement gateway id ({GATEWAY_PROPERTY}): give the connection, or defaults, a gateway",
)


@dataclass(frozen=True)
class _Rules:
    """Secret, file and schema facts of one kind and one data source."""

    kind: Kind
    spec: DataSourceSpec
    secret_names: frozenset[str]
    file_names: frozenset[str]
    hints: _Hints = _CLI_HINTS

    @classmethod
    def build(
        cls, kind: Kind, api_spec: ApiSpec | None, *, for_manifest: bool = False
    ) -> _Rules:
        if api_spec is None:
            spec = DataSourceSpec()
        elif isinstance(api_spec, DataSourceSpec):
            spec = api_spec
        else:
            spec = DataSourceSpec.from_api_spec(api_spec)

        file_names = frozenset(kind.files) | spec.file_names
        secret_names = (frozenset(kind.secrets) | spec.secret_names) - file_names
        hints = _MANIFEST_HINTS if for_manifest else _CLI_HINTS
        return cls(kind, spec, secret_names, file_names, hints)

    def check_property(self, name: str, value: object) -> str | None:
        """Return the first problem with one property, or ``None``."""
        form_problem = self._form_problem(name, value)
        if form_problem is not None:
            return form_problem

        schema = self.spec.schema_for(name)
        if schema is None:
            return self._unknown_problem(name, value)
        return _type_problem(name, value, schema) or _enum_problem(name, value, schema)

    def _form_problem(self, name: str, value: object) -> str | None:
        """Return a problem if the value was given with the wrong option."""
        if name in self.file_names and not isinstance(value, KeyFile):
            return self.hints.file_not_value.format(name=name)
        if name not in self.file_names and isinstance(value, KeyFile):
            return self.hints.not_a_file.format(name=name)
        if name in self.secret_names and not isinstance(value, Secret):
            # The value is not shown: it is the secret, given the wrong way.
            return self.hints.secret_not_plain.format(name=name, forms=ACCEPTED_FORMS)
        return None

    def _unknown_problem(self, name: str, value: object) -> str | None:
        if not self.spec.declares_properties:
            return None
        if name == GATEWAY_PROPERTY and self.kind.gateway is not GatewayRule.NONE:
            # The documented examples send agentId for this kind, so a
            # schema that leaves it out is taken to be incomplete.
            return None

        problem = f"unknown property {name}{self._default_note(name, value)}"
        suggestions = _suggest(name, self.spec.properties)
        if suggestions:
            return f"{problem}; did you mean {' or '.join(suggestions)}?"
        return f"{problem}; see 'qtc sources specs {self.kind.data_source_id}'"

    def _default_note(self, name: str, value: object) -> str:
        defaults = self.kind.defaults
        if name in defaults and _json_equal(defaults[name], value):
            return f" (a default of kind {self.kind.name})"
        return ""

    def missing_required(self, properties: Mapping[str, object]) -> list[str]:
        """Return a problem for each required input that nothing fills."""
        required = set(self.kind.required) | set(self.spec.required)
        # An empty or blank string fills nothing: the tenant rejects it too.
        blank = {
            name
            for name, value in properties.items()
            if isinstance(value, str) and not value.strip()
        }
        given = set(properties) - blank
        filled = (
            given
            | (set(self.kind.defaults) - blank)
            | (self.spec.defaulted_names - blank)
        )

        problems = []
        gateway = self.kind.gateway
        if gateway is GatewayRule.DATA_MOVEMENT and GATEWAY_PROPERTY not in filled:
            problems.append(self.hints.missing_gateway)
        if gateway is not GatewayRule.NONE:
            # The gateway rule owns agentId: it was reported above, or the
            # Qlik-managed rule fills it when the properties are built.
            required.discard(GATEWAY_PROPERTY)

        for name in sorted(required - filled):
            if name in blank:
                problems.append(self.hints.empty_required.format(name=name))
            else:
                problems.append(self._missing_problem(name))
        return problems

    def _missing_problem(self, name: str) -> str:
        if name in self.file_names:
            return self.hints.missing_file.format(name=name)
        if name in self.secret_names:
            return self.hints.missing_secret.format(name=name, forms=ACCEPTED_FORMS)
        example = self.kind.examples.get(name, "VALUE")
        return self.hints.missing_property.format(name=name, example=example)


def _type_problem(name: str, value: object, schema: Mapping[str, Any]) -> str | None:
    types = declared_types(schema)
    if not types:
        return None
    actual = _json_type(value)
    if any(_type_accepts(expected, actual) for expected in types):
        return None

    if isinstance(value, Secret):
        given = "a secret (a string)"
    elif isinstance(value, KeyFile):
        given = "a file (an array of name and value)"
    else:
        given = f"{_describe_types((actual,))} {_show(value)}"
    return f"{name} must be {_describe_types(types)}, but is {given}"


def _enum_problem(name: str, value: object, schema: Mapping[str, Any]) -> str | None:
    allowed = schema.get("enum")
    if not isinstance(allowed, list) or isinstance(value, Secret | KeyFile):
        return None
    if any(_json_equal(value, option) for option in allowed):
        return None

    problem = f"{name} is {_show(value)}, which is not an allowed value"
    if isinstance(value, str):
        # Enum values are case-sensitive, such as AWS region codes.
        same_letters = [
            option
            for option in allowed
            if isinstance(option, str) and option.lower() == value.lower()
        ]
        if same_letters:
            return f"{problem}; values are case-sensitive: use {same_letters[0]!r}"

    shown = ", ".join(_show(option) for option in allowed[:10])
    more = f" and {len(allowed) - 10} more" if len(allowed) > 10 else ""
    return f"{problem}; allowed: {shown}{more}"


def _json_type(value: object) -> str:
    if isinstance(value, Secret | str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, KeyFile | list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    if value is None:
        return "null"
    return type(value).__name__


def _type_accepts(expected: str, actual: str) -> bool:
    # A float is not accepted as an integer even when it is whole: a service
    # that decodes into an integer type rejects 1.0.
    if expected == "number":
        return actual in ("number", "integer")
    return expected == actual


def _json_equal(left: object, right: object) -> bool:
    # In Python True == 1, but in JSON a boolean never equals a number.
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return left == right


def _suggest(name: str, candidates: Collection[str]) -> list[str]:
    lowered = name.lower()
    same_letters = [c for c in candidates if c.lower() == lowered]
    if same_letters:
        return same_letters
    by_lower = {candidate.lower(): candidate for candidate in candidates}
    matches = difflib.get_close_matches(lowered, list(by_lower), n=3, cutoff=0.6)
    return [by_lower[match] for match in matches]


def _show(value: object) -> str:
    text = repr(value)
    if len(text) > _MAX_SHOWN_VALUE:
        return text[: _MAX_SHOWN_VALUE - 3] + "..."
    return text
