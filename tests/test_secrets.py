import copy
import dataclasses
import os
import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qtc_connections.errors import SecretReferenceError
from qtc_connections.redact import SENSITIVE, redact
from qtc_connections.secrets import (
    MAX_SECRET_FILE_BYTES,
    Secret,
    SecretBytes,
    SecretReference,
    SecretSource,
    resolve_references,
)

CANARY = "CANARY-a1b2c3"


def _raw_message(error: Exception) -> str:
    # QtcError.__str__ redacts registered secrets, which would hide a leak
    # from the test. The raw argument shows what the code wrote.
    return str(error.args[0])


def _rejection_messages(name):
    """Return the message for each kind of rejection, none quoting input."""
    messages = set()
    for representative in ("x", "env:", "file:"):
        try:
            SecretReference.parse(representative, name=name)
        except SecretReferenceError as error:
            messages.add(_raw_message(error))
    return messages


def _not_called(*_args):
    raise AssertionError("the reader must not be called")


def test_secret_hides_value_in_text():
    secret = Secret("CANARY-text-91ab")

    assert repr(secret) == SENSITIVE
    assert str(secret) == SENSITIVE
    assert f"{secret}" == SENSITIVE
    assert "CANARY-text-91ab" not in repr([secret, {"k": secret}])


def test_secret_reveal_returns_value():
    assert Secret("CANARY-reveal-2c").reveal() == "CANARY-reveal-2c"


def test_secret_registers_for_redaction():
    Secret("CANARY-redact-55d0")

    assert redact("token CANARY-redact-55d0 used") == f"token {SENSITIVE} used"


def test_secret_equality_compares_values():
    assert Secret("CANARY-eq-1") == Secret("CANARY-eq-1")
    assert Secret("CANARY-eq-1") != Secret("CANARY-eq-2")
    assert Secret("CANARY-eq-1") != "CANARY-eq-1"


def test_secret_is_not_hashable():
    with pytest.raises(TypeError):
        hash(Secret("CANARY-hash-7"))


def test_secret_rejects_non_string():
    with pytest.raises(TypeError, match="takes a str"):
        Secret(b"bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", [Secret("CANARY-pickle-3"), SecretBytes(b"CANARY-pickle-4")]
)
def test_secret_refuses_pickling(value):
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(value)


def test_secret_survives_copy_and_asdict():
    @dataclasses.dataclass
    class Holder:
        secret: Secret

    secret = Secret("CANARY-copy-6")
    copied = dataclasses.asdict(Holder(secret))

    assert copy.copy(secret) is secret
    assert copy.deepcopy(secret) is secret
    assert copied["secret"] is secret


def test_secret_bytes_hides_and_reveals():
    content = SecretBytes(b"CANARY-bytes-8")

    assert repr(content) == SENSITIVE
    assert content.reveal() == b"CANARY-bytes-8"
    assert len(content) == 14
    assert content == SecretBytes(b"CANARY-bytes-8")


@pytest.mark.parametrize(
    ("text", "source", "variable"),
    [
        ("env:DB_PASSWORD", SecretSource.ENV, "DB_PASSWORD"),
        ("env:_x1", SecretSource.ENV, "_x1"),
        ("-", SecretSource.STDIN, None),
        ("prompt", SecretSource.PROMPT, None),
    ],
)
def test_parse_accepts_reference_forms(text, source, variable):
    reference = SecretReference.parse(text, name="password")

    assert reference.source is source
    assert reference.variable == variable
    assert reference.name == "password"
    assert str(reference) == text


def test_parse_expands_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))

    reference = SecretReference.parse("file:~/db.secret", name="password")

    assert reference.source is SecretSource.FILE
    assert reference.path == tmp_path / "db.secret"


def test_parse_joins_base_dir(tmp_path):
    relative = SecretReference.parse("file:keys/db", name="password", base_dir=tmp_path)
    absolute = SecretReference.parse("file:/srv/db", name="password", base_dir=tmp_path)

    assert relative.path == tmp_path / "keys" / "db"
    assert absolute.path == Path("/srv/db")


