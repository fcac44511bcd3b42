"""Values that once crashed or slipped through: NaN and infinity, limits that cannot be
read, YAML that expands without bound, dates, and params files that are not what they seem.
Each is refused (or read as documented) with one line, never a traceback."""

import math
import socket
import threading

import numpy as np
import pytest

from nbsteps.errors import ParameterError, UsageError
from nbsteps.parameters import (
    coerce_value,
    parse_parameters_cell,
    read_parameters,
    read_params_file,
    resolve_values,
)
from tests.conftest import REPO

CELL = '''limit = 10.0  # a positive size [1..]
ratio = 0.5  # a share [0..1]
free = 1.5  # any finite number
count = 3  # a count [0..]
ceiling = 5.0  # a cap, or infinity for none [1..inf]
floor = 0.0  # any number, or minus infinity [-inf..10]
weight = 1.0  # a weight, or nan when unknown [0..1, nan]
missing = 1.0  # nan allowed, no range [nan]
words: list = []  # a list
anything = None  # whatever it is
mode = "a"  # how [a|b]
'''


@pytest.fixture
def declared():
    return parse_parameters_cell(CELL)


@pytest.mark.parametrize("name", ["limit", "ratio", "free", "ceiling", "floor"])
@pytest.mark.parametrize("text", ["nan", "NaN", ".nan", float("nan")])
def test_nan_is_refused_unless_the_notebook_allows_it(declared, name, text):
    with pytest.raises(ParameterError, match=f"'{name}'.*nan"):
        coerce_value(declared[name], text)


@pytest.mark.parametrize("text", ["nan", float("nan")])
def test_nan_is_taken_where_the_spec_says_nan(declared, text):
    assert math.isnan(coerce_value(declared["weight"], text))
    assert math.isnan(coerce_value(declared["missing"], text))
    with pytest.raises(ParameterError, match=r"\[0..1\]"):
        coerce_value(declared["weight"], "2")


@pytest.mark.parametrize(
    ("name", "value"),
    [("limit", "inf"), ("limit", "Infinity"), ("free", "-inf"), ("ratio", float("inf")),
     ("ceiling", "-inf"), ("floor", "inf"), ("limit", 1e400), ("free", "1e999"),
     ("weight", "inf"), ("anything", ".inf"), ("anything", "[1, .nan]"),
     ("words", "[1, .inf]"), ("words", [float("nan")])],
)
def test_infinity_is_refused_unless_that_end_of_the_range_is_inf(declared, name, value):
    with pytest.raises(ParameterError, match=f"'{name}'"):
        coerce_value(declared[name], value)


def test_infinity_is_taken_at_an_end_written_inf(declared):
    assert coerce_value(declared["ceiling"], "inf") == math.inf
    assert coerce_value(declared["floor"], "-inf") == -math.inf
    assert declared["ceiling"].describe() == "float in [1..inf]"
    assert declared["weight"].describe() == "float in [0..1] or nan"


def test_a_runner_value_that_is_nan_never_reaches_the_run(declared):
    with pytest.raises(ParameterError, match="'limit'"):
        resolve_values(declared, ("params/x.yaml", {"limit": float("nan")}))


@pytest.mark.parametrize(
    "line",
    ["k = 5  # parts [two..ten]", "k = 5  # parts [2..x]", "k = 5  # parts [1..2..3]",
     "k = 5  # parts [nan..10]", "k = 5  # parts [10..2]", "k = 5  # parts [2..10, 3..4]",
     "k = 5  # parts [2..10, often]", 'name = "x"  # text [1..3]', "k = 5  # parts [6..10]",
     "k = 5  # a choice [1|2]"],
)
def test_limits_that_cannot_be_read_or_do_not_fit_are_one_usage_error(line):
    with pytest.raises(UsageError, match="'k'|'name'") as caught:
        parse_parameters_cell(line)
    assert "\n" not in str(caught.value)


def test_limits_as_written_are_shown_as_written():
    parameter = parse_parameters_cell("seed = 0  # [0..4294967295]")["seed"]
    assert parameter.describe() == "int in [0..4294967295]"
    with pytest.raises(ParameterError, match=r"\[0..4294967295\]; got 4294967296"):
        coerce_value(parameter, "4294967296")


