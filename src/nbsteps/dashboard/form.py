"""The run form: one widget per parameter of a step's notebook, built from its parameters cell.

The parameters cell is the single definition: it gives each field its type, its default,
its limits and its help line, and the same checks that `nbsteps run -p` applies decide
whether a value is accepted. Widget values arrive from the browser, where anyone can forge
them, so the form checks them in the kernel; number fields are plain (unbounded) inputs so
that a wrong value reaches the check and is refused with a reason, not silently clamped.
"""

import json
from html import escape
from typing import Any

import ipywidgets as widgets

from nbsteps.errors import ParameterError
from nbsteps.parameters import RUNNER_PARAMETERS, Parameter, coerce_value, resolve_values

# Two or three short choices read best as buttons side by side; more go in a drop-down.
MAX_TOGGLE_CHOICES = 3
LABEL_WIDTH = "7em"


def build_field(parameter: Parameter, value: Any) -> widgets.Widget:
    """The widget for one parameter, showing `value`."""
    common = {"description": parameter.name, "style": {"description_width": LABEL_WIDTH}}
    if parameter.choices:
        if len(parameter.choices) <= MAX_TOGGLE_CHOICES:
            common["style"] |= {"button_width": "6em"}
            field = widgets.ToggleButtons(options=list(parameter.choices), value=value, **common)
        else:
            field = widgets.Dropdown(options=list(parameter.choices), value=value, **common)
    elif parameter.kind == "bool":
        field = widgets.Checkbox(value=bool(value), indent=False, description=parameter.name)
    elif parameter.kind == "int":
        field = widgets.IntText(value=value, **common)
    elif parameter.kind == "float":
        field = widgets.FloatText(value=value, **common)
    else:  # text, and lists, dicts, None or a union typed as JSON (or YAML): the same
        # checks as `-p NAME=VALUE` parse it
        text = value if isinstance(value, str) else json.dumps(value)
        field = widgets.Text(value=text, **common)
    field.add_class("nbsteps-field")
    field.add_class(f"nbsteps-field-{parameter.name}")
    return field


def describe_rule(parameter: Parameter) -> str:
    """The help line under a field: what the parameter does and what values fit."""
    rule = parameter.describe()
    return f"{parameter.help} ({rule})" if parameter.help else rule


class ParameterForm:
    """Fields for the parameters a person may set (not data_dir or run_id), each with a hint
    line that shows its rule, or why the current value is refused."""

    def __init__(self, declared: dict[str, Parameter], values: dict[str, Any]):
        self.declared = declared
        self.shown = {n: p for n, p in declared.items() if n not in RUNNER_PARAMETERS}
        self.fields = {n: build_field(p, values.get(n, p.default)) for n, p in self.shown.items()}
        self.hints = {name: widgets.HTML(_dom_classes=["nbsteps-hint-line"]) for name in self.shown}
        for name, field in self.fields.items():
            self.show_hint(name)
            field.observe(lambda _change, name=name: self.show_hint(name), names="value")
        rows = [
            widgets.VBox([self.fields[name], self.hints[name]], _dom_classes=["nbsteps-row"])
            for name in self.shown
        ]
        self.widget = widgets.VBox(rows, _dom_classes=["nbsteps-form"])

    def read_values(self) -> dict[str, Any]:
        """The fields' values as they arrived, unchecked."""
        return {name: field.value for name, field in self.fields.items()}

    def check_values(self) -> dict[str, Any]:
        """The values typed as the notebook declares them; ParameterError names the first
        that does not fit. The runner checks again; this one gives the page its message."""
        return resolve_values(self.declared, ("form", self.read_values()))

    def show_hint(self, name: str) -> None:
        parameter = self.shown[name]
        try:
            coerce_value(parameter, self.fields[name].value)
        except ParameterError as error:
            self.hints[name].value = render_hint(str(error), invalid=True)
            return
        self.hints[name].value = render_hint(describe_rule(parameter))

    def set_enabled(self, enabled: bool) -> None:
        for field in self.fields.values():
            field.disabled = not enabled


def render_hint(text: str, invalid: bool = False) -> str:
    kind = "nbsteps-invalid" if invalid else "nbsteps-hint"
    return f'<span class="{kind}">{escape(text)}</span>'
