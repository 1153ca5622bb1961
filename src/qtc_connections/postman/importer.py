"""Turn a Postman collection of data-connection requests into a manifest.

Each create request (``POST .../api/v1/data-connections`` whose JSON body
has ``qName`` and a data source id) becomes one manifest entry. Every other
request is listed with the reason it was not imported.

Postman ``{{name}}`` variables are handled by these rules:

- A secret property whose value is exactly ``{{name}}`` becomes
  ``env:NAME``, where ``NAME`` is the variable name in upper snake case
  (``mysqlPassword`` becomes ``MYSQL_PASSWORD``). A file property
  (``[{"name": ..., "value": "{{name}}"}]``) becomes a key file whose path is
  read from ``env:NAME_PATH``, because the manifest takes the path of the
  decoded file, not its base64 text.
- A secret written as a literal becomes ``env:CONNECTION_PROPERTY`` (or
  ``env:CONNECTION_PROPERTY_PATH`` for a file), with a warning. The literal
  is never copied into the manifest or into any message.
- Any other variable takes its value from the environment file when that
  file gives one. Otherwise it stays a manifest ``${name}`` variable. Its
  collection value, when not empty, becomes the manifest variable's default.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from qtc_connections.catalog import (
    GATEWAY_PROPERTY,
    QLIK_MANAGED_GATEWAY,
    GatewayRule,
    Kind,
    kind_for_data_source,
)
from qtc_connections.errors import InputError

# The loader's own name heuristic decides which unclassified properties must
# be secrets, so the importer uses it to write entries that the loader accepts.
from qtc_connections.manifest.loader import _looks_secret, escape_substitution
from qtc_connections.redact import register_secret
from qtc_connections.sync.export import write_manifest as write_manifest_text

__all__ = [
    "ImportResult",
    "SkippedRequest",
    "environment_variable_name",
    "import_collection",
    "render_manifest",
    "write_manifest",
]

MANIFEST_VERSION = 1

_POSTMAN_VARIABLE = re.compile(r"\{\{([^{}]+)\}\}")

_CREATE_PATH = re.compile(r"/api/v1/data-connections/?$")

# Postman scripts store values with calls such as
# pm.collectionVariables.set("connectionId", response.id).
_SCRIPT_SET = re.compile(
    r"pm\.(?:collectionVariables|environment|variables|globals)\.set\(\s*"
    r"[\"']([^\"']+)[\"']"
)

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")

_KEY_FILE_SUFFIX = "_PATH"


@dataclass(frozen=True)
class SkippedRequest:
    """A request of the collection that did not become a manifest entry."""

    name: str
    method: str
    url: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """Describe the request as plain data for JSON output."""
        return {
            "name": self.name,
            "method": self.method,
            "url": self.url,
            "reason": self.reason,
        }


@dataclass
class ImportResult:
    """Result of ``import_collection``: a manifest and the requests left out.

    Attributes:
        manifest: The manifest as plain data, ready to be written as YAML.
        skipped: Requests that did not become entries, with the reason.
        warnings: Problems the user should look at, in collection order.
        unresolved_variables: Manifest variables that have no value yet and
            must be given with ``--var NAME=VALUE`` or written into the file.
        environment_variables: Environment variables that the manifest's
            ``env:`` references read, sorted.
    """

    manifest: dict[str, Any]
    skipped: list[SkippedRequest] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unresolved_variables: list[str] = field(default_factory=list)
    environment_variables: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Describe the result as plain data for JSON output."""
        return {
            "manifest": self.manifest,
            "skipped": [request.to_dict() for request in self.skipped],
            "warnings": list(self.warnings),
            "unresolved_variables": list(self.unresolved_variables),
            "environment_variables": list(self.environment_variables),
        }


@dataclass(frozen=True)
class _Request:
    """One request of the collection. ``name`` includes its folder path."""

    name: str
    method: str
    url: str
    body: Mapping[str, Any] | None
    item: Mapping[str, Any]


def environment_variable_name(text: str) -> str:
    """Return ``text`` as an environment variable name in upper snake case.

    Words of a camelCase name are split (``bigQueryEncodedValue`` becomes
    ``BIG_QUERY_ENCODED_VALUE``), and every character other than an ASCII
    letter, digit or underscore becomes an underscore.
    """
    words = _CAMEL_BOUNDARY.sub("_", text)
    name = _NOT_IDENTIFIER.sub("_", words).upper()
    if not name or name[0].isdigit():
        name = f"_{name}"
    return name


