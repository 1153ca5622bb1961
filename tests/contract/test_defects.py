"""Every known defect must still describe the published specs precisely.

A defect could otherwise excuse findings it was never meant for: one that
names an operation the spec lacks, or that calls a status undocumented
after the spec has added it. These tests catch that when the specs change.
"""

from __future__ import annotations

from typing import Any

import pytest

from contract.defects import KNOWN_DEFECTS, KnownDefect
from contract.specs import (
    LoadedSpec,
    default_specs_dir,
    load_specs,
    missing_specs_reason,
    split_pointer,
)


@pytest.fixture(scope="module")
def specs() -> dict[str, LoadedSpec]:
    reason = missing_specs_reason(default_specs_dir())
    if reason is not None:
        pytest.skip(f"OpenAPI specs not available: {reason}")
    return load_specs(default_specs_dir())


def operation_of(spec: LoadedSpec, name: str) -> Any:
    method, path = name.split(" ", 1)
    return spec.document["paths"].get(path, {}).get(method.lower())


def defect_id(defect: KnownDefect) -> str:
    return defect.key


STATUS_DEFECTS = [
    defect
    for defect in KNOWN_DEFECTS
    if any(pattern.keyword == "ResponseNotFound" for pattern in defect.patterns)
]


def test_defect_keys_are_unique() -> None:
    keys = [defect.key for defect in KNOWN_DEFECTS]

    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("defect", KNOWN_DEFECTS, ids=defect_id)
def test_defect_pointer_exists(
    defect: KnownDefect, specs: dict[str, LoadedSpec]
) -> None:
    target: Any = specs[defect.spec].document
    for part in split_pointer(defect.pointer):
        assert isinstance(target, dict), defect.pointer
        assert part in target, defect.pointer
        target = target[part]


@pytest.mark.parametrize("defect", KNOWN_DEFECTS, ids=defect_id)
def test_defect_operations_exist(
    defect: KnownDefect, specs: dict[str, LoadedSpec]
) -> None:
    missing = [
        name
        for name in defect.operations
        if operation_of(specs[defect.spec], name) is None
    ]

    assert missing == []


@pytest.mark.parametrize("defect", STATUS_DEFECTS, ids=defect_id)
def test_undocumented_status_still_undocumented(
    defect: KnownDefect, specs: dict[str, LoadedSpec]
) -> None:
    documented = [
        (name, status)
        for name in defect.operations
        for status in defect.statuses
        if str(status) in operation_of(specs[defect.spec], name)["responses"]
    ]

    assert documented == []
