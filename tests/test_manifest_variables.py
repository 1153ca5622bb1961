"""Variable substitution: ${name}, the $${ escape, nesting and its edge cases."""

import io

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from qtc_connections.errors import InputError
from qtc_connections.manifest.loader import (
    escape_substitution,
    load_manifest,
    substitute_variables,
)

# Text that YAML can carry: no surrogates and no control characters.
texts = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)


def test_reference_replaced():
    assert substitute_variables("mysql.${domain}", {"domain": "dev"}) == "mysql.dev"


def test_several_references_replaced():
    result = substitute_variables("${a}-${b}-${a}", {"a": "1", "b": "2"})

    assert result == "1-2-1"


def test_escape_gives_literal():
    assert substitute_variables("$${domain}", {"domain": "dev"}) == "${domain}"


def test_dollar_without_brace_kept():
    assert substitute_variables("$$x $5 {y} $", {}) == "$$x $5 {y} $"


def test_escape_before_reference():
    assert substitute_variables("$${a}${a}", {"a": "1"}) == "${a}1"


def test_variable_values_substituted():
    variables = {"domain": "${region}.internal", "region": "eu"}

    assert substitute_variables("db.${domain}", variables) == "db.eu.internal"


def test_escaped_value_not_substituted_again():
    variables = {"a": "$${b}", "b": "never"}

    assert substitute_variables("${a}", variables) == "${b}"


def test_undefined_variable_raises():
    with pytest.raises(InputError) as caught:
        substitute_variables("${regoin}", {"region": "eu"})

    assert str(caught.value) == (
        "undefined variable regoin (did you mean region?); define it under "
        "variables, in the environment, or with --var regoin=VALUE"
    )


def test_undefined_inside_value_names_variable():
    with pytest.raises(InputError) as caught:
        substitute_variables("${a}", {"a": "${b}"})

    assert str(caught.value).startswith("variable a: undefined variable b;")


def test_self_reference_raises():
    with pytest.raises(InputError) as caught:
        substitute_variables("${a}", {"a": "x${a}"})

    assert str(caught.value) == "variable a: variable a refers to itself through a -> a"


def test_unterminated_reference_raises():
    with pytest.raises(InputError, match="unterminated"):
        substitute_variables("${a", {"a": "1"})


@pytest.mark.parametrize("text", ["${}", "${1a}", "${a b}", "${a-b}", "${ a }"])
def test_invalid_name_raises(text):
    with pytest.raises(InputError, match="invalid variable name"):
        substitute_variables(text, {"a": "1"})


@given(texts.filter(lambda text: "$" not in text))
def test_text_without_dollar_unchanged(text):
    assert substitute_variables(text, {}) == text


@given(texts)
def test_escape_round_trips(text):
    assert substitute_variables(escape_substitution(text), {}) == text


@given(names, texts)
def test_value_inserted_verbatim(name, value):
    variables = {name: escape_substitution(value)}

    assert substitute_variables("${" + name + "}", variables) == value


@given(texts, names, texts, texts)
def test_reference_between_literals(before, name, value, after):
    # A literal "$" directly before "${name}" would read as the "$${" escape;
    # the escape form has no way to write that pair.
    assume(not before.endswith("$"))
    text = escape_substitution(before) + "${" + name + "}" + escape_substitution(after)

    result = substitute_variables(text, {name: escape_substitution(value)})

    assert result == before + value + after


def _write_manifest(path, properties, variables=None):
    # ruamel.yaml quotes the text, so the test depends on substitution only.
    document = {
        "version": 1,
        "connections": [
            {
                "name": "SRC_DB2",
                "data_source": "repsrc_db2luw",
                "space": "Sales",
                "properties": properties,
            }
        ],
    }
    if variables is not None:
        document["variables"] = variables
    yaml = YAML(typ="safe")
    # ruamel.yaml 0.19 writes some plain scalars, such as "?0", in flow style
    # that its own parser rejects; block style avoids that.
    yaml.default_flow_style = False
    stream = io.StringIO()
    yaml.dump(document, stream)
    path.write_text(stream.getvalue(), encoding="utf-8")


@settings(max_examples=40, deadline=None)
@given(value=texts)
def test_manifest_property_round_trips(tmp_path_factory, value):
    path = tmp_path_factory.mktemp("roundtrip") / "manifest.yaml"
    _write_manifest(path, {"note": escape_substitution(value)})

    connection = load_manifest(path).connections[0]

    assert connection.properties["note"] == value


@settings(max_examples=40, deadline=None)
@given(value=texts)
def test_command_line_value_round_trips(tmp_path_factory, value):
    path = tmp_path_factory.mktemp("override") / "manifest.yaml"
    _write_manifest(path, {"note": "${note}"}, variables={"note": "default"})

    manifest = load_manifest(path, variables={"note": escape_substitution(value)})

    assert manifest.connections[0].properties["note"] == value
