"""Secret values, and the references that point to where they are stored.

A secret never travels as a literal on the command line or in a manifest.
The user gives a reference instead: ``env:NAME``, ``file:PATH``, ``-`` for
standard input, or ``prompt``. ``SecretReference.resolve`` reads the value
into a ``Secret``, which keeps it out of ``repr``, ``str``, formatting and
pickles, and registers it with ``qtc_connections.redact``.
"""

from __future__ import annotations

import getpass
import hmac
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn, SupportsIndex

from qtc_connections.errors import SecretReferenceError
from qtc_connections.redact import SENSITIVE, register_secret

__all__ = [
    "ACCEPTED_FORMS",
    "MAX_SECRET_FILE_BYTES",
    "Secret",
    "SecretBytes",
    "SecretReference",
    "SecretSource",
    "resolve_references",
]

ACCEPTED_FORMS = "env:NAME, file:PATH, - (standard input) or prompt"

# A secret file larger than this is almost certainly the wrong file, and
# reading it whole could exhaust memory (consider file:/dev/zero).
MAX_SECRET_FILE_BYTES = 1024 * 1024

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Sensitive:
    """Behaviour shared by secret holders: opaque text, no pickling."""

    __slots__ = ()

    def __repr__(self) -> str:
        return SENSITIVE

    def __str__(self) -> str:
        return SENSITIVE

    def __reduce_ex__(self, protocol: SupportsIndex) -> NoReturn:
        # A pickle ends up in caches, queues and files, where the value
        # would be stored in the clear.
        raise TypeError(f"{type(self).__name__} values cannot be pickled")

    def __copy__(self) -> _Sensitive:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _Sensitive:
        # The value is immutable, so a copy may share it. Without this,
        # copy.deepcopy (and dataclasses.asdict) would fall back to pickling.
        return self


