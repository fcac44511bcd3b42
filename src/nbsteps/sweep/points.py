"""The points of a sweep: from `--grid NAME=V1,V2` options or `params/<step>.sweep.yaml`,
each checked against the notebook's parameters cell before anything runs.

The file holds a grid (every combination of its values) and/or a list of points:

    grid:
      k: [100, 200, 500]
      method: [PCA, t-SNE]
    points:
      - {k: 50, method: PCA}
"""

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nbsteps.errors import ParameterError, UsageError
from nbsteps.execute import resolve_parameters
from nbsteps.notebook import read_notebook
from nbsteps.project import RUN_ID_FIELD, Step

# A grid multiplies fast (5 parameters of 10 values are 100 000 runs): refuse what is
# surely a typing mistake rather than fill a disk with runs.
MAX_POINTS = 10_000


@dataclass(frozen=True)
class Point:
    index: int  # 1-based, the point's place in the sweep
    given: dict[str, Any]  # the values that make this point (as written)
    values: dict[str, Any]  # every parameter of its run, checked and typed

    def describe(self) -> str:
        return ", ".join(f"{name}={value}" for name, value in self.given.items()) or "defaults"


def sweep_file(step: Step) -> Path:
    return step.params_file.with_name(f"{step.name}.sweep.yaml")


def parse_grid_option(text: str) -> tuple[str, list[str]]:
    """`k=100,200,500` -> ("k", ["100", "200", "500"]); commas inside [] or {} stay."""
    name, sep, values = text.partition("=")
    if not sep or not name.strip() or not values.strip():
        raise ParameterError(f"--grid expects NAME=V1,V2,..., got {text!r}")
    return name.strip(), split_top_level(values)


def split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "[{"
        depth -= char in "]}"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [part.strip() for part in [*parts, current]]


def read_sweep_file(path: Path) -> tuple[dict[str, list[Any]], list[dict[str, Any]]]:
    """(grid, listed points) from a sweep file; ParameterError saying what is wrong."""
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ParameterError(f"cannot read {path}: {error}") from error
    if not isinstance(spec, dict) or not spec.keys() <= {"grid", "points"} or not spec:
        raise ParameterError(f"{path} must be a mapping with `grid:` (name: [values]) "
                             "and/or `points:` (a list of name: value mappings)")
    grid = spec.get("grid") or {}
    listed = spec.get("points") or []
    if not isinstance(grid, dict) or not all(isinstance(name, str) for name in grid):
        raise ParameterError(f"{path}: `grid:` must map parameter names to lists of values")
    if not isinstance(listed, list) or not all(isinstance(p, dict) for p in listed):
        raise ParameterError(f"{path}: `points:` must be a list of name: value mappings")
    return {name: values if isinstance(values, list) else [values]
            for name, values in grid.items()}, listed


def expand_grid(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination, the last name varying fastest; an empty grid gives no point."""
    for name, values in grid.items():
        if not values:
            raise ParameterError(f"grid parameter {name!r} has no values")
    if not grid:
        return []
    size = math.prod(len(values) for values in grid.values())
    if size > MAX_POINTS:
        raise ParameterError(f"the grid has {size} points, more than {MAX_POINTS}; "
                             "narrow it or split the sweep")
    names = list(grid)
    return [dict(zip(names, combination, strict=True))
            for combination in itertools.product(*grid.values())]


def gather_points(step: Step, grid_options: list[str], points_file: Path | None
                  ) -> tuple[list[dict[str, Any]], str]:
    """The points as given, and where they came from: --grid options if any, else the file
    (the one named, or params/<step>.sweep.yaml)."""
    if grid_options:
        grid = dict(parse_grid_option(text) for text in grid_options)
        return expand_grid(grid), "--grid"
    path = points_file or sweep_file(step)
    if not path.is_file():
        raise UsageError(f"no points for {step.name}: give --grid NAME=V1,V2 (repeat for "
                         f"more parameters) or write {path} with `grid:` and/or `points:`")
    grid, listed = read_sweep_file(path)
    return expand_grid(grid) + listed, path.name


def check_points(
    step: Step, given: list[dict[str, Any]], common: dict[str, Any], where: str
) -> list[Point]:
    """Every point resolved as `nbsteps run -p` would, before anything runs; the first bad
    one is named in a ParameterError. Points that resolve to the same run are kept once."""
    if not given:
        raise ParameterError(f"{where} gives no points")
    refuse_shared_outputs(step)
    notebook = read_notebook(step.notebook)
    points: list[Point] = []
    seen: list[dict[str, Any]] = []
    for number, values in enumerate(given, start=1):
        label = ", ".join(f"{n}={v}" for n, v in values.items())
        try:
            resolved = resolve_parameters(step, {**common, **values}, notebook)
        except ParameterError as error:
            raise ParameterError(f"point {number} of {len(given)} ({label}) from {where}: "
                                 f"{error}") from error
        if resolved not in seen:
            seen.append(resolved)
            points.append(Point(len(points) + 1, dict(values), resolved))
    return points


def refuse_shared_outputs(step: Step) -> None:
    """Points run side by side; outputs outside a `{run_id}` folder would be overwritten
    by each other (and each point would make the previous ones out of date)."""
    shared = [path for path in step.outputs if RUN_ID_FIELD not in path]
    if shared:
        raise UsageError(
            f"cannot sweep {step.name}: its output {shared[0]} is the same file for every "
            f"run, so the points would overwrite each other; put {RUN_ID_FIELD} in its "
            "outputs in pipeline.yaml (e.g. results/{run_id}/table.csv)"
        )