def test_reference_text_round_trips(tmp_path):
    for text in ("env:A", f"file:{tmp_path / 'x'}", "-", "prompt"):
        reference = SecretReference.parse(text, name="password")
        assert SecretReference.parse(str(reference), name="password") == reference


@pytest.mark.parametrize(
    "text",
    [
        CANARY,
        f"env:{CANARY}",
        "env:",
        "env:1ABC",
        "file:",
        "ENV:QTC_REJECTED",
        " prompt",
        "Prompt",
        "",
        "--",
    ],
)
def test_parse_rejects_without_echo(text):
    with pytest.raises(SecretReferenceError) as caught:
        SecretReference.parse(text, name="privateKeyPassphrase")

    message = _raw_message(caught.value)
    assert "privateKeyPassphrase" in message
    assert message in _rejection_messages("privateKeyPassphrase")
    assert CANARY not in message
    assert "QTC_REJECTED" not in message


def test_parse_rejection_lists_forms():
    with pytest.raises(SecretReferenceError) as caught:
        SecretReference.parse(CANARY, name="password")

    message = _raw_message(caught.value)
    for form in ("env:NAME", "file:PATH", "-", "prompt"):
        assert form in message


@given(st.text())
def test_parse_messages_never_depend_on_input(text):
    try:
        SecretReference.parse(text, name="password")
    except SecretReferenceError as error:
        assert _raw_message(error) in _rejection_messages("password")


@given(st.text(min_size=1), st.text())
def test_parse_never_echoes_embedded_canary(prefix, suffix):
    text = f"{prefix}{CANARY}{suffix}"
    try:
        SecretReference.parse(text, name="password")
    except SecretReferenceError as error:
        assert CANARY not in _raw_message(error)


def test_resolve_env_value(monkeypatch):
    monkeypatch.setenv("QTC_TEST_SECRET", "CANARY-env-31")

    secret = SecretReference.parse("env:QTC_TEST_SECRET", name="password").resolve()

    assert secret.reveal() == "CANARY-env-31"


def test_resolve_env_keeps_whitespace(monkeypatch):
    monkeypatch.setenv("QTC_TEST_SECRET", " CANARY-env-32 \n")

    secret = SecretReference.parse("env:QTC_TEST_SECRET", name="password").resolve()

    assert secret.reveal() == " CANARY-env-32 \n"


def test_resolve_env_unset_names_variable(monkeypatch):
    monkeypatch.delenv("QTC_TEST_UNSET", raising=False)
    reference = SecretReference.parse("env:QTC_TEST_UNSET", name="password")

    with pytest.raises(SecretReferenceError) as caught:
        reference.resolve()

    message = str(caught.value)
    assert "QTC_TEST_UNSET is not set" in message
    assert "password" in message
    assert "export it" in message


def test_resolve_env_empty_names_variable(monkeypatch):
    monkeypatch.setenv("QTC_TEST_EMPTY", "")
    reference = SecretReference.parse("env:QTC_TEST_EMPTY", name="password")

    with pytest.raises(SecretReferenceError, match="QTC_TEST_EMPTY is empty"):
        reference.resolve()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"CANARY-file-1\n", "CANARY-file-1"),
        (b"CANARY-file-2\r\n", "CANARY-file-2"),
        (b"CANARY-file-3", "CANARY-file-3"),
        (b"CANARY-file-4\n\n", "CANARY-file-4\n"),
        (b"  CANARY-file-5 \t\n", "  CANARY-file-5 \t"),
        ("CANARY-fïle-6\n".encode(), "CANARY-fïle-6"),
    ],
)
def test_resolve_file_strips_one_newline(tmp_path, content, expected):
    path = tmp_path / "secret"
    path.write_bytes(content)

    secret = SecretReference.parse(f"file:{path}", name="password").resolve()

    assert secret.reveal() == expected


def _file_error(path):
    reference = SecretReference.parse(f"file:{path}", name="password")
    with pytest.raises(SecretReferenceError) as caught:
        reference.resolve()
    return _raw_message(caught.value)


