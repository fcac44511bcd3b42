"""A notebook's parameters, read from its own `parameters` cell, and the checks on their values.

The cell is the single definition: the runner validates against it, `nbsteps params` lists
it, and the dashboard builds its form from it. Each line is `name = literal  # help [spec]`,
where the optional spec is a range `[2..10000]` (either end may be left open) or a list of
choices `[PCA|t-SNE]`.

Numbers are finite unless the spec says otherwise: NaN and infinity are refused (`[1..]` is
"1 or more, finite"), an end written `inf` or `-inf` lets that infinity through
(`[1..inf]`), and `, nan` after the range lets NaN through (`[0..1, nan]`, or `[nan]` alone).
"""

import ast
import io
import keyword
import math
import re
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbsteps.errors import ParameterError, UsageError
from nbsteps.yamltext import BoundError, load_yaml_value

if TYPE_CHECKING:
    from nbsteps.notebook import Cell

# Set by the runner for every run; a user cannot override them with -p.
RUNNER_PARAMETERS = ("data_dir", "run_id")

KIND_NAMES = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}
TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0"}
NONE_WORDS = {"none", "null", "~", ""}  # `-p x=None` for a parameter whose default is None
NUMBER_KINDS = {"int", "float", "any"}
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
    allow_nan: bool = False  # `, nan` in the spec: NaN is a valid value

    def describe(self) -> str:
        """What a valid value looks like, for error messages and `nbsteps params`."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        nan = " or nan" if self.allow_nan else ""
        if self.minimum is not None or self.maximum is not None:
            return f"{self.kind} in {describe_range(self.minimum, self.maximum)}{nan}"
        return self.kind + nan


def describe_range(low: float | None, high: float | None) -> str:
    return f"[{format_limit(low)}..{format_limit(high)}]"


def format_limit(limit: float | None) -> str:
    """`4294967295`, not `4.29497e+09`: a limit is shown as it is written."""
    if limit is None:
        return ""
    if math.isfinite(limit) and limit == int(limit):
        return str(int(limit))
    return repr(limit)


def read_parameters(notebook: Path) -> dict[str, Parameter]:
    """The parameters declared in the notebook's cell tagged `parameters`."""
    # Imported here: the notebook reader uses this module to parse the parameters cell.
    from nbsteps.notebook import read_notebook

    return read_notebook(notebook).parameters


def find_parameters_cell(cells: Sequence["Cell"], where: str) -> "Cell | None":
    """The cell tagged `parameters`, or None: as with papermill, a notebook without one
    runs without parameters."""
    tagged = [cell for cell in cells if "parameters" in cell.tags]
    if len(tagged) > 1:
        raise UsageError(f"{where} has {len(tagged)} cells tagged `parameters`; keep the tag "
                         "on one cell and merge the others into it")
    return tagged[0] if tagged else None


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
    minimum, maximum, choices, allow_nan = read_spec(name, kind, spec)
    parameter = Parameter(name, kind, default, help_text, minimum, maximum, choices, allow_nan)
    check_default(parameter)
    return parameter


def read_spec(name: str, kind: str, spec: str):
    """(minimum, maximum, choices, allow_nan) from the text inside `[...]`, or a UsageError
    showing how a spec is written."""
    if "|" in spec and ".." not in spec:
        return None, None, tuple(choice.strip() for choice in spec.split("|")), False
    parts = [part.strip() for part in spec.split(",")] if spec.strip() else []
    allow_nan = "nan" in [part.lower() for part in parts]
    ranges = [part for part in parts if part.lower() != "nan"]
    if len(ranges) > 1 or any(".." not in part for part in ranges):
        raise spec_error(name, spec)
    if (ranges or allow_nan) and not set(kind.split(" | ")) & NUMBER_KINDS:
        raise UsageError(f"parameter {name!r}: limits [{spec}] fit only a number, but its "
                         f"default is {kind}; write choices as [a|b] or drop the limits")
    if not ranges:
        return None, None, None, allow_nan
    low, high = (read_limit(name, spec, part) for part in ranges[0].split("..", 1))
    if low is not None and high is not None and low > high:
        raise UsageError(f"parameter {name!r}: limits [{spec}] are empty: the lower limit is "
                         "above the upper one")
    return low, high, None, allow_nan