def import_collection(
    collection_path: str | Path, *, environment_path: str | Path | None = None
) -> ImportResult:
    """Read a Postman v2.1 collection and build a manifest from its creates.

    Args:
        collection_path: The collection JSON file.
        environment_path: A Postman environment JSON file. Its enabled
            values of type ``default`` replace the collection's variables in
            plain properties. Values of type ``secret`` are never copied.

    Returns:
        The manifest entries, the requests not imported and the warnings.

    Raises:
        InputError: A file cannot be read, is not valid JSON, or does not
            have the shape of a collection or an environment.
    """
    collection = _read_json(Path(collection_path), "collection")
    _check_collection(collection, Path(collection_path))
    environment = (
        _read_environment(Path(environment_path)) if environment_path else None
    )

    builder = _ManifestBuilder(collection, environment)
    for request in _walk(collection.get("item", []), builder):
        builder.add_request(request)
    return builder.result()


def render_manifest(result: ImportResult) -> str:
    """Return the manifest of ``result`` as YAML text."""
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 88
    yaml.indent(mapping=2, sequence=4, offset=2)

    stream = io.StringIO()
    yaml.dump(result.manifest, stream)
    return stream.getvalue()


def write_manifest(
    result: ImportResult, path: str | Path, *, force: bool = False
) -> None:
    """Write the manifest of ``result`` to ``path`` as YAML.

    Raises:
        InputError: ``path`` exists and ``force`` is not set, ``path`` is a
            folder, or its folder does not exist.
        QtcError: The file cannot be written.
    """
    write_manifest_text(Path(path), render_manifest(result), force=force)


# --- reading -------------------------------------------------------------


# NOTE: an estimate, not a Postman limit: a collection of every create a
# large tenant needs stays well under this, and a larger file is more
# likely a mistake than a collection to import.
MAX_FILE_CHARACTERS = 50_000_000

# Folders nested deeper than this are skipped with a warning, well before
# Python's recursion limit.
MAX_FOLDER_DEPTH = 50


