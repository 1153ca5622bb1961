"""Load manifest files into a ``Manifest``, checking all that needs no tenant.

A manifest is one or more YAML files, or folders of ``*.yaml`` and ``*.yml``
files, merged into one. Loading checks two things, and one ``ManifestError``
reports every problem of both:

1. Structure: each file must be UTF-8, valid YAML and valid against the
   JSON Schema in ``manifest.schema.json``.
2. Meaning: variables are substituted, the chosen environment's overlays
   applied and defaults filled. Then each connection is checked against its
   catalog kind, and each (space, name) pair must be unique.

The meaning checks skip each part whose structure is invalid: a connection
entry, a variable, a default or an environment. They also stay silent about
what a skipped part might have supplied, such as an undefined variable or a
missing space while a variable or default is invalid. When the chosen
environment, or a whole file, cannot be read, no connection is checked.
Each problem starts with ``path, line N, column M:``, or, when it has no
line, with the file, folder or command-line option it concerns. Problems name properties but never quote a value from
``properties`` or ``secrets``, where a secret may be written by mistake.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError, YAMLFutureWarning, YAMLWarning
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scalarbool import ScalarBoolean

from qtc_connections.catalog import (
    GATEWAY_PROPERTY,
    GatewayRule,
    Kind,
    get_kind,
    kind_for_data_source,
    raw_kind,
)
from qtc_connections.errors import InputError, ManifestError, SecretReferenceError
from qtc_connections.manifest.model import (
    DesiredConnection,
    KeyFileSpec,
    Location,
    Manifest,
)
from qtc_connections.manifest.schema import JsonPath, check_document, format_path
from qtc_connections.secrets import SecretReference

__all__ = [
    "MANIFEST_SUFFIXES",
    "RESERVED_VARIABLE",
    "escape_substitution",
    "load_manifest",
    "substitute_variables",
]

# Name endings of the files read from a folder. Other files, and subfolders,
# are left alone.
MANIFEST_SUFFIXES = (".yaml", ".yml")

# Name of the variable that contains the environment chosen with --env.
RESERVED_VARIABLE = "env"

# Sections of a connection or an overlay whose entries are keyed by property.
_GROUPS = ("properties", "secrets", "key_files")

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Secret reference forms whose text is not secret, so a message may name the
# variables they use. Other text in a secret field may be a literal secret.
_REFERENCE_PREFIXES = ("env:", "file:", "keyring:")
_KEYRING_PREFIX = "keyring:"

# Maximum size of one tag, from the data-connections OpenAPI spec.
_MAX_TAG_BYTES = 256

# Words of a property name that mark a secret (sshPassword, client_secret,
# accessToken, apiKey). Only names that the kind does not list as plain
# inputs are tested.
_SECRET_SUBSTRINGS = ("password", "passphrase")
_SECRET_WORDS = frozenset({"passwd", "pwd"})
_SECRET_LAST_WORDS = frozenset({"secret", "token"})
_SECRET_KEY_QUALIFIERS = frozenset(
    {"access", "account", "api", "app", "private", "secret"}
)
_NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def load_manifest(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    environment: str | None = None,
    variables: Mapping[str, str] | None = None,
) -> Manifest:
    """Load, merge and check manifest files.

    Files are read in the order given, and a folder means its
    ``*.yaml`` and ``*.yml`` files sorted by name. Variables, environments
    and defaults are merged across files, and a key set to different values
    in two files is a problem. Each variable source overrides the one before:
    the top-level ``variables``, the environment's ``variables``, then
    ``variables`` given here. ``${env}`` is the environment's name.

    Args:
        paths: Manifest files and folders.
        environment: Environment to apply, as given with ``--env``. Only the
            overlays of this environment are checked against the connections.
        variables: Values given with ``--var name=value``.

    Returns:
        The desired connections, in file order. Secrets stay references and
        key files stay paths, and neither a secret value nor a key file is
        read here. A relative path is resolved against the folder of the
        file that contains it.

    Raises:
        ManifestError: One entry in ``problems`` per problem found.
    """
    problems = _Problems()
    files = _collect_files(paths, problems)
    # A file or folder that cannot be read may define variables, defaults or
    # environments that the other files use.
    complete = len(problems) == 0
    documents: list[_Document] = []
    for path in files:
        document = _read_document(path, problems)
        if document is None:
            complete = False
        else:
            documents.append(document)

    manifest = _Assembler(documents, problems, complete=complete).assemble(
        environment, dict(variables or {})
    )
    problems.raise_if_any()
    return manifest


def substitute_variables(text: str, variables: Mapping[str, str]) -> str:
    """Replace each ``${name}`` in ``text`` with the value of variable ``name``.

    ``$${`` is the escape for a literal ``${``. A value may use variables itself,
    and is substituted the same way before it is inserted.

    Raises:
        InputError: A variable is undefined or refers to itself, a ``${``
            has no closing ``}``, or a name is not made of letters, digits
            and underscores.
    """
    definitions = {
        name: _Definition(value, None, f"variable {name}")
        for name, value in variables.items()
    }
    try:
        return _Scope(definitions).expand(text)
    except _SubstitutionError as error:
        prefix = f"{error.label}: " if error.label else ""
        raise InputError(prefix + error.message) from None


def escape_substitution(text: str) -> str:
    """Return ``text`` written so that substitution gives it back unchanged."""
    return text.replace("${", "$${")


# --- problems ------------------------------------------------------------


class _Problems:
    """Problems of one load, ordered by file, line and column when raised."""

    def __init__(self) -> None:
        self._entries: list[tuple[tuple[int, int, int], str]] = []
        self._file_order: dict[Path, int] = {}

    def register_file(self, path: Path) -> None:
        self._file_order.setdefault(path, len(self._file_order))

    def add(self, location: Location | None, text: str) -> None:
        """Record a problem. Without a location, ``text`` must name its subject."""
        if location is None:
            self._entries.append(((-1, 0, 0), text))
            return
        order = self._file_order.get(location.path, len(self._file_order))
        position = (order, location.line, location.column)
        self._entries.append((position, f"{location}: {text}"))

    def __len__(self) -> int:
        return len(self._entries)

    def raise_if_any(self) -> None:
        if not self._entries:
            return
        ordered = sorted(self._entries, key=lambda entry: entry[0])
        # A problem can be found twice, such as a broken variable that two
        # fields use; it is listed once.
        unique = list(dict.fromkeys(text for _, text in ordered))
        raise ManifestError("manifest", unique)


# --- files and YAML ------------------------------------------------------


def _collect_files(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    problems: _Problems,
) -> list[Path]:
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    given = [Path(path) for path in paths]
    if not given:
        problems.add(None, "no manifest files given; pass one or more files or folders")

    files: list[Path] = []
    for path in given:
        files.extend(_files_of(path, problems))

    # A file named twice, such as by itself and through its folder, is read
    # once, because otherwise each of its connections would be a duplicate.
    unique: dict[Path, Path] = {}
    for path in files:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _files_of(path: Path, problems: _Problems) -> list[Path]:
    if not path.exists():
        problems.add(None, f"{path}: file or folder not found")
        return []
    if not path.is_dir():
        return [path]

    try:
        children = sorted(
            child
            for child in path.iterdir()
            if child.suffix in MANIFEST_SUFFIXES and child.is_file()
        )
    except OSError as error:
        problems.add(None, f"{path}: folder cannot be read ({error.strerror})")
        return []
    if not children:
        problems.add(None, f"{path}: folder contains no .yaml or .yml files")
    return children


@dataclass
class _Document:
    """One parsed file: plain data, and where each key and value is written."""

    path: Path
    base_dir: Path
    data: dict[str, Any] = field(default_factory=dict)
    keys: dict[JsonPath, Location] = field(default_factory=dict)
    values: dict[JsonPath, Location] = field(default_factory=dict)
    invalid: list[JsonPath] = field(default_factory=list)

    def is_valid(self, path: JsonPath) -> bool:
        """Return whether no problem was found at ``path`` or inside it.

        A problem of an enclosing mapping or list, such as a missing
        required key, leaves the values inside it valid.
        """
        return not any(found[: len(path)] == path for found in self.invalid)

    def value_location(self, path: JsonPath) -> Location:
        # A value without a position of its own, such as one merged in with
        # YAML's << key, is reported at the nearest enclosing one.
        for end in range(len(path), -1, -1):
            location = self.values.get(path[:end])
            if location is not None:
                return location
        return Location(self.path, 1, 1)

    def key_location(self, path: JsonPath) -> Location:
        return self.keys.get(path) or self.value_location(path)


@dataclass(frozen=True)
class _Field:
    """A value as written in one file, before substitution."""

    document: _Document
    path: JsonPath

    @property
    def value(self) -> Any:
        value: Any = self.document.data
        for part in self.path:
            value = value[part]
        return value

    @property
    def key(self) -> Location:
        """Where the value's key is written."""
        return self.document.key_location(self.path)

    @property
    def at(self) -> Location:
        """Where the value starts."""
        return self.document.value_location(self.path)

    @property
    def base_dir(self) -> Path:
        """Absolute folder of the file, against which relative paths resolve."""
        return self.document.base_dir

    @property
    def is_valid(self) -> bool:
        """Whether the value and everything inside it passed the schema."""
        return self.document.is_valid(self.path)

    def child(self, part: str | int) -> _Field:
        return _Field(self.document, (*self.path, part))


def _read_document(path: Path, problems: _Problems) -> _Document | None:
    problems.register_file(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        problems.add(None, f"{path}: file cannot be read ({error.strerror})")
        return None

    text = _decode(data, path, problems)
    if text is None:
        return None
    parsed = _parse_yaml(text, path, problems)
    if parsed is _NOT_PARSED:
        return None
    if parsed is None:
        problems.add(
            Location(path, 1, 1), "file is empty; a manifest starts with version: 1"
        )
        return None

    document = _Document(path=path, base_dir=path.absolute().parent)
    converted = _TreeReader(document, problems).convert(
        parsed, (), Location(path, 1, 1)
    )
    _check_schema(document, converted, problems)
    if not isinstance(converted, dict):
        return None
    document.data = converted
    return document


def _check_schema(document: _Document, converted: Any, problems: _Problems) -> None:
    # A value that the tree reader rejected was replaced or dropped, so the
    # schema's view of it, or of a key missing for that reason, is noise.
    rejected = list(document.invalid)
    for problem in check_document(converted):
        if any(problem.path[: len(path)] == path for path in rejected):
            continue
        location = (
            document.key_location(problem.path)
            if problem.at_key
            else document.value_location(problem.path)
        )
        problems.add(location, problem.message)
        document.invalid.append(problem.path)


def _decode(data: bytes, path: Path, problems: _Problems) -> str | None:
    try:
        # utf-8-sig also accepts the byte order mark that some editors write.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        line_start = before.rsplit(b"\n", 1)[-1]
        column = len(line_start.decode("utf-8", errors="replace")) + 1
        problems.add(
            Location(path, line, column),
            f"file is not valid UTF-8 (byte 0x{data[error.start]:02x}); "
            "save it as UTF-8",
        )
        return None


_NOT_PARSED = object()


def _parse_yaml(text: str, path: Path, problems: _Problems) -> Any:
    """Return the round-trip tree, ``None`` for an empty file, or ``_NOT_PARSED``."""
    yaml = YAML(typ="rt")
    try:
        with warnings.catch_warnings():
            # Warnings such as a reused anchor name do not change the data.
            warnings.simplefilter("ignore", YAMLWarning)
            warnings.simplefilter("ignore", YAMLFutureWarning)
            return yaml.load(text)
    except YAMLError as error:
        location, message = _yaml_problem(error, text, path)
        problems.add(location, message)
        return _NOT_PARSED


def _yaml_problem(error: YAMLError, text: str, path: Path) -> tuple[Location, str]:
    # str(error) quotes the offending line, which may hold a secret, so the
    # message is built from the error's parts.
    if isinstance(error, ReaderError):
        before = text[: error.position]
        line = before.count("\n") + 1
        column = len(before.rsplit("\n", 1)[-1]) + 1
        character = error.character
        code = ord(character) if isinstance(character, str) else int(character)
        message = (
            f"invalid YAML: control character #x{code:04x} is not allowed; remove "
            "it, or write it as an escape in a double-quoted string"
        )
        return Location(path, line, column), message

    location = Location(path, 1, 1)
    problem = "the file cannot be parsed"
    if isinstance(error, MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        if mark is not None:
            location = Location(path, mark.line + 1, mark.column + 1)
        problem = error.problem or error.context or problem
        context = error.context_mark
        if error.problem and error.context and context is not None:
            problem += (
                f" ({error.context} at line {context.line + 1}, column "
                f"{context.column + 1})"
            )
    if isinstance(error, DuplicateKeyError):
        # The error's own text shows both values of the key.
        found = re.match(r'found duplicate key "(.*?)" with value', problem)
        key = f" {found.group(1)!r}" if found else ""
        return location, f"duplicate key{key}; a key may appear once in a mapping"
    if "'{'" in problem:
        # ${name} inside [ ] or { } is read as the start of a flow mapping.
        problem += "; quote a value that contains ${...} inside [ ] or { }"
    return location, f"invalid YAML: {problem}"


class _TreeReader:
    """Converter from ruamel.yaml's round-trip tree to plain data and positions.

    Values that JSON cannot hold (dates, binary data, custom tags, keys that
    are not text, infinite numbers) are problems, because the schema and the
    tenant's API both work on JSON.
    """

    def __init__(self, document: _Document, problems: _Problems) -> None:
        self._document = document
        self._problems = problems

    def convert(self, node: Any, path: JsonPath, at: Location) -> Any:
        self._document.values.setdefault(path, at)
        if isinstance(node, dict):
            return self._mapping(node, path, self._position(node, at))
        if isinstance(node, list):
            return self._sequence(node, path, self._position(node, at))
        return self._scalar(node, path, at)

    def _mapping(self, node: Any, path: JsonPath, own: Location) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key in node:
            key_at = self._lc(node, "key", key, own)
            if not isinstance(key, str):
                self._problems.add(
                    key_at, f"{format_path(path)} has a key that is not text; quote it"
                )
                self._document.invalid.append(path)
                continue

            child = (*path, str(key))
            self._document.keys[child] = key_at
            value = node[key]
            # An empty value has no position of its own, but its key has one.
            value_at = key_at if value is None else self._lc(node, "value", key, key_at)
            result[str(key)] = self.convert(value, child, value_at)
        return result

    def _sequence(self, node: Any, path: JsonPath, own: Location) -> list[Any]:
        return [
            self.convert(item, (*path, index), self._lc(node, "item", index, own))
            for index, item in enumerate(node)
        ]

    def _scalar(self, node: Any, path: JsonPath, at: Location) -> Any:
        if isinstance(node, bool | ScalarBoolean):
            return bool(node)
        if isinstance(node, int):
            return int(node)
        if isinstance(node, str):
            return str(node)
        if node is None:
            return None

        label = format_path(path)
        if isinstance(node, float):
            if not math.isfinite(node):
                self._problems.add(at, f"{label} is not a finite number")
                self._document.invalid.append(path)
            return float(node)
        self._document.invalid.append(path)
        if isinstance(node, date | datetime):
            self._problems.add(
                at, f"{label} is read as a date or time; quote it to keep it as text"
            )
        else:
            self._problems.add(
                at,
                f"{label} has a YAML type that a manifest cannot hold; write a "
                "string, number, true or false, list or mapping",
            )
        return None

    def _position(self, node: Any, fallback: Location) -> Location:
        lc = getattr(node, "lc", None)
        if lc is None or lc.line is None:
            return fallback
        return Location(self._document.path, lc.line + 1, lc.col + 1)

    def _lc(self, node: Any, part: str, key: object, fallback: Location) -> Location:
        try:
            line, column = getattr(node.lc, part)(key)
        except (AttributeError, KeyError, IndexError, TypeError):
            # Keys merged in with YAML's << key have no position here.
            return fallback
        return Location(self._document.path, line + 1, column + 1)


# --- variables -----------------------------------------------------------


@dataclass(frozen=True)
class _Definition:
    """A variable's text, and where it was defined.

    ``location`` is ``None`` for a value from the command line, which
    ``label`` (such as ``--var region``) names instead.
    """

    text: str
    location: Location | None
    label: str


class _SubstitutionError(Exception):
    """A substitution failed.

    ``location`` or ``label`` is set when the cause lies in a variable's
    definition rather than in the text being substituted. ``reported`` marks
    a variable whose definition failed the schema, which is reported already.
    """

    def __init__(
        self,
        message: str,
        location: Location | None = None,
        label: str = "",
        *,
        reported: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.label = label
        self.reported = reported

    @property
    def is_local(self) -> bool:
        """Whether the cause lies in the text being substituted."""
        return not self.reported and self.location is None and not self.label


class _Scope:
    """The variables of one load. Each value is substituted once, when first used."""

    def __init__(
        self,
        definitions: Mapping[str, _Definition],
        *,
        environment: str | None = None,
        invalid: Iterable[str] = (),
        complete: bool = True,
    ) -> None:
        self._definitions = dict(definitions)
        self._environment = environment
        # Names whose definition failed the schema. With complete=False, any
        # undefined name may be one whose definition could not be read.
        self._invalid = frozenset(invalid)
        self._complete = complete
        self._values: dict[str, str] = {}
        self._failures: dict[str, _SubstitutionError] = {}

    def expand(self, text: str, *, show_names: bool = True) -> str:
        """Substitute ``text``.

        With ``show_names=False``, messages about ``text`` itself leave out
        variable names, because the text may be a secret written by mistake.

        Raises:
            _SubstitutionError: The text or a variable it uses is invalid.
        """
        return self._expand(text, (), show_names)

    def _expand(self, text: str, chain: tuple[str, ...], show_names: bool) -> str:
        pieces: list[str] = []
        for literal, name in _split_template(text, show_names):
            pieces.append(literal)
            if name is not None:
                pieces.append(self._value(name, chain, show_names))
        return "".join(pieces)

    def _value(self, name: str, chain: tuple[str, ...], show_names: bool) -> str:
        if name in self._values:
            return self._values[name]
        if name in self._failures:
            raise self._failures[name]
        definition = self._definitions.get(name)
        if definition is None:
            if name in self._invalid or not self._complete:
                raise _SubstitutionError("", reported=True)
            raise _SubstitutionError(self._undefined(name, show_names))
        if name in chain:
            loop = " -> ".join((*chain[chain.index(name) :], name))
            raise _SubstitutionError(
                f"variable {name} refers to itself through {loop}",
                definition.location,
                definition.label,
            )

        try:
            # Variable definitions are not secret, so names are always shown.
            value = self._expand(definition.text, (*chain, name), True)
        except _SubstitutionError as error:
            if error.is_local:
                message = error.message
                if definition.location is not None:
                    message = f"variable {name}: {message}"
                error = _SubstitutionError(
                    message, definition.location, definition.label
                )
            self._failures[name] = error
            raise error from None
        self._values[name] = value
        return value

    def _undefined(self, name: str, show_names: bool) -> str:
        fix = "define it under variables, in the environment, or with --var"
        if not show_names:
            return f"uses an undefined variable; {fix}"
        if name == RESERVED_VARIABLE and self._environment is None:
            return (
                f"variable {name} is the environment name, but no environment "
                "was chosen; pass --env NAME"
            )
        message = f"undefined variable {name}"
        close = difflib.get_close_matches(name, list(self._definitions), n=1)
        if close:
            message += f" (did you mean {close[0]}?)"
        return f"{message}; {fix} {name}=VALUE"


def _split_template(text: str, show_names: bool) -> list[tuple[str, str | None]]:
    """Split ``text`` into (literal, variable name or ``None``) pairs.

    Raises:
        _SubstitutionError: A ``${`` is unterminated or names no valid variable.
    """
    parts: list[tuple[str, str | None]] = []
    index = 0
    while index < len(text):
        start = text.find("${", index)
        if start < 0:
            parts.append((text[index:], None))
            break
        if start > index and text[start - 1] == "$":
            # "$${" is the escape for a literal "${".
            parts.append((text[index : start - 1] + "${", None))
            index = start + 2
            continue

        end = text.find("}", start + 2)
        if end < 0:
            raise _SubstitutionError(
                "unterminated ${ with no closing }; write $${ for a literal ${"
            )
        name = text[start + 2 : end]
        if not _VARIABLE_NAME.fullmatch(name):
            quoted_name = f" {name!r}" if show_names else ""
            raise _SubstitutionError(
                f"invalid variable name{quoted_name} in ${{...}}; use letters, digits "
                "and underscores, or write $${ for a literal ${"
            )
        parts.append((text[index:start], name))
        index = end + 1
    return parts


def _variable_text(value: object) -> str:
    # Substituted as YAML writes them: true and false in lower case.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- merging -------------------------------------------------------------


@dataclass
class _Layer:
    """A connection entry or an overlay: plain fields and keyed groups."""

    location: Location
    fields: dict[str, _Field] = field(default_factory=dict)
    groups: dict[str, dict[str, _Field]] = field(
        default_factory=lambda: {group: {} for group in _GROUPS}
    )


@dataclass
class _Environment:
    """One environment, merged across files."""

    location: Location
    variables: dict[str, _Field] = field(default_factory=dict)
    overlays: dict[str, _Layer] = field(default_factory=dict)


class _Assembler:
    """Merger of the parsed documents, and builder of the checked connections.

    Parts whose structure is invalid are left out of the merge, and their
    names kept, so that the checks can stay silent about what they would
    have supplied. ``complete`` is false when a whole file is missing.
    """

    def __init__(
        self, documents: list[_Document], problems: _Problems, *, complete: bool
    ) -> None:
        self._documents = documents
        self._problems = problems
        self._variables: dict[str, _Field] = {}
        self._environments: dict[str, _Environment] = {}
        self._defaults: dict[str, _Field] = {}
        self._entries: list[_Layer] = []
        self._invalid = _InvalidParts(complete=complete)
        for document in documents:
            self._merge(document)

    def assemble(self, environment: str | None, overrides: dict[str, str]) -> Manifest:
        chosen = self._choose_environment(environment)
        if environment is not None and chosen is None:
            # Without the environment's variables and overlays, most other
            # problems found now would be noise.
            return Manifest(connections=())

        invalid = self._invalid
        scope = _Scope(
            self._definitions(chosen, environment, overrides),
            environment=environment,
            invalid=invalid.variables,
            complete=invalid.complete and invalid.all_variables_read,
        )
        builder = _ConnectionBuilder(
            scope, self._defaults, self._problems, environment=environment
        )
        builder.invalid_defaults = invalid.defaults
        builder.all_defaults_read = invalid.complete and invalid.all_defaults_read
        overlays = builder.overlays(chosen)
        connections = [
            connection
            for entry in self._entries
            if (connection := builder.build(entry, overlays)) is not None
        ]

        if invalid.complete and not invalid.connections:
            # An overlay may be meant for a connection entry that was skipped.
            builder.check_unused_overlays(overlays)
        self._check_unique(builder.identities)
        return Manifest(
            connections=tuple(connections),
            environment=environment,
            files=tuple(document.path for document in self._documents),
        )

    def _merge(self, document: _Document) -> None:
        root = _Field(document, ())
        invalid = self._invalid
        for variable in self._valid_members(root, "variables", invalid.variables):
            self._merge_field(self._variables, str(variable.path[-1]), variable)
        for default in self._valid_members(root, "defaults", invalid.defaults):
            self._merge_field(self._defaults, str(default.path[-1]), default)
        for section in self._valid_members(root, "environments", invalid.environments):
            self._merge_environment(section, str(section.path[-1]))
        for entry in self._valid_members(root, "connections", invalid.connections):
            layer = _Layer(entry.at)
            self._fill_layer(layer, entry)
            self._entries.append(layer)

    def _valid_members(
        self, root: _Field, section: str, invalid_names: set[str]
    ) -> list[_Field]:
        """Return the members of a top-level section that passed the schema.

        The names of the others are added to ``invalid_names``. A section
        that is not the mapping or list it must be counts as all invalid.
        """
        if section not in root.value:
            return []
        container = root.child(section)
        content = container.value
        expected = list if section == "connections" else dict
        if not isinstance(content, expected):
            invalid_names.add(_ALL)
            return []

        members = [container.child(key) for key in _member_keys(content)]
        valid = []
        for member in members:
            if member.is_valid:
                valid.append(member)
            else:
                invalid_names.add(str(member.path[-1]))
        return valid

    def _merge_environment(self, section: _Field, name: str) -> None:
        environment = self._environments.setdefault(name, _Environment(section.key))
        content = section.value
        for variable in content.get("variables", {}):
            self._merge_field(
                environment.variables,
                variable,
                section.child("variables").child(variable),
            )
        for connection in content.get("connections", {}):
            overlay = section.child("connections").child(connection)
            layer = environment.overlays.setdefault(connection, _Layer(overlay.key))
            self._fill_layer(layer, overlay)

    def _fill_layer(self, layer: _Layer, section: _Field) -> None:
        for key, value in section.value.items():
            if key in _GROUPS:
                for name in value:
                    self._merge_field(
                        layer.groups[key], name, section.child(key).child(name)
                    )
            else:
                self._merge_field(layer.fields, key, section.child(key))

    def _merge_field(self, target: dict[str, _Field], key: str, new: _Field) -> None:
        existing = target.setdefault(key, new)
        if existing is new or _same_value(existing.value, new.value):
            return
        self._problems.add(
            new.key,
            f"{format_path(new.path)} is also set at {existing.key} to a different "
            "value; set it in one file only",
        )

    def _choose_environment(self, environment: str | None) -> _Environment | None:
        if environment is None:
            return None
        chosen = self._environments.get(environment)
        if chosen is not None:
            return chosen
        invalid = self._invalid
        if not invalid.complete or {environment, _ALL} & invalid.environments:
            # The environment may be one whose definition is invalid or in a
            # file that cannot be read, which is reported already.
            return None

        known = sorted(self._environments)
        listing = (
            f"known environments: {', '.join(known)}"
            if known
            else "the manifest defines no environments"
        )
        self._problems.add(None, f"--env {environment}: unknown environment; {listing}")
        return None

    def _definitions(
        self,
        chosen: _Environment | None,
        environment: str | None,
        overrides: dict[str, str],
    ) -> dict[str, _Definition]:
        fields = dict(self._variables)
        if chosen is not None:
            fields.update(chosen.variables)

        definitions: dict[str, _Definition] = {}
        for name, defined in fields.items():
            if name == RESERVED_VARIABLE:
                self._problems.add(
                    defined.key,
                    f"variable name {name} is reserved for the environment name; "
                    "rename the variable",
                )
                continue
            definitions[name] = _Definition(
                _variable_text(defined.value), defined.at, ""
            )

        for name, value in overrides.items():
            problem = _override_problem(name)
            if problem is not None:
                self._problems.add(None, f"--var {name}: {problem}")
                continue
            definitions[name] = _Definition(value, None, f"--var {name}")

        if environment is not None:
            # The name is inserted as it is, never substituted.
            definitions[RESERVED_VARIABLE] = _Definition(
                escape_substitution(environment), None, "--env"
            )
        return definitions

    def _check_unique(self, identities: list[_Identity]) -> None:
        # NOTE: a space is compared as written, so a space given by id in one
        # entry and by name in another does not count as the same. Only the
        # plan, which resolves names to ids, can catch that case.
        seen: dict[tuple[str, str], _Identity] = {}
        for identity in identities:
            first = seen.setdefault((identity.space, identity.name), identity)
            if first is identity:
                continue
            self._problems.add(
                identity.location,
                f"connection {identity.name!r} in space {identity.space!r} is "
                f"also declared at {first.location}; a name must be unique within "
                "its space",
            )


@dataclass(frozen=True, eq=False)
class _Identity:
    """The space and name of an entry, kept even when the entry has problems."""

    space: str
    name: str
    location: Location


# Stands for every name of a section that is not a mapping or list at all.
_ALL = "*"


@dataclass
class _InvalidParts:
    """Names of the parts that failed the schema, across all files.

    ``connections`` contains the indexes of skipped entries. Each set
    contains ``_ALL`` when its section is not a mapping or list at all.
    """

    complete: bool
    variables: set[str] = field(default_factory=set)
    defaults: set[str] = field(default_factory=set)
    environments: set[str] = field(default_factory=set)
    connections: set[str] = field(default_factory=set)

    @property
    def all_variables_read(self) -> bool:
        return _ALL not in self.variables

    @property
    def all_defaults_read(self) -> bool:
        return _ALL not in self.defaults


def _member_keys(content: dict[str, Any] | list[Any]) -> list[str | int]:
    if isinstance(content, list):
        return list(range(len(content)))
    return list(content)


def _override_problem(name: str) -> str | None:
    if name == RESERVED_VARIABLE:
        return (
            f"the name {name} is reserved for the environment name; choose the "
            "environment with --env"
        )
    if not _VARIABLE_NAME.fullmatch(name):
        return (
            "invalid variable name; use letters, digits and underscores, not "
            "starting with a digit"
        )
    return None


def _same_value(left: object, right: object) -> bool:
    # JSON text distinguishes true from 1, which == does not.
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


# --- connections ---------------------------------------------------------


@dataclass
class _Overlay:
    """An overlay of the chosen environment, keyed by its substituted name."""

    key: str
    layer: _Layer
    used: bool = False


class _ConnectionBuilder:
    """Builder of ``DesiredConnection`` values that reports every problem found."""

    def __init__(
        self,
        scope: _Scope,
        defaults: Mapping[str, _Field],
        problems: _Problems,
        *,
        environment: str | None,
    ) -> None:
        self._scope = scope
        self._defaults = defaults
        self._problems = problems
        self._environment = environment
        self._names: list[str] = []
        self.identities: list[_Identity] = []
        # Defaults that failed the schema. With all_defaults_read false, any
        # default may be one that could not be read.
        self.invalid_defaults: set[str] = set()
        self.all_defaults_read = True

    def overlays(self, chosen: _Environment | None) -> dict[str, _Overlay]:
        """Return the chosen environment's overlays by substituted connection name."""
        result: dict[str, _Overlay] = {}
        if chosen is None:
            return result
        for key, layer in chosen.overlays.items():
            label = f"environments.{self._environment}.connections.{key}"
            name = self._expand(key, layer.location, label)
            if name is not None:
                result.setdefault(name, _Overlay(key, layer))
        return result

    def build(
        self, entry: _Layer, overlays: Mapping[str, _Overlay]
    ) -> DesiredConnection | None:
        """Return the connection of ``entry``, or ``None`` if it has problems."""
        count = len(self._problems)
        name_field = entry.fields["name"]
        name = self._text(name_field, "name")
        if name is None:
            return None
        if not name.strip():
            self._problems.add(
                name_field.at, "name is empty; give the connection a name"
            )
            return None
        self._names.append(name)

        overlay = overlays.get(name)
        if overlay is not None:
            overlay.used = True
        layer = _overlaid(entry, overlay.layer if overlay else None)
        draft = _Draft(name=name, layer=layer)
        draft.locations["name"] = name_field.key

        kind = self._kind_and_gateway(draft)
        space = self._space(draft)
        if space is not None:
            self.identities.append(_Identity(space, name, entry.location))
        tags = self._tags(draft)
        properties, secrets, key_files = self._groups(draft)
        if kind is not None:
            self._check_against_kind(draft, kind, properties)
        if len(self._problems) > count or kind is None or space is None:
            return None

        return DesiredConnection(
            name=name,
            kind=kind,
            space=space,
            gateway_id=draft.gateway_id,
            tags=tags,
            properties=properties,
            secrets=secrets,
            key_files=key_files,
            location=entry.location,
            field_locations=draft.locations,
        )

    def check_unused_overlays(self, overlays: Mapping[str, _Overlay]) -> None:
        """Report each overlay of the chosen environment that matched no connection."""
        for name, overlay in overlays.items():
            if overlay.used:
                continue
            message = (
                f"environments.{self._environment}.connections.{overlay.key}: no "
                f"connection is named {name!r}"
            )
            close = difflib.get_close_matches(name, self._names, n=1)
            if close:
                message += f" (did you mean {close[0]!r}?)"
            self._problems.add(
                overlay.layer.location,
                f"{message}; correct the name or remove the overlay",
            )

    # The steps of build, in order.

    def _kind_and_gateway(self, draft: _Draft) -> Kind | None:
        fields = draft.layer.fields
        if "kind" in fields:
            kind_field = fields["kind"]
            draft.locations["kind"] = kind_field.key
            text = self._text(kind_field, "kind")
            kind = self._catalog_kind(text, kind_field)
            if kind is None:
                return None
        else:
            source = fields["data_source"]
            draft.locations["kind"] = draft.locations["data_source"] = source.key
            text = self._text(source, "data_source")
            if text is None:
                return None
            kind = kind_for_data_source(text)
            if kind is None:
                return self._raw_kind(draft, text, source)

        self._catalog_gateway(draft, kind)
        return kind

    def _catalog_kind(self, text: str | None, kind_field: _Field) -> Kind | None:
        if text is None:
            return None
        try:
            return get_kind(text)
        except InputError as error:
            self._problems.add(kind_field.at, str(error))
            return None

    def _catalog_gateway(self, draft: _Draft, kind: Kind) -> None:
        explicit = draft.layer.fields.get("gateway")
        if kind.gateway is not GatewayRule.DATA_MOVEMENT:
            # A default gateway serves the kinds that use one, and the others
            # ignore it. Set on the connection itself, it is a mistake.
            if explicit is not None:
                gateway_use = (
                    "the Qlik-managed gateway"
                    if kind.gateway is GatewayRule.QLIK_MANAGED
                    else "no gateway"
                )
                self._problems.add(
                    explicit.key,
                    f"gateway does not apply: kind {kind.name} uses {gateway_use}; remove it",
                )
            return

        draft.gateway_id = self._gateway_text(draft)
        has_source = explicit is not None or self._has_default("gateway")
        if not has_source:
            self._problems.add(
                draft.layer.location,
                f"connection {draft.name!r} of kind {kind.name} needs a Data Movement "
                "gateway id; set gateway on the connection or under defaults",
            )

    def _raw_kind(self, draft: _Draft, data_source: str, source: _Field) -> Kind | None:
        # NOTE: a default gateway also applies to data sources outside the
        # catalog, and makes their kind a Data Movement one. A connector
        # that takes no agentId (such as a DG_ data source) then needs the
        # plan to drop it, as 'qtc connections create' does when the
        # api-specs declare no agentId.
        draft.gateway_id = self._gateway_text(draft)
        try:
            return raw_kind(data_source, gateway_id=draft.gateway_id)
        except InputError as error:
            self._problems.add(source.at, str(error))
            return None

    def _gateway_text(self, draft: _Draft) -> str | None:
        source = draft.layer.fields.get("gateway") or self._defaults.get("gateway")
        if source is None:
            return None
        draft.locations["gateway"] = source.key
        text = self._text(source, "gateway")
        if text is not None and not text.strip():
            self._problems.add(source.at, "gateway is empty; give a gateway id")
            return None
        return text

    def _space(self, draft: _Draft) -> str | None:
        source = draft.layer.fields.get("space") or self._defaults.get("space")
        if source is None and self._has_default("space"):
            return None
        if source is None:
            self._problems.add(
                draft.layer.location,
                f"connection {draft.name!r} has no space; set space on the "
                "connection or under defaults",
            )
            return None
        draft.locations["space"] = source.key
        text = self._text(source, "space")
        if text is not None and not text.strip():
            self._problems.add(source.at, "space is empty; give a space name or id")
            return None
        return text

    def _has_default(self, name: str) -> bool:
        """Return whether defaults set ``name``, or may set it but are invalid."""
        return (
            name in self._defaults
            or name in self.invalid_defaults
            or not self.all_defaults_read
        )

    def _tags(self, draft: _Draft) -> tuple[str, ...]:
        source = draft.layer.fields.get("tags") or self._defaults.get("tags")
        if source is None:
            return ()
        draft.locations["tags"] = source.key

        tags: list[str] = []
        for index in range(len(source.value)):
            item = source.child(index)
            tag = self._text(item, f"tags[{index}]")
            if tag is None:
                continue
            if tag in tags:
                self._problems.add(item.at, f"tag {tag!r} is listed twice")
            elif len(tag.encode("utf-8")) > _MAX_TAG_BYTES:
                self._problems.add(
                    item.at,
                    f"tags[{index}] is longer than {_MAX_TAG_BYTES} bytes, the "
                    "maximum that the service accepts",
                )
            elif not tag.strip():
                self._problems.add(item.at, f"tags[{index}] is empty")
            else:
                tags.append(tag)
        return tuple(tags)

    def _groups(
        self, draft: _Draft
    ) -> tuple[dict[str, object], dict[str, SecretReference], dict[str, KeyFileSpec]]:
        groups = draft.layer.groups
        self._check_given_once(groups)
        for group, entries in groups.items():
            for name, value in entries.items():
                draft.locations[f"{group}.{name}"] = value.key

        properties: dict[str, object] = {}
        for name, value in groups["properties"].items():
            plain = self._plain(value, f"properties.{name}")
            if plain is not _FAILED:
                properties[name] = plain

        secrets: dict[str, SecretReference] = {}
        for name, value in groups["secrets"].items():
            reference = self._secret(name, value)
            if reference is not None:
                secrets[name] = reference

        key_files: dict[str, KeyFileSpec] = {}
        for name, value in groups["key_files"].items():
            spec = self._key_file(name, value)
            if spec is not None:
                key_files[name] = spec
        return properties, secrets, key_files

    def _check_given_once(self, groups: Mapping[str, Mapping[str, _Field]]) -> None:
        first_seen: dict[str, tuple[str, _Field]] = {}
        entries = [
            (value.key, group, name, value)
            for group, values in groups.items()
            for name, value in values.items()
        ]
        for _, group, name, value in sorted(entries, key=lambda entry: entry[0]):
            if name not in first_seen:
                first_seen[name] = (group, value)
                continue
            first_group, first = first_seen[name]
            self._problems.add(
                value.key,
                f"{name} is given in both {first_group} (at {first.key}) and "
                f"{group}; give it in one of them",
            )

    def _plain(self, value: _Field, label: str) -> object:
        raw = value.value
        if isinstance(raw, str):
            text = self._text(value, label)
            return _FAILED if text is None else text
        if isinstance(raw, list):
            items = [self._plain(value.child(i), label) for i in range(len(raw))]
            return _FAILED if _FAILED in items else items
        if isinstance(raw, dict):
            members = {key: self._plain(value.child(key), label) for key in raw}
            return _FAILED if _FAILED in members.values() else members
        return raw

    def _secret(self, name: str, value: _Field) -> SecretReference | None:
        raw: str = value.value
        # "${...}" at the start is allowed by the schema, but the text may
        # still be a literal secret, so its variable names stay hidden.
        text = self._text(
            value, f"secrets.{name}", show_names=raw.startswith(_REFERENCE_PREFIXES)
        )
        if text is None:
            return None
        if text.startswith(_KEYRING_PREFIX):
            # NOTE: keyring references need an optional keyring dependency
            # and a matching SecretSource in qtc_connections.secrets. Neither
            # exists yet, so they are rejected here.
            self._problems.add(
                value.at,
                f"secrets.{name}: keyring: references are not supported yet; use "
                "env:NAME or file:PATH",
            )
            return None
        try:
            return SecretReference.parse(text, name=name, base_dir=value.base_dir)
        except SecretReferenceError as error:
            self._problems.add(value.at, str(error))
            return None

    def _key_file(self, name: str, value: _Field) -> KeyFileSpec | None:
        label = f"key_files.{name}"
        raw = value.value
        path_field = value if isinstance(raw, str) else value.child("path")
        text = self._text(path_field, label)

        file_name: str | None = None
        if isinstance(raw, dict) and "file_name" in raw:
            file_name = self._text(value.child("file_name"), f"{label}.file_name")
            if file_name is None:
                return None
        if text is None:
            return None

        path = self._key_file_path(text, label, path_field)
        return None if path is None else KeyFileSpec(path=path, file_name=file_name)

    def _key_file_path(self, text: str, label: str, value: _Field) -> Path | None:
        if text.startswith("env:"):
            return self._key_file_path_from_env(text.removeprefix("env:"), label, value)

        text = text.removeprefix("file:")
        if not text.strip():
            self._problems.add(
                value.at, f"{label} is an empty path; give the key file's path"
            )
            return None
        path = Path(text).expanduser()
        return path if path.is_absolute() else value.base_dir / path

    def _key_file_path_from_env(
        self, variable: str, label: str, value: _Field
    ) -> Path | None:
        if not _VARIABLE_NAME.fullmatch(variable):
            self._problems.add(
                value.at,
                f"{label}: env: needs an environment variable name made of "
                "letters, digits and underscores, such as env:SNOWFLAKE_KEY_PATH",
            )
            return None
        path_text = os.environ.get(variable)
        if not path_text:
            state = "is not set" if path_text is None else "is empty"
            self._problems.add(
                value.at,
                f"{label}: environment variable {variable} {state}; set it to the "
                "key file's path, or write the path here",
            )
            return None
        # A path from the environment is relative to the working directory,
        # as it would be on the command line.
        return Path(path_text).expanduser().absolute()

    def _check_against_kind(
        self, draft: _Draft, kind: Kind, properties: Mapping[str, object]
    ) -> None:
        groups = draft.layer.groups
        plain_names = set(kind.defaults) | set(kind.required)
        for group, entries in groups.items():
            for name, value in entries.items():
                problem = _placement_problem(kind, group, name, plain_names)
                if problem is not None:
                    self._problems.add(value.key, problem)

        # A property whose value failed substitution was reported already,
        # so it counts as given here.
        given_names = {name for entries in groups.values() for name in entries}
        for name in kind.required:
            given_value = properties.get(name)
            if isinstance(given_value, str) and not given_value.strip():
                self._problems.add(
                    groups["properties"][name].key,
                    f"properties.{name} is empty; give a value",
                )
            elif name not in given_names and name not in kind.defaults:
                example = kind.examples.get(name)
                hint = f", such as {name}: {example}" if example else ""
                self._problems.add(
                    draft.layer.location,
                    f"connection {draft.name!r} is missing required property {name} "
                    f"of kind {kind.name}; add it under properties{hint}",
                )

    # Substitution with problems reported where they belong.

    def _text(
        self, value: _Field, label: str, *, show_names: bool = True
    ) -> str | None:
        return self._expand(value.value, value.at, label, show_names=show_names)

    def _expand(
        self, text: str, at: Location, label: str, *, show_names: bool = True
    ) -> str | None:
        try:
            return self._scope.expand(text, show_names=show_names)
        except _SubstitutionError as error:
            if error.reported:
                return None
            if error.location is not None:
                self._problems.add(error.location, error.message)
            elif error.label:
                self._problems.add(None, f"{error.label}: {error.message}")
            else:
                self._problems.add(at, f"{label}: {error.message}")
            return None


# Marks a property value whose substitution failed, since None is never a
# valid value but is not a clear marker either.
_FAILED = object()


@dataclass
class _Draft:
    """State of one connection while it is built."""

    name: str
    layer: _Layer
    gateway_id: str | None = None
    locations: dict[str, Location] = field(default_factory=dict)


def _overlaid(entry: _Layer, overlay: _Layer | None) -> _Layer:
    """Apply an overlay: fields are replaced, group entries merged key by key."""
    if overlay is None:
        return entry
    fields = {**entry.fields, **overlay.fields}
    groups = {
        group: {**entry.groups[group], **overlay.groups[group]} for group in _GROUPS
    }
    return _Layer(entry.location, fields, groups)


def _placement_problem(
    kind: Kind, group: str, name: str, plain_names: set[str]
) -> str | None:
    """Return why property ``name`` does not belong in ``group``, or ``None``."""
    label = f"{group}.{name}"
    if name == GATEWAY_PROPERTY:
        return f"{label} is set from the gateway field; write gateway: ID instead"

    is_file = name in kind.files
    to_key_files = "move it to key_files with the file's path"
    if group == "properties":
        if is_file:
            return f"{label} is a file property of kind {kind.name}; {to_key_files}"
        if name in kind.secrets:
            return (
                f"{label} is a secret of kind {kind.name}; move it to secrets as a "
                "reference (env:NAME or file:PATH), never the value itself"
            )
        if name not in plain_names and _looks_secret(name):
            return (
                f"{label} looks like a secret; move it to secrets as a reference "
                "(env:NAME or file:PATH), never the value itself"
            )
    elif group == "secrets" and is_file:
        return f"{label} is a file property of kind {kind.name}; {to_key_files}"
    elif group == "key_files" and not kind.is_raw and not is_file:
        files = ", ".join(kind.files)
        file_listing = (
            f"its file properties are {files}" if files else "it has no file properties"
        )
        return f"{label} is not a file property of kind {kind.name} ({file_listing})"
    return None


def _looks_secret(name: str) -> bool:
    """Return whether a property name reads like a secret, such as sshPassword.

    NOTE: a heuristic on the words of the name, for properties that the
    catalog does not classify, such as those of raw data sources.
    """
    lowered = name.lower()
    if any(part in lowered for part in _SECRET_SUBSTRINGS):
        return True
    words = [word.lower() for word in _NAME_WORDS.findall(name)]
    if not words:
        return False
    if any(word in _SECRET_WORDS for word in words) or words[-1] in _SECRET_LAST_WORDS:
        return True
    return (
        len(words) >= 2 and words[-1] == "key" and words[-2] in _SECRET_KEY_QUALIFIERS
    )
