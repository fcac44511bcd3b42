"""The run form is built from a notebook's parameters cell, and checks what it receives."""

import ipywidgets as widgets
import pytest
from traitlets import TraitError

from nbsteps.dashboard.form import ParameterForm, build_field
from nbsteps.errors import ParameterError
from nbsteps.parameters import parse_parameters_cell, read_parameters
from tests.conftest import REPO

CELL = """\
data_dir = "../data"  # set by the runner
run_id = "manual"  # set by the runner
k = 100  # parts [2..10000]
method = "PCA"  # how to draw [PCA|t-SNE]
seed = 0  # random seed [0..]
rate = 0.5  # a fraction [0..1]
verbose = False  # print more
label = "x"  # free text
sizes = [1, 2]  # a list
palette = "a"  # many choices [a|b|c|d|e]
source: str | list = "https://example.org/posts.json"  # one source or several
"""


@pytest.fixture
def form():
    declared = parse_parameters_cell(CELL)
    return ParameterForm(declared, {name: p.default for name, p in declared.items()})


def test_each_kind_gets_a_fitting_widget(form):
    kinds = {name: type(field) for name, field in form.fields.items()}
    assert kinds == {
        "k": widgets.IntText, "method": widgets.ToggleButtons, "seed": widgets.IntText,
        "rate": widgets.FloatText, "verbose": widgets.Checkbox, "label": widgets.Text,
        "sizes": widgets.Text, "palette": widgets.Dropdown, "source": widgets.Text,
    }
    assert "data_dir" not in form.fields and "run_id" not in form.fields
    assert form.fields["sizes"].value == "[1, 2]"


def test_the_model_notebook_gives_k_method_and_seed():
    declared = read_parameters(REPO / "notebooks" / "3.model.ipynb")
    form = ParameterForm(declared, {"k": 150})
    assert list(form.fields) == ["k", "method", "seed"]
    assert form.fields["k"].value == 150
    assert form.fields["method"].options == ("PCA", "t-SNE")
    assert "int in [2..10000]" in form.hints["k"].value


def test_values_come_back_typed(form):
    form.fields["sizes"].value = "[3, 4, 5]"
    values = form.check_values()
    assert values["k"] == 100 and values["sizes"] == [3, 4, 5] and values["rate"] == 0.5
    assert values["source"] == "https://example.org/posts.json"
    form.fields["source"].value = '["a.json", "b.json"]'
    assert form.check_values()["source"] == ["a.json", "b.json"]


@pytest.mark.parametrize(("name", "value", "message"), [
    ("k", 1, "must be in [2..10000]; got 1"),
    ("k", 20000, "must be in [2..10000]; got 20000"),
    ("seed", -1, "must be in [0..]; got -1"),
    ("rate", 1.5, "must be in [0..1]; got 1.5"),
    ("sizes", "{not: a list}", "expects list"),
])
def test_a_value_out_of_its_limits_is_refused_with_the_reason(form, name, value, message):
    form.fields[name].value = value
    assert message in form.hints[name].value and "nbsteps-invalid" in form.hints[name].value
    with pytest.raises(ParameterError, match=message.replace("[", r"\[").replace("]", r"\]")):
        form.check_values()


def test_a_fixed_choice_cannot_take_another_value(form):
    """A forged index or value for a choice is rejected by the widget itself."""
    with pytest.raises(TraitError):
        form.fields["method"].index = 7
    with pytest.raises(TraitError):
        form.fields["method"].value = "UMAP"
    assert form.check_values()["method"] == "PCA"


def test_a_disabled_form_disables_every_field(form):
    form.set_enabled(False)
    assert all(field.disabled for field in form.fields.values())


def test_build_field_marks_each_field_for_the_page(form):
    field = build_field(parse_parameters_cell("k = 3  # parts [2..]")["k"], 3)
    assert "nbsteps-field-k" in field._dom_classes