def _read_json(path: Path, description: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{description} file {path} not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read {description} file {path}: {error}") from None

    if len(text) > MAX_FILE_CHARACTERS:
        raise InputError(
            f"{description} file {path} is larger than {MAX_FILE_CHARACTERS // 1_000_000} MB; split it into smaller collections"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"{description} file {path} is not valid JSON: line {error.lineno}, "
            f"column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise InputError(
            f"{description} file {path} is nested too deeply to read"
        ) from None


def _check_collection(collection: Any, path: Path) -> None:
    # A collection always has an item list, so an environment file or any
    # other JSON object given by mistake is rejected rather than imported
    # as zero connections.
    if not isinstance(collection, dict) or not isinstance(collection.get("item"), list):
        raise InputError(
            f"{path} is not a Postman collection: expected an object with an "
            "'item' list (format v2.1)"
        )


def _read_environment(path: Path) -> dict[str, tuple[str, bool]]:
    """Return the enabled values of an environment file as (value, secret)."""
    document = _read_json(path, "environment")
    values = document.get("values") if isinstance(document, dict) else None
    if not isinstance(values, list):
        raise InputError(
            f"{path} is not a Postman environment: expected an object with a "
            "'values' list"
        )

    entries: dict[str, tuple[str, bool]] = {}
    for value in values:
        if not isinstance(value, dict) or not isinstance(value.get("key"), str):
            continue
        if value.get("enabled", True) is False:
            continue
        text = "" if value.get("value") is None else str(value["value"])
        secret = value.get("type") == "secret"
        if secret:
            register_secret(text)
        entries[value["key"]] = (text, secret)
    return entries


def _walk(
    items: Any, builder: _ManifestBuilder, folder: str = "", depth: int = 0
) -> Iterator[_Request]:
    """Yield the enabled requests of ``items``, depth first, in order."""
    if not isinstance(items, list):
        return
    if depth > MAX_FOLDER_DEPTH:
        builder.warn(
            f"folder '{folder}' is nested more than {MAX_FOLDER_DEPTH} deep; its contents are skipped"
        )
        return
    for item in items:
        if not isinstance(item, dict):
            continue
        name = str(item.get("name", "(unnamed)"))
        path = f"{folder}/{name}" if folder else name

        # NOTE: format v2.1 defines no "disabled" field on items. Some tools
        # write "disabled": true on a request or folder, so it is honoured.
        if item.get("disabled") is True:
            item_type = "folder" if "item" in item else "request"
            builder.warn(f"{item_type} '{path}' is disabled; skipped")
            continue
        builder.scan_scripts(item)
        if "item" in item:
            yield from _walk(item["item"], builder, path, depth + 1)
            continue

        request = item.get("request")
        if isinstance(request, str):
            request = {"method": "GET", "url": request}
        if not isinstance(request, dict):
            continue
        body = request.get("body")
        yield _Request(
            name=path,
            method=str(request.get("method", "GET")).upper(),
            url=_url_text(request.get("url")),
            body=body if isinstance(body, dict) else None,
            item=item,
        )


def _url_text(url: Any) -> str:
    if isinstance(url, str):
        return url
    if not isinstance(url, dict):
        return ""
    if isinstance(url.get("raw"), str):
        return str(url["raw"])

    host = url.get("host", [])
    host_text = ".".join(host) if isinstance(host, list) else str(host)
    path = url.get("path", [])
    path_text = "/".join(str(part) for part in path) if isinstance(path, list) else path
    return f"{host_text}/{path_text}"


def _strings(value: Any) -> Iterator[str]:
    """Yield every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _manifest_variable_name(postman_name: str) -> str:
    name = _NOT_IDENTIFIER.sub("_", postman_name)
    return f"_{name}" if name[0].isdigit() else name


# --- building ------------------------------------------------------------


class _ManifestBuilder:
    """Collects entries, skipped requests and warnings over one collection."""

    def __init__(
        self,
        collection: Mapping[str, Any],
        environment: Mapping[str, tuple[str, bool]] | None,
    ) -> None:
        self._environment = dict(environment or {})
        self._collection_values = self._collection_variables(collection)
        self._script_names: set[str] = set()
        self._usage: dict[str, list[str]] = {}
        self._connections: list[dict[str, Any]] = []
        self._manifest_variables: dict[str, str] = {}
        self._unresolved: set[str] = set()
        self._env_references: set[str] = set()
        self._skipped: list[SkippedRequest] = []
        self._warnings: list[str] = []
        self.scan_scripts(collection)

    @staticmethod
    def _collection_variables(collection: Mapping[str, Any]) -> dict[str, str]:
        values: dict[str, str] = {}
        for variable in collection.get("variable", []) or []:
            if isinstance(variable, dict) and isinstance(variable.get("key"), str):
                value = variable.get("value")
                values[variable["key"]] = "" if value is None else str(value)
        return values

    def warn(self, message: str) -> None:
        self._warnings.append(message)

    def scan_scripts(self, item: Mapping[str, Any]) -> None:
        """Note the variables that the item's scripts set, so they count as defined."""
        for event in item.get("event", []) or []:
            script = event.get("script") if isinstance(event, dict) else None
            lines = script.get("exec", []) if isinstance(script, dict) else []
            text = "\n".join(lines) if isinstance(lines, list) else str(lines)
            self._script_names.update(_SCRIPT_SET.findall(text))

    def add_request(self, request: _Request) -> None:
        for text in _strings(request.item.get("request")):
            for name in _POSTMAN_VARIABLE.findall(text):
                self._usage.setdefault(name.strip(), []).append(request.name)

        if request.method != "POST" or not _is_create_url(request.url):
            self._skip(request, _other_reason(request))
            return

        body = self._json_body(request)
        if body is None:
            return
        data_source_key = _data_source_key(body)
        if data_source_key is None or not isinstance(body.get("qName"), str):
            self._skip(
                request, "POST body has no qName or dataSourceId, so it is not a create"
            )
            return
        self._connections.append(self._entry(request, body, data_source_key))

    def result(self) -> ImportResult:
        self._warn_undefined()
        manifest: dict[str, Any] = {"version": MANIFEST_VERSION}
        if self._manifest_variables:
            manifest["variables"] = dict(sorted(self._manifest_variables.items()))
        manifest["connections"] = self._connections
        return ImportResult(
            manifest=manifest,
            skipped=self._skipped,
            warnings=self._warnings,
            unresolved_variables=sorted(self._unresolved),
            environment_variables=sorted(self._env_references),
        )

    # --- one request ---

    def _skip(self, request: _Request, reason: str) -> None:
        self._skipped.append(
            SkippedRequest(request.name, request.method, request.url, reason)
        )

    def _json_body(self, request: _Request) -> dict[str, Any] | None:
        body = request.body or {}
        raw = body.get("raw") if body.get("mode", "raw") == "raw" else None
        if not isinstance(raw, str) or not raw.strip():
            self._skip(request, "create request has no raw JSON body")
            return None
        try:
            document = json.loads(raw)
        except json.JSONDecodeError as error:
            # The position helps the user, but the text may hold a secret.
            self.warn(
                f"request '{request.name}': body is not valid JSON "
                f"(line {error.lineno}, column {error.colno}); skipped"
            )
            self._skip(request, "body is not valid JSON")
            return None
        if not isinstance(document, dict):
            self._skip(request, "body is not a JSON object")
            return None
        return document

    def _entry(
        self, request: _Request, body: Mapping[str, Any], data_source_key: str
    ) -> dict[str, Any]:
        name = self._plain(body["qName"])
        data_source = str(body[data_source_key])
        kind = kind_for_data_source(data_source)

        entry: dict[str, Any] = {"name": name}
        if kind is not None:
            entry["kind"] = kind.name
        else:
            entry["data_source"] = escape_substitution(data_source)
            self.warn(
                f"request '{request.name}': data source {data_source} is not in "
                "the catalog; written as a data_source entry, whose secrets are "
                "guessed from property names"
            )

        if isinstance(body.get("space"), str):
            entry["space"] = self._plain(body["space"])
        else:
            self.warn(
                f"connection {name}: the body has no space; add space to the entry"
            )

        properties = body.get("connectionProperties")
        properties = properties if isinstance(properties, dict) else {}
        gateway = self._gateway(name, kind, properties.get(GATEWAY_PROPERTY))
        if gateway is not None:
            entry["gateway"] = gateway

        tags = body.get("tags")
        if isinstance(tags, list) and tags:
            entry["tags"] = [self._plain(tag) for tag in tags]

        entry.update(self._groups(str(body["qName"]), kind, properties))
        return entry

    def _gateway(self, connection: str, kind: Kind | None, value: Any) -> str | None:
        if value is None:
            return None
        rule = kind.gateway if kind is not None else GatewayRule.DATA_MOVEMENT
        if rule is GatewayRule.DATA_MOVEMENT:
            return self._substitute(str(value))
        if rule is GatewayRule.QLIK_MANAGED and value == QLIK_MANAGED_GATEWAY:
            return None

        assert kind is not None
        use = "the Qlik-managed gateway" if rule is GatewayRule.QLIK_MANAGED else "none"
        self.warn(
            f"connection {connection}: agentId dropped because kind {kind.name} "
            f"uses {use}"
        )
        return None

    def _groups(
        self, connection: str, kind: Kind | None, properties: Mapping[str, Any]
    ) -> dict[str, dict[str, Any]]:
        plain: dict[str, Any] = {}
        secrets: dict[str, str] = {}
        key_files: dict[str, Any] = {}
        plain_names = set(kind.defaults) | set(kind.required) if kind else set()

        for prop, value in properties.items():
            if prop == GATEWAY_PROPERTY:
                continue
            is_file = (kind is not None and prop in kind.files) or _is_file_array(value)
            is_secret = (kind is not None and prop in kind.secrets) or (
                prop not in plain_names and _looks_secret(prop)
            )
            if is_file:
                key_files[prop] = self._key_file(connection, prop, value)
            elif is_secret:
                secrets[prop] = self._secret(connection, prop, value)
            else:
                plain[prop] = self._plain(value)

        groups: dict[str, dict[str, Any]] = {}
        for group, values in (
            ("properties", plain),
            ("secrets", secrets),
            ("key_files", key_files),
        ):
            if values:
                groups[group] = values
        return groups

    def _secret(self, connection: str, prop: str, value: Any) -> str:
        variable = _only_variable(value)
        if variable is not None:
            name = environment_variable_name(variable)
        else:
            self._literal_secret(connection, prop, value, "secret")
            name = environment_variable_name(f"{connection}_{prop}".upper())
        self._env_references.add(name)
        return f"env:{name}"

    def _key_file(self, connection: str, prop: str, value: Any) -> Any:
        first = value[0] if isinstance(value, list) and value else {}
        content = first.get("value") if isinstance(first, dict) else value
        file_name = first.get("name") if isinstance(first, dict) else None

        variable = _only_variable(content)
        if variable is not None:
            name = environment_variable_name(variable) + _KEY_FILE_SUFFIX
        else:
            self._literal_secret(connection, prop, content, "key file")
            name = environment_variable_name(f"{connection}_{prop}".upper())
            name += _KEY_FILE_SUFFIX
        self._env_references.add(name)

        path = f"env:{name}"
        if isinstance(file_name, str) and file_name:
            return {"path": path, "file_name": self._plain(file_name)}
        return path

    def _literal_secret(
        self, connection: str, prop: str, value: Any, value_type: str
    ) -> None:
        if isinstance(value, str):
            register_secret(value)
        self.warn(
            f"connection {connection}: {prop} is a {value_type} written as a literal in "
            "the collection; the value was left out and replaced by an env: "
            "reference, and it should be rotated if the collection was shared"
        )

    # --- variables ---

    def _plain(self, value: Any) -> Any:
        """Return a non-secret value with Postman variables turned into manifest ones."""
        if isinstance(value, str):
            return self._substitute(value)
        if isinstance(value, list):
            return [self._plain(item) for item in value]
        if isinstance(value, dict):
            return {key: self._plain(item) for key, item in value.items()}
        return value

    def _substitute(self, text: str) -> str:
        parts: list[str] = []
        position = 0
        for match in _POSTMAN_VARIABLE.finditer(text):
            parts.append(escape_substitution(text[position : match.start()]))
            parts.append(self._variable_text(match.group(1).strip()))
            position = match.end()
        parts.append(escape_substitution(text[position:]))
        return "".join(parts)

    def _variable_text(self, postman_name: str) -> str:
        from_environment = self._environment.get(postman_name)
        if (
            from_environment is not None
            and from_environment[0]
            and not from_environment[1]
        ):
            return escape_substitution(from_environment[0])

        name = _manifest_variable_name(postman_name)
        collection_value = self._collection_values.get(postman_name, "")
        if collection_value:
            self._manifest_variables[name] = escape_substitution(collection_value)
        else:
            self._unresolved.add(name)
        return f"${{{name}}}"

    def _warn_undefined(self) -> None:
        defined = (
            set(self._collection_values) | set(self._environment) | self._script_names
        )
        for name, requests in self._usage.items():
            if name in defined or name.startswith("$"):
                continue
            unique = list(dict.fromkeys(requests))
            listed = ", ".join(f"'{request}'" for request in unique)
            self.warn(
                f"variable {name} is used by {listed} but defined neither in the "
                "collection nor in the environment"
            )


def _is_create_url(url: str) -> bool:
    path = url.split("?", 1)[0].split("#", 1)[0]
    return _CREATE_PATH.search(path) is not None


def _data_source_key(body: Mapping[str, Any]) -> str | None:
    for key, value in body.items():
        if key.lower() == "datasourceid" and isinstance(value, str) and value:
            return key
    return None


def _is_file_array(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(
            isinstance(item, dict) and {"name", "value"} <= set(item) for item in value
        )
    )


def _only_variable(value: Any) -> str | None:
    """Return the variable name when ``value`` is exactly one ``{{name}}``."""
    if not isinstance(value, str):
        return None
    match = _POSTMAN_VARIABLE.fullmatch(value.strip())
    return match.group(1).strip() if match else None


def _other_reason(request: _Request) -> str:
    """Explain why a request that is not a create was left out."""
    if request.method == "POST":
        return "POST to a path other than /api/v1/data-connections"
    if request.method == "GET":
        return "reads from the tenant; a manifest declares connections only"
    if request.method == "PATCH":
        return _patch_reason(request)
    if request.method == "DELETE":
        return "deletes a connection; remove its entry from the manifest instead"
    return f"{request.method} requests have no manifest equivalent"


def _patch_reason(request: _Request) -> str:
    raw = (request.body or {}).get("raw")
    paths: list[str] = []
    try:
        operations = json.loads(raw) if isinstance(raw, str) else []
    except json.JSONDecodeError:
        operations = []
    if isinstance(operations, list):
        paths = [
            str(operation["path"])
            for operation in operations
            if isinstance(operation, dict) and "path" in operation
        ]
    changed = ", ".join(paths) if paths else "an existing connection"
    return (
        f"PATCH changes {changed} of an existing connection; change the entry "
        "in the manifest and run qtc apply, or use qtc connections patch"
    )
