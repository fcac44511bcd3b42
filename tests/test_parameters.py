import pytest

from nbsteps.errors import ParameterError, UsageError
from nbsteps.parameters import (
    coerce_value,
    parse_assignment,
    parse_parameters_cell,
    read_parameters,
    read_params_file,
    resolve_values,
)
from tests.conftest import REPO

CELL = '''data_dir = "../data"  # the data folder
k = 100  # number of parts [2..10000]
method = "PCA"  # how to draw [PCA|t-SNE]
ratio = 0.5  # a share [0..1]
label = "007"  # a code that must stay text
force = False  # do it again
extra: list = []  # more things
seed = None  # anything
source: str | list = "a.json"  # one location or several
'''


@pytest.fixture
def declared():
    return parse_parameters_cell(CELL)


def test_cell_gives_names_kinds_defaults_help_and_limits(declared):
    k = declared["k"]
    described = (k.kind, k.default, k.help, k.minimum, k.maximum)
    assert described == ("int", 100, "number of parts", 2, 10000)
    assert declared["method"].choices == ("PCA", "t-SNE")
    assert declared["extra"].kind == "list"
    assert declared["seed"].kind == "any"
    assert declared["force"].help == "do it again"


def test_repository_notebooks_declare_their_parameters():
    model = read_parameters(REPO / "notebooks" / "3.model.ipynb")
    assert {"k", "method", "data_dir", "run_id"} <= model.keys()
    assert model["k"].default == 100 and model["method"].default == "PCA"
    assert {"source", "max_mb"} <= read_parameters(REPO / "notebooks" / "1.ingest.ipynb").keys()
    assert read_parameters(REPO / "notebooks" / "2.preprocess.ipynb")["min_size"].default == 50


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("label", "007", "007"),  # papermill would make this the int 7
        ("label", "None", "None"),  # ... and this None
        ("k", "250", 250),
        ("k", " 3 ", 3),
        ("ratio", "1", 1.0),
        ("force", "yes", True),
        ("force", "FALSE", False),
        ("extra", "[1, 2]", [1, 2]),
        ("seed", "null", None),
        ("seed", "12", 12),
        ("source", "http://h/p.json", "http://h/p.json"),
        ("source", "[a.json, b.json]", ["a.json", "b.json"]),
        ("source", "007", "007"),
        ("source", ["x", "y"], ["x", "y"]),
    ],
)
def test_text_values_take_the_declared_type(declared, name, text, expected):
    value = coerce_value(declared[name], text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("k", "abc", "expects int in [2..10000]"),
        ("k", "2.5", "expects int"),
        ("k", True, "expects int"),
        ("k", 1, "must be in [2..10000]"),
        ("k", 10001, "must be in [2..10000]"),
        ("method", "tsne", "must be one of PCA, t-SNE"),
        ("ratio", "1.5", "must be in [0..1]"),
        ("force", "maybe", "expects bool"),
        ("label", 7, "expects str"),
        ("extra", "{a: 1}", "expects list"),
        ("source", 3, "expects str | list"),
    ],
)
def test_values_that_do_not_fit_are_refused_with_what_fits(declared, name, value, message):
    with pytest.raises(ParameterError, match=message.replace("[", r"\[").replace("]", r"\]")):
        coerce_value(declared[name], value)


def test_yaml_numbers_widen_to_float_but_never_narrow(declared):
    assert coerce_value(declared["ratio"], 1) == 1.0
    with pytest.raises(ParameterError):
        coerce_value(declared["k"], 3.0)


def test_later_sources_override_earlier_ones(declared):
    values = resolve_values(declared, ("file", {"k": 10, "method": "t-SNE"}), ("-p", {"k": "20"}))
    assert values == {"k": 20, "method": "t-SNE"}


def test_unknown_name_lists_the_valid_ones(declared):
    message = r"unknown parameter 'kk' \(-p\); valid names: k, method"
    with pytest.raises(ParameterError, match=message):
        resolve_values(declared, ("-p", {"kk": "3"}))


@pytest.mark.parametrize("name", ["data_dir", "run_id"])
def test_runner_parameters_cannot_be_overridden(declared, name):
    with pytest.raises(ParameterError, match="set by nbsteps"):
        resolve_values(declared, ("-p", {name: "x"}))


@pytest.mark.parametrize("name", ["k; import os", "1k", "class", "a-b", ""])
def test_only_plain_identifiers_are_names(declared, name):
    with pytest.raises(ParameterError, match="not a valid parameter name"):
        resolve_values(declared, ("-p", {name: "1"}))


def test_assignment_splits_on_the_first_equals_sign():
    assert parse_assignment("source=http://h/x?a=b") == ("source", "http://h/x?a=b")
    assert parse_assignment("model.k=200") == ("model.k", "200")
    with pytest.raises(ParameterError, match="NAME=VALUE"):
        parse_assignment("k")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = y", "literal default"),
        ("x, y = 1, 2", "plain name"),
        ("print(1)", "not a `name = value`"),
        ("x = (", "not valid Python"),
    ],
)
def test_a_parameters_cell_that_cannot_be_read_is_a_usage_error(source, message):
    with pytest.raises(UsageError, match=message):
        parse_parameters_cell(source)


def test_params_file_must_be_a_mapping(tmp_path):
    path = tmp_path / "p.yaml"
    assert read_params_file(path) == {}
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ParameterError, match="mapping"):
        read_params_file(path)
    path.write_text("k: [1,\n")
    with pytest.raises(ParameterError, match="not valid YAML"):
        read_params_file(path)


def test_an_annotation_must_name_supported_kinds():
    assert parse_parameters_cell("x: int | float = 1")["x"].kind == "int | float"
    with pytest.raises(UsageError, match="annotate with"):
        parse_parameters_cell("x: set = 1")
