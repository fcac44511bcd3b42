"""A notebook's parameters, read from its own `parameters` cell, and the checks on their values.

The cell is the single definition: the runner validates against it, `nbsteps params` lists
it, and the dashboard builds its form from it. Each line is `name = literal  # help [spec]`,
where the optional spec is a range `[2..10000]` (either end may be left open) or a list of
choices `[PCA|t-SNE]`.
"""

import ast
import io
import keyword
import re
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from nbsteps.errors import ParameterError, UsageError

if TYPE_CHECKING:
    from nbsteps.notebook import Cell

# Set by the runner for every run; a user cannot override them with -p.
RUNNER_PARAMETERS = ("data_dir", "run_id")

KIND_NAMES = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}
TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0"}
SPEC_PATTERN = re.compile(r"\s*\[([^\[\]]*)\]\s*$")
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str  # one of KIND_NAMES' values, or "any" for a default of None
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None

    def describe(self) -> str:
        """What a valid value looks like, for error messages and `nbsteps params`."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.minimum is not None or self.maximum is not None:
            low = "" if self.minimum is None else f"{self.minimum:g}"
            high = "" if self.maximum is None else f"{self.maximum:g}"
            return f"{self.kind} in [{low}..{high}]"
        return self.kind


def read_parameters(notebook: Path) -> dict[str, Parameter]:
    """The parameters declared in the notebook's cell tagged `parameters`."""
    # Imported here: the notebook reader uses this module to parse the parameters cell.
    from nbsteps.notebook import read_notebook

    return read_notebook(notebook).parameters


def find_parameters_cell(cells: Sequence["Cell"], where: str) -> "Cell":
    """The one cell tagged `parameters`."""
    tagged = [cell for cell in cells if "parameters" in cell.tags]
    if len(tagged) != 1:
        raise UsageError(
            f"{where} must have exactly one cell tagged `parameters` (found {len(tagged)})"
        )
    return tagged[0]


def parse_parameters_cell(source: str, where: str = "parameters cell") -> dict[str, Parameter]:
    comments = read_line_comments(source)
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise UsageError(f"{where}: the parameters cell is not valid Python: {error}") from error
    parameters = {}
    for statement in tree.body:
        name, value_node = read_assignment(statement, where)
        try:
            default = ast.literal_eval(value_node)
        except ValueError as error:
            raise UsageError(
                f"{where}: parameter {name!r} must have a literal default (a number, string, "
                "bool, list, dict or None)"
            ) from error
        kind = read_annotation(statement, where)
        parameters[name] = build_parameter(name, default, comments.get(statement.lineno, ""), kind)
    return parameters


def read_assignment(statement: ast.stmt, where: str) -> tuple[str, ast.expr]:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target, value = statement.target, statement.value
    else:
        raise UsageError(f"{where}: line {statement.lineno} is not a `name = value` assignment")
    if not isinstance(target, ast.Name):
        raise UsageError(f"{where}: line {statement.lineno} must assign a plain name")
    return target.id, value


def read_line_comments(source: str) -> dict[int, str]:
    """The comment at the end of each line, by line number."""
    comments = {}
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    try:
        for token in tokens:
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass  # ast.parse reports the syntax error with a better message
    return comments


def read_annotation(statement: ast.stmt, where: str) -> str | None:
    """`name: str | list = ...` declares the kinds a value may take (else the default's)."""
    if not isinstance(statement, ast.AnnAssign):
        return None
    names = []
    pending = [statement.annotation]
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            pending[:0] = [node.left, node.right]
        elif isinstance(node, ast.Name) and node.id in KIND_NAMES.values():
            names.append(node.id)
        else:
            raise UsageError(f"{where}: line {statement.lineno}: annotate with "
                             f"{' | '.join(KIND_NAMES.values())} or a union of them")
    return " | ".join(names)


def build_parameter(name: str, default: Any, comment: str, kind: str | None = None) -> Parameter:
    kind = kind or ("any" if default is None else KIND_NAMES.get(type(default)))
    if kind is None:
        raise UsageError(f"parameter {name!r} has a default of unsupported type {type(default)}")
    match = SPEC_PATTERN.search(comment)
    help_text = comment[: match.start()].strip() if match else comment
    spec = match.group(1) if match else ""
    minimum = maximum = choices = None
    if ".." in spec:
        low, high = (part.strip() for part in spec.split("..", 1))
        minimum = float(low) if low else None
        maximum = float(high) if high else None
    elif "|" in spec:
        choices = tuple(choice.strip() for choice in spec.split("|"))
    return Parameter(name, kind, default, help_text, minimum, maximum, choices)


