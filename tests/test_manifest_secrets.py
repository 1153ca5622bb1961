"""No manifest problem shows a secret, however the secret was written.

Each canary is written where a secret does not belong. The raw message
(``error.args``) is checked as well as ``str``, because ``str`` redacts
registered secrets and would hide a leak from the test.
"""

from pathlib import Path

import pytest

from qtc_connections.errors import ManifestError
from qtc_connections.manifest.loader import load_manifest
from qtc_connections.secrets import SecretSource

BAD = Path(__file__).parent / "manifests" / "bad"

CANARY = "CANARY-manifest-9b4e"

HEADER = (
    "version: 1\n"
    "defaults:\n  space: Data Integration\n  gateway: gw-dev-01\n"
    "connections:\n"
    "  - name: SRC_MySQL\n"
    "    kind: mysql-source\n"
    "    properties:\n      server: mysql.dev.internal\n      username: qtc_reader\n"
)

# Ways to put the canary in a manifest where it must not be shown.
PLACEMENTS = {
    "literal in secrets": f"    secrets:\n      password: {CANARY}\n",
    "literal starting with a variable": (
        f"    secrets:\n      password: '${{{CANARY}}}'\n"
    ),
    "undefined variable inside a literal": (
        f"    secrets:\n      password: '${{undefined_name}}{CANARY}'\n"
    ),
    "defined variable inside a literal": (
        f"    secrets:\n      password: '${{x}}{CANARY}'\n"
    ),
    "variable name made of the secret": (
        "    secrets:\n      password: '${CANARY_manifest_9b4e}'\n"
    ),
    "unterminated variable in a literal": (
        f"    secrets:\n      password: '${{{CANARY}'\n"
    ),
    "number in secrets": "    secrets:\n      password: 90210438\n",
    "list in secrets": f"    secrets:\n      password: [{CANARY}]\n",
    "secret of the kind in properties": f"      password: {CANARY}\n",
    "secret-looking name in properties": f"      sshPassword: {CANARY}\n",
    "syntax error on the secret line": (f'    secrets:\n      password: "{CANARY}\n'),
    "duplicate key holding the secret": (
        f"      password: {CANARY}\n      password: {CANARY}-2\n"
    ),
    "date where the secret is": "    secrets:\n      password: 2026-12-04\n",
}


def _raw_messages(error: ManifestError) -> str:
    return "\n".join([*map(str, error.args), *error.problems])


@pytest.mark.parametrize("placement", PLACEMENTS.values(), ids=PLACEMENTS.keys())
def test_secret_never_in_problems(tmp_path, placement):
    path = tmp_path / "manifest.yaml"
    path.write_text(HEADER + placement)

    with pytest.raises(ManifestError) as caught:
        load_manifest(path, variables={"x": "prefix"})

    assert CANARY not in _raw_messages(caught.value)
    assert CANARY not in str(caught.value)
    assert "90210438" not in _raw_messages(caught.value)
    assert "CANARY_manifest_9b4e" not in _raw_messages(caught.value)


@pytest.mark.parametrize(
    "fixture",
    [
        "literal-secret.yaml",
        "secret-in-properties.yaml",
        "secret-looking-property.yaml",
    ],
)
def test_secret_fixture_never_echoed(fixture):
    text = (BAD / fixture).read_text()
    canary = next(word for word in text.split() if word.startswith("CANARY-"))

    with pytest.raises(ManifestError) as caught:
        load_manifest(BAD / fixture)

    assert canary not in _raw_messages(caught.value)


def test_secret_reference_not_read(monkeypatch, tmp_path):
    monkeypatch.delenv("QTC_TEST_UNSET_PASSWORD", raising=False)
    path = tmp_path / "manifest.yaml"
    path.write_text(
        HEADER + "    secrets:\n      password: env:QTC_TEST_UNSET_PASSWORD\n"
    )

    reference = load_manifest(path).connections[0].secrets["password"]

    assert reference.source is SecretSource.ENV
    assert reference.variable == "QTC_TEST_UNSET_PASSWORD"


def test_manifest_contains_no_secret_value(monkeypatch, tmp_path):
    monkeypatch.setenv("QTC_TEST_PASSWORD", CANARY)
    path = tmp_path / "manifest.yaml"
    path.write_text(HEADER + "    secrets:\n      password: env:QTC_TEST_PASSWORD\n")

    manifest = load_manifest(path)

    assert CANARY not in repr(manifest)