def test_resolve_missing_file(tmp_path):
    message = _file_error(tmp_path / "absent")

    assert f"file {tmp_path / 'absent'} not found" in message
    assert "check the path" in message


def test_resolve_directory_is_rejected(tmp_path):
    assert "is a directory" in _file_error(tmp_path)


@pytest.mark.parametrize("content", [b"", b"\n", b"\r\n"])
def test_resolve_empty_file(tmp_path, content):
    path = tmp_path / "secret"
    path.write_bytes(content)

    assert f"file {path} is empty" in _file_error(path)


def test_resolve_non_utf8_file(tmp_path):
    path = tmp_path / "secret"
    path.write_bytes(b"CANARY-latin1-\xe9\xff")

    message = _file_error(path)

    assert "not UTF-8" in message
    assert "CANARY-latin1" not in message


def test_resolve_oversized_file(tmp_path):
    path = tmp_path / "secret"
    path.write_bytes(b"CANARY-big-" * (MAX_SECRET_FILE_BYTES // 8))

    message = _file_error(path)

    assert "larger than" in message
    assert "CANARY-big" not in message


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0,
    reason="root reads files whatever their permissions",
)
def test_resolve_unreadable_file(tmp_path):
    path = tmp_path / "secret"
    path.write_text("CANARY-perm-1")
    path.chmod(0)

    assert "permission denied" in _file_error(path)


def test_resolve_stdin_strips_newline():
    reference = SecretReference.parse("-", name="password")

    secret = reference.resolve(stdin=lambda: "CANARY-stdin-1\n", prompt=_not_called)

    assert secret.reveal() == "CANARY-stdin-1"


def test_resolve_stdin_empty():
    reference = SecretReference.parse("-", name="password")

    with pytest.raises(SecretReferenceError, match="standard input was empty"):
        reference.resolve(stdin=lambda: "\n", prompt=_not_called)


def test_resolve_prompt_names_property():
    asked = []

    def prompt(text):
        asked.append(text)
        return "CANARY-prompt-1"

    reference = SecretReference.parse("prompt", name="adlsclientappkey")
    secret = reference.resolve(stdin=_not_called, prompt=prompt)

    assert secret.reveal() == "CANARY-prompt-1"
    assert asked == ["adlsclientappkey: "]


def test_resolve_prompt_empty():
    reference = SecretReference.parse("prompt", name="password")

    with pytest.raises(SecretReferenceError, match="no value was entered"):
        reference.resolve(stdin=_not_called, prompt=lambda _text: "")


def test_resolve_references_by_name(monkeypatch):
    monkeypatch.setenv("QTC_TEST_PASS", "CANARY-many-1")
    references = [
        SecretReference.parse("env:QTC_TEST_PASS", name="password"),
        SecretReference.parse("-", name="privateKeyPassphrase"),
    ]

    secrets = resolve_references(
        references, stdin=lambda: "CANARY-many-2\n", prompt=_not_called
    )

    assert secrets["password"].reveal() == "CANARY-many-1"
    assert secrets["privateKeyPassphrase"].reveal() == "CANARY-many-2"


def test_resolve_references_single_stdin():
    references = [
        SecretReference.parse("-", name="password"),
        SecretReference.parse("-", name="privateKeyPassphrase"),
    ]

    with pytest.raises(SecretReferenceError) as caught:
        resolve_references(references, stdin=_not_called, prompt=_not_called)

    message = str(caught.value)
    assert "password, privateKeyPassphrase" in message
    assert "only one secret per command" in message


def test_resolve_references_rejects_duplicates():
    references = [
        SecretReference.parse("prompt", name="password"),
        SecretReference.parse("prompt", name="password"),
    ]

    with pytest.raises(SecretReferenceError, match="password is given twice"):
        resolve_references(references, stdin=_not_called, prompt=_not_called)


def test_named_pipe_rejected_without_blocking(tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    reference = SecretReference.parse(f"file:{pipe}", name="password")
    with pytest.raises(SecretReferenceError) as caught:
        reference.resolve()
    assert "is not a regular file" in str(caught.value)