BOMB = ('a: &a ["xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx","xxxxxxxxxx"]\n'
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[" + BOMB.replace("\n", ", ").replace(": ", ":  ") + "]", "values|YAML"),
        ("{" + BOMB.replace("\n", ", ") + "}", "expands to more than"),
        ("[" * 60 + "]" * 60, "nested too deeply"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ("&a [*a]", "refers to itself"),
        ("[" + "1, " * 400_000 + "1]", "characters long"),
        ("!!binary aGVsbG8=", "cannot take"),
        ("!!set {a, b}", "cannot take"),
        ("{1: 2}", "not text"),
    ],
)
def test_yaml_values_are_bounded(declared, value, message):
    with pytest.raises(ParameterError, match=message) as caught:
        coerce_value(declared["anything"], value)
    assert len(str(caught.value)) < 300 and "\n" not in str(caught.value)


def test_an_alias_bomb_in_a_list_parameter_is_refused_quickly(declared):
    bomb = "{" + BOMB.replace("\n", ", ") + "}"
    with pytest.raises(ParameterError, match="'words'.*expands to more than"):
        coerce_value(declared["words"], f"[{bomb}]")


def test_an_alias_bomb_in_a_params_file_is_refused(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(BOMB.replace("g: &g", "words: &g"))
    with pytest.raises(ParameterError, match="x.yaml expands to more than"):
        read_params_file(path)


def test_a_few_aliases_are_fine(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("base: &b [a, b]\nwords: *b\n")
    assert read_params_file(path) == {"base": ["a", "b"], "words": ["a", "b"]}


@pytest.mark.parametrize("text", ["None", "none", "null", "~"])
def test_none_given_to_a_parameter_whose_default_is_none_is_none(declared, text):
    assert coerce_value(declared["anything"], text) is None


@pytest.mark.parametrize("text", ["2024-05-01", "2024-05-01 10:00:00", "2024-05-01T10:00:00Z"])
def test_dates_stay_the_text_written(declared, text):
    assert coerce_value(declared["anything"], text) == text
    assert coerce_value(declared["words"], f"[{text}]") == [text]


def test_an_unquoted_date_in_a_params_file_is_the_iso_text(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("day: 2024-05-01\nwhen: [2024-05-01, 2025-01-31]\n")
    assert read_params_file(path) == {"day": "2024-05-01", "when": ["2024-05-01", "2025-01-31"]}


def test_text_that_is_not_yaml_stays_text_for_a_parameter_without_a_type(declared):
    assert coerce_value(declared["anything"], "a: b: c") == "a: b: c"


def test_a_long_value_is_cut_in_the_error_line(declared):
    with pytest.raises(ParameterError) as caught:
        coerce_value(declared["mode"], "z" * 100_000)
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"k: 5\nlabel: caf\xe9\n", "not UTF-8"),
        (b"1: 2\n", "the key 1 is not text"),
        (b"k: 5\n? [a, b]\n: 3\n", "x.yaml is not valid YAML"),
        (b"k: 5\n{2024-05-01: 1}: 3\n", "x.yaml"),
    ],
)
def test_a_params_file_that_is_not_text_or_has_odd_keys_is_one_line(tmp_path, content, message):
    path = tmp_path / "x.yaml"
    path.write_bytes(content)
    declared = parse_parameters_cell("k = 1  # [0..10]\nlabel = 'x'")
    with pytest.raises(ParameterError, match=message):
        resolve_values(declared, ("x.yaml", read_params_file(path)))