def check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name) or keyword.iskeyword(name):
        raise ParameterError(f"{name!r} is not a valid parameter name (use a plain identifier)")


def coerce_value(parameter: Parameter, value: Any) -> Any:
    """The value in the type the notebook declares, or a ParameterError saying what fits.

    Strings (from `-p` or quoted in YAML) are parsed for the declared type, so `"007"` for a
    `str` parameter stays "007" and `"None"` stays "None": papermill would retype them.
    """
    converted = convert_kind(parameter, value)
    check_limits(parameter, converted)
    return converted


def convert_kind(parameter: Parameter, value: Any) -> Any:
    """Convert to the declared kind, or to the first fitting kind of a `str | list` union;
    a text value stays text only when no other kind of the union reads it."""
    kinds = parameter.kind.split(" | ")
    ordered = [kind for kind in kinds if kind != "str"] + (["str"] if "str" in kinds else [])
    for kind in ordered:
        try:
            return convert_to(kind, value)
        except ValueError:
            continue
    raise ParameterError(
        f"parameter {parameter.name!r} expects {parameter.describe()}, got {value!r} "
        f"(default {parameter.default!r})"
    )


def convert_to(kind: str, value: Any) -> Any:
    """`value` as `kind`, parsing text; ValueError if it does not fit."""
    if kind == "any":
        return yaml.safe_load(value) if isinstance(value, str) else value
    if kind == "str":
        if isinstance(value, str):
            return value
        raise ValueError(kind)
    if isinstance(value, str):
        value = parse_text(kind, value)
    if kind == "bool" and isinstance(value, bool):
        return value
    if isinstance(value, bool):  # bool is an int subclass; True is not a count
        raise ValueError(kind)
    if kind == "int" and isinstance(value, int):
        return value
    if kind == "float" and isinstance(value, int | float):
        return float(value)
    if kind == "list" and isinstance(value, list) or kind == "dict" and isinstance(value, dict):
        return value
    raise ValueError(kind)


def parse_text(kind: str, text: str) -> Any:
    stripped = text.strip()
    if kind == "bool":
        lowered = stripped.lower()
        if lowered in TRUE_WORDS | FALSE_WORDS:
            return lowered in TRUE_WORDS
        raise ValueError(kind)
    if kind == "int":
        return int(stripped)
    if kind == "float":
        return float(stripped)
    try:
        return yaml.safe_load(stripped)  # list or dict, written as YAML or JSON
    except yaml.YAMLError as error:
        raise ValueError(kind) from error


def check_limits(parameter: Parameter, value: Any) -> None:
    if parameter.choices and value not in parameter.choices:
        raise ParameterError(
            f"parameter {parameter.name!r} must be one of {', '.join(parameter.choices)}; "
            f"got {value!r}"
        )
    low, high = parameter.minimum, parameter.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParameterError(
            f"parameter {parameter.name!r} must be in [{'' if low is None else f'{low:g}'}.."
            f"{'' if high is None else f'{high:g}'}]; got {value!r}"
        )


def resolve_values(
    declared: dict[str, Parameter], *sources: tuple[str, dict[str, Any]]
) -> dict[str, Any]:
    """Merge (where, values) sources in order, later wins; every value checked and typed."""
    values = {}
    for where, given in sources:
        for name, value in given.items():
            check_name(name)
            if name in RUNNER_PARAMETERS:
                raise ParameterError(
                    f"{name!r} ({where}) is set by nbsteps for every run; "
                    "move folders with --data-dir or NBSTEPS_DATA_DIR instead"
                )
            if name not in declared:
                valid = ", ".join(n for n in declared if n not in RUNNER_PARAMETERS)
                raise ParameterError(
                    f"unknown parameter {name!r} ({where}); valid names: {valid}"
                )
            values[name] = coerce_value(declared[name], value)
    return values


def read_params_file(path: Path) -> dict[str, Any]:
    """Values from params/<step>.yaml; a missing file means no values."""
    if not path.exists():
        return {}
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ParameterError(f"{path} is not valid YAML: {error}") from error
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ParameterError(f"{path} must be a mapping of parameter names to values")
    return values


def parse_assignment(text: str) -> tuple[str, str]:
    """Split `-p NAME=VALUE` (NAME may be `step.name`); the value stays text."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ParameterError(f"-p expects NAME=VALUE, got {text!r}")
    return name.strip(), value