def read_limit(name: str, spec: str, text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        limit = float(text)
    except ValueError:
        raise spec_error(name, spec) from None
    if math.isnan(limit):
        raise spec_error(name, spec)
    return limit


def spec_error(name: str, spec: str) -> UsageError:
    return UsageError(
        f"parameter {name!r}: cannot read the limits [{spec}]; write a range of numbers "
        "such as [2..10], [0..] or [1..inf] (optionally followed by `, nan`), or choices "
        "such as [PCA|t-SNE]"
    )


def check_default(parameter: Parameter) -> None:
    """A default outside its own limits is a mistake in the notebook: say so when it is read."""
    if parameter.default is None:
        return
    try:
        check_limits(parameter, parameter.default)
    except ParameterError as error:
        raise UsageError(f"the default of {error}; change the default or the limits"
                         ) from None


def check_name(name: Any) -> None:
    if not isinstance(name, str):
        raise ParameterError(f"{name!r} is not a valid parameter name: names are text; "
                             f"write `name: value`")
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
        except BoundError as error:
            raise ParameterError(f"parameter {parameter.name!r}: {error}") from None
    raise ParameterError(
        f"parameter {parameter.name!r} expects {parameter.describe()}, got {short_repr(value)} "
        f"(default {parameter.default!r})"
    )


def short_repr(value: Any, limit: int = 80) -> str:
    """A value as an error line may show it: long ones are cut."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def convert_to(kind: str, value: Any) -> Any:
    """`value` as `kind`, parsing text; ValueError if it does not fit."""
    if kind == "any":
        if not isinstance(value, str):
            return value
        if value.strip().lower() in NONE_WORDS:
            return None
        try:
            return load_yaml_value(value.strip(), "the value")
        except BoundError:
            raise
        except ParameterError:
            return value  # not YAML: the text as written
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
        return load_yaml_value(stripped, "the value")  # list or dict, written as YAML or JSON
    except BoundError:
        raise
    except ParameterError as error:
        raise ValueError(kind) from error


def check_limits(parameter: Parameter, value: Any) -> None:
    check_finite(parameter, value)
    if parameter.choices and value not in parameter.choices:
        raise ParameterError(
            f"parameter {parameter.name!r} must be one of {', '.join(parameter.choices)}; "
            f"got {short_repr(value)}"
        )
    if not is_number(value) or math.isnan(value):
        return  # text in a `str | ...` union, or an allowed NaN: no range applies
    low, high = parameter.minimum, parameter.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParameterError(
            f"parameter {parameter.name!r} must be in {describe_range(low, high)}; got {value!r}"
        )


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_finite(parameter: Parameter, value: Any) -> None:
    """NaN and infinity only where the spec lets them through: a `max_mb` of NaN is no cap at
    all, a `deadline_s` of NaN never fires. Inside lists and mappings they are refused."""
    for number in iter_floats(value):
        if math.isnan(number) and not parameter.allow_nan:
            raise ParameterError(
                f"parameter {parameter.name!r} must be a number, got nan; its notebook does "
                "not accept nan (it would write `, nan` in the limits)"
            )
        allowed = (parameter.maximum if number > 0 else parameter.minimum) == number
        if math.isinf(number) and not (allowed and is_number(value)):
            raise ParameterError(
                f"parameter {parameter.name!r} must be a finite number, got {number}; give "
                f"a number in {describe_range(parameter.minimum, parameter.maximum)}"
            )


def iter_floats(value: Any):
    """The floats in a value, at any depth (values are bounded in depth when parsed)."""
    if isinstance(value, float):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from iter_floats(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_floats(item)


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
    """Values from params/<step>.yaml; a missing file means no values. Unquoted dates stay
    the text written (`day: 2024-05-01` is "2024-05-01"); anything unreadable is one
    ParameterError naming the file."""
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ParameterError(f"{path} is not UTF-8 text (byte {error.start:,}); save it as "
                             "UTF-8") from None
    except OSError as error:
        raise ParameterError(f"cannot read {path}: {error.strerror or error}; it must be a "
                             "YAML file of parameter names and values") from None
    values = load_yaml_value(text, str(path))
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