def test_a_params_file_that_is_a_folder_is_one_line(tmp_path):
    (tmp_path / "x.yaml").mkdir()
    with pytest.raises(ParameterError, match="cannot read .*x.yaml"):
        read_params_file(tmp_path / "x.yaml")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p.write_bytes(b"k: 5\nmethod: \xff\xfe\n"), "not UTF-8"),
        (lambda p: p.write_text("1: 2\n"), "the key 1 is not text"),
        (lambda p: p.mkdir(), "cannot read"),
        (lambda p: p.write_text("k: &a [*a]\n"), "refers to itself"),
    ],
)
def test_the_command_line_says_what_is_wrong_with_a_params_file(project_copy, setup, message):
    params = project_copy.root / "params" / "model.yaml"
    params.unlink(missing_ok=True)
    setup(params)
    result = project_copy.run("run", "model")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [("max_mb=nan", "'max_mb'"), ("deadline_s=nan", "'deadline_s'"),
     ("timeout_s=inf", "'timeout_s'"), ("timeout_s=1e300", "'timeout_s'")],
)
def test_the_command_line_refuses_non_finite_limits(workspace, value, message):
    result = workspace.run("run", "ingest", "-p", value)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr and not workspace.data.exists()


def test_example_limits_are_ones_the_libraries_take():
    """The largest value each example notebook accepts works in the library that uses it."""
    import sys

    sys.path.insert(0, str(REPO / "notebooks"))
    try:
        import authorship
    finally:
        sys.path.remove(str(REPO / "notebooks"))
    notebooks = REPO / "notebooks"
    ingest = read_parameters(notebooks / "1.ingest.ipynb")
    model = read_parameters(notebooks / "3.model.ipynb")
    preprocess = read_parameters(notebooks / "2.preprocess.ipynb")
    for parameter in [*ingest.values(), *model.values(), *preprocess.values()]:
        if parameter.minimum is not None:
            assert math.isfinite(parameter.minimum) and parameter.maximum is not None, parameter
            assert math.isfinite(parameter.maximum), parameter
    seed = int(model["seed"].maximum)
    distances = np.abs(np.subtract.outer(np.arange(6.0), np.arange(6.0)))
    assert authorship.embed_2d(distances, "t-SNE", seed).shape == (6, 2)
    np.random.RandomState(seed)
    with pytest.raises(ParameterError):
        coerce_value(model["seed"], seed + 1)
    for name in ("timeout_s", "deadline_s", "lease_s"):
        with socket.socket() as probe:
            probe.settimeout(ingest[name].maximum)
        threading.Event().wait(min(0.0, ingest[name].maximum))
        assert threading.Event().wait(timeout=0) is False
    assert threading.Event().wait(ingest["deadline_s"].maximum - ingest["deadline_s"].maximum
                                  ) is False


ECHO_PIPELINE = """steps:
  echo:
    notebook: notebooks/echo.ipynb
    outputs: ["echo/{run_id}/values.json"]
"""
ECHO = [
    'data_dir = "."\nrun_id = "manual"\nwhen = None  # a day, or nothing\nlabel = "x"  # text',
    "import json, pathlib\nfolder = pathlib.Path(data_dir) / 'echo' / run_id\n"
    "folder.mkdir(parents=True)\n"
    "(folder / 'values.json').write_text(json.dumps({'when': when, 'label': label}))",
]


@pytest.fixture
def echo_project(tmp_path):
    from tests.conftest import Workspace
    from tests.test_lifecycle import write_notebook

    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "params").mkdir()
    (root / "pipeline.yaml").write_text(ECHO_PIPELINE)
    write_notebook(root / "notebooks" / "echo.ipynb", ECHO)
    return Workspace(root=root, base=tmp_path)


def echoed(space) -> dict:
    import json

    record = json.loads((space.outputs / "echo" / "latest.json").read_text())
    assert record["status"] == "succeeded"
    return json.loads((space.data / record["outputs"][0]["path"]).read_text())


def test_dates_and_none_reach_the_notebook_as_users_write_them(echo_project):
    result = echo_project.run("run", "echo", "-p", "when=2024-05-01", "-p", "label=2024-05-02")
    assert result.returncode == 0, result.stderr
    assert echoed(echo_project) == {"when": "2024-05-01", "label": "2024-05-02"}
    result = echo_project.run("run", "echo", "-p", "when=None")
    assert result.returncode == 0, result.stderr
    assert echoed(echo_project)["when"] is None
    (echo_project.root / "params" / "echo.yaml").write_text("when: 2024-06-01\nlabel: 2024-06-02\n")
    result = echo_project.run("run", "echo")
    assert result.returncode == 0, result.stderr
    assert echoed(echo_project) == {"when": "2024-06-01", "label": "2024-06-02"}