class Secret(_Sensitive):
    """A secret string, shown as ``(sensitive)`` everywhere but ``reveal()``.

    Creating one registers the value with ``qtc_connections.redact``, so it
    is also scrubbed from exception messages and logs. Two secrets are equal
    when their values are, compared in constant time. Secrets are not
    hashable, because a hash could be used to test guesses of the value.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"Secret takes a str, not {type(value).__name__}")
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        """Return the value, for the one place that must send it."""
        return self._value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(
            self._value.encode("utf-8"), other._value.encode("utf-8")
        )

    __hash__ = None  # type: ignore[assignment]


class SecretBytes(_Sensitive):
    """Secret binary content, such as a key file, shown as ``(sensitive)``.

    Bytes are not registered with ``qtc_connections.redact``, which matches
    text. Code that decodes the content registers the text forms it makes.
    """

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        if not isinstance(value, bytes):
            raise TypeError(f"SecretBytes takes bytes, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> bytes:
        """Return the content, for the one place that must send it."""
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretBytes):
            return NotImplemented
        return hmac.compare_digest(self._value, other._value)

    __hash__ = None  # type: ignore[assignment]


class SecretSource(Enum):
    """Source from which a secret reference reads its value."""

    ENV = "env"
    FILE = "file"
    STDIN = "stdin"
    PROMPT = "prompt"


def _read_stdin() -> str:
    return sys.stdin.read()


def _prompt_hidden(text: str) -> str:
    return getpass.getpass(text)


@dataclass(frozen=True)
class SecretReference:
    """A pointer to a secret value, for the connection property ``name``.

    A reference is not secret itself: ``str()`` gives its text form, such
    as ``env:DB_PASSWORD``, which is safe to show and to store.

    Attributes:
        name: Property the secret is for, used in every message.
        source: Where the value is read.
        variable: Environment variable, for ``SecretSource.ENV``.
        path: File path with ``~`` expanded, for ``SecretSource.FILE``.
    """

    name: str
    source: SecretSource
    variable: str | None = None
    path: Path | None = None

    @classmethod
    def parse(
        cls, text: str, *, name: str, base_dir: Path | None = None
    ) -> SecretReference:
        """Parse a reference: ``env:NAME``, ``file:PATH``, ``-`` or ``prompt``.

        ``~`` in a path is expanded. A relative path is taken relative to
        ``base_dir`` when given (such as the directory of a manifest), else
        to the working directory when the secret is read.

        Raises:
            SecretReferenceError: ``text`` is not one of the accepted forms.
                The message names the property and never contains ``text``,
                which may be the secret itself given by mistake.
        """
        if text == "-":
            return cls(name=name, source=SecretSource.STDIN)
        if text == "prompt":
            return cls(name=name, source=SecretSource.PROMPT)
        if text.startswith("env:"):
            return cls._parse_env(text.removeprefix("env:"), name=name)
        if text.startswith("file:"):
            return cls._parse_file(
                text.removeprefix("file:"), name=name, base_dir=base_dir
            )
        raise SecretReferenceError(
            f"secret for {name} is not a reference; give {ACCEPTED_FORMS}, "
            "never the value itself"
        )

    @classmethod
    def _parse_env(cls, variable: str, *, name: str) -> SecretReference:
        if not _VARIABLE_NAME.fullmatch(variable):
            raise SecretReferenceError(
                f"secret for {name}: env: needs an environment variable name "
                "made of letters, digits and underscores, such as env:DB_PASSWORD"
            )
        return cls(name=name, source=SecretSource.ENV, variable=variable)

    @classmethod
    def _parse_file(
        cls, raw_path: str, *, name: str, base_dir: Path | None
    ) -> SecretReference:
        if not raw_path:
            raise SecretReferenceError(
                f"secret for {name}: file: needs a path, such as file:~/secrets/db"
            )
        path = Path(raw_path).expanduser()
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        return cls(name=name, source=SecretSource.FILE, path=path)

    def __str__(self) -> str:
        if self.source is SecretSource.ENV:
            return f"env:{self.variable}"
        if self.source is SecretSource.FILE:
            return f"file:{self.path}"
        if self.source is SecretSource.STDIN:
            return "-"
        return "prompt"

    @property
    def reads_stdin(self) -> bool:
        """Whether resolving the reference consumes standard input."""
        return self.source is SecretSource.STDIN

    def resolve(
        self,
        *,
        stdin: Callable[[], str] | None = None,
        prompt: Callable[[str], str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Secret:
        """Read the value and return it as a ``Secret``.

        One trailing newline (``\\n`` or ``\\r\\n``) is stripped from a value
        read from a file or standard input, because editors and ``echo`` add
        one. All other whitespace is kept. A command with several secrets
        should call ``resolve_references``, which allows only one of them to
        read standard input.

        Args:
            stdin: Returns all of standard input. ``None`` reads
                ``sys.stdin``.
            prompt: Asks for a value without echoing it, given the prompt
                text, such as click's prompt. ``None`` uses ``getpass``.
            environ: Where ``env:`` references are looked up. ``None`` reads
                ``os.environ``.

        Raises:
            SecretReferenceError: The variable is unset or empty, the file is
                missing, unreadable, too large, not UTF-8 or empty, or
                standard input or the prompt gave an empty value.
        """
        if self.source is SecretSource.ENV:
            value = self._read_env(os.environ if environ is None else environ)
        elif self.source is SecretSource.FILE:
            value = self._read_file()
        elif self.source is SecretSource.STDIN:
            text = (stdin or _read_stdin)()
            value = self._check_not_empty(
                _strip_trailing_newline(text), "standard input was empty"
            )
        else:
            text = (prompt or _prompt_hidden)(f"{self.name}: ")
            value = self._check_not_empty(text, "no value was entered at the prompt")
        return Secret(value)

    def _read_env(self, environ: Mapping[str, str]) -> str:
        variable = self.variable or ""
        value = environ.get(variable)
        if value is None:
            self._fail(
                f"environment variable {variable} is not set; export it, or "
                "use file:PATH, - or prompt"
            )
        if not value:
            self._fail(f"environment variable {variable} is empty; set it to the value")
        return value

    def _read_file(self) -> str:
        path = self.path or Path()
        data = self._read_file_bytes(path)
        if len(data) > MAX_SECRET_FILE_BYTES:
            self._fail(
                f"file {path} is larger than {MAX_SECRET_FILE_BYTES} bytes; "
                "check that the path names the secret file"
            )

        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            self._fail(f"file {path} is not UTF-8 text; save it as UTF-8")
        return self._check_not_empty(
            _strip_trailing_newline(text), f"file {path} is empty"
        )

    def _read_file_bytes(self, path: Path) -> bytes:
        # Opening a named pipe or a device would block or read forever.
        if path.exists() and not path.is_dir() and not path.is_file():
            self._fail(
                f"{path} is not a regular file; give the path of the secret file"
            )
        try:
            with path.open("rb") as handle:
                return handle.read(MAX_SECRET_FILE_BYTES + 1)
        except FileNotFoundError:
            self._fail(f"file {path} not found; check the path after file:")
        except IsADirectoryError:
            self._fail(f"{path} is a directory; give the path of the secret file")
        except PermissionError:
            self._fail(
                f"file {path} cannot be read (permission denied); check its permissions"
            )
        except OSError as exc:
            self._fail(f"file {path} cannot be read ({exc.strerror})")

    def _check_not_empty(self, value: str, problem: str) -> str:
        if not value:
            self._fail(f"{problem}; give a non-empty value")
        return value

    def _fail(self, problem: str) -> NoReturn:
        raise SecretReferenceError(f"secret for {self.name}: {problem}")


def _strip_trailing_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def resolve_references(
    references: Iterable[SecretReference],
    *,
    stdin: Callable[[], str] | None = None,
    prompt: Callable[[str], str] | None = None,
) -> dict[str, Secret]:
    """Resolve the secrets of one command, keyed by property name.

    Everything is checked before any value is read, so a mistake costs no
    prompt: each property may appear once, and at most one reference may
    read standard input, because the first one would consume all of it.

    Raises:
        SecretReferenceError: A property appears twice, more than one
            reference reads standard input, or a value cannot be read.
    """
    pending = list(references)
    _check_unique_names(pending)
    _check_single_stdin(pending)
    return {
        reference.name: reference.resolve(stdin=stdin, prompt=prompt)
        for reference in pending
    }


def _check_unique_names(references: list[SecretReference]) -> None:
    seen: set[str] = set()
    for reference in references:
        if reference.name in seen:
            raise SecretReferenceError(
                f"secret for {reference.name} is given twice; give it once"
            )
        seen.add(reference.name)


def _check_single_stdin(references: list[SecretReference]) -> None:
    readers = [reference.name for reference in references if reference.reads_stdin]
    if len(readers) > 1:
        raise SecretReferenceError(
            f"secrets for {', '.join(readers)} all read standard input (-), but "
            "only one secret per command can; use env:NAME, file:PATH or "
            "prompt for the others"
        )
